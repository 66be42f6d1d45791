"""envs/cartpole.py against Gymnasium's CartPole-v1."""

import numpy as np

import envs
from envs.cartpole import CartPole

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(0)
    n = 1000
    states = rng.uniform([-2.6, -3, -0.25, -3], [2.6, 3, 0.25, 3], size=(n, 4))
    actions = rng.integers(0, 2, n)
    terminated = compare_with_gymnasium("CartPole", states, actions)
    assert 0 < terminated.sum() < n  # both kinds of transition were compared


def test_spaces_and_time_limit_match_gymnasium():
    import gymnasium as gym

    env, reference = CartPole(num_envs=2), gym.make("CartPole-v1")
    assert env.single_observation_space == reference.observation_space
    assert env.single_action_space == reference.action_space
    assert env.max_episode_steps == reference.spec.max_episode_steps == 500


def test_reset_draws_from_gymnasiums_range():
    obs, _ = envs.make("CartPole", num_envs=2000, seed=3).reset()
    assert np.abs(obs).max() <= 0.05 and obs.std() > 0.02


def test_parameters_change_the_dynamics():
    light = envs.make("CartPole", num_envs=1, seed=0, gravity=1.0)
    earth = envs.make("CartPole", num_envs=1, seed=0)
    light.reset(seed=0), earth.reset(seed=0)
    a = np.zeros(1, np.int64)
    for _ in range(5):
        lo, eo = light.step(a)[0], earth.step(a)[0]
    assert not np.allclose(lo, eo, rtol=0, atol=1e-7)
