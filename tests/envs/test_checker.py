"""envs/checker.py: passes the built-ins, explains what is wrong with planted broken envs."""

import numpy as np
import pytest
from gymnasium import spaces

import envs
from envs import EnvCheckError, check_env


@pytest.mark.parametrize("name", ["CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot"])
def test_builtins_pass(name):
    check_env(envs.make(name, num_envs=8, seed=0), steps=1000)


class Broken:
    """A batched env with the mistakes users make: float64 observations, rewards of the wrong
    shape, episodes that end without their final observation, unseeded resets."""

    num_envs = 2
    single_observation_space = spaces.Box(-1, 1, (3,), np.float32)
    single_action_space = spaces.Discrete(2)

    def reset(self, seed=None):
        return np.random.uniform(-1, 1, (2, 3)), {}

    def step(self, actions):
        return np.zeros((2, 3)), np.zeros((2, 1)), np.array([True, False]), np.zeros(2, bool), {}


def test_planted_broken_env_is_explained_in_sentences():
    with pytest.raises(EnvCheckError) as info:
        check_env(Broken())
    message = str(info.value)
    assert "Broken does not follow the batched-env contract" in message
    assert "returned observations of dtype float64; the observation space says float32" in message
    assert "reset(seed=...) twice with the same seed gave different observations" in message
    assert "returned rewards as ndarray of shape (2, 1); it should be a numpy array of shape (2,)" in message


class NoFinalObs(Broken):
    def reset(self, seed=None):
        return np.zeros((2, 3), np.float32), {}

    def step(self, actions):
        return np.zeros((2, 3), np.float32), np.zeros(2), np.array([True, False]), np.zeros(2, bool), {}


def test_missing_final_obs_is_explained():
    with pytest.raises(EnvCheckError, match=r"ended episodes at step 0 without info\['final_obs'\]"):
        check_env(NoFinalObs())


def test_missing_spaces_are_explained():
    class Bare:
        num_envs = 0

    with pytest.raises(EnvCheckError, match="num_envs should be a positive integer"):
        check_env(Bare())


def test_env_that_never_ends_gets_a_warning_not_an_error():
    with pytest.warns(UserWarning, match="no episode of MountainCarContinuous ended in 50 random steps"):
        check_env(envs.make("MountainCarContinuous", num_envs=2, seed=0), steps=50)
