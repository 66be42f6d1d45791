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

import gymnasium as gym

import autodiff as ad
from autodiff import nn, optim
from autodiff.distributions import Categorical, Normal

from . import Divergence, env_actions, on_device, seeds_of, to_host
from .normalize import RewardScaler, RunningMeanStd
from .rollout import RolloutBuffer, compute_gae


MODEL = "agent"  # the checkpoint entry holding the acting network (for python -m rl.evaluate)
POPULATIONS = True  # train() takes num_seeds, and its networks a leading agent axis


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

    def validate(self):
        """Raise ValueError with one sentence naming the first invalid setting."""
        for name in ("total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs", "num_seeds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.batch_size % self.num_minibatches:
            raise ValueError(f"the batch of num_envs x num_steps = {self.batch_size} does not split into "
                             f"{self.num_minibatches} equal minibatches; choose a divisor of {self.batch_size}")
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"gamma must be in (0, 1] and gae_lambda in [0, 1], got {self.gamma} and {self.gae_lambda}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.shared_network and not self.hidden_sizes:
            raise ValueError("shared_network needs at least one hidden layer for actor and critic to share; "
                             "give hidden_sizes")


class Heads:
    """What PPO's agents share (this one and the recurrent one in algos/rppo.py): the action
    distribution from the actor's output, the value from the critic's, and the action space
    bookkeeping. A subclass sets `self.actor` and `self.critic` after `_action_space()`."""

    def _action_space(self, action_space, device):
        """Set up discrete or continuous actions; returns the actor's output size."""
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        n_out = int(action_space.n) if self.discrete else int(action_space.shape[0])
        if not self.discrete:
            self.actor_logstd = nn.Parameter(ad.zeros(1, n_out, device=device))
            self.low, self.high = action_space.low, action_space.high
        return n_out

    def to_env(self, action):
        """Continuous actions are sampled unbounded (so log-probs stay exact) and clipped to the
        action space only when sent to the env."""
        return action if self.discrete else action.clamp(self.low, self.high)

    def value(self, x):
        return self.critic(x).squeeze(-1)

    def dist(self, x):
        out = self.actor(x)
        if self.discrete:
            return Categorical(logits=out)
        std = self.actor_logstd.exp()  # (1, A), or (K, 1, A) for a stack: each agent's over its batch
        if std.ndim == 3 and out.ndim > 3:
            std = std.reshape((std.shape[0],) + (1,) * (out.ndim - 2) + (std.shape[-1],))
        return Normal(out, std)

    def dist_value(self, x):
        """The action distribution and the value of the same observations."""
        return self.dist(x), self.value(x)

    def log_prob(self, dist, actions):
        """The log-probability of each sub-env's action (summed over a continuous action's axes)."""
        return dist.log_prob(actions) if self.discrete else dist.log_prob(actions).sum(-1)

    def log_prob_entropy(self, dist, actions):
        entropy = dist.entropy() if self.discrete else dist.entropy().sum(-1)
        return self.log_prob(dist, actions), entropy


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
    import envs as envs_pkg

    args.validate()
    k, n = args.num_seeds, args.num_envs
    seeds = seeds_of(args)
    rng = ad.Generator(seeds, device=args.device)
    if env is None:
        env = envs_pkg.make(args.env_id, num_envs=k * n, device=args.device, seed=seeds)
    act_space = env.single_action_space
    agent, obs_norm = build(args, env, models=k)
    obs_dim = int(math.prod(env.single_observation_space.shape))
    params = agent.parameters()
    optimizer = optim.Adam(params, lr=args.learning_rate, eps=1e-5, models=k)
    schedule = optim.LinearLR(optimizer, args.num_iterations) if args.anneal_lr else None
    reward_scaler = RewardScaler(n, args.gamma, device=args.device, models=k) if args.norm_reward else None
    log = log or (lambda tag, value, step, agent=0: None)
    diverged = Divergence(k)

    discrete = agent.discrete
    buf = RolloutBuffer(args.num_steps, n, (obs_dim,), () if discrete else act_space.shape,
                        "int64" if discrete else "float32", args.device, models=k)
    as_batch, observe = observers(args, obs_dim, obs_norm, models=k)

    def per_agent(values, dtype=None):
        return ad.tensor(values, dtype=dtype, device=args.device).reshape(k, n)

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
                if on_device(env) or truncated.any():  # on the GPU: no host check, the mask does it
                    # The episode was cut by the time limit, not ended: its last reward is followed
                    # by the value of the state it was cut in.
                    final = observe(info["final_obs"])
                    reward = ad.where(truncated, reward + args.gamma * agent.value(final), reward)
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

        final, clipfracs = update(args, optimizer, params, diverged, orders, args.batch_size, args.minibatch_size,
                                  minibatch_loss, global_step)
        episodes.flush()
        log_update(log, optimizer, final, clipfracs, b_returns, b_values, global_step,
                   k * (global_step - start_step) / (time.perf_counter() - start))
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(global_step, snapshot) is False:
            break
    agent.diverged = diverged.at
    return agent, obs_norm


def update(args, optimizer, params, diverged, orders, size, minibatch, minibatch_loss, step):
    """PPO's update of a population (ppo's and rppo's): per epoch, minibatches `begin` = 0,
    `minibatch`, ... < `size` of that epoch's (K, size) order, each `minibatch_loss(order, begin)
    -> (K losses, stats)`, one Adam step for the agents still updating. An agent whose last
    approximate KL of an epoch exceeds target_kl stops for this update (the others go on); one
    whose loss is not finite is put back and frozen (Divergence).

    The orders of all epochs are drawn before the update, so an agent that stops early has drawn
    from its stream what the run of its seed alone draws. Returns each agent's last losses and
    statistics (numpy, (K,)) and every minibatch's clip fractions with the agents that stepped."""
    good = diverged.keep(optimizer)
    stepping = list(diverged.active)
    clipfracs, final = [], None
    for order in orders:
        for begin in range(0, size, minibatch):
            loss, stats = minibatch_loss(order, begin)
            clipfracs.append((stats["clipfrac"], stepping))
            optimizer.zero_grad()
            loss.sum().backward()  # agents share no parameter: each gets its own loss's gradient
            optim.clip_grad_norm_(params, args.max_grad_norm)
            optimizer.step(stepping)
        if args.target_kl is not None:
            final = _final_stats(final, loss, stats, stepping)
            stepping = [s and not final["approx_kl"][a] > args.target_kl for a, s in enumerate(stepping)]
            if not any(stepping):
                break
    final = final or _final_stats(None, loss, stats, stepping)
    diverged.check(final["loss"], step, optimizer, good, "PPO")
    return final, clipfracs


def _final_stats(final, loss, stats, rows):
    """The loss and statistics (numpy, per agent) each agent ended its update with: rows where
    `rows` is true take this epoch's; an agent that stopped early keeps those of the epoch it
    stopped in, as the run of its seed alone logs them."""
    now = {"loss": loss.numpy(), **{name: value.numpy() for name, value in stats.items()}}
    if final is not None:
        for name, value in final.items():
            value[rows] = now[name][rows]
        return final
    return now


def observers(args, obs_dim, obs_norm, models=None):
    """(as_batch, observe): raw env observations as a float32 (num_envs, obs_dim) tensor on the
    device, or (models, num_envs, obs_dim) for a population, and the same normalised when
    observation normalisation is on."""
    shape = (args.num_envs, obs_dim) if models is None else (models, args.num_envs, obs_dim)

    def as_batch(raw):
        return ad.tensor(raw, dtype="float32", device=args.device).reshape(shape)

    def observe(raw):
        o = as_batch(raw)
        return obs_norm(o) if obs_norm is not None else o

    return as_batch, observe


def checkpoint(algo, global_step, iteration, raw_obs, env, rng, **parts):
    """Everything needed to resume bit for bit: the parts' state dicts (None for parts that are
    off), RNG and env state, counters and the observation the next step acts on."""
    return {"algo": algo, "global_step": global_step, "iteration": iteration, "rng": rng.get_state(),
            "env": env.get_state(), "next_obs": to_host(raw_obs),
            **{name: None if part is None else part.state_dict() for name, part in parts.items()}}


def restore(resume, env, rng, **parts):
    """Load a snapshot's state into the training objects (None parts are off in this run); returns
    (raw next observation, global step, first iteration to run)."""
    for name, part in parts.items():
        if part is not None:
            part.load_state_dict(resume.get(name))  # .get: checkpoints from before a part existed
    rng.set_state(resume["rng"])
    env.set_state(resume["env"])
    return resume["next_obs"], int(resume["global_step"]), int(resume["iteration"]) + 1


def clipped_loss(args, newlogprob, entropy, newvalue, old_logprob, advantages, returns, old_values):
    """PPO's loss on one minibatch: clipped surrogate, (clipped) value loss, entropy bonus.
    Returns the loss and its parts (tensors, for logging). Every mean is over the last axis: a
    population's (K, minibatch) inputs give K losses, each agent's own."""
    logratio = newlogprob - old_logprob
    ratio = logratio.exp()
    with ad.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean(-1)  # Schulman's low-variance estimator
        clipfrac = ((ratio - 1.0).abs() > args.clip_coef).float().mean(-1)
    if args.norm_adv:
        advantages = (advantages - advantages.mean(-1, keepdim=True)) / (advantages.std(-1, keepdim=True) + 1e-8)
    pg_loss = ad.maximum(-advantages * ratio,
                         -advantages * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean(-1)
    if args.clip_vloss:
        v_clipped = old_values + (newvalue - old_values).clamp(-args.clip_coef, args.clip_coef)
        v_loss = 0.5 * ad.maximum((newvalue - returns) ** 2, (v_clipped - returns) ** 2).mean(-1)
    else:
        v_loss = 0.5 * ((newvalue - returns) ** 2).mean(-1)
    entropy_loss = entropy.mean(-1)
    # Without an entropy bonus its gradient is zero: leave it out of the graph (it is still logged).
    loss = pg_loss - args.ent_coef * entropy_loss if args.ent_coef else pg_loss
    loss = loss + v_loss * args.vf_coef
    return loss, {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy_loss,
                  "approx_kl": approx_kl, "clipfrac": clipfrac}


def log_update(log, optimizer, final, clipfracs, returns, values, step, sps):
    """CleanRL's per-iteration metrics for each agent: `final` holds each agent's last losses
    (numpy, (K,)), `clipfracs` each minibatch's (K,) clip fractions with the agents that were
    stepping; `returns` and `values` are (K, batch). Only these figures leave the device, once per
    iteration."""
    var_y, var_residual = returns.var(-1).numpy(), (returns - values).var(-1).numpy()
    fracs = [(c.numpy(), rows) for c, rows in clipfracs]
    for a in range(len(var_y)):
        log("charts/learning_rate", optimizer.lr, step, a)
        for name in ("value_loss", "policy_loss", "entropy", "approx_kl"):
            log(f"losses/{name}", float(final[name][a]), step, a)
        mine = [float(c[a]) for c, rows in fracs if rows[a]]
        if mine:  # none for an agent frozen after diverging
            log("losses/clipfrac", sum(mine) / len(mine), step, a)
        log("losses/explained_variance", float("nan") if var_y[a] == 0 else float(1 - var_residual[a] / var_y[a]),
            step, a)
        log("charts/SPS", int(sps), step, a)


class EpisodeLog:
    """Finished episodes' returns and lengths, for `log`. From a CPU env they are logged as they
    finish; from a GPU env each step's totals and mask are copied on the device and cross to the
    host together at `flush()`, once per iteration, so the rollout never waits for the host."""

    def __init__(self, env, log, per_agent=None):
        self.log, self.device, self.per_agent, self.pending = log, on_device(env), per_agent, []

    def add(self, info, step):
        if not self.device:
            log_episodes(info, self.log, step, self.per_agent)
            return
        from autodiff.backend import get_backend

        copy = get_backend("cuda").copy
        self.pending.append((step, copy(info["episode"]["r"]), copy(info["episode"]["l"]), copy(info["_episode"])))

    def flush(self):
        for step, returns, lengths, mask in self.pending:
            log_episodes({"episode": {"r": to_host(returns), "l": to_host(lengths)}, "_episode": to_host(mask)},
                         self.log, step, self.per_agent)
        self.pending.clear()


def log_episodes(info, log, step, per_agent=None):
    """Log the return and length of each episode that finished in this step; with `per_agent`
    sub-envs per agent of a population, each under its agent (sub-env i is agent i // per_agent)."""
    episode = info.get("episode")
    if episode is None:
        return
    mask = info.get("_episode")
    returns, lengths = to_host(episode["r"]), to_host(episode["l"])
    index = range(len(returns))
    if mask is not None:
        index = [int(i) for i in ad.arange(len(returns))[ad.tensor(to_host(mask))].tolist()]
    for i in index:
        agent = 0 if per_agent is None else i // per_agent
        log("charts/episodic_return", float(returns[i]), step, agent)
        log("charts/episodic_length", int(lengths[i]), step, agent)
