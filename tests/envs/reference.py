"""Transition-by-transition comparison of a built-in env with Gymnasium's own implementation."""

import gymnasium as gym
import numpy as np

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
