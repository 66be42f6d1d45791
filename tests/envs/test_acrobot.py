"""envs/acrobot.py against Gymnasium's Acrobot-v1 (RK4)."""

import numpy as np

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(4)
    n = 1000
    # Angular speeds up to half their bounds. At the very bounds (|dtheta2| near 9 pi) one 0.2 s
    # RK4 step amplifies the 1-ulp differences between numpy's cos and LLVM's by ~1e11, and about
    # 1 transition in 1,000 there differs by ~1e-4: libm, not dynamics.
    high = np.array([np.pi, np.pi, 2 * np.pi, 4.5 * np.pi])
    states = rng.uniform(-high, high, size=(n, 4))
    actions = rng.integers(0, 3, n)
    terminated = compare_with_gymnasium("Acrobot", states, actions)
    assert terminated.any()
