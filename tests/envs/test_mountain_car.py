"""envs/mountain_car.py against Gymnasium's MountainCar-v0."""

import numpy as np

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(2)
    n = 1000
    states = rng.uniform([-1.2, -0.07], [0.6, 0.07], size=(n, 2))
    states[:50, 0] = -1.2  # at the left wall, where the velocity is zeroed
    states[50:150, 0] = rng.uniform(0.45, 0.6, 100)  # near the goal
    actions = rng.integers(0, 3, n)
    terminated = compare_with_gymnasium("MountainCar", states, actions,
                                        state_of=lambda env: np.array(env.state, np.float64))
    assert terminated.any()
