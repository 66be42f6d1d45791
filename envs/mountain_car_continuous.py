"""MountainCarContinuous-v0 with Gymnasium's equations, reward and time limit: the same hill,
a continuous push in [-1, 1]; +100 at the goal minus 0.1 action^2 per step, 999 steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from .base import BatchedEnv, dynamics
from .mountain_car import observe, reset  # noqa: F401  (the same hill: same start, same observation)


class MountainCarContinuousParams(NamedTuple):
    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0
    power: float = 0.0015
    init_low: float = -0.6  # reset draws the position from [init_low, init_high)
    init_high: float = -0.4


@dynamics
def step(state, i, action, rng, p):
    position, velocity = float(state[0, i]), float(state[1, i])
    a = float(action[0])
    force = min(max(a, p.min_action), p.max_action)
    velocity += force * p.power - 0.0025 * math.cos(3 * position)
    velocity = min(max(velocity, -p.max_speed), p.max_speed)
    position += velocity
    position = min(max(position, p.min_position), p.max_position)
    if position == p.min_position and velocity < 0:
        velocity = 0.0
    state[0, i], state[1, i] = position, velocity
    terminated = position >= p.goal_position and velocity >= p.goal_velocity
    # As in Gymnasium, the action cost uses the action as given, before clipping.
    reward = (100.0 if terminated else 0.0) - a * a * 0.1
    return reward, terminated


class MountainCarContinuous(BatchedEnv):
    """MountainCarContinuous-v0: observation (position, velocity), action: force in [-1, 1]."""

    Params = MountainCarContinuousParams
    state_size = 2
    max_episode_steps = 999
    gymnasium_id = "MountainCarContinuous-v0"
    reset_options = {"low": "init_low", "high": "init_high"}  # Gymnasium's reset(options=...)

    @staticmethod
    def spaces(p):
        low = np.array([p.min_position, -p.max_speed], np.float32)
        high = np.array([p.max_position, p.max_speed], np.float32)
        return (spaces.Box(low, high, dtype=np.float32),
                spaces.Box(p.min_action, p.max_action, shape=(1,), dtype=np.float32))
