"""algos/gae.py: GAE against a hand-computed example and a scalar reference; the CUDA kernel of
algos/gae_cuda.py compiles to PTX for sm_90 (its results: tests/cuda/algos/test_gae.py)."""

import numpy as np
import pytest

import autodiff as ad
from algos.gae import compute_gae


def reference_gae(rewards, values, dones, next_value, gamma, lam):
    """Schulman et al.'s recursion, one sub-env and one step at a time."""
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            following = next_value[n] if t == T - 1 else values[t + 1, n]
            keep = 1.0 - dones[t, n]
            delta = rewards[t, n] + gamma * following * keep - values[t, n]
            running = delta + gamma * lam * keep * running
            adv[t, n] = running
    return adv


def test_gae_hand_computed():
    """Two sub-envs, three steps, gamma = 0.5, lambda = 1 (so advantages are plain returns minus
    values): env 0 ends its episode at step 1 (terminated), env 1 never ends."""
    rewards = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], np.float32)
    values = np.zeros((3, 2), np.float32)
    dones = np.array([[0, 0], [1, 0], [0, 0]], np.float32)
    next_value = np.array([4.0, 4.0], np.float32)
    adv, ret = compute_gae(*(ad.tensor(x) for x in (rewards, values, dones, next_value)), 0.5, 1.0)
    # env 0: step 2 starts a new episode: 1 + 0.5*4 = 3; step 1 ends one: 1; step 0: 1 + 0.5*1 = 1.5
    # env 1: 1 + 0.5 * (1 + 0.5 * (1 + 0.5 * 4)) = 2.25 ; 1 + 0.5*3 = 2.5 ; 3
    np.testing.assert_allclose(adv.numpy(), [[1.5, 2.25], [1.0, 2.5], [3.0, 3.0]])
    np.testing.assert_allclose(ret.numpy(), adv.numpy())


def test_gae_truncation_bootstrap_enters_through_the_reward():
    """A truncated step ends the recursion like a terminated one; PPO adds gamma * V(final_obs)
    to its reward, so the advantage sees the bootstrap and nothing from the next episode."""
    gamma = 0.9
    rewards = np.array([[1.0 + gamma * 10.0], [1.0]], np.float32)  # step 0 truncated, V(final) = 10
    values = np.array([[2.0], [3.0]], np.float32)
    dones = np.array([[1.0], [0.0]], np.float32)
    adv, _ = compute_gae(*(ad.tensor(x) for x in (rewards, values, dones, np.array([5.0], np.float32))), gamma, 0.95)
    np.testing.assert_allclose(adv.numpy()[0, 0], 1.0 + gamma * 10.0 - 2.0, rtol=1e-6)


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.95), (0.9, 0.0), (1.0, 1.0)])
def test_gae_matches_the_scalar_recursion(gamma, lam):
    rng = np.random.default_rng(5)
    T, N = 17, 6
    rewards = rng.standard_normal((T, N))
    values = rng.standard_normal((T, N))
    dones = (rng.random((T, N)) < 0.15).astype(np.float64)  # episodes end at different steps
    next_value = rng.standard_normal(N)
    adv, ret = compute_gae(*(ad.tensor(x) for x in (rewards, values, dones, next_value)), gamma, lam)
    expected = reference_gae(rewards, values, dones, next_value, gamma, lam)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(ret.numpy(), expected + values, rtol=1e-10)


def test_gae_of_a_population_is_each_agents_own():
    """(K, T, N): agent k's advantages are those of its (T, N) slice alone, bit for bit."""
    rng = np.random.default_rng(6)
    K, T, N = 3, 9, 4
    rewards, values = (rng.standard_normal((K, T, N)).astype(np.float32) for _ in range(2))
    dones = (rng.random((K, T, N)) < 0.2).astype(np.float32)
    next_value = rng.standard_normal((K, N)).astype(np.float32)
    adv, ret = compute_gae(*(ad.tensor(x) for x in (rewards, values, dones, next_value)), 0.98, 0.9)
    for k in range(K):
        alone, _ = compute_gae(*(ad.tensor(x[k]) for x in (rewards, values, dones, next_value)), 0.98, 0.9)
        np.testing.assert_array_equal(adv.numpy()[k], alone.numpy())
    np.testing.assert_array_equal(ret.numpy(), adv.numpy() + values)


def test_gae_kernel_compiles_for_sm90():
    from numba import types

    from algos.gae_cuda import gae_kernel

    from ..cuda_ptx import compile_ptx

    f32 = types.float32[::1]
    ptx = compile_ptx(gae_kernel, (f32, f32, f32, f32, types.float64, types.float64, f32, types.int64, types.int64))
    assert ".target sm_90" in ptx and ".entry" in ptx


def test_gae_kernel_caches_its_compilation():
    """cache=True: a process loads the machine code an earlier one compiled (numba keys it on
    algos/gae_cuda.py's timestamp) instead of compiling again; without the flag numba keeps none."""
    from numba.cuda.dispatcher import CUDACache

    from algos.gae_cuda import gae_kernel

    assert isinstance(gae_kernel._cache, CUDACache)
