"""Client code written for gym.make_vec, run on envs.make unchanged: every Gymnasium vector
wrapper that applies to numbarl's envs, over each auto-reset mode, against the same wrapper over
gym.make_vec's env of the same dynamics; and a CleanRL-style PPO script (cleanrl_style_ppo.py)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import vector as wrappers

import envs

from . import cleanrl_style_ppo
from .reference import assert_same_step, gymnasium_twin, run_lockstep

# Gymnasium's Rescale wrappers build their Box from float64 bounds and warn about it, over any env.
pytestmark = pytest.mark.filterwarnings("ignore:.*precision lowered by casting to float32")

# Every wrapper in gymnasium.wrappers.vector that applies to a Box-observation env, with its
# default arguments (required ones given). Left out, as they apply to no env numbarl has:
# FilterObservation (Dict and Tuple observations), GrayscaleObservation and ResizeObservation
# (images), RecordVideo and HumanRendering (numbarl's envs do not render; rl.evaluate renders
# through Gymnasium's own env), and the array converters (JaxToNumpy, NumpyToTorch, ...: jax and
# torch are not dependencies).
WRAPPERS = {
    "RecordEpisodeStatistics": ("CartPole", wrappers.RecordEpisodeStatistics),
    "DictInfoToList": ("CartPole", wrappers.DictInfoToList),
    "NormalizeObservation": ("CartPole", wrappers.NormalizeObservation),
    "NormalizeReward": ("Pendulum", wrappers.NormalizeReward),
    "TransformObservation": ("CartPole", lambda env: wrappers.TransformObservation(env, lambda obs: 2 * obs)),
    "FlattenObservation": ("CartPole", wrappers.FlattenObservation),
    "ReshapeObservation": ("CartPole", lambda env: wrappers.ReshapeObservation(env, (2, 2))),
    "RescaleObservation": ("Pendulum", lambda env: wrappers.RescaleObservation(env, -1.0, 1.0)),
    "DtypeObservation": ("CartPole", lambda env: wrappers.DtypeObservation(env, np.float64)),
    "ClipAction": ("Pendulum", wrappers.ClipAction),
    "RescaleAction": ("Pendulum", lambda env: wrappers.RescaleAction(env, -1.0, 1.0)),
    "TransformAction": ("Pendulum", lambda env: wrappers.TransformAction(env, lambda a: 0.5 * a)),
    "TransformReward": ("CartPole", lambda env: wrappers.TransformReward(env, lambda r: 0.5 * r)),
    "ClipReward": ("Pendulum", lambda env: wrappers.ClipReward(env, min_reward=-4.0)),
    "RecordEpisodeStatistics over NormalizeObservation": (
        "CartPole", lambda env: wrappers.RecordEpisodeStatistics(wrappers.NormalizeObservation(env))),
}
# Gymnasium's own wrappers refuse some auto-reset modes (every observation wrapper refuses
# SAME_STEP; NormalizeObservation also DISABLED), with an AssertionError up to 1.3 and a
# ValueError from 1.4. The test takes what gym.make_vec's env gets as the reference: numbarl's
# envs are accepted and refused exactly where it is, with the same exception.


def assert_same_wrapped_step(ours, theirs, where=""):
    """assert_same_step, also for DictInfoToList's list of per-sub-env dicts."""
    if isinstance(ours[4], list):
        drop = {"final_info", "_final_info"}
        assert [set(d) for d in ours[4]] == [set(d) - drop for d in theirs[4]], f"info {where}"
        ours, theirs = (*ours[:4], {}), (*theirs[:4], {})
    assert_same_step(ours, theirs, where)


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda m: m.name)
@pytest.mark.parametrize("wrapper", list(WRAPPERS))
def test_gymnasium_vector_wrappers_match_over_gym_make_vec(wrapper, mode):
    """Each wrapper over envs.make steps exactly as over gym.make_vec of the same dynamics
    (Gymnasium's sub-envs started in numbarl's reset states and kept in its states), in every
    mode it accepts; and numbarl's envs are refused where gym.make_vec's are."""
    name, wrap = WRAPPERS[wrapper]
    base = envs.make(name, num_envs=4, seed=0, autoreset_mode=mode, max_episode_steps=30)
    twin = gymnasium_twin(base)
    try:
        theirs = wrap(twin)
    except (AssertionError, ValueError) as refusal:
        with pytest.raises(type(refusal)):
            wrap(base)
        return
    ours = wrap(base)
    assert ours.single_observation_space == theirs.single_observation_space
    assert ours.single_action_space == theirs.single_action_space
    check = assert_same_wrapped_step
    if mode is AutoresetMode.DISABLED and "RecordEpisodeStatistics" in wrapper:
        check = counted_episodes(base.num_envs)
    _, ends = run_lockstep(ours, theirs, 90, seed=1, check=check)
    assert ends >= 8


def counted_episodes(num_envs):
    """The check for RecordEpisodeStatistics in DISABLED mode. Gymnasium's SyncVectorEnv pops
    "reset_mask" from the options the wrapper hands down, so at a masked reset the wrapper over
    gym.make_vec finds no mask and forgets the running episodes of the sub-envs it did not reset
    (Gymnasium 1.3). numbarl's env leaves the options alone, so there the wrapper counts every
    episode: its figures are checked against lengths counted here (CartPole pays 1 a step)."""
    length = np.zeros(num_envs, int)

    def check(ours, theirs, where=""):
        assert_same_step((*ours[:4], {}), (*theirs[:4], {}), where)
        length[:] += 1
        done = ours[2] | ours[3]
        if done.any():
            np.testing.assert_array_equal(ours[4]["_episode"], done)
            np.testing.assert_array_equal(ours[4]["episode"]["l"], np.where(done, length, 0), err_msg=where)
            np.testing.assert_array_equal(ours[4]["episode"]["r"], np.where(done, length, 0), err_msg=where)
            length[done] = 0
    return check


def test_record_episode_statistics_counts_numbarls_episodes_in_next_step_mode():
    """Over NEXT_STEP (gym.make_vec's mode, the one RecordEpisodeStatistics assumes), the
    wrapper's figures are every episode's, as the env's own statistics give them."""
    wrapped = wrappers.RecordEpisodeStatistics(envs.make("CartPole", num_envs=4, seed=2, autoreset_mode="next_step"))
    ours = envs.make("CartPole", num_envs=4, seed=2, autoreset_mode="next_step", episode_statistics=True)
    wrapped.reset(seed=2)
    ours.reset(seed=2)
    rng, compared = np.random.default_rng(5), 0
    for _ in range(200):
        actions = rng.integers(0, 2, 4)
        *_, info_w = wrapped.step(actions)
        *_, info_o = ours.step(actions)
        assert ("episode" in info_w) == ("episode" in info_o)
        if "episode" in info_o:
            np.testing.assert_array_equal(info_w["_episode"], info_o["_episode"])
            np.testing.assert_allclose(info_w["episode"]["r"], info_o["episode"]["r"])
            np.testing.assert_array_equal(info_w["episode"]["l"], info_o["episode"]["l"])
            compared += int(info_o["_episode"].sum())
    assert compared >= 12


@pytest.mark.parametrize("make_env", [
    lambda num_envs, seed: gym.make_vec("CartPole-v1", num_envs=num_envs),  # what it was written for
    lambda num_envs, seed: envs.make("CartPole", num_envs=num_envs, seed=seed,
                                     autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP),
], ids=["gym.make_vec", "envs.make"])
def test_a_cleanrl_style_ppo_script_runs_on_envs_make_unchanged(make_env):
    """The script is written for gym.make_vec (next-step auto-reset, RecordEpisodeStatistics);
    given envs.make in its place it trains, and the returns the wrapper records are episodes'
    returns: as many as episodes ended, each the sum of its rewards (CartPole: its length)."""
    result = cleanrl_style_ppo.train(make_env, seed=1, num_envs=8, num_steps=64, iterations=6)
    returns, lengths = np.array(result["episode_returns"]), np.array(result["episode_lengths"])
    assert len(returns) == result["episodes_ended"] >= 20
    np.testing.assert_array_equal(returns, lengths)  # CartPole pays 1 a step
    assert lengths.min() >= 8 and lengths.max() <= 500
    np.testing.assert_allclose(returns.sum(), result["rewards_in_episodes"])
    assert np.isfinite(result["losses"]).all()
