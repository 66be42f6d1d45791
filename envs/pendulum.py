"""Pendulum-v1 with Gymnasium's equations, cost and time limit: swing a pendulum up and hold it
with a bounded torque; reward -(angle^2 + 0.1 speed^2 + 0.001 torque^2), 200 steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .rng import uniform


class PendulumParams(NamedTuple):
    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741 (Gymnasium's name)
    init_angle: float = math.pi  # reset draws the angle from [-init_angle, init_angle)
    init_speed: float = 1.0


WRAP_ANGLE = 32 * math.pi  # rad; see step


@dynamics
def angle_normalize(x):
    return ((x + math.pi) % (2 * math.pi)) - math.pi


@dynamics
def reset(state, i, rng, p):
    state[0, i] = uniform(rng, i, -p.init_angle, p.init_angle)
    state[1, i] = uniform(rng, i, -p.init_speed, p.init_speed)


@dynamics
def step(state, i, action, rng, p):
    th, thdot = float(state[0, i]), float(state[1, i])
    u = min(max(float(action[0]), -p.max_torque), p.max_torque)
    costs = angle_normalize(th) ** 2 + 0.1 * thdot * thdot + 0.001 * u * u
    newthdot = thdot + (3.0 * p.g / (2.0 * p.l) * math.sin(th) + 3.0 / (p.m * p.l * p.l) * u) * p.dt
    newthdot = min(max(newthdot, -p.max_speed), p.max_speed)
    newth = th + newthdot * p.dt
    # Gymnasium keeps the angle unbounded, in float64. In the float32 state it would lose
    # precision as it grows (a pendulum spinning for 10,000 steps is 3,600 rad out, where a
    # float32 step is 2.4e-4 rad, and its observations were 0.13 off Gymnasium's), so past
    # WRAP_ANGLE it is wrapped into [-pi, pi). Within the 200-step limit an angle stays below
    # pi + 200 * 8 * 0.05 < WRAP_ANGLE: those episodes step as before, bit for bit.
    if abs(newth) > WRAP_ANGLE:
        newth = angle_normalize(newth)
    state[0, i] = newth
    state[1, i] = newthdot
    return -costs, False


@dynamics
def observe(state, i, obs, p):
    th = float(state[0, i])
    obs[i, 0] = math.cos(th)
    obs[i, 1] = math.sin(th)
    obs[i, 2] = state[1, i]


class Pendulum(BatchedEnv):
    """Pendulum-v1: observation (cos angle, sin angle, angular speed), action: torque in [-2, 2]."""

    Params = PendulumParams
    state_size = 2
    max_episode_steps = 200
    gymnasium_id = "Pendulum-v1"
    reset_options = {"x_init": "init_angle", "y_init": "init_speed"}  # Gymnasium's reset(options=...)

    @staticmethod
    def spaces(p):
        high = np.array([1.0, 1.0, p.max_speed], np.float32)
        return (spaces.Box(-high, high, dtype=np.float32),
                spaces.Box(-p.max_torque, p.max_torque, shape=(1,), dtype=np.float32))
