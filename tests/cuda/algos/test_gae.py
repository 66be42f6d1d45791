"""algos/gae_cuda.py under the simulator (or a GPU): the CUDA scan against algos/gae.py's numpy
scan, with the launcher's grid capped far below the sub-env count so every thread strides."""

import numpy as np
import pytest

import autodiff as ad
from algos.gae import compute_gae, gae_numpy
from numbarl import launch


@pytest.mark.parametrize("capped", [False, True])
def test_cuda_gae_matches_numpy_past_the_grid_cap(capped, rng, monkeypatch):
    T, N = 5, 37
    if capped:  # 2 blocks of 4 threads for 37 sub-envs: each thread covers 4 or 5 of them
        monkeypatch.setattr(launch, "MAX_BLOCKS", 2)
        monkeypatch.setattr(launch, "THREADS", 4)
    rewards, values = (rng.standard_normal((T, N)).astype(np.float32) for _ in range(2))
    dones = (rng.random((T, N)) < 0.3).astype(np.float32)
    next_value = rng.standard_normal(N).astype(np.float32)
    on_gpu = [ad.tensor(x, device="cuda") for x in (rewards, values, dones, next_value)]
    adv, ret = compute_gae(*on_gpu, 0.99, 0.95)
    expected = gae_numpy(rewards, values, dones, next_value, 0.99, 0.95)
    # float32 throughout; a GPU may fuse a multiply and an add, so not bit for bit there
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret.numpy(), expected + values, rtol=1e-5, atol=1e-5)


def test_cuda_gae_of_a_population_matches_numpy(rng):
    K, T, N = 2, 4, 3
    rewards, values = (rng.standard_normal((K, T, N)).astype(np.float32) for _ in range(2))
    dones = (rng.random((K, T, N)) < 0.3).astype(np.float32)
    next_value = rng.standard_normal((K, N)).astype(np.float32)
    adv, _ = compute_gae(*(ad.tensor(x, device="cuda") for x in (rewards, values, dones, next_value)), 0.9, 0.8)
    for k in range(K):
        np.testing.assert_allclose(adv.numpy()[k], gae_numpy(rewards[k], values[k], dones[k], next_value[k], 0.9, 0.8),
                                   rtol=1e-5, atol=1e-5)
