"""From an algorithm's `Args` dataclass to command-line flags, TOML config files and tuned
defaults. Every field is a kebab-case flag (`learning_rate` -> `--learning-rate`, as CleanRL's
are) whose help text is the docstring written under the field."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap

from .defaults import tuned_defaults


class ConfigError(ValueError):
    """Bad user input: the CLI prints it as one sentence and exits with status 2."""


def field_docs(cls) -> dict:
    """The docstring under each field of a dataclass, read from its source (and from its base
    dataclasses', for the fields it inherits; the subclass's own text wins)."""
    docs = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, following in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
                    and isinstance(following.value.value, str):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _kind(field, default):
    """How a field is parsed: from its annotation (strings, as `from __future__ import annotations`
    leaves them) or, failing that, from its default."""
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    optional = "None" in annotation
    for name, kind in (("bool", bool), ("int", int), ("float", float), ("tuple", tuple), ("str", str)):
        if annotation.replace(" | None", "").replace("None | ", "").strip() == name:
            return kind, optional
    return type(default) if default is not None else str, optional


def _parse_value(kind, optional, name):
    def parse(text):
        if optional and text.lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--{name} expects {'an integer' if kind is int else 'a number' if kind is float else kind.__name__}"
                f"{' or none' if optional else ''}, got {text!r}") from None
    return parse


def build_parser(prog, args_cls, defaults: dict) -> argparse.ArgumentParser:
    """Flags for every field; only the flags a user gives appear in the parsed namespace (so a
    config file is not overridden by defaults); `defaults` are shown in the help."""
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False,
                                     description=(args_cls.__module__.split(".")[-1].upper() + ": "
                                                  + (inspect.getdoc(inspect.getmodule(args_cls)) or "").split("\n")[0]))
    parser.add_argument("algo", help="the algorithm")
    parser.add_argument("env", help="the environment: a built-in name, a Gymnasium id, a plugin")
    docs = field_docs(args_cls)
    for field in dataclasses.fields(args_cls):
        if field.name == "env_id":
            continue
        default = defaults.get(field.name)
        kind, optional = _kind(field, default)
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{docs.get(field.name, '')} (default: {default})".replace("%", "%%")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=help_text)
        elif kind is tuple:
            parser.add_argument(flag, type=_parse_value(int, False, field.name.replace("_", "-")), nargs="+",
                                default=argparse.SUPPRESS, metavar="N", help=help_text)
        else:
            parser.add_argument(flag, type=_parse_value(kind, optional, field.name.replace("_", "-")),
                                default=argparse.SUPPRESS, metavar=kind.__name__.upper(), help=help_text)
    return parser


def load_toml(path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    return {k.replace("-", "_"): v for k, v in data.items()}


def defaults_for(args_cls, algo, env) -> dict:
    """The dataclass defaults overridden by the tuned defaults for (algo, env)."""
    values = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
              for f in dataclasses.fields(args_cls)}
    values.update(tuned_defaults(algo, env))
    return values


def resolve(args_cls, algo, env, cli: dict, config_file: dict | None = None):
    """The run's Args: the dataclass defaults, overridden by the tuned defaults for (algo, env),
    then by the config file, then by flags given on the command line."""
    names = {f.name for f in dataclasses.fields(args_cls)}
    values = defaults_for(args_cls, algo, env)
    for key, value in (config_file or {}).items():
        if key not in names:
            raise ConfigError(f"the config file sets {key!r}, which {algo} does not have; valid keys: "
                              f"{', '.join(sorted(names - {'env_id'}))}")
        values[key] = tuple(value) if isinstance(value, list) else value
    values.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in cli.items() if k in names})
    values["env_id"] = env
    args = args_cls(**values)
    try:
        args.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return args
