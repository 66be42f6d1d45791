"""A memory task: the first observation shows a cue, -1 or +1; then comes a corridor of random
length in which the cue is gone; at its end a query flag asks for the cue back. Answering it
(action 1 for +1, action 0 for -1) earns +1, a wrong answer -1, and ends the episode; every step
before the query earns 0, whatever the action.

A policy without memory can only guess (expected return 0); one that remembers the cue for up to
`max_length` steps scores 1. Episode lengths differ within the batch, so hidden states reset at
different steps in different sub-envs.

    observation (cue, query): (+-1, 0) first, (0, 0) along the corridor, (0, 1) at the query
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .rng import uniform


class MemoryCueParams(NamedTuple):
    min_length: int = 8  # steps from the cue to the query, drawn uniformly from [min, max]
    max_length: int = 24


# state rows: 0 the cue (+-1), 1 the step at which the query comes, 2 steps taken so far
@dynamics
def reset(state, i, rng, p):
    state[0, i] = 1.0 if uniform(rng, i, 0.0, 1.0) < 0.5 else -1.0
    span = p.max_length - p.min_length + 1
    state[1, i] = p.min_length + min(math.floor(uniform(rng, i, 0.0, span)), span - 1)
    state[2, i] = 0.0


@dynamics
def step(state, i, action, rng, p):
    k = state[2, i]
    if k < state[1, i]:
        state[2, i] = k + 1.0
        return 0.0, False
    correct = (action == 1) == (state[0, i] > 0)
    return (1.0 if correct else -1.0), True


@dynamics
def observe(state, i, obs, p):
    k = state[2, i]
    obs[i, 0] = state[0, i] if k == 0 else 0.0
    obs[i, 1] = 1.0 if k == state[1, i] else 0.0


class MemoryCue(BatchedEnv):
    """Remember the first observation's sign until asked for it, `min_length`..`max_length` steps later."""

    Params = MemoryCueParams
    state_size = 3
    max_episode_steps = 0  # every episode ends at its query

    @staticmethod
    def spaces(p):
        if not 1 <= p.min_length <= p.max_length:
            raise ValueError(f"MemoryCue needs 1 <= min_length <= max_length, got {p.min_length} and {p.max_length}")
        return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32), spaces.Discrete(2)
