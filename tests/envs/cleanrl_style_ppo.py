"""PPO written as a user writes it for gym.make_vec in CleanRL's Gymnasium-1 style: the env is
used only through the VectorEnv API, with gym.make_vec's next-step auto-reset handled by the
client (the step after an episode ends is a reset step, its transition dropped) and the episode
returns taken from RecordEpisodeStatistics. The network is numbarl's autodiff, where CleanRL's is
PyTorch. `make_env(num_envs, seed)` is gym.make_vec's place: tests hand it envs.make.
"""

from __future__ import annotations

import numpy as np
from gymnasium.wrappers.vector import RecordEpisodeStatistics

import autodiff as ad
from autodiff import nn
from autodiff.distributions import Categorical


class Agent(nn.Module):
    def __init__(self, obs_size, num_actions, seed):
        super().__init__()
        generator = ad.Generator(seed)
        self.critic = nn.MLP([obs_size, 64, 64, 1], output_gain=1.0, generator=generator)
        self.actor = nn.MLP([obs_size, 64, 64, num_actions], output_gain=0.01, generator=generator)

    def get_value(self, x):
        return self.critic(x).squeeze(-1)

    def get_action_and_value(self, x, action=None, generator=None):
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample(generator)
        return action, probs.log_prob(action), probs.entropy(), self.get_value(x)


def train(make_env, seed=1, num_envs=8, num_steps=128, iterations=10, gamma=0.99, gae_lambda=0.95,
          update_epochs=4, num_minibatches=4, clip_coef=0.2, ent_coef=0.01, vf_coef=0.5, lr=2.5e-4):
    envs = RecordEpisodeStatistics(make_env(num_envs, seed))
    obs_size, num_actions = envs.single_observation_space.shape[0], envs.single_action_space.n
    agent = Agent(obs_size, num_actions, seed)
    optimizer = ad.optim.Adam(agent.parameters(), lr=lr, eps=1e-5)
    generator, rng = ad.Generator(seed), np.random.default_rng(seed)

    obs = np.zeros((num_steps, num_envs, obs_size), np.float32)
    actions = np.zeros((num_steps, num_envs), np.int64)
    logprobs, rewards, values = (np.zeros((num_steps, num_envs), np.float32) for _ in range(3))
    next_values = np.zeros((num_steps, num_envs), np.float32)
    terminations, dones = np.zeros((num_steps, num_envs), bool), np.zeros((num_steps, num_envs), bool)
    valid = np.zeros((num_steps, num_envs), bool)  # False on next-step reset steps

    next_obs, _ = envs.reset(seed=seed)
    autoreset = np.zeros(num_envs, bool)
    returns, lengths, losses, running, in_episodes, ended = [], [], [], np.zeros(num_envs), 0.0, 0
    batch_size = num_steps * num_envs
    for _ in range(iterations):
        for step in range(num_steps):
            obs[step], valid[step] = next_obs, ~autoreset
            with ad.no_grad():
                action, logprob, _, value = agent.get_action_and_value(ad.tensor(next_obs), generator=generator)
            actions[step], logprobs[step], values[step] = action.numpy(), logprob.numpy(), value.numpy()
            next_obs, reward, terminated, truncated, infos = envs.step(actions[step])
            rewards[step], terminations[step] = reward, terminated
            dones[step] = np.logical_or(terminated, truncated)
            with ad.no_grad():  # next-step mode: next_obs is the episode's last observation where done
                next_values[step] = agent.get_value(ad.tensor(next_obs)).numpy()
            running[~autoreset] += reward[~autoreset]
            if "episode" in infos:
                for k in np.flatnonzero(infos["_episode"]):
                    returns.append(float(infos["episode"]["r"][k]))
                    lengths.append(int(infos["episode"]["l"][k]))
            in_episodes += running[dones[step]].sum()
            ended += int(dones[step].sum())
            running[dones[step]] = 0.0
            autoreset = dones[step]

        # GAE over valid transitions: bootstrap from V(next_obs) unless terminated, and cut the
        # recursion where an episode ended (the following reset step belongs to none).
        advantages, lastgaelam = np.zeros_like(rewards), 0.0
        for t in reversed(range(num_steps)):
            delta = rewards[t] + gamma * next_values[t] * (1.0 - terminations[t]) - values[t]
            lastgaelam = delta + gamma * gae_lambda * (1.0 - dones[t]) * lastgaelam
            advantages[t] = lastgaelam
        targets = advantages + values

        b_obs, b_actions = obs.reshape(batch_size, obs_size), actions.reshape(batch_size)
        b_logprobs, b_adv = logprobs.reshape(batch_size), advantages.reshape(batch_size)
        b_targets, b_valid = targets.reshape(batch_size), valid.reshape(batch_size)
        indices = np.flatnonzero(b_valid)
        minibatch = len(indices) // num_minibatches
        for _ in range(update_epochs):
            rng.shuffle(indices)
            for start in range(0, minibatch * num_minibatches, minibatch):
                mb = indices[start:start + minibatch]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(ad.tensor(b_obs[mb]), b_actions[mb])
                ratio = (newlogprob - ad.tensor(b_logprobs[mb])).exp()
                adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                pg_loss = ad.maximum(-ad.tensor(adv) * ratio,
                                     -ad.tensor(adv) * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
                v_loss = 0.5 * ((newvalue - ad.tensor(b_targets[mb])) ** 2).mean()
                loss = pg_loss - ent_coef * entropy.mean() + vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                ad.optim.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
                losses.append(float(loss.item()))
    envs.close()
    return {"episode_returns": returns, "episode_lengths": lengths, "losses": losses,
            "rewards_in_episodes": in_episodes, "episodes_ended": ended}
