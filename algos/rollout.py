"""Rollout storage, shared by the on-policy algorithms (advantages: algos/gae.py)."""

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

