"""CartPole-v1 (Barto, Sutton and Anderson 1983) with Gymnasium's equations, thresholds, reward
and time limit: push the cart left or right to keep the pole upright; +1 per step, 500 steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .rng import uniform


class CartPoleParams(NamedTuple):
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates
    theta_threshold_radians: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4
    euler: bool = True  # False: semi-implicit Euler
    init_low: float = -0.05  # reset draws each state variable from [init_low, init_high)
    init_high: float = 0.05


@dynamics
def reset(state, i, rng, p):
    for k in range(4):
        state[k, i] = uniform(rng, i, p.init_low, p.init_high)


@dynamics
def step(state, i, action, rng, p):
    x, x_dot, theta, theta_dot = float(state[0, i]), float(state[1, i]), float(state[2, i]), float(state[3, i])
    force = p.force_mag if action == 1 else -p.force_mag
    costheta, sintheta = math.cos(theta), math.sin(theta)
    total_mass = p.masspole + p.masscart
    polemass_length = p.masspole * p.length
    temp = (force + polemass_length * theta_dot * theta_dot * sintheta) / total_mass
    thetaacc = (p.gravity * sintheta - costheta * temp) / (
        p.length * (4.0 / 3.0 - p.masspole * costheta * costheta / total_mass))
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    if p.euler:
        x, x_dot = x + p.tau * x_dot, x_dot + p.tau * xacc
        theta, theta_dot = theta + p.tau * theta_dot, theta_dot + p.tau * thetaacc
    else:
        x_dot = x_dot + p.tau * xacc
        x = x + p.tau * x_dot
        theta_dot = theta_dot + p.tau * thetaacc
        theta = theta + p.tau * theta_dot
    state[0, i], state[1, i], state[2, i], state[3, i] = x, x_dot, theta, theta_dot
    terminated = (x < -p.x_threshold or x > p.x_threshold
                  or theta < -p.theta_threshold_radians or theta > p.theta_threshold_radians)
    return 1.0, terminated


@dynamics
def observe(state, i, obs, p):
    for k in range(4):
        obs[i, k] = state[k, i]


class CartPole(BatchedEnv):
    """CartPole-v1: observation (x, x_dot, theta, theta_dot), actions {0: left, 1: right}."""

    Params = CartPoleParams
    state_size = 4
    max_episode_steps = 500
    gymnasium_id = "CartPole-v1"
    reset_options = {"low": "init_low", "high": "init_high"}  # Gymnasium's reset(options=...)

    @staticmethod
    def spaces(p):
        high = np.array([p.x_threshold * 2, np.inf, p.theta_threshold_radians * 2, np.inf], np.float32)
        return spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(2)
