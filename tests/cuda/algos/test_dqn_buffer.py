"""algos/dqn.py on a GPU env, under the simulator (or a GPU): the replay buffer holds each step's
real transition. The env rewrites its own observation array every step, so an observation kept
past the step must be a copy; the reference is what the env handed out, copied to the host as it
came."""

import numpy as np

from algos import dqn
import envs


class Recorder:
    """The env, with a host copy of every observation it returns and of each step's final_obs
    and ended mask (SAME_STEP auto-reset: where a sub-env ended, obs is already the next
    episode's)."""

    def __init__(self, env):
        self.env, self.obs, self.final, self.ended = env, [], [], []

    def __getattr__(self, name):
        return getattr(self.env, name)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.obs.append(obs.copy_to_host())
        return obs, info

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.obs.append(obs.copy_to_host())
        self.final.append(info["final_obs"].copy_to_host())
        self.ended.append(info["_final_obs"].copy_to_host())
        return obs, reward, terminated, truncated, info


def test_the_buffer_stores_s_and_s_next_of_each_step():
    n, steps = 2, 14  # CartPole under random actions ends episodes within 14 steps: final_obs is used
    args = dqn.Args(device="cuda", num_envs=n, total_timesteps=n * steps, learning_starts=n * steps - 1,
                    train_frequency=n * steps, batch_size=2, buffer_size=n * steps, hidden_sizes=(4,),
                    checkpoint_replay_buffer=True)
    env = Recorder(envs.make("CartPole", num_envs=n, device="cuda", seed=args.seed, episode_statistics=True,
                             max_episode_steps=6))  # truncations too
    snapshots = []
    dqn.train(args, env=env, callback=lambda step, snapshot: snapshots.append(snapshot()))
    stored = snapshots[-1]["replay_buffer"]
    assert stored["size"] == n * steps
    obs, final, ended = np.stack(env.obs), np.stack(env.final), np.stack(env.ended)
    expected_next = np.where(ended[..., None], final, obs[1:])
    assert ended.any() and not ended.all()  # both kinds of next observation are compared
    np.testing.assert_array_equal(stored["obs"][0], obs[:-1].reshape(n * steps, -1))
    np.testing.assert_array_equal(stored["next_obs"][0], expected_next.reshape(n * steps, -1))
