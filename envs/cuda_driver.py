"""The batched driver as CUDA kernels: the CPU driver's step and reset (envs/driver.py, STEP_BODY
and RESET_BODY, the same text) run one thread per sub-env, calling the env's own scalar `reset`,
`step` and `observe` unchanged: numba-cuda compiles a numba `njit` function called from a kernel
for the GPU. So every built-in env and every plugin written as scalar functions has a CUDA
version with no code of its own.

Under numba's CUDA simulator a kernel runs as Python, and an `njit` function cannot take the
simulator's fake device arrays; the simulator's kernels hand it the numpy arrays behind them, so
the dynamics still run compiled while the kernel's own logic is what the simulator checks.
"""

from __future__ import annotations

from gymnasium.vector import AutoresetMode

from .driver import (HEADER, RESET_ARGS, STEP_ARGS, STEP_BODY, DriverTarget, fill_template, indent, load_generated,
                     read_limits)

THREADS = 256  # per block: sub-envs are independent, so any size that fills a warp works

_TEMPLATE = HEADER + '''\
from numba import cuda
from {module} import observe as _observe, reset as _reset, step as _step

_Params = None  # the env's Params class, set by envs.driver before anything compiles

{copy_row}

@cuda.jit(cache={cache})
def step_kernel({step_args}):
    i = cuda.grid(1)
    if i < state.shape[1]:
{unwrap_step}{limits}        params = _Params(*{unpack})
{step_body}
@cuda.jit(cache={cache})
def reset_kernel({reset_args}):
    i = cuda.grid(1)
    if i < state.shape[1]:
{unwrap_reset}        params = _Params(*{unpack})
{reset_body}'''

_LOADED: dict = {}


def _unwrap(args: str) -> str:
    """Simulator only: rebind each array argument to the numpy array behind it."""
    names = [a.strip() for a in args.split(",")]
    return f"        {', '.join(names)} = {', '.join(f'_host({n})' for n in names)}\n"


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


def source(target: DriverTarget) -> str:
    """The text of the CUDA kernels' module for `target` (for numba's simulator, if it is on)."""
    from numba import config

    simulator = bool(config.ENABLE_CUDASIM)
    body = STEP_BODY[target.mode]
    if target.mode is AutoresetMode.DISABLED:
        body = _FROZEN + indent(body, 4)
    text = fill_template(_TEMPLATE, target, "@cuda.jit(device=True, inline=True)",
                         "envs/cuda_driver.py (_TEMPLATE) with envs/driver.py's STEP_BODY",
                         step_body=indent(body, 8), unwrap_step=_unwrap(STEP_ARGS) if simulator else "",
                         unwrap_reset=_unwrap(RESET_ARGS) if simulator else "",
                         limits=indent(read_limits(target.env_cls.Params), 8), cache="False" if simulator else "True")
    return text + "\n\ndef _host(array):\n    return array._ary\n" if simulator else text


def load_cuda_driver(env):
    """The module of CUDA kernels (step_kernel, reset_kernel) for a BatchedEnv (its class's
    scalar functions live in the class's module)."""
    target = DriverTarget.of(env)._replace(discrete=False)  # device actions are not checked
    if target not in _LOADED:
        from numba import config

        kind = "sim" if config.ENABLE_CUDASIM else "cuda"
        name = f"numbarl_{kind}_driver_{target.env_cls.__module__.replace('.', '_')}"
        _LOADED[target] = load_generated(source(target), name, target.env_cls.Params)
    return _LOADED[target]


def cuda_available() -> bool:
    """Whether numba can launch CUDA kernels here (a GPU, or the simulator)."""
    from numbarl.cuda import available  # on a GPU it also installs numbarl's caching allocator

    return available()


class CudaDriver:
    """The CPU driver's interface over device arrays (reset_all and step_all with the CPU
    driver's arguments, less the action count: device actions are not checked), with the launch
    configuration worked out once."""

    def __init__(self, env):
        kernels = load_cuda_driver(env)
        num_envs = env.num_envs
        blocks = (num_envs + THREADS - 1) // THREADS
        self.step_all = kernels.step_kernel[blocks, THREADS]
        self.reset_all = kernels.reset_kernel[blocks, THREADS]
