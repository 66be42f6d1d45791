"""The batched driver as CUDA kernels: the CPU driver's step and reset (envs/driver.py, STEP_BODY
and RESET_BODY, the same text) run in a grid-stride loop over sub-envs, calling the env's own
scalar `reset`, `step` and `observe` unchanged: numba-cuda compiles a numba `njit` function called
from a kernel for the GPU. So every built-in env and every plugin written as scalar functions has
a CUDA version with no code of its own.

The CPU driver's arrays live in one device buffer (envs/cuda_arena.py): a step launches with two
array arguments, the actions and that buffer, and a reset with the buffer and the mask. The
kernels rebuild the CPU driver's arrays as views of it, under the same names, so the step's text
is the CPU driver's.

Under numba's CUDA simulator a kernel runs as Python, and an `njit` function cannot take the
simulator's fake device arrays; the simulator's kernels hand it the numpy arrays behind them, so
the dynamics still run compiled while the kernel's own logic is what the simulator checks.
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode

from numbarl.launch import grid_stride

from .cuda_arena import Arena, spec_of, view_lines
from .driver import (HEADER, RESET_ARGS, STEP_ARGS, STEP_BODY, DriverTarget, dynamics_params, fill_template, indent,
                     load_generated, read_limits)

# What the arena holds: every argument of the CPU driver's step but the actions, in its order,
# and the BatchedEnv attribute (envs/base.py) holding each.
ARENA = tuple(name.strip() for name in STEP_ARGS.split(","))[1:]
ATTRIBUTES = ("_state", "_t", "_rng", "_ep_return", "_packed", "_obs", "_reward", "_terminated", "_truncated",
              "_final_obs", "_done", "_done_return", "_done_length")
_RESET_READS = [name.strip() for name in RESET_ARGS.split(",")][:-1]  # all but the mask
# The running and finished episodes' returns are float32 on the GPU, as the observations and the
# rewards an algorithm takes from a GPU env are: a CartPole step then moves 119 bytes per sub-env
# instead of 131 (scripts/bench_gpu.py, bytes_per_step). Integer rewards sum exactly up to 2^24
# (CartPole's 500 and far beyond), others to float32's 7 digits. The CPU keeps float64, as
# Gymnasium's RecordEpisodeStatistics does; get_state and set_state cast between the two.
DEVICE_DTYPES = {"_ep_return": np.float32, "_done_return": np.float32}

# The parameters are read once per thread, not once per sub-env.
_TEMPLATE = HEADER + '''\
import numpy as np
from numba import cuda
from {module} import observe as _observe, reset as _reset, step as _step

_Params = None  # the env's Params class, set by envs.driver before anything compiles

{copy_row}

@cuda.jit(cache={cache})
def step_kernel(actions, arena):
{unwrap_step}{step_views}{limits}    params = _Params(*{unpack})
    for i in range(cuda.grid(1), state.shape[1], cuda.gridsize(1)):
{step_body}
@cuda.jit(cache={cache})
def reset_kernel(arena, mask):
{unwrap_reset}{reset_views}    params = _Params(*{unpack})
    for i in range(cuda.grid(1), state.shape[1], cuda.gridsize(1)):
{reset_body}'''

_LOADED: dict = {}


def _unwrap(*names) -> str:
    """Simulator only: rebind each array argument to the numpy array behind it."""
    return f"    {', '.join(names)} = {', '.join(f'_host({n})' for n in names)}\n"


# DISABLED on the GPU: the CPU driver refuses to step a sub-env that ended and was not reset, but
# here that check would cost a copy to the host every step (as would checking device actions). So
# such a sub-env is not advanced: its observation and flags stay those it ended with (the env's
# own arrays hold them), its reward is 0 and no episode is reported.
_FROZEN = '''\
if t[i] < 0:
    reward[i] = 0.0
    done[i] = False
    done_return[i] = 0.0
    done_length[i] = 0
else:
'''


def source(target: DriverTarget, spec) -> str:
    """The text of the CUDA kernels' module for `target` and an arena of `spec` (cuda_arena.spec_of),
    for numba's simulator if it is on."""
    from numba import config

    simulator = bool(config.ENABLE_CUDASIM)
    body = STEP_BODY[target.mode]
    if target.mode is AutoresetMode.DISABLED:
        body = _FROZEN + indent(body, 4)
    text = fill_template(_TEMPLATE, target, "@cuda.jit(device=True, inline=True)",
                         "envs/cuda_driver.py (_TEMPLATE) with envs/driver.py's STEP_BODY",
                         step_body=indent(body, 8), unwrap_step=_unwrap("actions", "arena") if simulator else "",
                         unwrap_reset=_unwrap("arena", "mask") if simulator else "",
                         step_views=indent(view_lines(spec, ARENA), 4),
                         reset_views=indent(view_lines(spec, _RESET_READS), 4),
                         limits=indent(read_limits(target.env_cls.Params), 4), cache="False" if simulator else "True")
    return text + "\n\ndef _host(array):\n    return array._ary\n" if simulator else text


def _arena_arrays(env) -> dict:
    """The arrays of a BatchedEnv that the arena holds, by their names in the kernels: a GPU env's
    own, or a CPU env's host arrays as the GPU keeps them (DEVICE_DTYPES)."""
    arrays = {}
    for key, attr in zip(ARENA, ATTRIBUTES):
        a = getattr(env, attr)
        arrays[key] = a if _on_device(a) or attr not in DEVICE_DTYPES else np.asarray(a, DEVICE_DTYPES[attr])
    return arrays


def arena_spec(env) -> tuple:
    """What the kernels' code depends on in the arena of a BatchedEnv, on either device: each
    array's name, dtype (as on the GPU) and number of axes."""
    return spec_of(_arena_arrays(env))


def load_cuda_driver(env):
    """The module of CUDA kernels (step_kernel, reset_kernel) for a BatchedEnv (its class's
    scalar functions live in the class's module)."""
    spec = arena_spec(env)
    target = DriverTarget.of(env)._replace(discrete=False)  # device actions are not checked
    if (target, spec) not in _LOADED:
        from numba import config

        kind = "sim" if config.ENABLE_CUDASIM else "cuda"
        name = f"numbarl_{kind}_driver_{target.env_cls.__module__.replace('.', '_')}"
        _LOADED[target, spec] = load_generated(source(target, spec), name, dynamics_params(target.env_cls))
    return _LOADED[target, spec]


def cuda_available() -> bool:
    """Whether numba can launch CUDA kernels here (a GPU, or the simulator)."""
    from numbarl.cuda import available  # on a GPU it also installs numbarl's caching allocator

    return available()


def _on_device(array) -> bool:
    """numba's device arrays (the simulator's have no array interface) and any CUDA array."""
    return hasattr(array, "__cuda_array_interface__") or hasattr(array, "copy_to_host")


class CudaDriver:
    """A BatchedEnv's step and reset on the GPU, over an arena holding the env's arrays (their
    values copied in from its host arrays, cast to DEVICE_DTYPES); `attributes` maps each of ATTRIBUTES to its view in the
    arena, for the env to keep in place of the host array. The launch configuration is worked out
    once, and checked against the device's limits."""

    def __init__(self, env):
        from numba import cuda

        kernels = load_cuda_driver(env)
        self._arena = Arena(_arena_arrays(env))
        self.attributes = {attr: self._arena.views[key] for key, attr in zip(ARENA, ATTRIBUTES)}
        self._step = grid_stride(kernels.step_kernel, env.num_envs)
        self._reset = grid_stride(kernels.reset_kernel, env.num_envs)
        # Made once: a step with host actions, and a reset, allocate nothing.
        self._actions = cuda.device_array(env._action_shape, env._action_dtype)
        self._everywhere, self._nowhere, self._mask = (cuda.to_device(np.full(env.num_envs, value))
                                                       for value in (True, False, False))

    def step(self, actions):
        """One step of every sub-env; `actions` on the device, or checked host actions."""
        if not _on_device(actions):
            self._actions.copy_to_device(actions)
            actions = self._actions
        self._step(actions, self._arena.device)

    def reset(self, mask=None):
        """Reset the sub-envs where `mask` (a device or host array; None: all) is True, and write
        every sub-env's observation."""
        if mask is None:
            mask = self._everywhere
        elif not _on_device(mask):
            self._mask.copy_to_device(np.ascontiguousarray(mask, np.bool_))
            mask = self._mask
        self._reset(self._arena.device, mask)

    def observe(self):
        """Write every sub-env's observation from its state."""
        self._reset(self._arena.device, self._nowhere)
