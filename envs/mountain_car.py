"""MountainCar-v0 (Moore 1990) with Gymnasium's equations, goal and time limit: an underpowered
car must rock back and forth to reach the flag; -1 per step, 200 steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .rng import uniform


class MountainCarParams(NamedTuple):
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    force: float = 0.001
    gravity: float = 0.0025
    init_low: float = -0.6  # reset draws the position from [init_low, init_high)
    init_high: float = -0.4


@dynamics
def reset(state, i, rng, p):
    state[0, i] = uniform(rng, i, p.init_low, p.init_high)
    state[1, i] = 0.0


@dynamics
def step(state, i, action, rng, p):
    position, velocity = float(state[0, i]), float(state[1, i])
    velocity += (action - 1) * p.force + math.cos(3 * position) * (-p.gravity)
    velocity = min(max(velocity, -p.max_speed), p.max_speed)
    position += velocity
    position = min(max(position, p.min_position), p.max_position)
    if position == p.min_position and velocity < 0:
        velocity = 0.0
    state[0, i], state[1, i] = position, velocity
    return -1.0, position >= p.goal_position and velocity >= p.goal_velocity


@dynamics
def observe(state, i, obs, p):
    obs[i, 0] = state[0, i]
    obs[i, 1] = state[1, i]


class MountainCar(BatchedEnv):
    """MountainCar-v0: observation (position, velocity), actions {0: left, 1: none, 2: right}."""

    Params = MountainCarParams
    state_size = 2
    max_episode_steps = 200
    gymnasium_id = "MountainCar-v0"
    reset_options = {"low": "init_low", "high": "init_high"}  # Gymnasium's reset(options=...)

    @staticmethod
    def spaces(p):
        low = np.array([p.min_position, -p.max_speed], np.float32)
        high = np.array([p.max_position, p.max_speed], np.float32)
        return spaces.Box(low, high, dtype=np.float32), spaces.Discrete(3)
