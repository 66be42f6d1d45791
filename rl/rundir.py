"""A run directory, runs/<env>__<algo>__<seed>__<time>/, holds config.json, checkpoint.npz and the
TensorBoard events. Here a new one is made without ever writing into another run, and an old one
is read back with one sentence for whatever in it is missing or damaged (a disk that filled up, a
copy cut short, a hand-edited config), never a traceback and never a checkpoint loaded into
networks of other shapes."""

from __future__ import annotations

import importlib
import json
import os
import zipfile

import numpy as np

import autodiff as ad

from .config import ConfigError, checked_values

ALGOS = {"ppo": "algos.ppo", "rppo": "algos.rppo", "dqn": "algos.dqn"}
CONFIG, CHECKPOINT = "config.json", "checkpoint.npz"


def algorithm(name: str):
    """The module of the algorithm called `name`, or a ConfigError naming the valid ones."""
    if name not in ALGOS:
        raise ConfigError(f"unknown algorithm {name!r}; valid: {', '.join(sorted(ALGOS))}")
    return importlib.import_module(ALGOS[name])


def new_run_dir(logdir: str, name: str, numbered: bool) -> str:
    """Create the directory of a new run, never one that holds another run's files: a generated
    name gets a suffix (-2, -3, ...) when runs start in the same second; a name given with
    --run-name that is taken is an error. A name with slashes (`exp1/seed1`) nests the run in
    directories made for it; a directory that cannot be made (a file in the way, no permission,
    a full disk) is one sentence."""
    for k in range(1, 10_000):
        run_dir = os.path.join(logdir, name if k == 1 else f"{name}-{k}")
        try:
            os.makedirs(os.path.dirname(run_dir) or ".", exist_ok=True)
            os.mkdir(run_dir)  # atomic: of two processes asking for one name, one gets it
            return run_dir
        except FileExistsError as e:
            if not os.path.isdir(e.filename):  # a file where a directory must go
                raise ConfigError(f"the run directory {run_dir} cannot be made: {e.filename} is a file; "
                                  "choose another --logdir or --run-name") from None
            if not os.listdir(run_dir):  # an empty directory holds nothing to lose
                return run_dir
            if not numbered:
                raise ConfigError(f"the run directory {run_dir} already holds a run; choose another --run-name, "
                                  f"or continue that run with --resume {run_dir}") from None
        except OSError as e:  # NotADirectoryError, PermissionError, a full disk, ...
            raise ConfigError(f"the run directory {run_dir} cannot be made ({e.strerror}: {e.filename}); "
                              "choose another --logdir or --run-name") from None
    raise ConfigError(f"too many runs named {name} in {logdir}")


def read_config(run_dir):
    """(algo, its module, Args) of a run directory, checked as a config file on the command line is."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(run_dir, CHECKPOINT)):
        raise ConfigError(f"{run_dir} is not a numbarl run directory (it needs {CONFIG} and {CHECKPOINT})")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} cannot be read as JSON ({e}); the run directory is damaged") from None
    if not isinstance(config, dict) or not isinstance(config.get("args"), dict):
        raise ConfigError(f"{path} does not describe a run: it needs an 'algo' name and an 'args' table")
    algo = config.get("algo")
    try:
        module = algorithm(algo)
    except ConfigError:
        raise ConfigError(f"{path} names the algorithm {algo!r}; valid: {', '.join(sorted(ALGOS))}") from None
    args = module.Args(**checked_values(module.Args, algo, config["args"], path))
    try:
        args.validate()
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    return algo, module, args


def read_checkpoint(run_dir) -> dict:
    path = os.path.join(run_dir, CHECKPOINT)
    try:
        state = ad.load(path)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ConfigError(f"{path} cannot be read ({type(e).__name__}: {e}); it is damaged or was cut short, "
                          "as by a full disk or an interrupted copy") from None
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        raise ConfigError(f"{path} is not a numbarl checkpoint: it holds no global_step")
    return state


def check_checkpoint(state: dict, expected: dict, run_dir):
    """Refuse a checkpoint whose entries do not have the shapes that the run's config builds
    (`expected`: the fresh networks' and env's state dicts, under the checkpoint's keys)."""
    path = os.path.join(run_dir, CHECKPOINT)

    def compare(got, want, name):
        if isinstance(want, dict):
            if not isinstance(got, dict):
                raise ConfigError(f"{path} holds no {name} table, which {CONFIG} calls for; the checkpoint "
                                  "does not belong to this run")
            for key, value in want.items():
                if key not in got:
                    raise ConfigError(f"{path} lacks {name}.{key}, which {CONFIG} calls for; the checkpoint "
                                      "does not belong to this run")
                compare(got[key], value, f"{name}.{key}")
        elif hasattr(want, "shape"):
            shape = tuple(np.shape(got)) if isinstance(got, np.ndarray) else None
            if shape != tuple(want.shape):
                raise ConfigError(f"{path}: {name} has shape {shape}, but {CONFIG} builds {tuple(want.shape)}; "
                                  "the checkpoint does not belong to this run's settings")

    for key, want in expected.items():
        if want is not None:
            compare(state.get(key), want, key)
