"""Proximal Policy Optimization (Schulman et al. 2017), read top to bottom as CleanRL's ppo.py:
Args -> networks -> train(): rollout -> GAE -> epochs x minibatches -> clipped losses -> logging.

What it adds to CleanRL: a truncated episode is bootstrapped from V(final_obs) (a terminated one is
not), discrete and continuous actions in one file, optional observation normalisation and reward
scaling, a `log` callback instead of a hard-wired writer, and populations: `num_seeds` K agents
trained at once, every tensor with a leading agent axis, agent k bit for bit the run with seed + k.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import autodiff as ad
from autodiff import nn

from .actor_critic import Heads, clipped_loss, log_update, optimizer_of, update
from .common import (Divergence, EpisodeLog, bootstrap_truncated, check_ranges, checkpoint, env_actions,
                     log_histograms, observers, on_device, prepare, restore)
from .normalize import RewardScaler, RunningMeanStd
from .gae import compute_gae
from .rollout import RolloutBuffer


MODEL = "agent"  # the checkpoint entry holding the acting network (for python -m rl.evaluate)


@dataclass
class Args:
    env_id: str = "CartPole"
    """the environment: a built-in name, a Gymnasium id, a plugin or a 'module:Class' string"""
    seed: int = 1
    """seed of the run: network initialisation, action sampling and the environments"""
    device: str = "cpu"
    """where everything runs: cpu, cuda or auto"""
    total_timesteps: int = 100_000
    """environment steps to train for, over all sub-environments"""
    num_envs: int = 8
    """sub-environments stepped together"""
    num_steps: int = 128
    """steps per sub-environment in each rollout"""
    learning_rate: float = 2.5e-4
    """Adam's learning rate"""
    anneal_lr: bool = True
    """anneal the learning rate linearly to 0 over the run"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.95
    """lambda of generalized advantage estimation"""
    num_minibatches: int = 4
    """minibatches each rollout is split into"""
    update_epochs: int = 4
    """passes over each rollout"""
    norm_adv: bool = True
    """normalise advantages within each minibatch"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    clip_vloss: bool = True
    """clip the value loss as the policy loss is clipped"""
    ent_coef: float = 0.01
    """entropy bonus coefficient"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 0.5
    """global gradient-norm clip"""
    target_kl: float | None = None
    """stop an update's epochs early when the approximate KL exceeds this (None: never)"""
    hidden_sizes: tuple = (64, 64)
    """hidden layer sizes of the actor and of the critic"""
    shared_network: bool = False
    """actor and critic share their hidden layers: one trunk under a policy head and a value head"""
    norm_obs: bool = False
    """normalise observations by running mean and variance (saved with the checkpoint)"""
    norm_reward: bool = False
    """scale rewards by the running std of the discounted return (saved with the checkpoint)"""
    num_seeds: int = 1
    """agents trained at once, with seeds seed ... seed + num_seeds - 1: agent k is the run with seed + k"""

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_timesteps // self.batch_size)

    # Settings outside these intervals cannot train (or cannot mean what they say).
    RANGES = {"seed": "[0, inf)", "total_timesteps": "(0, inf)", "num_envs": "(0, inf)", "num_steps": "(0, inf)",
              "num_minibatches": "(0, inf)", "update_epochs": "(0, inf)", "num_seeds": "(0, inf)",
              "learning_rate": "(0, inf)", "gamma": "(0, 1]", "gae_lambda": "[0, 1]", "clip_coef": "(0, inf)",
              "ent_coef": "[0, inf)", "vf_coef": "(0, inf)", "max_grad_norm": "(0, inf)", "target_kl": "(0, inf)",
              "hidden_sizes": "(0, inf)"}

    def validate(self):
        """Raise ValueError with one sentence naming the first invalid setting."""
        check_ranges(self, self.RANGES)
        if self.batch_size % self.num_minibatches:
            raise ValueError(f"the batch of num_envs x num_steps = {self.batch_size} does not split into "
                             f"{self.num_minibatches} equal minibatches; choose a divisor of {self.batch_size}")
        if self.shared_network and not self.hidden_sizes:
            raise ValueError("shared_network needs at least one hidden layer for actor and critic to share; "
                             "give hidden_sizes")

    @property
    def trained_timesteps(self) -> int:
        """The steps each agent trains for: total_timesteps rounded down to whole iterations (at
        least one)."""
        return self.num_iterations * self.batch_size


class Agent(Heads, nn.Module):
    """Separate actor and critic MLPs with PPO's initialisation (sqrt 2 hidden, 0.01 policy head,
    1 value head), or with `shared=True` one trunk of hidden layers under a policy head and a
    value head (half the compute, and the value loss shapes the policy's features); a
    state-independent log-std for continuous actions."""

    def __init__(self, obs_dim, action_space, hidden_sizes=(64, 64), shared=False, device="cpu"):
        super().__init__()
        n_out = self._action_space(action_space, device)
        sizes = [obs_dim, *hidden_sizes]
        if shared:
            self.trunk = nn.MLP(sizes, "tanh", output_gain=math.sqrt(2), output_activation="tanh", device=device)
            sizes = sizes[-1:]
        else:
            self.trunk = None
        self.critic = nn.MLP(sizes + [1], "tanh", output_gain=1.0, device=device)
        self.actor = nn.MLP(sizes + [n_out], "tanh", output_gain=0.01, device=device)

    def features(self, x):
        return x if self.trunk is None else self.trunk(x)

    def value(self, x):
        return super().value(self.features(x))

    def dist(self, x):
        return super().dist(self.features(x))

    def dist_value(self, x):
        h = self.features(x)  # the trunk runs once for both heads
        return super().dist(h), super().value(h)


def policy(agent: Agent, obs_norm=None):
    """The deterministic policy of a stack of K agents for evaluation: obs tensor (K, N, ...) ->
    actions for the env, (K, N) or (K, N, action_dim)."""
    def act(obs):
        with ad.no_grad():
            obs = obs.reshape(obs.shape[0], obs.shape[1], -1).float()
            dist = agent.dist(obs_norm(obs) if obs_norm is not None else obs)
            return agent.to_env(dist.mode())
    return act


def build(args: Args, env, models=None):
    """The networks and their optimizer-free companions, as train() creates them; used to load a
    checkpoint for evaluation. With `models`, a stack of that many agents seeded seed, seed + 1,
    ... (nn.stacked) and a normaliser that keeps each one's statistics."""
    obs_dim = int(math.prod(env.single_observation_space.shape))
    obs_norm = RunningMeanStd((obs_dim,), device=args.device, models=models) if args.norm_obs else None
    if models is not None:
        return nn.stacked(lambda: build(args, env)[0], [args.seed + k for k in range(models)]), obs_norm
    agent = Agent(obs_dim, env.single_action_space, args.hidden_sizes, args.shared_network, device=args.device)
    return agent, obs_norm


def memory(args: Args, obs_dim: int, action_dim: int) -> int:
    """Bytes the largest arrays of a run take, estimated before any is allocated: each agent's
    rollout (observations, actions and four per-step figures, float32), its flattened and
    gathered copies in the update, and the forward and backward activations of a minibatch."""
    k, steps = args.num_seeds, args.batch_size
    rollout = steps * (obs_dim + max(action_dim, 2) + 4) * 4
    activations = args.minibatch_size * (sum(args.hidden_sizes) * 2 + obs_dim) * 4 * 4
    return k * (3 * rollout + activations)


def train(args: Args, env=None, log=None, callback=None, resume=None):
    """Train PPO; returns the agents (a stack of `num_seeds`) and their observation normaliser
    (or None).

    `log(tag, value, step, agent)` receives CleanRL's metrics, per agent. `callback(step,
    snapshot) -> bool` runs after each iteration; returning False stops training (as in
    Stable-Baselines3), and `snapshot()` returns everything needed to resume bit for bit
    (`resume=` takes it back).

    Each agent has its own sub-envs, network, Adam state, gradient-norm clip, random streams
    (actions, minibatch order), normalisers, advantage normalisation and early stop (target_kl);
    on the CPU agent k is bit for bit the run with seed + k."""
    k, n, seeds, rng, env = prepare(args, env)
    act_space = env.single_action_space
    agent, obs_norm = build(args, env, models=k)
    obs_dim = int(math.prod(env.single_observation_space.shape))
    params, optimizer, schedule = optimizer_of(args, agent)
    reward_scaler = RewardScaler(n, args.gamma, device=args.device, models=k) if args.norm_reward else None
    log = log or (lambda tag, value, step, agent=0: None)
    diverged = Divergence(k)

    discrete = agent.discrete
    buf = RolloutBuffer(args.num_steps, n, (obs_dim,), () if discrete else act_space.shape,
                        "int64" if discrete else "float32", args.device, models=k)
    as_batch, observe = observers(args, obs_dim, obs_norm, models=k)

    def per_agent(values, dtype=None):
        return ad.as_tensor(values, dtype=dtype, device=args.device).reshape(k, n)  # used within the step

    global_step, first_iteration, iteration = 0, 1, 0
    if resume is None:
        raw_obs, _ = env.reset(seed=seeds)
        if obs_norm is not None:
            obs_norm.update(as_batch(raw_obs))
    else:
        raw_obs, global_step, first_iteration = restore(resume, env, rng, agent=agent, optimizer=optimizer,
                                                        schedule=schedule, obs_norm=obs_norm,
                                                        reward_scaler=reward_scaler, diverged=diverged)
    next_obs = observe(raw_obs)

    def snapshot():
        return checkpoint("ppo", global_step, iteration, raw_obs, env, rng, agent=agent, optimizer=optimizer,
                          schedule=schedule, obs_norm=obs_norm, reward_scaler=reward_scaler, diverged=diverged)

    start, start_step = time.perf_counter(), global_step
    episodes = EpisodeLog(env, log, n)
    agents = ad.arange(k, device=args.device).unsqueeze(-1)  # with a (K, M) index: row k from agent k
    for iteration in range(first_iteration, args.num_iterations + 1):
        # -- rollout: the policy acts, the envs step; no graph is recorded ------------------------
        with ad.no_grad():
            for step in range(args.num_steps):
                global_step += n
                buf.obs[:, step] = next_obs
                dist, buf.values[:, step] = agent.dist_value(next_obs)
                action = dist.sample(rng)
                buf.actions[:, step] = action
                buf.logprobs[:, step] = agent.log_prob(dist, action)
                env_action = agent.to_env(action)
                raw_obs, reward, terminated, truncated, info = env.step(
                    env_actions(env, env_action.reshape((k * n,) + tuple(env_action.shape[2:]))))
                if obs_norm is not None:
                    obs_norm.update(as_batch(raw_obs))
                next_obs = observe(raw_obs)
                reward = per_agent(reward, "float32")
                terminated, truncated = per_agent(terminated), per_agent(truncated)
                if reward_scaler is not None:
                    reward = reward_scaler(reward, terminated | truncated)
                reward = bootstrap_truncated(reward, truncated, args.gamma,
                                             lambda: agent.value(observe(info["final_obs"])), on_device(env))
                buf.rewards[:, step] = reward
                buf.dones[:, step] = (terminated | truncated).float()
                episodes.add(info, global_step)

            advantages, returns = compute_gae(buf.rewards, buf.values, buf.dones, agent.value(next_obs),
                                              args.gamma, args.gae_lambda)
        # -- update: epochs over shuffled minibatches, each agent on its own -----------------------
        b_obs, b_actions, b_logprobs = buf.flat("obs"), buf.flat("actions"), buf.flat("logprobs")
        b_adv, b_returns, b_values = advantages.reshape(k, -1), returns.reshape(k, -1), buf.flat("values")
        orders = [ad.randperm(args.batch_size, rng, args.device) for _ in range(args.update_epochs)]

        def minibatch_loss(order, begin):
            mb = (agents, order[:, begin:begin + args.minibatch_size])
            dist, newvalue = agent.dist_value(b_obs[mb])
            newlogprob, entropy = agent.log_prob_entropy(dist, b_actions[mb])
            return clipped_loss(args, newlogprob, entropy, newvalue, b_logprobs[mb], b_adv[mb], b_returns[mb],
                                b_values[mb])

        final, clipfracs, good = update(args, optimizer, params, diverged, orders, args.batch_size,
                                        args.minibatch_size, minibatch_loss)
        log_update(log, optimizer, diverged, good, episodes, final, clipfracs, b_returns, b_values, global_step,
                   lambda: k * (global_step - start_step) / (time.perf_counter() - start))
        log_histograms(log, iteration, global_step, agent, b_actions)
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(global_step, snapshot) is False:
            break
    agent.diverged = diverged.at
    return agent, obs_norm
