"""envs/checker.py: passes the built-ins, explains what is wrong with planted broken envs."""

import numpy as np
import pytest
from gymnasium import spaces

import envs
from envs import EnvCheckError, check_env


@pytest.mark.parametrize("name", ["CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot"])
def test_builtins_pass(name):
    report = check_env(envs.make(name, num_envs=8, seed=0), steps=1000)
    assert report.startswith(f"{name} follows the batched-env contract: 8 sub-envs, observations ")
    assert "reset seeding reproduces, 1000 random steps ended " in report and repr(report) == str(report)


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


@pytest.mark.parametrize("mode", ["next_step", "disabled"])
def test_builtins_pass_in_the_other_autoreset_modes(mode):
    check_env(envs.make("CartPole", num_envs=4, seed=0, autoreset_mode=mode, max_episode_steps=20), steps=100)


class RewardedResets(Broken):
    """Next-step auto-reset that pays the reset step: what a hand-written NEXT_STEP gets wrong."""

    metadata = {"autoreset_mode": envs.base.AutoresetMode.NEXT_STEP}
    episode_statistics = False

    def reset(self, seed=None):
        self.t = 0
        return np.zeros((2, 3), np.float32), {}

    def step(self, actions):
        self.t += 1
        return np.zeros((2, 3), np.float32), np.ones(2), np.full(2, self.t % 2 == 1), np.zeros(2, bool), {}


def test_a_next_step_reset_with_a_reward_is_explained():
    with pytest.raises(EnvCheckError, match="started new episodes \\(next-step auto-reset\\) with a reward"):
        check_env(RewardedResets())
