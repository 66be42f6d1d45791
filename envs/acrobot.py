"""Acrobot-v1 (Sutton 1996; Sutton and Barto 1998) with Gymnasium's equations ("book" dynamics,
one RK4 step of 0.2 s), goal and time limit: swing the lower link's tip above the bar; -1 per
step, 500 steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .rng import uniform


class AcrobotParams(NamedTuple):
    dt: float = 0.2
    link_length_1: float = 1.0
    link_mass_1: float = 1.0
    link_mass_2: float = 1.0
    link_com_pos_1: float = 0.5
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0
    max_vel_1: float = 4 * math.pi
    max_vel_2: float = 9 * math.pi
    init_low: float = -0.1  # reset draws each state variable from [init_low, init_high)
    init_high: float = 0.1


@dynamics
def derivatives(theta1, theta2, dtheta1, dtheta2, a, p):
    m1, m2, l1 = p.link_mass_1, p.link_mass_2, p.link_length_1
    lc1, lc2, i1, i2, g = p.link_com_pos_1, p.link_com_pos_2, p.link_moi, p.link_moi, 9.8
    d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * math.cos(theta2)) + i1 + i2
    d2 = m2 * (lc2 ** 2 + l1 * lc2 * math.cos(theta2)) + i2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (-m2 * l1 * lc2 * dtheta2 ** 2 * math.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - math.pi / 2) + phi2)
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * math.sin(theta2) - phi2) / (
        m2 * lc2 ** 2 + i2 - d2 ** 2 / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@dynamics
def wrap(x, low, high):
    diff = high - low
    while x > high:
        x -= diff
    while x < low:
        x += diff
    return x


@dynamics
def reset(state, i, rng, p):
    for k in range(4):
        state[k, i] = uniform(rng, i, p.init_low, p.init_high)


@dynamics
def step(state, i, action, rng, p):
    torque = float(action) - 1.0  # actions {0, 1, 2} -> torques {-1, 0, +1}
    s0, s1, s2, s3 = float(state[0, i]), float(state[1, i]), float(state[2, i]), float(state[3, i])
    h, h2 = p.dt, p.dt / 2.0
    k1 = derivatives(s0, s1, s2, s3, torque, p)
    k2 = derivatives(s0 + h2 * k1[0], s1 + h2 * k1[1], s2 + h2 * k1[2], s3 + h2 * k1[3], torque, p)
    k3 = derivatives(s0 + h2 * k2[0], s1 + h2 * k2[1], s2 + h2 * k2[2], s3 + h2 * k2[3], torque, p)
    k4 = derivatives(s0 + h * k3[0], s1 + h * k3[1], s2 + h * k3[2], s3 + h * k3[3], torque, p)
    n0 = s0 + h / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
    n1 = s1 + h / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    n2 = s2 + h / 6.0 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
    n3 = s3 + h / 6.0 * (k1[3] + 2 * k2[3] + 2 * k3[3] + k4[3])
    n0 = wrap(n0, -math.pi, math.pi)
    n1 = wrap(n1, -math.pi, math.pi)
    n2 = min(max(n2, -p.max_vel_1), p.max_vel_1)
    n3 = min(max(n3, -p.max_vel_2), p.max_vel_2)
    state[0, i], state[1, i], state[2, i], state[3, i] = n0, n1, n2, n3
    terminated = -math.cos(n0) - math.cos(n1 + n0) > 1.0
    return (0.0 if terminated else -1.0), terminated


@dynamics
def observe(state, i, obs, p):
    s0, s1 = float(state[0, i]), float(state[1, i])
    obs[i, 0] = math.cos(s0)
    obs[i, 1] = math.sin(s0)
    obs[i, 2] = math.cos(s1)
    obs[i, 3] = math.sin(s1)
    obs[i, 4] = state[2, i]
    obs[i, 5] = state[3, i]


class Acrobot(BatchedEnv):
    """Acrobot-v1: observation (cos, sin of both angles, both angular speeds), torques {-1, 0, 1}."""

    Params = AcrobotParams
    state_size = 4
    max_episode_steps = 500
    gymnasium_id = "Acrobot-v1"
    reset_options = {"low": "init_low", "high": "init_high"}  # Gymnasium's reset(options=...)

    @staticmethod
    def spaces(p):
        high = np.array([1.0, 1.0, 1.0, 1.0, p.max_vel_1, p.max_vel_2], np.float32)
        return spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(3)
