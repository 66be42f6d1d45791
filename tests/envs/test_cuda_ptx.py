"""envs/cuda_driver.py: every built-in env's step and reset kernels compile to PTX for an H100
(sm_90) on this GPU-less machine, catching what the simulator lets through (it runs Python)."""

import numpy as np
import pytest
from numba import typeof

import envs
from envs.cuda_driver import load_cuda_driver
from envs.driver import RESET_ARGS, STEP_ARGS

from ..cuda_ptx import compile_ptx

NAMES = ["CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot", "CartPoleNoVel",
         "PendulumNoVel", "MemoryCue"]


def argument_types(env, names, actions):
    """The numba types a launch passes, from a CPU env's own arrays."""
    values = {"state": env.state, "t": env.t, "rng": env.rng, "actions": actions, "packed_params": env._packed,
              "obs": env._obs, "reward": env._reward,
              "terminated": env._terminated, "truncated": env._truncated, "final_obs": env._final_obs,
              "ep_return": env.ep_return, "done_return": env._done_return,
              "done_length": env._done_length, "done": env._done, "mask": env._done}
    return tuple(typeof(values[name.strip()]) for name in names.split(","))


@pytest.mark.parametrize("name", NAMES)
def test_step_and_reset_kernels_compile_for_sm90(name):
    env = envs.make(name, num_envs=4, seed=0)
    actions = env.action_space.sample()
    actions = actions.astype(np.int64) if actions.dtype.kind in "iu" else actions.astype(np.float32)
    kernels = load_cuda_driver(env)
    step = compile_ptx(kernels.step_kernel, argument_types(env, STEP_ARGS, actions))
    reset = compile_ptx(kernels.reset_kernel, argument_types(env, RESET_ARGS, actions))
    for ptx, kernel in ((step, "step_kernel"), (reset, "reset_kernel")):
        assert ".target sm_90" in ptx
        assert ".entry" in ptx and kernel in ptx
