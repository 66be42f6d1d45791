"""The batched driver, written once for every env: step all sub-envs, count time limits, reset
finished sub-envs in the same step and keep their final observation and episode statistics.

An env module supplies three scalar functions (see envs/cartpole.py):

    reset(state, i, rng, params)            # write sub-env i's initial state into state[:, i]
    step(state, i, action, rng, params)     # advance it; return (reward, terminated)
    observe(state, i, obs, params)          # write its observation into obs[i]

Numba caches compiled code per source file, and a driver calling a different env's functions is
different code; so each env class gets a small generated module (the template below with that
env's functions imported), written once into a cache directory, and numba caches it like any
other file. Start-up then loads machine code instead of compiling (~1 s saved per env per process).

What makes a step cheap, measured on CartPole:
- the scalar functions are inlined into the driver (`@dynamics` marks them inline="always");
  called across numba's cache they cost a call with some twenty arguments per sub-env
  (21 -> 15 ns a sub-env, with the next two);
- division follows IEEE arithmetic instead of checking every divisor for zero;
- the parameters are read once per call, before the loop, from one float64 array that the
  driver turns back into the env's NamedTuple (numba types a tuple argument in Python, ~1 us);
- multiply-adds fuse (_FASTMATH: 15 -> 12 ns a sub-env);
- the env calls the driver compiled for its argument types directly, past numba's type
  dispatch, with every argument but the actions in one tuple it built once, and the time limit
  and action count inside packed_params, not as integer arguments (N = 64: 3.1 -> 2.45 us a step,
  of which ~0.65 us is still numba unboxing the 14 arrays; envs/base.py, _entry_point).
Since numba's cache does not notice when an inlined function changes, the generated module's
name carries a fingerprint of every source file the dynamics reach.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import types
from typing import NamedTuple

import numpy as np
from gymnasium.vector import AutoresetMode


def indent(body: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in body.splitlines(True))


# What one step does to sub-env i, written once per auto-reset mode (envs/autoreset.py): the CPU
# drivers run it in a (p)range loop, the CUDA kernel in a grid-stride loop over sub-envs
# (envs/cuda_driver.py). Every output the env hands out in that mode is written for every sub-env,
# so the env can hand the driver fresh arrays to fill instead of copying its own.
_ADVANCE = '''\
r, term = _step(state, i, actions[i], rng, params)
t[i] += 1  # steps since the episode began: its length, and what the time limit counts
ep_return[i] += r
trunc = (not term) and max_steps > 0 and t[i] >= max_steps
reward[i] = r
terminated[i] = term
truncated[i] = trunc
done[i] = term or trunc
'''

_SAME_STEP = _ADVANCE + '''\
if term or trunc:
    # Same-step auto-reset: keep the last observation and the episode's totals, then start
    # the next episode so the returned observation is already its first.
    _observe(state, i, final_obs, params)
    done_return[i] = ep_return[i]
    done_length[i] = t[i]
    _reset(state, i, rng, params)
    t[i] = 0
    ep_return[i] = 0.0
    _observe(state, i, obs, params)
else:
    _observe(state, i, obs, params)
    _copy_row(obs, final_obs, i)  # an unfinished episode's last observation so far
    done_return[i] = 0.0
    done_length[i] = 0
'''

# The returned observation is the step's own, so final_obs is neither written nor handed out. An
# ended episode is marked by t = -1 (get_state carries it) until the next step (NEXT_STEP) or
# reset() (DISABLED) starts another.
_NO_RESET = _ADVANCE + '''\
_observe(state, i, obs, params)
if term or trunc:
    done_return[i] = ep_return[i]
    done_length[i] = t[i]
    t[i] = -1
else:
    done_return[i] = 0.0
    done_length[i] = 0
'''

_NEXT_STEP = '''\
if t[i] < 0:
    # Next-step auto-reset, as gym.make_vec: the episode ended on the previous step, so this one
    # starts the next, ignoring its action, with reward 0 and neither flag set.
    _reset(state, i, rng, params)
    t[i] = 0
    ep_return[i] = 0.0
    reward[i] = 0.0
    terminated[i] = False
    truncated[i] = False
    done[i] = False
    done_return[i] = 0.0
    done_length[i] = 0
    _observe(state, i, obs, params)
else:
''' + indent(_NO_RESET, 4)

STEP_BODY = {AutoresetMode.SAME_STEP: _SAME_STEP, AutoresetMode.NEXT_STEP: _NEXT_STEP,
             AutoresetMode.DISABLED: _NO_RESET}

RESET_BODY = '''\
if mask[i]:
    _reset(state, i, rng, params)
    t[i] = 0
    ep_return[i] = 0.0
_observe(state, i, obs, params)
'''

# Everything but the actions comes first in a tuple the env builds once per set of outputs. The
# time limit and the action count travel at the end of packed_params (see LIMITS): an integer
# argument costs numba ~45 ns to unbox, 2 % of a step at N = 64.
STEP_ARGS = ("actions, state, t, rng, ep_return, packed_params, obs, reward, "
             "terminated, truncated, final_obs, done, done_return, done_length")
# What the step drivers read from packed_params after the env's parameters.
LIMITS = ("max_steps", "num_actions")
RESET_ARGS = "state, t, rng, ep_return, packed_params, obs, mask"

# Bad actions never reach the dynamics: the CPU driver checks them all before it steps any
# sub-env and returns -1 (the env then says what is wrong). Integer actions must index the
# space; continuous ones must be finite. Neither loop exits early, so both vectorise (8,192
# CartPole actions: 3.6 -> 1.3 us; 65,536 Pendulum ones: np.isfinite(actions).all() took 21 us).
_CHECK = {
    True: '''\
lowest, highest = 0, 0
for i in range(actions.shape[0]):
    lowest, highest = min(lowest, actions[i]), max(highest, actions[i])
if lowest < 0 or highest >= num_actions:
    return -1
''',
    False: '''\
flat, bad = actions.reshape(actions.size), False
for i in range(flat.shape[0]):
    bad |= not np.isfinite(flat[i])
if bad:
    return -1
''',
}

# DISABLED: an ended sub-env must be reset before it steps again (Gymnasium's SyncVectorEnv
# asserts as much); the driver looks first and steps nothing (the env then names them).
_ENDED = '''\
ended = False
for i in range(t.shape[0]):
    ended |= t[i] < 0
if ended:
    return -2
'''


def unpack_params(env_cls) -> str:
    """The expression that reads the env's Params fields from its float64 array inside compiled
    code, then its inherited ones at their defaults, as a plain tuple (`_Params(*values)` makes
    the NamedTuple the dynamics take: dynamics_params)."""
    fields = []
    for k, (name, kind) in enumerate(param_kinds(env_cls.Params)):
        fields.append(f"packed_params[{k}] != 0.0" if kind is bool else
                      f"int(packed_params[{k}])" if kind is int else f"packed_params[{k}]")
    fields += [repr(default) for _, default in inherited_params(env_cls)]
    return f"({''.join(f + ', ' for f in fields)})"


def inherited_params(env_cls) -> list:
    """(field, default) of the parameters a base env declares and this env's own Params leaves
    out. A plugin that subclasses CartPole with Params of its own and reuses CartPole's reset or
    step still runs when CartPole gains a parameter: its dynamics see the new one at its default,
    as a subclass inherits what it does not override."""
    own, extra = set(env_cls.Params._fields), {}
    for base in env_cls.__mro__[1:]:
        Params = getattr(base, "Params", None)
        if Params is None or Params is env_cls.Params or not hasattr(Params, "_fields"):
            continue
        for name in Params._fields:
            if name not in own and name not in extra:
                extra[name] = Params._field_defaults[name]
    return list(extra.items())


def dynamics_params(env_cls):
    """The NamedTuple class the compiled dynamics take: the env's Params, with inherited_params
    after its fields where there are any. numba's cache pickles it by name (a base env's cached
    dynamics list its overloads for every subclass's class), so it is named as an attribute of
    this module that __getattr__ below makes again in any process."""
    inherited = inherited_params(env_cls)
    if not inherited:
        return env_cls.Params
    made = _MADE.get(env_cls)
    if made is None or made._fields != env_cls.Params._fields + tuple(n for n, _ in inherited):
        fields = [(n, type(d)) for n, d in env_cls.Params._field_defaults.items()] + \
                 [(n, type(d)) for n, d in inherited]
        made = NamedTuple(env_cls.Params.__name__, fields)
        made.__module__ = __name__
        made.__qualname__ = ":".join(("DynamicsParams", env_cls.__module__.replace(".", "|"),
                                      env_cls.__qualname__.replace(".", "|")))
        _MADE[env_cls] = made
    return made


_MADE: dict = {}


def __getattr__(name):
    """dynamics_params' classes by the names it gives them, for pickle."""
    if name.startswith("DynamicsParams:"):
        _, module, qualname = name.split(":")
        env_cls = importlib.import_module(module.replace("|", "."))
        for part in qualname.split("|"):
            env_cls = getattr(env_cls, part)
        return dynamics_params(env_cls)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_limits(Params) -> str:
    """The line binding LIMITS from their slots after the parameters in packed_params."""
    first = len(Params._fields)
    return f"{', '.join(LIMITS)} = {', '.join(f'int(packed_params[{first + k}])' for k in range(len(LIMITS)))}\n"


def param_kinds(Params):
    """(field, bool | int | float) for every field, from its default: what the compiled code reads."""
    kinds = []
    for name in Params._fields:
        default = Params._field_defaults.get(name)
        kind = next((k for k in (bool, int, float) if isinstance(default, k)), None)
        if kind is None:
            raise TypeError(f"{Params.__name__}.{name}: parameters must default to a bool, int or float "
                            f"(the compiled dynamics read them as numbers), got {default!r}")
        kinds.append((name, kind))
    return kinds


def pack_params(params, owner: str, *limits):
    """The float64 array the driver reads `params` (a Params instance) from, with the values of
    LIMITS after them."""
    values = []
    for (name, kind), value in zip(param_kinds(type(params)), params):
        if isinstance(value, str) or not isinstance(value, (bool, int, float, np.number, np.bool_)):
            raise ValueError(f"{owner}: parameter {name} must be a number, got {value!r}")
        if kind is int and float(value) != int(value):
            raise ValueError(f"{owner}: parameter {name} must be an integer, got {value!r}")
        values.append(float(value))
    return np.array(values + [float(v) for v in limits], np.float64)


# Heads every generated module, CPU and CUDA alike.
HEADER = '''\
# Generated by numbarl for {module}.{cls}, {mode} auto-reset, from the template in
# {template}. Do not edit: rewritten whenever that template or the dynamics
# change; envs.driver_source() returns this text.
# Dynamics fingerprint: {fingerprint} (a hash of the source files of every numba function the
# env's reset, step and observe reach).
# Parameters: {params}.
'''

_TEMPLATE = HEADER + '''\
import numba
import numpy as np
from {module} import observe as _observe, reset as _reset, step as _step

_Params = None  # the env's Params class, set by envs.driver before anything compiles
# Fused multiply-adds and division by a reciprocal worked out once (as CUDA compiles by default);
# nothing that assumes values are finite. CartPole on one thread: 13.6 -> 12 ns a sub-env.
_FASTMATH = {{"contract", "arcp"}}

{copy_row}
{step_functions}

@numba.njit(cache=True, error_model="numpy")
def reset_all({reset_args}):
    params = _Params(*{unpack})
    for i in range(state.shape[1]):
{reset_body}'''

# Compiled twice, as two functions: numba's cache keys a function by name, not by its options.
_STEP = '''
@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH{parallel})
def step_{name}({step_args}):
{limits}{check}{ended}    values = {unpack}  # read once: stores in the loop could alias the array, so LLVM would reread it
    finished = 0
    for i in numba.prange(state.shape[1]):
        params = _Params(*values)  # made in the loop: a parallel loop cannot capture a NamedTuple
{step_body}        finished += 1 if done[i] else 0
    return finished
'''


def cache_dir() -> str:
    """Where generated driver modules live: $NUMBARL_CACHE_DIR, else under $NUMBA_CACHE_DIR,
    else ~/.cache/numbarl, else the temporary directory."""
    for candidate in (os.environ.get("NUMBARL_CACHE_DIR"),
                      os.path.join(os.environ["NUMBA_CACHE_DIR"], "numbarl") if os.environ.get("NUMBA_CACHE_DIR") else None,
                      os.path.join(os.path.expanduser("~"), ".cache", "numbarl"),
                      os.path.join(tempfile.gettempdir(), "numbarl")):
        if candidate:
            try:
                os.makedirs(candidate, exist_ok=True)
                if os.access(candidate, os.W_OK):
                    return candidate
            except OSError:
                continue
    raise OSError("no writable cache directory for numbarl's compiled env drivers; set NUMBARL_CACHE_DIR")


def fingerprint(module: str) -> str:
    """A hash of every source file holding a numba function that the env's scalar functions reach
    (through their globals, module attributes included): what the inlined driver depends on."""
    from numba.core.dispatcher import Dispatcher

    mod = sys.modules[module]
    seen, files, todo = set(), set(), [getattr(mod, name) for name in ("reset", "step", "observe")]
    while todo:
        fn = todo.pop()
        if not isinstance(fn, Dispatcher) or id(fn) in seen:
            continue
        seen.add(id(fn))
        files.add(fn.py_func.__code__.co_filename)
        names, codes = set(), [fn.py_func.__code__]
        while codes:  # nested functions' names too
            code = codes.pop()
            names.update(code.co_names)
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        for name in names:
            value = fn.py_func.__globals__.get(name)
            if isinstance(value, types.ModuleType):
                todo.extend(getattr(value, attr, None) for attr in names)
            else:
                todo.append(value)
    digest = hashlib.sha1()
    for path in sorted(files):
        try:
            with open(path, "rb") as f:
                digest.update(f.read())
        except OSError:  # source not on disk (a zip import): the file name must do
            digest.update(path.encode())
    return digest.hexdigest()[:12]


_LOADED: dict = {}


def copy_row(obs_shape: tuple, decorator: str) -> str:
    """A function copying sub-env i's observation element by element, the loops' lengths written
    in (so that they unroll): a row slice costs numba views and a generic copy, a third of a
    CartPole step, and a second observe() costs Pendulum its trigonometry again."""
    index = "".join(f", k{d}" for d in range(len(obs_shape)))
    lines = [decorator, "def _copy_row(src, dst, i):"]
    for d, size in enumerate(obs_shape):
        lines.append("    " * (d + 1) + f"for k{d} in range({size}):")
    lines.append("    " * (len(obs_shape) + 1) + f"dst[i{index}] = src[i{index}]")
    return "\n".join(lines) + "\n"


def fill_template(template: str, target, decorator: str, where: str, **fields) -> str:
    """`template` (from the file `where`) filled in for a DriverTarget: what the CPU and the CUDA
    drivers share."""
    env_cls, mode = target.env_cls, target.mode
    module, Params = env_cls.__module__, env_cls.Params
    kinds = ", ".join(f"{name}: {kind.__name__}" for name, kind in param_kinds(Params))
    return template.format(module=module, cls=env_cls.__qualname__, fingerprint=fingerprint(module),
                           mode=mode.name.lower().replace("_", "-"), template=where,
                           params=f"{Params.__qualname__}({kinds})", unpack=unpack_params(env_cls),
                           copy_row=copy_row(target.obs_shape, decorator), step_args=STEP_ARGS,
                           reset_args=RESET_ARGS, reset_body=indent(RESET_BODY, 8), **fields)


class DriverTarget(NamedTuple):
    """What a generated driver depends on besides the dynamics: one module per distinct value."""
    env_cls: type
    obs_shape: tuple
    discrete: bool
    mode: AutoresetMode

    @classmethod
    def of(cls, env):
        return cls(type(env), env.single_observation_space.shape, env._discrete, env.autoreset_mode)


def source(target: DriverTarget) -> str:
    """The text of the CPU driver module for `target`."""
    Params = target.env_cls.Params
    ended = indent(_ENDED, 4) if target.mode is AutoresetMode.DISABLED else ""
    steps = "".join(_STEP.format(name=name, parallel=option, step_args=STEP_ARGS,
                                 step_body=indent(STEP_BODY[target.mode], 8), limits=indent(read_limits(Params), 4),
                                 check=indent(_CHECK[target.discrete], 4), ended=ended, unpack=unpack_params(target.env_cls))
                    for name, option in (("serial", ""), ("parallel", ", parallel=True")))
    return fill_template(_TEMPLATE, target, '@numba.njit(inline="always", error_model="numpy")',
                         "envs/driver.py (_TEMPLATE, _STEP, STEP_BODY)", step_functions=steps)


def load_driver(env):
    """The compiled driver module for a BatchedEnv (its class's scalar functions live in the
    class's module): step_serial, step_parallel and reset_all."""
    target = DriverTarget.of(env)
    if target not in _LOADED:
        name = f"numbarl_driver_{target.env_cls.__module__.replace('.', '_')}"
        _LOADED[target] = load_generated(source(target), name, dynamics_params(target.env_cls))
    return _LOADED[target]


def load_generated(source: str, prefix: str, Params):
    """Import `source` as a module file in the cache directory (named by its hash, so a changed
    template or changed dynamics make a new file and numba compiles it afresh)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    name = f"{prefix}_{digest}"
    path = os.path.join(cache_dir(), name + ".py")
    if not os.path.exists(path):
        # Write-then-rename: two processes starting together never see half a file.
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    driver = importlib.util.module_from_spec(spec)
    sys.modules[name] = driver
    spec.loader.exec_module(driver)
    driver._Params = Params  # a global the compiled code reads at compile time, not a cached value
    return driver
