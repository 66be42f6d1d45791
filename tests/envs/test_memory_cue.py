"""envs/memory_cue.py against the task as stated: cue first, query after min..max steps, +-1
for the answer, 0 before it."""

import numpy as np
import pytest

import envs


def play(env, steps, rng):
    """Per sub-env, the episodes seen: (observations, actions, rewards, terminated) lists."""
    n = env.num_envs
    obs, _ = env.reset(seed=11)
    current = [{"obs": [obs[i]], "act": [], "rew": []} for i in range(n)]
    done = []
    for _ in range(steps):
        actions = rng.integers(0, 2, n)
        obs, reward, terminated, truncated, info = env.step(actions)
        assert not truncated.any()
        for i in range(n):
            current[i]["act"].append(actions[i])
            current[i]["rew"].append(reward[i])
            if terminated[i]:
                done.append(current[i])
                current[i] = {"obs": [obs[i]], "act": [], "rew": []}
            else:
                current[i]["obs"].append(obs[i])
    return done


def test_episodes_follow_the_task():
    p = dict(min_length=3, max_length=9)
    env = envs.make("MemoryCue", num_envs=32, seed=0, **p)
    episodes = play(env, 200, np.random.default_rng(5))
    assert len(episodes) > 300
    lengths = []
    for ep in episodes:
        obs = np.array(ep["obs"])
        cue = obs[0, 0]
        assert cue in (-1.0, 1.0) and obs[0, 1] == 0
        assert (obs[1:, 0] == 0).all()  # the cue is shown once
        assert obs[-1, 1] == 1 and (obs[:-1, 1] == 0).all()  # the query comes last, once
        assert ep["rew"][:-1] == [0.0] * (len(ep["rew"]) - 1)
        assert ep["rew"][-1] == (1.0 if (ep["act"][-1] == 1) == (cue > 0) else -1.0)
        lengths.append(len(obs) - 1)  # steps from the cue to the query
    assert set(lengths) == set(range(p["min_length"], p["max_length"] + 1))
    cues = [ep["obs"][0][0] for ep in episodes]
    assert 0.35 < np.mean(np.array(cues) > 0) < 0.65


def test_an_agent_that_remembers_scores_one_and_one_that_guesses_zero():
    env = envs.make("MemoryCue", num_envs=64, seed=1)
    obs, _ = env.reset()
    cue = obs[:, 0].copy()
    rng = np.random.default_rng(0)
    memory, guess = [], []
    for _ in range(400):
        remembered = (cue > 0).astype(np.int64)
        obs, reward, terminated, _, _ = env.step(remembered)
        memory += reward[terminated].tolist()
        cue = np.where(terminated, obs[:, 0], cue)
    env.reset()
    for _ in range(400):
        _, reward, terminated, _, _ = env.step(rng.integers(0, 2, 64))
        guess += reward[terminated].tolist()
    assert np.mean(memory) == 1.0
    assert abs(np.mean(guess)) < 0.15


def test_bad_lengths_are_named():
    with pytest.raises(ValueError, match="min_length <= max_length"):
        envs.make("MemoryCue", num_envs=2, min_length=5, max_length=2)


def test_passes_the_env_checker():
    envs.check_env(envs.make("MemoryCue", num_envs=4, seed=0))
