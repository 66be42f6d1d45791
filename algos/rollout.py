"""Rollout storage and advantage estimation, shared by the on-policy algorithms.

Episodes end at different steps in different sub-envs. A step that ends an episode (terminated
or truncated) stops the advantage recursion there; the algorithm bootstraps a truncated one by
adding gamma * V(final observation) to its reward (algos/ppo.py), and a terminated one not at all.
"""

from __future__ import annotations

import autodiff as ad


class RolloutBuffer:
    """Fixed-length storage for `num_steps` steps of `num_envs` sub-envs, on one device."""

    def __init__(self, num_steps, num_envs, obs_shape, action_shape, action_dtype, device="cpu"):
        self.num_steps, self.num_envs = num_steps, num_envs
        shape = (num_steps, num_envs)
        self.obs = ad.zeros(shape + tuple(obs_shape), device=device)
        self.actions = ad.zeros(shape + tuple(action_shape), dtype=action_dtype, device=device)
        self.logprobs = ad.zeros(shape, device=device)
        self.rewards = ad.zeros(shape, device=device)
        self.dones = ad.zeros(shape, device=device)  # 1 where the episode ended at this step
        self.values = ad.zeros(shape, device=device)

    def flat(self, name):
        """A stored field with the time and env axes merged into one batch axis."""
        t = getattr(self, name)
        return t.reshape((self.num_steps * self.num_envs,) + t.shape[2:])


def compute_gae(rewards, values, dones, next_value, gamma, gae_lambda):
    """Generalized advantage estimates (Schulman et al. 2016) and returns, each (T, N).

    `dones[t]` marks an episode that ended at step t, so nothing after it flows back into step
    t; `next_value` is V of the observation after the last stored step."""
    bk = rewards._backend
    adv = bk.gae(rewards.data, values.data, dones.data, next_value.data, gamma, gae_lambda)
    advantages = ad.Tensor._make(adv, bk)
    return advantages, advantages + values
