"""A user's own env for numbarl: a walk along a line to a goal at its right end.

The dynamics are three scalar functions of one sub-env (no arrays allocated, no Python objects),
which numbarl compiles into its batched driver; the class names the parameters, state size, time
limit and spaces. `pip install -e examples/gridwalk` registers it through the `numbarl.envs` entry
point, after which `envs.make("GridWalk")` and `python -m rl.train ppo GridWalk` find it by name.
"""

from typing import NamedTuple

import numpy as np
from gymnasium import spaces

from envs import BatchedEnv, dynamics, uniform


class GridWalkParams(NamedTuple):
    size: int = 10          # cells 0 .. size-1; the goal is the last one
    step_cost: float = 0.01


@dynamics
def reset(state, i, rng, p):
    state[0, i] = np.floor(uniform(rng, i, 0.0, p.size / 2))  # start in the left half


@dynamics
def step(state, i, action, rng, p):
    position = state[0, i] + (1.0 if action == 1 else -1.0)
    position = min(max(position, 0.0), p.size - 1.0)
    state[0, i] = position
    at_goal = position == p.size - 1.0
    return (1.0 if at_goal else -p.step_cost), at_goal


@dynamics
def observe(state, i, obs, p):
    obs[i, 0] = state[0, i] / (p.size - 1.0)


class GridWalk(BatchedEnv):
    """Observation: position in [0, 1]; actions {0: left, 1: right}; +1 at the goal."""

    Params = GridWalkParams
    state_size = 1
    max_episode_steps = 100

    @staticmethod
    def spaces(p):
        return spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32), spaces.Discrete(2)
