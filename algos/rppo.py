"""Recurrent PPO: PPO with a GRU or LSTM between the observation and the heads, for partially
observed envs (CartPoleNoVel, PendulumNoVel, MemoryCue), as CleanRL's ppo_atari_lstm.py.

What recurrence changes, in order:
- acting: each sub-env's hidden state is carried from step to step and zeroed where an episode
  starts (with same-step auto-reset, the observation after a finished episode is already the
  next episode's first);
- storage: each step's `starts` flag, and the hidden state each rollout began from;
- update: a minibatch is a set of whole sub-env sequences (num_steps long), replayed from that
  stored state through the same resets, so gradients flow back through time within the rollout;
- a truncated episode is bootstrapped from V(final_obs), computed with the state it was cut in.
Everything else (GAE, the clipped losses, the update, normalisation, logging, checkpoints and
populations: `num_seeds` agents at once, agent k bit for bit the run with seed + k) is PPO's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import autodiff as ad
from autodiff import nn

from . import ppo
from .actor_critic import Heads, clipped_loss, log_update, optimizer_of, update
from .common import (Divergence, EpisodeLog, bootstrap_truncated, checkpoint, env_actions, fetch, log_histograms,
                     observers, on_device, prepare, restore)
from .normalize import RewardScaler, RunningMeanStd
from .gae import compute_gae
from .rollout import RolloutBuffer

MODEL = "agent"


@dataclass
class Args(ppo.Args):
    rnn: str = "gru"
    """the recurrent cell: gru or lstm"""
    rnn_hidden_size: int = 64
    """size of the recurrent state (an LSTM keeps two of these)"""
    shared_rnn: bool = False
    """one recurrent core for actor and critic (faster) instead of one each"""
    hidden_sizes: tuple = (64,)
    """sizes of the encoder layers between the observation and the recurrent cell"""
    num_minibatches: int = 4
    """minibatches each rollout is split into, by sub-environment: each holds whole sequences"""

    RANGES = {**ppo.Args.RANGES, "rnn_hidden_size": "(0, inf)"}

    def validate(self):
        if self.num_envs > 0 and self.num_minibatches > 0 and self.num_envs % self.num_minibatches:
            raise ValueError(f"recurrent minibatches hold whole sub-env sequences, so num_envs ({self.num_envs}) "
                             f"must split into {self.num_minibatches} equal groups; choose a divisor of {self.num_envs}")
        super().validate()
        if self.rnn not in ("gru", "lstm"):
            raise ValueError(f"rnn must be gru or lstm, got {self.rnn!r}")
        if self.shared_network:
            raise ValueError("shared_network is ppo's; rppo's actor and critic share their recurrent core "
                             "with shared_rnn")


class Core(nn.Module):
    """Encoder MLP -> GRU/LSTM: the observation history as features (B, rnn_hidden_size)."""

    def __init__(self, obs_dim, hidden_sizes, rnn, rnn_hidden_size, device):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes]
        self.encoder = nn.MLP(sizes, "tanh", output_gain=math.sqrt(2), output_activation="tanh", device=device) \
            if hidden_sizes else nn.Identity()
        self.rnn = (nn.GRU if rnn == "gru" else nn.LSTM)(sizes[-1], rnn_hidden_size, device=device)
        self.state_size, self.hidden_size = self.rnn.cell.state_size, rnn_hidden_size

    def step(self, obs, state):
        state = self.rnn.cell.step(self.encoder(obs), state)
        return state[..., :self.hidden_size], state

    def sequence(self, obs, state, starts):
        states, _ = self.rnn.scan(self.encoder(obs), state, starts)
        return states[..., :self.hidden_size]


class Agent(Heads, nn.Module):
    """A recurrent core (encoder MLP -> GRU/LSTM) under linear actor and critic heads, PPO's
    initialisation on the linear layers and PyTorch's on the cell. With `shared_rnn` False the
    critic has a core of its own (as SB3-contrib's default), so value errors do not reshape the
    policy's memory; the state then holds both cores' states side by side."""

    def __init__(self, obs_dim, action_space, hidden_sizes=(64,), rnn="gru", rnn_hidden_size=64,
                 shared_rnn=False, device="cpu"):
        super().__init__()
        n_out = self._action_space(action_space, device)
        self.core = Core(obs_dim, hidden_sizes, rnn, rnn_hidden_size, device)
        self.critic_core = None if shared_rnn else Core(obs_dim, hidden_sizes, rnn, rnn_hidden_size, device)
        self.actor = nn.Linear(rnn_hidden_size, n_out, gain=0.01, device=device)
        self.critic = nn.Linear(rnn_hidden_size, 1, gain=1.0, device=device)
        self.core_size = self.core.state_size
        self.state_size = self.core_size * (1 if shared_rnn else 2)

    def initial_state(self, n, device="cpu"):
        """Zero states for n sub-envs, (n, state_size); (K, n, state_size) for a stack of K."""
        lead = (self.models,) if getattr(self, "models", None) is not None else ()
        return ad.zeros(*lead, n, self.state_size, device=device)

    def step(self, obs, state, starts=None):
        """One step for a batch of sub-envs: (actor features, critic features, next state).
        `starts` (a bool tensor, the state's shape without its last axis) marks sub-envs whose
        observation begins an episode; on the GPU the mask applies without a host check."""
        if starts is not None and (starts.device == "cuda" or starts.any()):
            state = state * (~starts).float().unsqueeze(-1)
        if self.critic_core is None:
            features, state = self.core.step(obs, state)
            return features, features, state
        S = self.core_size
        actor, actor_state = self.core.step(obs, state[..., :S])
        critic, critic_state = self.critic_core.step(obs, state[..., S:])
        return actor, critic, ad.cat([actor_state, critic_state], -1)

    def sequence(self, obs, state, starts):
        """Steps (T, B, obs) from `state` through the resets in `starts`: actor and critic
        features, each (T, B, rnn_hidden_size); a stack of K takes (K, T, B, obs) and gives
        (K, T, B, rnn_hidden_size)."""
        if self.critic_core is None:
            features = self.core.sequence(obs, state, starts)
            return features, features
        S = self.core_size
        return (self.core.sequence(obs, state[..., :S], starts),
                self.critic_core.sequence(obs, state[..., S:], starts))


class RecurrentPolicy:
    """The deterministic policy of a stack of K agents for evaluation, carrying each sub-env's
    state between calls: `reset(n)` before a new batch of n sub-envs per agent, then `act(obs)`
    every step with obs (K, n, ...)."""

    def __init__(self, agent, obs_norm=None):
        self.agent, self.obs_norm, self.state = agent, obs_norm, None

    def reset(self, n):
        self.state = self.agent.initial_state(n)

    def __call__(self, obs):
        with ad.no_grad():
            obs = obs.reshape(obs.shape[0], obs.shape[1], -1).float()
            if self.state is None or self.state.shape[:2] != obs.shape[:2]:
                self.reset(obs.shape[1])
            features, _, self.state = self.agent.step(self.obs_norm(obs) if self.obs_norm is not None else obs,
                                                      self.state)
            return self.agent.to_env(self.agent.dist(features).mode())


def policy(agent: Agent, obs_norm=None):
    return RecurrentPolicy(agent, obs_norm)


memory = ppo.memory  # the same storage, plus a state per sub-env: small beside the rollout


def build(args: Args, env, models=None):
    """The agent and its observation normaliser; with `models`, a stack of that many (as
    ppo.build)."""
    obs_dim = int(math.prod(env.single_observation_space.shape))
    obs_norm = RunningMeanStd((obs_dim,), device=args.device, models=models) if args.norm_obs else None
    if models is not None:
        return nn.stacked(lambda: build(args, env)[0], [args.seed + k for k in range(models)]), obs_norm
    agent = Agent(obs_dim, env.single_action_space, args.hidden_sizes, args.rnn, args.rnn_hidden_size,
                  args.shared_rnn, args.device)
    return agent, obs_norm


class RecurrentRollout(RolloutBuffer):
    """PPO's rollout storage for K agents plus what replaying it needs: whether each step's
    observation starts an episode, and the state each sub-env began the rollout in."""

    def __init__(self, num_steps, num_envs, obs_shape, action_shape, action_dtype, state_size, device="cpu",
                 models=1):
        super().__init__(num_steps, num_envs, obs_shape, action_shape, action_dtype, device, models)
        self.starts = ad.zeros(models, num_steps, num_envs, dtype="bool", device=device)
        self.initial_state = ad.zeros(models, num_envs, state_size, device=device)


def collect(agent, env, buf, carry, rng, args, observe, reward_scaler=None, on_step=None):
    """Fill `buf` with one rollout from `carry` = (next_obs, raw_obs, state, starts) and return
    the carry for the next one. `observe(raw) -> obs tensor` applies observation normalisation;
    `on_step(step, raw_obs, info)` updates running statistics and logs episodes."""
    next_obs, raw_obs, state, starts = carry
    k, n = buf.models, buf.num_envs
    buf.initial_state = state
    with ad.no_grad():
        for step in range(args.num_steps):
            buf.obs[:, step] = next_obs
            buf.starts[:, step] = starts
            actor, critic, state = agent.step(next_obs, state, starts)
            dist = agent.dist(actor)
            action = dist.sample(rng)
            buf.values[:, step] = agent.value(critic)
            buf.actions[:, step] = action
            buf.logprobs[:, step] = agent.log_prob(dist, action)
            env_action = agent.to_env(action)
            raw_obs, reward, terminated, truncated, info = env.step(
                env_actions(env, env_action.reshape((k * n,) + tuple(env_action.shape[2:]))))
            if on_step is not None:
                on_step(step, raw_obs, info)
            next_obs = observe(raw_obs)
            # The env rewrites these on its next step: used within this one, so shared, not copied.
            terminated, truncated = (ad.as_tensor(f, device=args.device).reshape(k, n) for f in (terminated, truncated))
            reward = ad.as_tensor(reward, dtype="float32", device=args.device).reshape(k, n)
            starts = terminated | truncated
            if reward_scaler is not None:
                reward = reward_scaler(reward, starts)
            # Cut by the time limit: bootstrap from the value of the state it was cut in, seen with
            # the memory the policy had then.
            reward = bootstrap_truncated(reward, truncated, args.gamma,
                                         lambda: agent.value(agent.step(observe(info["final_obs"]), state)[1]),
                                         on_device(env))
            buf.rewards[:, step] = reward
            buf.dones[:, step] = starts.float()
    return next_obs, raw_obs, state, starts


def train(args: Args, env=None, log=None, callback=None, resume=None):
    """Train recurrent PPO; the contract of `ppo.train` (log per agent, callback with snapshot,
    resume, populations)."""
    k, n, seeds, rng, env = prepare(args, env)
    agent, obs_norm = build(args, env, models=k)
    obs_dim = int(math.prod(env.single_observation_space.shape))
    params, optimizer, schedule = optimizer_of(args, agent)
    reward_scaler = RewardScaler(n, args.gamma, device=args.device, models=k) if args.norm_reward else None
    log = log or (lambda tag, value, step, agent=0: None)
    diverged = Divergence(k)
    buf = RecurrentRollout(args.num_steps, n, (obs_dim,), () if agent.discrete else env.single_action_space.shape,
                           "int64" if agent.discrete else "float32", agent.state_size, args.device, models=k)

    as_batch, observe = observers(args, obs_dim, obs_norm, models=k)

    global_step, first_iteration, iteration = 0, 1, 0
    if resume is None:
        raw_obs, _ = env.reset(seed=seeds)
        if obs_norm is not None:
            obs_norm.update(as_batch(raw_obs))
        state = agent.initial_state(n, args.device)
        starts = ad.ones(k, n, dtype="bool", device=args.device)
    else:
        raw_obs, global_step, first_iteration = restore(resume, env, rng, agent=agent, optimizer=optimizer,
                                                            schedule=schedule, obs_norm=obs_norm,
                                                            reward_scaler=reward_scaler, diverged=diverged)
        state = ad.tensor(resume["rnn_state"], device=args.device)
        starts = ad.tensor(np.asarray(resume["starts"], np.bool_), device=args.device)
    next_obs = observe(raw_obs)

    def snapshot():
        return {**checkpoint("rppo", global_step, iteration, raw_obs, env, rng, agent=agent, optimizer=optimizer,
                                 schedule=schedule, obs_norm=obs_norm, reward_scaler=reward_scaler,
                                 diverged=diverged),
                "rnn_state": state.numpy(), "starts": starts.numpy()}

    def on_step(step, raw, info):
        if obs_norm is not None:
            obs_norm.update(as_batch(raw))
        episodes.add(info, global_step + (step + 1) * n)

    start, start_step = time.perf_counter(), global_step
    episodes = EpisodeLog(env, log, n)
    per_minibatch = n // args.num_minibatches
    agents = np.arange(k)[:, None, None]  # with (K, T, M) indices: agent k's own sub-envs
    times = np.arange(args.num_steps)[None, :, None]
    agents_on, times_on = ad.tensor(agents, device=args.device), ad.tensor(times, device=args.device)
    for iteration in range(first_iteration, args.num_iterations + 1):
        next_obs, raw_obs, state, starts = collect(agent, env, buf, (next_obs, raw_obs, state, starts), rng, args,
                                                   observe, reward_scaler, on_step)
        global_step += args.batch_size
        with ad.no_grad():
            _, critic, _ = agent.step(next_obs, state, starts)
            advantages, returns = compute_gae(buf.rewards, buf.values, buf.dones, agent.value(critic),
                                              args.gamma, args.gae_lambda)
        # -- update: epochs over minibatches of whole sub-env sequences, each agent its own ----------
        # The replay is planned on the host (it skips steps without a reset): the rollout's
        # episode starts and the epochs' orders cross together, once per iteration.
        starts_seen, *orders = fetch(buf.starts, *(ad.randperm(n, rng, args.device) for _ in range(args.update_epochs)))

        def minibatch_loss(order, begin):
            mb = order[:, begin:begin + per_minibatch]  # (K, M): the sub-envs of each agent's minibatch
            rows = ad.tensor(mb, device=args.device)
            index = (agents_on, times_on, rows.unsqueeze(1))

            def seq(t):  # (K, T, M, ...) -> (K, T * M, ...): one agent's batch per row
                picked = t[index]
                return picked.reshape((k, -1) + tuple(picked.shape[3:]))

            actor, critic = agent.sequence(buf.obs[index], buf.initial_state[(agents_on[:, 0], rows)],
                                           starts_seen[agents, times, mb[:, None, :]])
            dist = agent.dist(actor)
            newlogprob, entropy = agent.log_prob_entropy(dist, buf.actions[index])
            return clipped_loss(args, newlogprob.reshape(k, -1), entropy.reshape(k, -1),
                                    agent.value(critic).reshape(k, -1), seq(buf.logprobs), seq(advantages),
                                    seq(returns), seq(buf.values))

        final, clipfracs, good = update(args, optimizer, params, diverged, orders, n, per_minibatch, minibatch_loss)
        log_update(log, optimizer, diverged, good, episodes, final, clipfracs, returns.reshape(k, -1),
                   buf.flat("values"), global_step, lambda: k * (global_step - start_step) / (time.perf_counter() - start))
        log_histograms(log, iteration, global_step, agent, buf.actions)
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(global_step, snapshot) is False:
            break
    agent.diverged = diverged.at
    return agent, obs_norm
