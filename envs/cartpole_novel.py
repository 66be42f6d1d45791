"""CartPole with the two velocities hidden: the observation is (x, theta) only, so a policy must
infer the velocities from what it saw before (a partially observed env for recurrent policies).
Dynamics, reward, termination and time limit are CartPole-v1's, unchanged."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from .base import dynamics
from .cartpole import CartPole, reset, step  # noqa: F401 (the driver takes reset and step from here)


@dynamics
def observe(state, i, obs, p):
    obs[i, 0] = state[0, i]
    obs[i, 1] = state[2, i]


class CartPoleNoVel(CartPole):
    """CartPole-v1 observed as (x, theta), actions {0: left, 1: right}."""

    gymnasium_id = None
    reward_threshold = 475.0  # CartPole-v1's: the same rewards and time limit

    @staticmethod
    def spaces(p):
        high = np.array([p.x_threshold * 2, p.theta_threshold_radians * 2], np.float32)
        return spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(2)
