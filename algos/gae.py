"""Generalized advantage estimation (Schulman et al. 2016), shared by the on-policy algorithms.

Episodes end at different steps in different sub-envs. A step that ends an episode (terminated
or truncated) stops the recursion there; the algorithm bootstraps a truncated one by adding
gamma * V(final observation) to its reward (algos/common.py), and a terminated one not at all.

The scan runs where the rollout lives: numpy on the CPU, one CUDA thread per sub-env on the GPU
(algos/gae_cuda.py, imported only then, so this module never needs numba.cuda).
"""

from __future__ import annotations

import numpy as np

import autodiff as ad


def gae_numpy(rewards, values, dones, next_value, gamma, lam):
    """Advantages (T, N) by a reverse scan over time of numpy arrays, vectorised over sub-envs."""
    steps = rewards.shape[0]
    adv = np.empty_like(rewards)
    last = np.zeros_like(next_value)
    for t in range(steps - 1, -1, -1):
        following = next_value if t == steps - 1 else values[t + 1]
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * keep - values[t]
        last = delta + (gamma * lam) * keep * last
        adv[t] = last
    return adv


def _scan(rewards, values, dones, next_value, gamma, lam):
    """gae_numpy's scan on the tensors' device, on (T, N) tensors and an (N,) next_value."""
    bk = rewards._backend
    if bk.name == "cuda":
        from .gae_cuda import gae_cuda

        adv = gae_cuda(bk, rewards.data, values.data, dones.data, next_value.data, gamma, lam)
    else:
        adv = gae_numpy(rewards.data, values.data, dones.data, next_value.data, gamma, lam)
    return ad.Tensor._make(adv, bk)


def compute_gae(rewards, values, dones, next_value, gamma, gae_lambda):
    """Generalized advantage estimates and returns, each (T, N), or (K, T, N) for K agents
    (next_value (K, N)).

    `dones[t]` marks an episode that ended at step t, so nothing after it flows back into step
    t; `next_value` is V of the observation after the last stored step."""
    if rewards.ndim == 3:  # the agents' sub-envs side by side: the scan is per sub-env anyway
        k, t, n = rewards.shape

        def by_time(x):
            return x.permute(1, 0, 2).reshape(t, k * n)

        adv = _scan(by_time(rewards), by_time(values), by_time(dones), next_value.reshape(k * n), gamma,
                    gae_lambda)
        advantages = adv.reshape(t, k, n).permute(1, 0, 2)
    else:
        advantages = _scan(rewards, values, dones, next_value, gamma, gae_lambda)
    return advantages, advantages + values
