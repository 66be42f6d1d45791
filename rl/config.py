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
            # argparse names the flag itself ("argument --num-envs: ...")
            raise argparse.ArgumentTypeError(
                f"expects {'an integer' if kind is int else 'a number' if kind is float else kind.__name__}"
                f"{' or none' if optional else ''}, got {text!r}") from None
    return parse


def closest_flag(given: str, flags) -> str | None:
    """The flag a mistyped or abbreviated one most likely meant: `--lr` -> `--learning-rate` (the
    initials of its words), `--learning-rat` -> `--learning-rate` (spelling)."""
    import difflib

    word = given.lstrip("-").split("=")[0]
    names = [f for f in flags if f.startswith("--")]
    by_initials = [f for f in names if "".join(w[0] for w in f[2:].split("-")) == word.replace("-", "")]
    by_prefix = [f for f in names if f[2:].startswith(word) and len(word) >= 3]
    close = difflib.get_close_matches("--" + word, names, n=1, cutoff=0.75)
    for candidates in (close, by_initials, by_prefix):
        if len(candidates) == 1:
            return candidates[0]
    return None


def misplaced_positionals(prog: str, argv) -> ConfigError | None:
    """The sentence for ALGO and ENV given as flags, as RL Zoo's `--algo ppo --env CartPole-v1`
    and CleanRL's `--env-id CartPole-v1` give them, or for a command line that begins with a flag;
    None where the first two words are not flags."""
    given = {}
    for i, word in enumerate(argv):
        name, eq, value = word.partition("=")
        if name in ("--algo", "--env", "--env-id", "--env_id"):
            given["algo" if name == "--algo" else "env"] = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
    words = [w for w in argv[:2] if not w.startswith("-")] if argv and not argv[0].startswith("-") else []
    if not given and len(words) == len(argv[:2]) and words:
        return None
    algo = given.get("algo") or (words[0] if words else "ALGO")
    env = given.get("env") or (words[1] if len(words) > 1 else "ENV")
    return ConfigError(f"ALGO and ENV are the first two words of the command, not flags: {prog} {algo} {env} "
                       "[--flag value ...]")


def unknown_flags_error(parser, unknown) -> ConfigError:
    """One sentence for what the parser did not take, with the closest valid flag where one is."""
    flags = [f.split("=")[0] for f in unknown if f.startswith("-")]
    if not flags:
        return ConfigError(f"unexpected argument{'s' if len(unknown) > 1 else ''} {' '.join(unknown)}; "
                           f"{parser.prog} takes ALGO ENV and then flags (--help lists them)")
    hints = [(f, closest_flag(f, parser._option_string_actions)) for f in flags]
    meant = "; ".join(f"did you mean {hint}{'' if len(flags) == 1 else ' for ' + f}?" for f, hint in hints if hint)
    return ConfigError(f"unknown flag{'s' if len(flags) > 1 else ''} {', '.join(flags)}"
                       + (f"; {meant}" if meant else "") + " (--help lists every flag)")


def parse_flags(parser, argv) -> dict:
    """The flags given, as a dict; every parse error, and every flag the parser does not know, is a
    ConfigError of one sentence (argparse would exit with its usage text)."""
    parser.error = lambda message: (_ for _ in ()).throw(ConfigError(message))
    ns, unknown = parser.parse_known_args(argv)
    if unknown:
        raise unknown_flags_error(parser, unknown)
    return vars(ns)


def build_parser(prog, args_cls, defaults: dict, env_nargs=None) -> argparse.ArgumentParser:
    """Flags for every field; only the flags a user gives appear in the parsed namespace (so a
    config file is not overridden by defaults); `defaults` are shown in the help. `env_nargs`:
    how many env names the command takes (argparse's nargs; one by default)."""
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False,
                                     description=(args_cls.__module__.split(".")[-1].upper() + ": "
                                                  + (inspect.getdoc(inspect.getmodule(args_cls)) or "").split("\n")[0]))
    parser.add_argument("algo", help="the algorithm")
    parser.add_argument("env", nargs=env_nargs, help="the environment: a built-in name, a Gymnasium id, a plugin")
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    except OSError as e:  # a directory, no permission, ...
        raise ConfigError(f"config file {path} cannot be read ({e.strerror})") from None
    return {k.replace("-", "_"): v for k, v in data.items()}


def dataclass_defaults(args_cls) -> dict:
    return {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
            for f in dataclasses.fields(args_cls)}


def defaults_for(args_cls, algo, env) -> dict:
    """The dataclass defaults overridden by the tuned defaults for (algo, env)."""
    return {**dataclass_defaults(args_cls), **tuned_defaults(algo, env)}


def checked_values(args_cls, algo, values: dict, source: str) -> dict:
    """`values` read from a file (TOML, a run's config.json) with lists as tuples, refused in one
    sentence naming `source` where a key is not a setting of the algorithm or a value has the
    wrong type."""
    fields = {f.name: f for f in dataclasses.fields(args_cls)}
    defaults = dataclass_defaults(args_cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{source} sets {key!r}, which {algo} does not have; valid keys: "
                              f"{', '.join(sorted(set(fields) - {'env_id'}))}")
        kind, optional = _kind(fields[key], defaults[key])
        if kind is tuple and isinstance(value, list):
            value = tuple(value)
        valid = (value is None and optional) or (
            all(isinstance(v, int) and not isinstance(v, bool) for v in value) if kind is tuple and
            isinstance(value, tuple) else isinstance(value, bool) if kind is bool else
            isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
            isinstance(value, kind) and not (kind is int and isinstance(value, bool)))
        if not valid:
            wanted = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                      tuple: "a list of integers"}[kind] + (" or none" if optional else "")
            raise ConfigError(f"{source}: {key} must be {wanted}, got {value!r}")
        checked[key] = float(value) if kind is float and value is not None else value
    return checked


def resolve(args_cls, algo, env, cli: dict, config_file: dict | None = None, source="the config file"):
    """The run's Args: the dataclass defaults, overridden by the tuned defaults for (algo, env),
    then by the config file, then by flags given on the command line."""
    names = {f.name for f in dataclasses.fields(args_cls)}
    for given in (config_file or {}, cli):  # the env is ENV on the command line, never silently another
        if given.get("env_id", env) != env:
            raise ConfigError(f"{source} sets env_id = {given['env_id']!r}, but the command line trains {env}; "
                              "the env is the ENV argument (python -m rl.train ALGO ENV): remove env_id from the file")
    values = defaults_for(args_cls, algo, env)
    values.update(checked_values(args_cls, algo, config_file or {}, source))
    values.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in cli.items() if k in names})
    values["env_id"] = env
    args = args_cls(**values)
    try:
        args.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return args
