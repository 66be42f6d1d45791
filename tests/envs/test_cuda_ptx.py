"""envs/cuda_driver.py: every built-in env's step and reset kernels compile and link for an H100
(sm_90) on this GPU-less machine, catching what the simulator lets through (it runs Python)."""

import numpy as np
import pytest
from numba import typeof

import envs
from envs.cuda_driver import load_cuda_driver

from ..cuda_ptx import compile_ptx, link

NAMES = ["CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot", "CartPoleNoVel",
         "PendulumNoVel", "MemoryCue"]


@pytest.mark.parametrize("name", NAMES)
def test_step_and_reset_kernels_compile_for_sm90(name):
    """With the argument types a launch passes: the actions, and the arena (envs/cuda_arena.py)."""
    env = envs.make(name, num_envs=4, seed=0)
    actions = np.empty(env._action_shape, env._action_dtype)
    kernels = load_cuda_driver(env)
    arena, mask = typeof(np.empty(64, np.uint8)), typeof(env._done)
    step = compile_ptx(kernels.step_kernel, (typeof(actions), arena))
    reset = compile_ptx(kernels.reset_kernel, (arena, mask))
    for ptx, kernel in ((step, "step_kernel"), (reset, "reset_kernel")):
        assert ".target sm_90" in ptx
        assert ".entry" in ptx and kernel in ptx


def test_the_kernels_cache_their_compilation():
    """The generated module is written once per content (envs/driver.py, load_generated), so the
    timestamp numba keys its cache on stays put and a process loads the kernels an earlier one
    compiled."""
    from numba.cuda.dispatcher import CUDACache

    kernels = load_cuda_driver(envs.make("CartPole", num_envs=4, seed=0))
    assert isinstance(kernels.step_kernel._cache, CUDACache) and isinstance(kernels.reset_kernel._cache, CUDACache)


def test_linking_fails_where_a_helper_is_missing():
    """The link in compile_ptx is a real check: the env kernels' 2-D arena views call numba-cuda's
    reshape helper, and without its code nvJitLink names the undefined symbol."""
    from cuda.bindings.nvjitlink import nvJitLinkError
    from numba.cuda.cudadrv.driver import _Linker

    env = envs.make("CartPole", num_envs=4, seed=0)
    kernels = load_cuda_driver(env)
    ptx = compile_ptx(kernels.reset_kernel, (typeof(np.empty(64, np.uint8)), typeof(env._done)))
    assert len(link(ptx)) > 0
    linker = _Linker(cc=(9, 0))
    linker.add_ptx(ptx.encode())
    with pytest.raises(nvJitLinkError, match="numba_attempt_nocopy_reshape"):
        linker.complete()
