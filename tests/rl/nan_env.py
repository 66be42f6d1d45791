"""A CartPole whose reward turns NaN after `nan_after` steps of a sub-env: a planted divergence."""

from typing import NamedTuple

import numpy as np

from envs import dynamics
from envs.cartpole import CartPole, step as _cartpole_step
# CartPole's own start and observation; its reset leaves state[4], this sub-env's step count, running.
from envs.cartpole import observe, reset  # noqa: F401


class NanParams(NamedTuple):
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5
    force_mag: float = 10.0
    tau: float = 0.02
    theta_threshold_radians: float = 12 * 2 * np.pi / 360
    x_threshold: float = 2.4
    euler: bool = True
    nan_after: float = 3000.0


@dynamics
def step(state, i, action, rng, p):
    reward, terminated = _cartpole_step(state, i, action, rng, p)
    state[4, i] += 1.0  # steps of this sub-env, across episodes
    return (np.nan if state[4, i] > p.nan_after else reward), terminated


class NanCartPole(CartPole):
    Params = NanParams
    state_size = 5
