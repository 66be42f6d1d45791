"""envs/pendulum.py against Gymnasium's Pendulum-v1."""

import numpy as np

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(1)
    n = 1000
    states = rng.uniform([-2 * np.pi, -8], [2 * np.pi, 8], size=(n, 2))
    actions = rng.uniform(-3, 3, size=(n, 1)).astype(np.float32)  # beyond the bounds: clipped
    compare_with_gymnasium("Pendulum", states, actions)
