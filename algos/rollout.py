"""Rollout storage and advantage estimation, shared by the on-policy algorithms.

Episodes end at different steps in different sub-envs. A step that ends an episode (terminated
or truncated) stops the advantage recursion there; the algorithm bootstraps a truncated one by
adding gamma * V(final observation) to its reward (algos/ppo.py), and a terminated one not at all.
"""

from __future__ import annotations

import autodiff as ad


class RolloutBuffer:
    """Fixed-length storage for `num_steps` steps of `num_envs` sub-envs, on one device. With
    `models=K` (a population of K agents, each with its own `num_envs` sub-envs) every field has
    a leading agent axis: (K, num_steps, num_envs, ...); step t of all agents is `field[:, t]`."""

    def __init__(self, num_steps, num_envs, obs_shape, action_shape, action_dtype, device="cpu", models=None):
        self.num_steps, self.num_envs, self.models = num_steps, num_envs, models
        shape = (num_steps, num_envs) if models is None else (models, num_steps, num_envs)
        self.obs = ad.zeros(shape + tuple(obs_shape), device=device)
        self.actions = ad.zeros(shape + tuple(action_shape), dtype=action_dtype, device=device)
        self.logprobs = ad.zeros(shape, device=device)
        self.rewards = ad.zeros(shape, device=device)
        self.dones = ad.zeros(shape, device=device)  # 1 where the episode ended at this step
        self.values = ad.zeros(shape, device=device)

    def flat(self, name):
        """A stored field with the time and env axes merged into one batch axis (per agent)."""
        t = getattr(self, name)
        lead = () if self.models is None else (self.models,)
        return t.reshape(lead + (self.num_steps * self.num_envs,) + t.shape[len(lead) + 2:])


def compute_gae(rewards, values, dones, next_value, gamma, gae_lambda):
    """Generalized advantage estimates (Schulman et al. 2016) and returns, each (T, N), or
    (K, T, N) for K agents (next_value (K, N)).

    `dones[t]` marks an episode that ended at step t, so nothing after it flows back into step
    t; `next_value` is V of the observation after the last stored step."""
    bk = rewards._backend
    if rewards.ndim == 3:  # the agents' sub-envs side by side: the scan is per sub-env anyway
        k, t, n = rewards.shape
        def by_time(x):
            return x.permute(1, 0, 2).reshape(t, k * n).data
        adv = bk.gae(by_time(rewards), by_time(values), by_time(dones), next_value.reshape(k * n).data,
                     gamma, gae_lambda)
        advantages = ad.Tensor._make(adv, bk).reshape(t, k, n).permute(1, 0, 2)
    else:
        advantages = ad.Tensor._make(bk.gae(rewards.data, values.data, dones.data, next_value.data, gamma,
                                            gae_lambda), bk)
    return advantages, advantages + values
