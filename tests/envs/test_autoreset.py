"""envs/autoreset.py: the three auto-reset modes against gym.make_vec's SyncVectorEnv over the
same dynamics, step by step, and reset_mask."""

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs
from envs.cartpole import CartPole

from .reference import gymnasium_twin, run_lockstep

pytestmark = pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")
MODES = list(AutoresetMode)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@pytest.mark.parametrize("name, limit", [("CartPole", 40), ("Pendulum", 25), ("MountainCar", 30)])
def test_every_step_matches_gym_make_vec(name, limit, mode):
    """The same observations, rewards, flags and info keys as gym.make_vec(vectorization_mode=
    "sync", vector_kwargs={"autoreset_mode": mode}) step after step, with Gymnasium's sub-envs
    started in numbarl's reset states (their random draws are the env's own) and numbarl's
    states copied into them before each step (float32 against float64 state would drift).
    Both see the same steps end episodes, by termination and by the time limit, the same reset
    steps (NEXT_STEP: reward 0, neither flag) and the same masked resets (DISABLED)."""
    ours = envs.make(name, num_envs=4, seed=1, autoreset_mode=mode, max_episode_steps=limit,
                     episode_statistics=False)
    theirs = gymnasium_twin(ours)
    assert ours.metadata["autoreset_mode"] is mode is theirs.metadata["autoreset_mode"]
    resets, ends = run_lockstep(ours, theirs, 3 * limit, seed=2)
    assert ends >= 8
    assert (resets > 0) == (mode is AutoresetMode.NEXT_STEP)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_episode_statistics_are_the_episodes_in_every_mode(mode):
    """info["episode"] holds each finished episode's return and length, counted from its
    rewards (a NEXT_STEP reset step belongs to no episode)."""
    env = envs.make("CartPole", num_envs=5, seed=3, autoreset_mode=mode, max_episode_steps=30,
                    episode_statistics=True)
    env.reset(seed=3)
    rng, ret, length, seen = np.random.default_rng(4), np.zeros(5), np.zeros(5, int), 0
    for _ in range(150):
        pending = env.t < 0
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, 2, 5))
        live = ~pending
        ret[live] += reward[live]
        length[live] += 1
        done = terminated | truncated
        assert ("episode" in info) == done.any()
        if done.any():
            np.testing.assert_array_equal(info["_episode"], done)
            np.testing.assert_allclose(info["episode"]["r"], np.where(done, ret, 0))
            np.testing.assert_array_equal(info["episode"]["l"], np.where(done, length, 0))
            seen += int(done.sum())
            ret[done], length[done] = 0, 0
            if mode is AutoresetMode.DISABLED:
                env.reset(options={"reset_mask": done})
    assert seen >= 10


def test_mode_names_and_bad_modes():
    for value, mode in [("next_step", AutoresetMode.NEXT_STEP), ("NEXT_STEP", AutoresetMode.NEXT_STEP),
                        ("NextStep", AutoresetMode.NEXT_STEP), ("disabled", AutoresetMode.DISABLED),
                        ("SameStep", AutoresetMode.SAME_STEP), (AutoresetMode.DISABLED, AutoresetMode.DISABLED)]:
        assert envs.make("CartPole", autoreset_mode=value).metadata["autoreset_mode"] is mode
    assert envs.make("CartPole").metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert envs.make("CartPole-v0", autoreset_mode="next_step").metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    for bad in ["nextstep", "reset", 1, None]:
        with pytest.raises(ValueError, match="unknown autoreset_mode .*; valid: gymnasium.vector.AutoresetMode"):
            CartPole(autoreset_mode=bad)
    with pytest.raises(ValueError, match="unknown autoreset_mode 'sometimes'"):
        envs.make("CartPole-v0", autoreset_mode="sometimes")


def test_disabled_refuses_to_step_an_ended_sub_env_and_steps_nothing():
    env = envs.make("CartPole", num_envs=3, seed=0, autoreset_mode="disabled", max_episode_steps=2)
    env.reset(seed=0)
    env.step(np.ones(3, np.int64))
    *_, truncated, _ = env.step(np.ones(3, np.int64))
    assert truncated.all()
    saved = env.get_state()
    with pytest.raises(RuntimeError, match=r"sub-env\(s\) \[0, 1, 2\] ended and autoreset_mode is DISABLED; "
                                           "reset them first"):
        env.step(np.ones(3, np.int64))
    for key, value in env.get_state().items():
        np.testing.assert_array_equal(value, saved[key])
    obs, _ = env.reset(options={"reset_mask": np.array([True, False, True])})
    assert env.t.tolist() == [0, -1, 0]
    np.testing.assert_array_equal(obs[1], env.observations()[1])  # sub-env 1 kept its last observation
    with pytest.raises(RuntimeError, match=r"sub-env\(s\) \[1\] ended"):
        env.step(np.ones(3, np.int64))


def test_reset_mask_resets_and_reseeds_only_the_masked_sub_envs():
    env = envs.make("CartPole", num_envs=4, seed=0)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.ones(4, np.int64))
    before, mask = env.get_state(), np.array([False, True, False, True])
    obs, info = env.reset(seed=9, options={"reset_mask": mask})
    after = env.get_state()
    assert info == {} and after["t"].tolist() == [3, 0, 3, 0]
    np.testing.assert_array_equal(after["state"][:, ~mask], before["state"][:, ~mask])
    np.testing.assert_array_equal(after["rng"][~mask], before["rng"][~mask])
    fresh = envs.make("CartPole", num_envs=4, seed=0)
    np.testing.assert_array_equal(obs[mask], fresh.reset(seed=9)[0][mask])  # seeded as a full reset is
    np.testing.assert_array_equal(obs[~mask], env.observations()[~mask])


@pytest.mark.parametrize("mask, message", [
    ([True, False], "must be a numpy bool array of shape \\(2,\\), one entry per sub-env, got list"),
    (np.array([1, 0]), "got shape \\(2,\\) and dtype int64"),
    (np.array([True]), "got shape \\(1,\\)"),
    (np.array([False, False]), "selects no sub-env; leave it out to reset them all"),
])
def test_bad_reset_masks_are_named(mask, message):
    env = envs.make("CartPole", num_envs=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.reset(options={"reset_mask": mask})


def test_the_gymnasium_adapter_takes_the_mode_and_leaves_the_callers_options_alone():
    ours = envs.make("CartPole-v0", num_envs=3, seed=0, autoreset_mode="disabled")
    ours.reset(seed=0)
    options = {"reset_mask": np.array([True, False, False])}
    ours.reset(options=options)
    assert "reset_mask" in options  # Gymnasium's vector envs pop it; a wrapper above still sees it
