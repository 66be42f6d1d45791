"""envs/gym_adapter.py: any Gymnasium id, with numbarl's same-step contract."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.gym_adapter import GymnasiumEnv

pytestmark = pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")


def test_gymnasium_only_id_goes_through_the_adapter():
    env = envs.make("CartPole-v0", num_envs=4, seed=0)  # v0 is not a built-in: Gymnasium runs it
    assert isinstance(env, GymnasiumEnv)
    envs.check_env(env, steps=300)


def test_final_obs_is_dense_and_matches_the_episode_end():
    env = envs.make("CartPole-v0", num_envs=3, seed=1, episode_statistics=True)
    env.reset(seed=1)
    for _ in range(200):
        obs, _, terminated, truncated, info = env.step(np.ones(3, np.int64))  # falls over quickly
        if terminated.any():
            break
    assert info["final_obs"].dtype == np.float32 and info["final_obs"].shape == (3, 4)
    done = info["_final_obs"]
    assert (np.abs(info["final_obs"][done][:, 2]) > 0.2).all()  # the pole had fallen
    np.testing.assert_array_equal(info["final_obs"][~done], obs[~done])  # as numbarl's own envs
    assert "episode" in info


def test_state_cannot_be_saved_and_says_so():
    env = envs.make("CartPole-v0", num_envs=2, seed=0)
    env.reset()
    assert env.get_state() is None
    env.set_state(None)  # a resumed run starts fresh episodes
    with pytest.raises(ValueError, match="cannot restore a saved state"):
        env.set_state({"state": 1})


def test_cuda_is_refused_clearly():
    with pytest.raises(ValueError, match="on the CPU only; valid device: cpu"):
        envs.make("CartPole-v0", device="cuda")


def test_the_make_seed_seeds_the_first_reset_only_as_for_numbarls_own_envs():
    """envs.make(..., seed=s): the first reset() is seeded with s, and later ones draw on, as
    after gym.make_vec's reset(seed=s); before, every reset() restarted the same episodes."""
    env = envs.make("CartPole-v0", num_envs=2, seed=3)
    first, again = env.reset()[0], env.reset()[0]
    assert not np.array_equal(first, again)
    reference = gym.make_vec("CartPole-v0", num_envs=2, vectorization_mode="sync")
    np.testing.assert_array_equal(first, reference.reset(seed=3)[0])
    np.testing.assert_array_equal(again, reference.reset()[0])
    np.testing.assert_array_equal(env.reset(seed=np.int64(3))[0], first)  # numpy ints too
    env.reset(seed=[1, None])
    with pytest.raises(ValueError, match="CartPole-v0.reset: a seed must be None, an integer >= 0"):
        env.reset(seed=-1)
