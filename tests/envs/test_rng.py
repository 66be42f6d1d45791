"""envs/rng.py: SplitMix64 against a plain-Python reference, and uniform's range and moments."""

import numpy as np
import pytest

from envs.rng import next_u64, seed_streams, uniform

MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return x, z ^ (z >> 31)


def test_next_u64_is_splitmix64():
    rng = seed_streams(123, 3)
    words = [int(w) for w in rng]
    for _ in range(5):
        for i in range(3):
            words[i], expected = splitmix64(words[i])
            assert int(next_u64(rng, i)) == expected
            assert int(rng[i]) == words[i]


def test_uniform_range_and_moments():
    rng = seed_streams(0, 1)
    draws = np.array([uniform(rng, 0, -2.0, 3.0) for _ in range(20000)])
    assert draws.min() >= -2.0 and draws.max() < 3.0
    assert abs(draws.mean() - 0.5) < 0.05 and abs(draws.var() - 25 / 12) < 0.1


def test_seed_streams_are_reproducible_and_distinct():
    np.testing.assert_array_equal(seed_streams(7, 4), seed_streams(7, 4))
    assert len(set(seed_streams(7, 1000).tolist())) == 1000


def test_a_list_of_seeds_seeds_equal_blocks_as_separate_envs():
    words = seed_streams([3, 4], 6)
    np.testing.assert_array_equal(words[3:], seed_streams(4, 3))
    np.testing.assert_array_equal(words[:3], seed_streams(3, 3))
    with pytest.raises(ValueError, match="equal blocks"):
        seed_streams([1, 2, 3, 4], 6)
