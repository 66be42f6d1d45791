"""Per-sub-env random numbers for dynamics code: one uint64 state word per sub-env, advanced
by SplitMix64 (Steele, Lea and Flood 2014). Plain integer arithmetic, so the same functions
compile for the CPU driver and, later, inside a CUDA kernel; each sub-env's stream depends only
on its seed, never on how many threads step the batch."""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53: the top 53 bits make a double in [0, 1)


@numba.njit(cache=True)
def next_u64(rng, i):
    """Advance sub-env i's stream and return its next 64 random bits."""
    rng[i] += _GOLDEN
    z = rng[i]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(cache=True)
def uniform(rng, i, low, high):
    """A float64 drawn uniformly from [low, high)."""
    return low + (high - low) * (float(next_u64(rng, i) >> _S11) * _TO_UNIT)


def check_seed(seed):
    """`seed` as Gymnasium's reset takes it: None (from the OS), an integer >= 0 (numpy's too,
    as a Python int), or a sequence of them (a list, None where a block is seeded from the OS);
    a ValueError naming what was given otherwise."""
    if isinstance(seed, np.ndarray) and seed.ndim == 0:
        seed = seed.item()
    if isinstance(seed, (list, tuple, np.ndarray)):
        return [_one_seed(s, seed) for s in seed]
    return _one_seed(seed, seed)


def _one_seed(s, given):
    if s is None:
        return None
    if isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and s >= 0:
        return int(s)
    raise ValueError(f"a seed must be None, an integer >= 0, or a list of them (one per block of sub-envs), "
                     f"got {given!r}")


def seed_streams(seed, n) -> np.ndarray:
    """Independent starting words for n sub-envs from one seed (None: from the OS). A list of K
    seeds splits the sub-envs into K equal blocks, block k seeded as an env of n / K sub-envs
    with seeds[k] would be: a population's agent k steps exactly the single run's envs (with
    K == n this is Gymnasium's one seed per sub-env, None where a sub-env is seeded from the OS)."""
    seed = check_seed(seed)
    if isinstance(seed, list):
        seeds = seed
        if not seeds or n % len(seeds):
            raise ValueError(f"{len(seeds)} seeds do not split {n} sub-envs into equal blocks; give one seed, "
                             f"or a number of seeds that divides {n}")
        return np.concatenate([seed_streams(s, n // len(seeds)) for s in seeds])
    words = np.random.SeedSequence(seed).generate_state(n, np.uint64)
    return words.astype(np.uint64)
