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
Everything else (GAE, the clipped losses, normalisation, logging, checkpoints) is PPO's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import autodiff as ad
from autodiff import nn, optim

from . import env_actions, ppo, to_host
from .normalize import RewardScaler, RunningMeanStd
from .rollout import RolloutBuffer, compute_gae

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

    def validate(self):
        if self.num_envs > 0 and self.num_minibatches > 0 and self.num_envs % self.num_minibatches:
            raise ValueError(f"recurrent minibatches hold whole sub-env sequences, so num_envs ({self.num_envs}) "
                             f"must split into {self.num_minibatches} equal groups; choose a divisor of {self.num_envs}")
        super().validate()
        if self.rnn not in ("gru", "lstm"):
            raise ValueError(f"rnn must be gru or lstm, got {self.rnn!r}")
        if self.rnn_hidden_size <= 0:
            raise ValueError(f"rnn_hidden_size must be positive, got {self.rnn_hidden_size}")
        if self.num_seeds != 1:
            raise ValueError("rppo trains one agent per run (its recurrent scan has no stacked form yet), so "
                             f"num_seeds must be 1, got {self.num_seeds}; ppo and dqn train populations")
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


class Agent(ppo.Heads, nn.Module):
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
        """Zero states for n sub-envs, (n, state_size)."""
        return ad.zeros(n, self.state_size, device=device)

    def step(self, obs, state, starts=None):
        """One step for a batch of sub-envs: (actor features, critic features, next state).
        `starts` (numpy bool, (n,)) marks sub-envs whose observation begins an episode."""
        if starts is not None and starts.any():
            state = state * ad.tensor((~starts).astype(np.float32)[:, None], device=state.device)
        if self.critic_core is None:
            features, state = self.core.step(obs, state)
            return features, features, state
        S = self.core_size
        actor, actor_state = self.core.step(obs, state[:, :S])
        critic, critic_state = self.critic_core.step(obs, state[:, S:])
        return actor, critic, ad.cat([actor_state, critic_state], -1)

    def sequence(self, obs, state, starts):
        """Steps (T, B, obs) from `state` through the resets in `starts`: actor and critic
        features, each (T, B, rnn_hidden_size)."""
        if self.critic_core is None:
            features = self.core.sequence(obs, state, starts)
            return features, features
        S = self.core_size
        return (self.core.sequence(obs, state[:, :S], starts),
                self.critic_core.sequence(obs, state[:, S:], starts))


class RecurrentPolicy:
    """The deterministic policy for evaluation, carrying each sub-env's state between calls:
    `reset(n)` before a new batch of n sub-envs, then `act(obs)` every step."""

    def __init__(self, agent, obs_norm=None):
        self.agent, self.obs_norm, self.state = agent, obs_norm, None

    def reset(self, n):
        self.state = self.agent.initial_state(n)

    def __call__(self, obs):
        with ad.no_grad():
            obs = obs.reshape(obs.shape[0], -1).float()
            if self.state is None or self.state.shape[0] != obs.shape[0]:
                self.reset(obs.shape[0])
            features, _, self.state = self.agent.step(self.obs_norm(obs) if self.obs_norm is not None else obs,
                                                      self.state)
            return self.agent.to_env(self.agent.dist(features).mode())


def policy(agent: Agent, obs_norm=None):
    return RecurrentPolicy(agent, obs_norm)


memory = ppo.memory  # the same storage, plus a state per sub-env: small beside the rollout


def build(args: Args, env):
    obs_dim = int(math.prod(env.single_observation_space.shape))
    agent = Agent(obs_dim, env.single_action_space, args.hidden_sizes, args.rnn, args.rnn_hidden_size,
                  args.shared_rnn, args.device)
    obs_norm = RunningMeanStd((obs_dim,), device=args.device) if args.norm_obs else None
    return agent, obs_norm


class RecurrentRollout(RolloutBuffer):
    """PPO's rollout storage plus what replaying it needs: whether each step's observation starts
    an episode, and the state each sub-env began the rollout in."""

    def __init__(self, num_steps, num_envs, obs_shape, action_shape, action_dtype, state_size, device="cpu"):
        super().__init__(num_steps, num_envs, obs_shape, action_shape, action_dtype, device)
        self.starts = np.zeros((num_steps, num_envs), np.bool_)  # read on the host to skip reset-free steps
        self.initial_state = ad.zeros(num_envs, state_size, device=device)


def collect(agent, env, buf, carry, rng, args, observe, reward_scaler=None, on_step=None):
    """Fill `buf` with one rollout from `carry` = (next_obs, raw_obs, state, starts) and return
    the carry for the next one. `observe(raw) -> obs tensor` applies observation normalisation;
    `on_step(step, raw_obs, info)` updates running statistics and logs episodes."""
    next_obs, raw_obs, state, starts = carry
    buf.initial_state = state
    with ad.no_grad():
        for step in range(args.num_steps):
            buf.obs[step] = next_obs
            buf.starts[step] = starts
            actor, critic, state = agent.step(next_obs, state, starts)
            dist = agent.dist(actor)
            action = dist.sample(rng)
            buf.values[step] = agent.value(critic)
            buf.actions[step] = action
            buf.logprobs[step] = agent.log_prob(dist, action)
            raw_obs, reward, terminated, truncated, info = env.step(env_actions(env, agent.to_env(action)))
            if on_step is not None:
                on_step(step, raw_obs, info)
            next_obs = observe(raw_obs)
            # Episode starts are planned on the host (the replay skips reset-free steps), so from a
            # GPU env the flags come over: one small copy per step.
            terminated, truncated = to_host(terminated), to_host(truncated)
            reward = ad.tensor(reward, dtype="float32", device=args.device)
            if reward_scaler is not None:
                reward = reward_scaler(reward, ad.tensor(terminated | truncated, device=args.device))
            if truncated.any():
                # Cut by the time limit: bootstrap from the value of the state it was cut in, seen
                # with the memory the policy had then.
                _, final, _ = agent.step(observe(info["final_obs"]), state)
                reward = reward + args.gamma * agent.value(final) * ad.tensor(truncated, device=args.device).float()
            buf.rewards[step] = reward
            starts = terminated | truncated
            buf.dones[step] = ad.tensor(starts, device=args.device).float()
    return next_obs, raw_obs, state, starts


def train(args: Args, env=None, log=None, callback=None, resume=None):
    """Train recurrent PPO; the contract of `ppo.train` (log, callback with snapshot, resume)."""
    import envs as envs_pkg

    args.validate()
    ad.manual_seed(args.seed)
    rng = ad.Generator(args.seed, device=args.device)
    if env is None:
        env = envs_pkg.make(args.env_id, num_envs=args.num_envs, device=args.device, seed=args.seed)
    agent, obs_norm = build(args, env)
    obs_dim = int(math.prod(env.single_observation_space.shape))
    params = agent.parameters()
    optimizer = optim.Adam(params, lr=args.learning_rate, eps=1e-5)
    schedule = optim.LinearLR(optimizer, args.num_iterations) if args.anneal_lr else None
    reward_scaler = RewardScaler(args.num_envs, args.gamma, device=args.device) if args.norm_reward else None
    log = log or (lambda tag, value, step, agent=0: None)
    buf = RecurrentRollout(args.num_steps, args.num_envs, (obs_dim,),
                           () if agent.discrete else env.single_action_space.shape,
                           "int64" if agent.discrete else "float32", agent.state_size, args.device)

    as_batch, observe = ppo.observers(args, obs_dim, obs_norm)

    global_step, first_iteration, iteration = 0, 1, 0
    if resume is None:
        raw_obs, _ = env.reset(seed=args.seed)
        if obs_norm is not None:
            obs_norm.update(as_batch(raw_obs))
        state = agent.initial_state(args.num_envs, args.device)
        starts = np.ones(args.num_envs, np.bool_)
    else:
        raw_obs, global_step, first_iteration = ppo.restore(resume, env, rng, agent=agent, optimizer=optimizer,
                                                            schedule=schedule, obs_norm=obs_norm,
                                                            reward_scaler=reward_scaler)
        state = ad.tensor(resume["rnn_state"], device=args.device)
        starts = np.asarray(resume["starts"], np.bool_)
    next_obs = observe(raw_obs)

    def snapshot():
        return {**ppo.checkpoint("rppo", global_step, iteration, raw_obs, env, rng, agent=agent, optimizer=optimizer,
                                 schedule=schedule, obs_norm=obs_norm, reward_scaler=reward_scaler),
                "rnn_state": state.numpy(), "starts": starts}

    def on_step(step, raw, info):
        if obs_norm is not None:
            obs_norm.update(as_batch(raw))
        episodes.add(info, global_step + (step + 1) * args.num_envs)

    start, start_step = time.perf_counter(), global_step
    episodes = ppo.EpisodeLog(env, log)
    per_minibatch = args.num_envs // args.num_minibatches
    for iteration in range(first_iteration, args.num_iterations + 1):
        next_obs, raw_obs, state, starts = collect(agent, env, buf, (next_obs, raw_obs, state, starts), rng, args,
                                                   observe, reward_scaler, on_step)
        global_step += args.batch_size
        with ad.no_grad():
            _, critic, _ = agent.step(next_obs, state, starts)
            advantages, returns = compute_gae(buf.rewards, buf.values, buf.dones, agent.value(critic),
                                              args.gamma, args.gae_lambda)
        # -- update: epochs over minibatches of whole sub-env sequences ------------------------------
        clipfracs = []
        for _ in range(args.update_epochs):
            order = ad.randperm(args.num_envs, rng, args.device).numpy()
            for begin in range(0, args.num_envs, per_minibatch):
                mb = order[begin:begin + per_minibatch]
                actor, critic = agent.sequence(buf.obs[:, mb], buf.initial_state[mb], buf.starts[:, mb])
                dist = agent.dist(actor)
                newlogprob, entropy = agent.log_prob_entropy(dist, buf.actions[:, mb])
                loss, stats = ppo.clipped_loss(args, newlogprob.reshape(-1), entropy.reshape(-1),
                                               agent.value(critic).reshape(-1), buf.logprobs[:, mb].reshape(-1),
                                               advantages[:, mb].reshape(-1), returns[:, mb].reshape(-1),
                                               buf.values[:, mb].reshape(-1))
                clipfracs.append(stats["clipfrac"])
                optimizer.zero_grad()
                loss.backward()
                optim.clip_grad_norm_(params, args.max_grad_norm)
                optimizer.step()
            if args.target_kl is not None and float(stats["approx_kl"]) > args.target_kl:
                break
        ppo.check_finite(loss, stats, global_step)
        episodes.flush()
        # PPO's per-agent logging, for a population of one
        ppo.log_update(log, optimizer, {name: np.array([float(v)]) for name, v in stats.items()},
                       [(c.reshape(1), [True]) for c in clipfracs], returns.reshape(1, -1),
                       buf.flat("values").reshape(1, -1), global_step,
                       (global_step - start_step) / (time.perf_counter() - start))
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(global_step, snapshot) is False:
            break
    return agent, obs_norm
