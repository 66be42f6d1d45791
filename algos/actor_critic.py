"""What PPO and recurrent PPO share: the actor-critic heads, the clipped surrogate loss, the
update of a population over epochs of minibatches, and its per-iteration logging."""

from __future__ import annotations

import gymnasium as gym

import autodiff as ad
from autodiff import nn, optim
from autodiff.distributions import Categorical, Normal

from .common import fetch


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


def log_update(log, optimizer, diverged, good, episodes, final, clipfracs, returns, values, step, sps):
    """The end of an iteration: check each agent's loss (Divergence, against `good`, the
    parameters before the update), log the episodes that finished (an EpisodeLog) and CleanRL's
    metrics for each agent. `final` holds each agent's last losses ((K,) tensors or numpy),
    `clipfracs` each minibatch's (K,) clip fractions with the agents that were stepping;
    `returns` and `values` are (K, batch); `sps()` gives the steps per second. Only these figures
    and the episodes leave the device, in one copy per iteration (fetch)."""
    names, fracs = list(final), [c for c, _ in clipfracs]
    rows, var_y, var_residual, *got = fetch(episodes.pending(), returns.var(-1), (returns - values).var(-1),
                                            *final.values(), *fracs)
    final = dict(zip(names, got[:len(names)]))
    fracs = [(c, stepping) for c, (_, stepping) in zip(got[len(names):], clipfracs)]
    diverged.check(final["loss"], step, optimizer, good, "PPO")
    episodes.flush(rows)
    sps = sps()
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


def optimizer_of(args, agents):
    """The parameters of a stack of agents, the Adam that updates each agent's on its own (PPO's
    eps of 1e-5), and the learning rate's linear decay to 0 over the run when anneal_lr is on."""
    params = agents.parameters()
    optimizer = optim.Adam(params, lr=args.learning_rate, eps=1e-5, models=args.num_seeds)
    schedule = optim.LinearLR(optimizer, args.num_iterations) if args.anneal_lr else None
    return params, optimizer, schedule


def update(args, optimizer, params, diverged, orders, size, minibatch, minibatch_loss):
    """PPO's update of a population (ppo's and rppo's): per epoch, minibatches `begin` = 0,
    `minibatch`, ... < `size` of that epoch's (K, size) order, each `minibatch_loss(order, begin)
    -> (K losses, stats)`, one Adam step for the agents still updating. An agent whose last
    approximate KL of an epoch exceeds target_kl stops for this update (the others go on); one
    whose loss is not finite is put back and frozen (Divergence).

    The orders of all epochs are drawn before the update, so an agent that stops early has drawn
    from its stream what the run of its seed alone draws. Returns each agent's last losses and
    statistics ((K,) tensors; numpy with target_kl, whose stop is decided on the host each epoch),
    every minibatch's clip fractions with the agents that stepped, and the parameters before the
    update (for log_update's divergence check)."""
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
    return final or {"loss": loss, **stats}, clipfracs, good


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
