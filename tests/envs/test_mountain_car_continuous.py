"""envs/mountain_car_continuous.py against Gymnasium's MountainCarContinuous-v0."""

import numpy as np

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(3)
    n = 1000
    states = rng.uniform([-1.2, -0.07], [0.6, 0.07], size=(n, 2))
    states[:50, 0] = -1.2
    states[50:150, 0] = rng.uniform(0.4, 0.6, 100)
    actions = rng.uniform(-1.5, 1.5, size=(n, 1)).astype(np.float32)
    terminated = compare_with_gymnasium("MountainCarContinuous", states, actions)
    assert terminated.any()
