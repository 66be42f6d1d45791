"""algos/replay.py: circular storage, true final observations, done flags, sampling, state."""

import numpy as np
import pytest

import autodiff as ad
from algos.replay import ReplayBuffer


def step(buffer, start, n=3, ended=None, truncated=None, final=None):
    obs = ad.tensor(np.arange(start, start + n, dtype=np.float32)[:, None].repeat(2, 1))
    nxt = obs + 100
    term = ad.tensor(np.zeros(n, bool) if ended is None else ended)
    trunc = ad.tensor(np.zeros(n, bool) if truncated is None else truncated)
    buffer.add(obs, nxt, ad.tensor(np.arange(n) % 2), ad.ones(n), term, trunc, final)


def test_circular_overwrite_order():
    buffer = ReplayBuffer(5, (2,))
    step(buffer, 0)        # rows 0..2
    step(buffer, 10)       # rows 3, 4, then wraps to 0
    assert buffer.size == 5 and buffer.position == 1
    np.testing.assert_array_equal(buffer.obs.numpy()[:, 0], [12, 1, 2, 10, 11])
    with pytest.raises(ValueError, match="does not fit"):
        step(buffer, 0, n=6)


def test_true_final_observation_and_terminated_only_done_flags():
    buffer = ReplayBuffer(8, (2,))
    final = np.full((3, 2), -7.0, np.float32)
    step(buffer, 0, ended=np.array([True, False, False]), truncated=np.array([False, True, False]), final=final)
    next_obs = buffer.next_obs.numpy()[:3, 0]
    np.testing.assert_array_equal(next_obs, [-7, -7, 102])  # finished episodes keep their last obs
    np.testing.assert_array_equal(buffer.dones.numpy()[:3], [1, 0, 0])  # truncation still bootstraps


def test_sampling_is_reproducible_and_only_from_filled_rows():
    buffer = ReplayBuffer(100, (2,))
    step(buffer, 0, n=7)
    a = buffer.sample(500, ad.Generator(3))
    b = buffer.sample(500, ad.Generator(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    rows = a[0].numpy()[:, 0]
    assert set(rows) == set(range(7))
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, (2,)).sample(1, ad.Generator(0))


def test_state_dict_round_trip():
    buffer = ReplayBuffer(6, (2,))
    step(buffer, 0, n=4)
    copy = ReplayBuffer(6, (2,))
    copy.load_state_dict(buffer.state_dict())
    assert (copy.position, copy.size) == (4, 4)
    for name in ("obs", "next_obs", "actions", "rewards", "dones"):
        np.testing.assert_array_equal(getattr(copy, name).numpy(), getattr(buffer, name).numpy())
