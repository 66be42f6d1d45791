"""envs/cuda_arena.py under the simulator (or a GPU): the arena's views hold the arrays put in,
its header (decoded here with numpy alone) says where each one's bytes lie, every array starts
aligned, and the env kernels take two array arguments."""

import inspect

import numpy as np

import envs
from envs.cuda_arena import ALIGN, Arena
from envs.cuda_driver import load_cuda_driver


def some_arrays(rng):
    return {"state": rng.standard_normal((3, 7)).astype(np.float32), "t": rng.integers(-1, 9, 7),
            "flags": rng.random(7) < 0.5, "obs": rng.standard_normal((7, 2, 3)).astype(np.float32),
            "params": rng.standard_normal(5), "words": rng.integers(0, 2**63, 7).astype(np.uint64)}


def test_the_views_hold_the_arrays_and_the_header_says_where(rng):
    arrays = some_arrays(rng)
    arena = Arena(arrays)
    raw = arena.device.copy_to_host()
    words = raw.view(np.int64)
    w = 0
    for name, a in arrays.items():
        view = arena.views[name]
        assert view.shape == a.shape and view.dtype == a.dtype, name
        np.testing.assert_array_equal(view.copy_to_host(), a, err_msg=name)
        begin, end, *shape = words[w:w + 2 + a.ndim]
        assert begin % ALIGN == 0 and end - begin == a.nbytes and tuple(shape) == a.shape, name
        np.testing.assert_array_equal(raw[begin:end].view(a.dtype).reshape(a.shape), a, err_msg=name)
        w += 2 + a.ndim


def test_writing_a_view_writes_the_arena(rng):
    arrays = some_arrays(rng)
    arena = Arena(arrays)
    arena.views["obs"].copy_to_device(np.full((7, 2, 3), 2.5, np.float32))
    np.testing.assert_array_equal(arena.views["obs"].copy_to_host(), np.full((7, 2, 3), 2.5, np.float32))
    np.testing.assert_array_equal(arena.views["state"].copy_to_host(), arrays["state"])  # its neighbours kept


def test_the_env_kernels_launch_with_two_array_arguments():
    """Down from 14 (step) and 7 (reset): each array argument costs numba-cuda ~3.5-4 us a launch."""
    env = envs.make("Pendulum", num_envs=3, device="cuda", seed=0)
    kernels = load_cuda_driver(env)
    assert list(inspect.signature(kernels.step_kernel.py_func).parameters) == ["actions", "arena"]
    assert list(inspect.signature(kernels.reset_kernel.py_func).parameters) == ["arena", "mask"]
    assert all(getattr(env, name) is view for name, view in env._driver.attributes.items())
