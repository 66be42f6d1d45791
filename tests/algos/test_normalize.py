"""algos/normalize.py: running statistics against numpy over the whole stream."""

import numpy as np

import autodiff as ad
from algos.normalize import RewardScaler, RunningMeanStd


def test_running_mean_std_matches_numpy_over_all_batches():
    rng = np.random.default_rng(0)
    rms = RunningMeanStd((3,))
    seen = []
    for n in (5, 1, 17, 8):
        batch = rng.standard_normal((n, 3)) * [1, 10, 0.1] + [0, 5, -2]
        seen.append(batch)
        rms.update(ad.tensor(batch.astype(np.float32)))
    allx = np.concatenate(seen)
    np.testing.assert_allclose(rms.mean.numpy(), allx.mean(0), rtol=1e-4, atol=1e-5)
    # The prior (count 1e-4 of mean 0, var 1, as in SB3 and Gymnasium) shifts the result by ~1e-5.
    np.testing.assert_allclose(rms.var.numpy(), allx.var(0), rtol=1e-3, atol=1e-4)
    out = rms(ad.tensor(allx.astype(np.float32)))
    np.testing.assert_allclose(out.numpy().mean(0), 0, atol=1e-3)
    assert set(rms.state_dict()) == {"mean", "var", "count"}


def test_normalised_values_are_clipped():
    rms = RunningMeanStd((1,), clip=5.0)
    rms.update(ad.tensor(np.array([[0.0], [1.0]], np.float32)))
    assert rms(ad.tensor(np.array([[1e6]], np.float32))).numpy()[0, 0] == 5.0


def test_reward_scaler_divides_by_the_std_of_discounted_returns():
    rng = np.random.default_rng(1)
    scaler = RewardScaler(num_envs=2, gamma=0.9)
    returns = np.zeros(2)
    history = []
    for t in range(50):
        r = rng.standard_normal(2).astype(np.float32) * 3
        done = np.array([t % 7 == 6, t % 11 == 10])
        out = scaler(ad.tensor(r), ad.tensor(done))
        returns = returns * 0.9 + r
        history.append(returns.copy())
        expected_std = np.sqrt(np.concatenate(history).var() + 1e-8)
        np.testing.assert_allclose(out.numpy(), r / expected_std, rtol=2e-3)
        returns[done] = 0.0
