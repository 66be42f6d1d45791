"""Deep Q-Networks (Mnih et al. 2015), read top to bottom as CleanRL's dqn.py: Args -> Q-network
-> train(): act epsilon-greedily -> store in the replay buffer -> every `train_frequency` steps,
`gradient_steps` TD updates against a target network -> update the target network.

What it adds to CleanRL: double DQN (van Hasselt et al. 2016) as an option, Polyak target
updates, several gradient steps per round (as Stable-Baselines3 and its RL-Zoo settings use),
the true final observation of finished episodes in the buffer, and resumable checkpoints.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import gymnasium as gym

import autodiff as ad
from autodiff import nn, optim

from .common import (Divergence, EpisodeLog, check_ranges, checkpoint, env_actions, fetch, log_histograms, prepare,
                     restore)
from .replay import ReplayBuffer


MODEL = "q_network"  # the checkpoint entry holding the acting network (for python -m rl.evaluate)


@dataclass
class Args:
    env_id: str = "CartPole"
    """the environment: a built-in name, a Gymnasium id, a plugin or a 'module:Class' string"""
    seed: int = 1
    """seed of the run: network initialisation, exploration, sampling and the environments"""
    device: str = "cpu"
    """where everything runs: cpu, cuda or auto"""
    total_timesteps: int = 50_000
    """environment steps to train for, over all sub-environments"""
    num_envs: int = 1
    """sub-environments stepped together"""
    learning_rate: float = 2.5e-4
    """Adam's learning rate"""
    anneal_lr: bool = False
    """anneal the learning rate linearly to 0 over the rounds of gradient steps"""
    buffer_size: int = 100_000
    """transitions the replay buffer holds"""
    gamma: float = 0.99
    """discount factor"""
    tau: float = 1.0
    """target network update rate: 1 copies the Q-network, less blends it in (Polyak averaging)"""
    target_network_frequency: int = 500
    """environment steps between target network updates"""
    batch_size: int = 128
    """transitions per gradient step"""
    start_e: float = 1.0
    """exploration rate at the start"""
    end_e: float = 0.05
    """exploration rate at the end of the schedule"""
    exploration_fraction: float = 0.5
    """fraction of total_timesteps over which exploration falls from start_e to end_e"""
    learning_starts: int = 10_000
    """environment steps before learning starts"""
    train_frequency: int = 10
    """environment steps between rounds of gradient steps"""
    gradient_steps: int = 1
    """gradient steps per round"""
    double_dqn: bool = False
    """choose the next action with the Q-network and value it with the target network"""
    loss: str = "huber"
    """the TD loss: huber (smooth L1) or mse"""
    max_grad_norm: float | None = None
    """global gradient-norm clip (None: no clipping)"""
    hidden_sizes: tuple = (120, 84)
    """hidden layer sizes of the Q-network"""
    activation: str = "relu"
    """hidden activation of the Q-network: relu or tanh"""
    checkpoint_replay_buffer: bool = False
    """include the replay buffer in checkpoints (bigger files; resumes bit for bit)"""
    num_seeds: int = 1
    """agents trained at once, with seeds seed ... seed + num_seeds - 1: agent k is the run with seed + k"""

    # Settings outside these intervals cannot train (or cannot mean what they say).
    RANGES = {"seed": "[0, inf)", "total_timesteps": "(0, inf)", "num_envs": "(0, inf)", "buffer_size": "(0, inf)",
              "batch_size": "(0, inf)", "train_frequency": "(0, inf)", "gradient_steps": "(0, inf)",
              "target_network_frequency": "(0, inf)", "num_seeds": "(0, inf)", "learning_rate": "(0, inf)",
              "gamma": "(0, 1]", "tau": "(0, 1]", "start_e": "[0, 1]", "end_e": "[0, 1]",
              "exploration_fraction": "(0, 1]", "learning_starts": "[0, inf)", "max_grad_norm": "(0, inf)",
              "hidden_sizes": "(0, inf)"}

    def validate(self):
        """Raise ValueError with one sentence naming the first invalid setting."""
        check_ranges(self, self.RANGES)
        if self.end_e > self.start_e:
            raise ValueError(f"exploration falls from start_e to end_e, so end_e ({self.end_e}) must not exceed "
                             f"start_e ({self.start_e})")
        if self.learning_starts >= self.total_timesteps:
            raise ValueError(f"learning_starts ({self.learning_starts}) must be less than total_timesteps "
                             f"({self.total_timesteps}), or the network never trains")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size ({self.batch_size}) must not exceed buffer_size ({self.buffer_size})")
        if self.loss not in ("huber", "mse"):
            raise ValueError(f"unknown loss {self.loss!r}; valid: huber, mse")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"unknown activation {self.activation!r}; valid: relu, tanh")

    @property
    def trained_timesteps(self) -> int:
        """The steps each agent trains for: total_timesteps rounded up to whole steps of num_envs."""
        return -(-self.total_timesteps // self.num_envs) * self.num_envs


def epsilon(args: Args, step: int) -> float:
    """Linear exploration schedule, then constant (CleanRL's linear_schedule)."""
    duration = args.exploration_fraction * args.total_timesteps
    return max(args.end_e, args.start_e + (args.end_e - args.start_e) * step / duration)


def build(args: Args, env, models=None):
    """The Q-network for this env (and no observation normaliser); with `models`, a stack of
    that many, seeded seed, seed + 1, ... (nn.stacked)."""
    if models is not None:
        return nn.stacked(lambda: build(args, env)[0], [args.seed + k for k in range(models)]), None
    space = env.single_action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"DQN needs a discrete action space; {args.env_id} has {space}; use ppo for continuous actions")
    obs_dim = int(math.prod(env.single_observation_space.shape))
    q = nn.MLP([obs_dim, *args.hidden_sizes, int(space.n)], args.activation, device=args.device)
    return q, None


def policy(q_network, obs_norm=None):
    """The greedy policy of a stack of K Q-networks: obs tensor (K, N, ...) -> actions (K, N)."""
    def act(obs):
        with ad.no_grad():
            return q_network(obs.reshape(obs.shape[0], obs.shape[1], -1).float()).argmax(-1)
    return act


def _crossed(previous, step, every):
    """Whether the step count passed a multiple of `every` (steps advance num_envs at a time)."""
    return step // every > previous // every


@ad.no_grad()
def update_target(target, q_network, tau):
    for t, p in zip(target.parameters(), q_network.parameters()):
        t.copy_(p if tau == 1.0 else p * tau + t * (1.0 - tau))


def memory(args: Args, obs_dim: int, action_dim: int) -> int:
    """Bytes the largest arrays of a run take, estimated before any is allocated: each agent's
    replay buffer (s and s' float32, the action int64, reward and done) and a minibatch's
    activations through the Q-network and the target."""
    per_transition = 2 * obs_dim * 4 + 8 + 4 + 4
    activations = args.batch_size * (sum(args.hidden_sizes) * 2 + obs_dim) * 4 * 4
    return args.num_seeds * (args.buffer_size * per_transition + activations)


def train(args: Args, env=None, log=None, callback=None, resume=None):
    """Train DQN; returns the Q-network (and None, where PPO returns its normaliser).
    `log`, `callback` and `resume` work as in `algos.ppo.train`.

    `num_seeds` K trains K agents at once, each with its own sub-envs, network, Adam state,
    replay buffer and random streams: every tensor carries a leading agent axis, and on the CPU
    agent k is bit for bit the run with seed + k. `log(tag, value, step, agent)` is per agent."""
    k, n, seeds, rng, env = prepare(args, env)
    q_network, _ = build(args, env, models=k)
    target, _ = build(args, env, models=k)
    update_target(target, q_network, 1.0)
    params = q_network.parameters()  # listed once: walking the modules costs ~10 us a gradient step
    optimizer = optim.Adam(params, lr=args.learning_rate, models=k)
    rounds = max(1, (args.total_timesteps - args.learning_starts) // args.train_frequency)
    schedule = optim.LinearLR(optimizer, rounds) if args.anneal_lr else None
    obs_dim, n_actions = q_network[0].in_features, int(env.single_action_space.n)
    buffer = ReplayBuffer(args.buffer_size, (obs_dim,), device=args.device, models=k)
    log = log or (lambda tag, value, step, agent=0: None)
    diverged = Divergence(k)

    def as_batch(raw):
        return ad.as_tensor(raw, dtype="float32", device=args.device).reshape(k, n, obs_dim)

    def per_agent(flags):
        return ad.as_tensor(flags, device=args.device).reshape(k, n)

    global_step = 0
    if resume is None:
        raw_obs, _ = env.reset(seed=seeds)
    else:
        # The replay buffer is in the checkpoint only when checkpoint_replay_buffer was on.
        stored = buffer if resume.get("replay_buffer") is not None else None
        raw_obs, global_step, _ = restore(resume, env, rng, q_network=q_network, target=target, optimizer=optimizer,
                                          schedule=schedule, diverged=diverged, replay_buffer=stored)
    # The observation acted on is kept past the next env step, and a GPU env rewrites its own
    # arrays in place each step (as_batch is a view of them there): keep a copy of our own.
    obs = ad.zeros(k, n, obs_dim, device=args.device).copy_(as_batch(raw_obs))

    def snapshot():
        return checkpoint("dqn", global_step, 0, raw_obs, env, rng, q_network=q_network, target=target,
                          optimizer=optimizer, schedule=schedule, diverged=diverged,
                          replay_buffer=buffer if args.checkpoint_replay_buffer else None)

    start, start_step = time.perf_counter(), global_step
    episodes = EpisodeLog(env, log, n)  # from a GPU env, episodes cross to the host once a round
    copied_at = None  # the optimizer step at which the target last copied the Q-network
    while global_step < args.total_timesteps:
        # -- act: epsilon-greedy over the Q-network, each agent with its own draws ---------------------
        eps = epsilon(args, global_step)
        with ad.no_grad():
            greedy = q_network(obs).argmax(-1)
            explore = ad.rand(k, n, generator=rng, device=args.device) < eps
            random_actions = (ad.rand(k, n, generator=rng, dtype="float64", device=args.device) * n_actions).long()
            actions = ad.where(explore, random_actions, greedy)
        raw_obs, reward, terminated, truncated, info = env.step(env_actions(env, actions.reshape(k * n)))
        next_obs = as_batch(raw_obs)
        final = as_batch(info["final_obs"]) if "final_obs" in info else None
        buffer.add(obs, next_obs, actions, ad.as_tensor(reward, dtype="float32", device=args.device).reshape(k, n),
                   per_agent(terminated), per_agent(truncated), final)
        obs.copy_(next_obs)
        previous, global_step = global_step, global_step + n
        episodes.add(info, global_step)

        # -- learn: rounds of TD updates against the target network ---------------------------------
        learned = global_step > args.learning_starts and buffer.size >= args.batch_size and \
            _crossed(previous, global_step, args.train_frequency)
        if learned:
            good = diverged.keep(optimizer)
            for _ in range(args.gradient_steps):
                b_obs, b_actions, b_rewards, b_next, b_dones = buffer.sample(args.batch_size, rng)
                with ad.no_grad():
                    if args.double_dqn:
                        best = q_network(b_next).argmax(-1)
                        next_q = target(b_next).gather(-1, best.unsqueeze(-1)).squeeze(-1)
                    else:
                        next_q = target(b_next).amax(-1)
                    td_target = b_rewards + args.gamma * next_q * (1.0 - b_dones)
                q_pred = q_network(b_obs).gather(-1, b_actions.unsqueeze(-1)).squeeze(-1)
                td = ad.smooth_l1_loss if args.loss == "huber" else ad.mse_loss
                loss = td(q_pred, td_target, reduction="none").mean(-1)  # one loss per agent
                optimizer.zero_grad()
                loss.sum().backward()  # agents share no parameter: each gets its own loss's gradient
                if args.max_grad_norm is not None:
                    optim.clip_grad_norm_(params, args.max_grad_norm)
                optimizer.step(diverged.active)
            # The round's figures and episodes leave the device together: one copy, one wait.
            rows, losses, q_means = fetch(episodes.pending(), loss, q_pred.mean(-1))
            episodes.flush(rows)
            diverged.check(losses, global_step, optimizer, good, "DQN")
            for a in range(k):
                log("losses/td_loss", float(losses[a]), global_step, a)
                log("losses/q_values", float(q_means[a]), global_step, a)
                log("charts/epsilon", eps, global_step, a)
                log("charts/learning_rate", optimizer.lr, global_step, a)
            with ad.no_grad():  # the greedy actions on the last batch: what the policy would do
                log_histograms(log, optimizer.step_count // args.gradient_steps, global_step, q_network,
                               lambda: q_network(b_obs).argmax(-1))
            if schedule is not None:
                schedule.step()
            sps = int(k * (global_step - start_step) / (time.perf_counter() - start))
            for a in range(k):
                log("charts/SPS", sps, global_step, a)
        if _crossed(previous, global_step, args.target_network_frequency):
            if args.tau < 1.0 or copied_at != optimizer.step_count:  # copying unchanged weights changes nothing
                update_target(target, q_network, args.tau)
                copied_at = optimizer.step_count
        # After the target update: a snapshot taken here resumes exactly where this step ends.
        if learned and callback is not None and callback(global_step, snapshot) is False:
            break
    episodes.flush()
    if callback is not None:
        callback(global_step, snapshot)
    q_network.diverged = diverged.at
    return q_network, None
