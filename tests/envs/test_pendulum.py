"""envs/pendulum.py against Gymnasium's Pendulum-v1."""

import numpy as np

from .reference import compare_with_gymnasium


def test_transitions_match_gymnasium():
    rng = np.random.default_rng(1)
    n = 1000
    states = rng.uniform([-2 * np.pi, -8], [2 * np.pi, 8], size=(n, 2))
    actions = rng.uniform(-3, 3, size=(n, 1)).astype(np.float32)  # beyond the bounds: clipped
    compare_with_gymnasium("Pendulum", states, actions)


def test_a_pendulum_spinning_without_time_limit_stays_with_gymnasiums():
    """Gymnasium's angle grows without bound in float64. numbarl's float32 state wraps it once
    it is past 32 pi (never within the 200-step limit), so that a pendulum spun for thousands
    of steps keeps the precision of an angle below 32 pi: over 5,000 steps its observations
    drift 0.007 from Gymnasium's (unwrapped, 0.10, and growing faster the longer it spins)."""
    import gymnasium as gym

    import envs
    from envs.pendulum import WRAP_ANGLE

    env = envs.make("Pendulum", num_envs=1, seed=0, max_episode_steps=0)
    env.reset(seed=0)
    reference = gym.make("Pendulum-v1").unwrapped
    reference.reset(seed=0)
    reference.state = env.state[:, 0].astype(np.float64)
    worst_obs = worst_reward = largest = 0.0
    for k in range(5000):
        torque = np.full((1, 1), 2.0 if env.state[1, 0] >= 0 else -2.0, np.float32)  # pump: it spins
        obs, reward, *_ = env.step(torque)
        g_obs, g_reward, *_ = reference.step(torque[0])
        worst_obs = max(worst_obs, np.abs(obs[0] - g_obs).max())
        worst_reward = max(worst_reward, abs(reward[0] - g_reward))
        largest = max(largest, abs(float(env.state[0, 0])))
    assert abs(reference.state[0]) > 1000 and largest <= WRAP_ANGLE + 1  # it spun; ours wrapped
    assert worst_obs < 0.02 and worst_reward < 0.05
