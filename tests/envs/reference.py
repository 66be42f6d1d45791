"""Transition-by-transition comparison of a built-in env with Gymnasium's own implementation."""

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import envs


def compare_with_gymnasium(name, states, actions, state_of=None):
    """Step numbarl's env from `states` (one row per sub-env) with `actions`, step Gymnasium's
    env from each copied state with the same action, and check next state, observation, reward
    and terminated within float32 tolerance. `state_of(gym_env)` reads Gymnasium's state."""
    n = len(states)
    env = envs.make(name, num_envs=n, seed=0)
    env.reset(seed=0)
    saved = env.get_state()
    saved["state"] = states.T.astype(np.float32)
    saved["t"][:] = 0
    env.set_state(saved)
    start = env.state.copy()
    obs, reward, terminated, truncated, info = env.step(actions)
    assert not truncated.any()
    next_state = env.state.T.copy()
    final = info["final_obs"] if "final_obs" in info else obs
    reference = gym.make(env.gymnasium_id).unwrapped
    reference.reset(seed=0)
    for i in range(n):
        reference.state = start[:, i].astype(np.float64)
        if hasattr(reference, "steps_beyond_terminated"):
            reference.steps_beyond_terminated = None  # each transition starts a fresh episode
        g_obs, g_reward, g_terminated, _, _ = reference.step(actions[i])
        ours = final[i] if terminated[i] else obs[i]
        np.testing.assert_allclose(ours, g_obs, rtol=1e-5, atol=1e-6, err_msg=f"obs of transition {i}")
        np.testing.assert_allclose(reward[i], g_reward, rtol=1e-5, atol=1e-6, err_msg=f"reward of transition {i}")
        assert terminated[i] == g_terminated, f"terminated of transition {i}"
        if not terminated[i]:  # a finished sub-env's state is already the next episode's
            g_state = np.asarray(state_of(reference) if state_of else reference.state, np.float64)
            np.testing.assert_allclose(next_state[i], g_state, rtol=1e-5, atol=1e-6, err_msg=f"state {i}")
    return terminated


# -- Gymnasium's vector env as a twin of numbarl's, for comparing whole step sequences ------------
_OBSERVE = {"CartPole-v1": lambda env: np.array(env.state, np.float32),
            "MountainCar-v0": lambda env: np.array(env.state, np.float32),
            "Pendulum-v1": lambda env: env._get_obs()}


class _StartsWhereTold(gym.Wrapper):
    """A Gymnasium env whose next reset starts from the state it is handed (numbarl's): the two
    envs' random draws differ, so this is what lets their episodes start alike."""

    next_state = None

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        if self.next_state is not None:
            self.env.unwrapped.state = self.next_state.copy()
            obs = _OBSERVE[self.spec.id](self.env.unwrapped)
        return obs, info


def gymnasium_twin(ours, **wrapper_kwargs):
    """gym.make_vec's SyncVectorEnv of numbarl env `ours`' Gymnasium counterpart, in the same
    auto-reset mode and with the same time limit, for `lockstep`."""
    return gym.make_vec(ours.gymnasium_id, num_envs=ours.num_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": ours.autoreset_mode}, wrappers=[_StartsWhereTold],
                        max_episode_steps=ours.max_steps)


def lockstep(ours, theirs, call):
    """call(ours) (numbarl's env, maybe wrapped), then call(theirs) (its gymnasium_twin, maybe
    wrapped alike) with every Gymnasium sub-env first put in the state and step count numbarl's
    stepped from, and told to start any episode it begins where numbarl's began it. Returns both
    results. What differs between them is then what the two vector envs (and wrappers) do."""
    base, twin = ours.unwrapped, theirs.unwrapped
    before = base.get_state()
    ours_out = call(ours)
    after = base.state.astype(np.float64)
    for i, sub in enumerate(twin.envs):
        sub.next_state = after[:, i]
        sub.unwrapped.state = before["state"][:, i].astype(np.float64)
        if hasattr(sub.unwrapped, "steps_beyond_terminated"):
            sub.unwrapped.steps_beyond_terminated = None
        limit = sub
        while not isinstance(limit, gym.wrappers.TimeLimit):
            limit = limit.env
        limit._elapsed_steps = max(int(before["t"][i]), 0)
    return ours_out, call(theirs)


def assert_same_step(ours, theirs, where=""):
    """Two step() results alike: observations and rewards to float32 rounding, flags exactly,
    and info with the same keys and, where both have them, the same final observations and
    episode statistics (Gymnasium's info adds final_info, the sub-envs' own info, which
    numbarl's envs do not have, and "t", the episode's wall-clock time, to episode)."""
    (o1, r1, te1, tr1, i1), (o2, r2, te2, tr2, i2) = ours, theirs
    np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-5, err_msg=f"observations {where}")
    np.testing.assert_allclose(r1, r2, rtol=1e-5, atol=1e-5, err_msg=f"rewards {where}")
    np.testing.assert_array_equal(te1, te2, err_msg=f"terminated {where}")
    # An episode that ends by itself on the time limit's last step is terminated, not also
    # truncated, in numbarl (Gymnasium's TimeLimit sets both).
    np.testing.assert_array_equal(tr1, tr2 & ~te2, err_msg=f"truncated {where}")
    assert set(i1) == set(i2) - {"final_info", "_final_info"}, f"info keys {where}: {sorted(i1)} != {sorted(i2)}"
    if "final_obs" in i1:
        np.testing.assert_array_equal(i1["_final_obs"], i2["_final_obs"])
        for k in np.flatnonzero(i1["_final_obs"]):
            np.testing.assert_allclose(i1["final_obs"][k], i2["final_obs"][k], rtol=1e-5, atol=1e-5)
    if "episode" in i1:
        np.testing.assert_array_equal(i1["_episode"], i2["_episode"])
        np.testing.assert_allclose(i1["episode"]["r"], i2["episode"]["r"], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(i1["episode"]["l"], i2["episode"]["l"])


def random_actions(env, rng):
    """Actions from env's action space (a wrapper's, if it is one), or from 1.5 times the base
    env's bounds where the wrapper's space is unbounded (ClipAction)."""
    space = env.single_action_space
    if hasattr(space, "n"):
        return rng.integers(0, space.n, env.num_envs)
    if not space.is_bounded():
        space = env.unwrapped.single_action_space
        return 1.5 * rng.uniform(space.low, space.high, (env.num_envs, *space.shape)).astype(np.float32)
    return rng.uniform(space.low, space.high, (env.num_envs, *space.shape)).astype(np.float32)


def run_lockstep(ours, theirs, steps, seed, check=assert_same_step):
    """Step numbarl's env and Gymnasium's in lockstep with the same random actions, resetting
    ended sub-envs by mask in DISABLED mode; returns how many reset steps and ended episodes
    both saw."""
    rng = np.random.default_rng(seed)
    (first, _), (twin_first, _) = lockstep(ours, theirs, lambda e: e.reset(seed=seed))
    np.testing.assert_allclose(first, twin_first, rtol=1e-5, atol=1e-5)
    resets = ends = 0
    for k in range(steps):
        actions = random_actions(ours, rng)
        pending = ours.unwrapped.t < 0  # NEXT_STEP: these sub-envs start a new episode now
        a, b = lockstep(ours, theirs, lambda e: e.step(actions))
        check(a, b, where=f"at step {k}")
        if ours.unwrapped.autoreset_mode is AutoresetMode.NEXT_STEP and pending.any():
            assert (a[1][pending] == 0).all() and not (a[2] | a[3])[pending].any()
            resets += int(pending.sum())
        ended = a[2] | a[3]
        ends += int(ended.sum())
        if ours.unwrapped.autoreset_mode is AutoresetMode.DISABLED and ended.any():
            o1, o2 = lockstep(ours, theirs, lambda e: e.reset(options={"reset_mask": ended.copy()}))
            np.testing.assert_allclose(o1[0], o2[0], rtol=1e-5, atol=1e-5, err_msg=f"masked reset at {k}")
    return resets, ends
