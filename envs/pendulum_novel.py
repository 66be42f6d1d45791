"""Pendulum with the angular speed hidden: the observation is (cos angle, sin angle) only (a
partially observed env for recurrent policies). Dynamics, reward and time limit are Pendulum-v1's."""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from .base import dynamics
from .pendulum import Pendulum, reset, step  # noqa: F401 (the driver takes reset and step from here)


@dynamics
def observe(state, i, obs, p):
    th = float(state[0, i])
    obs[i, 0] = math.cos(th)
    obs[i, 1] = math.sin(th)


class PendulumNoVel(Pendulum):
    """Pendulum-v1 observed as (cos angle, sin angle), action: torque in [-2, 2]."""

    gymnasium_id = None

    @staticmethod
    def spaces(p):
        return (spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
                spaces.Box(-p.max_torque, p.max_torque, shape=(1,), dtype=np.float32))
