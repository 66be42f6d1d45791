"""Running normalisation of observations and rewards, kept as module buffers so that a checkpoint
saves them and evaluation uses the statistics the policy was trained with."""

from __future__ import annotations

import autodiff as ad
from autodiff import nn


class RunningMeanStd(nn.Module):
    """Mean and variance of everything seen so far, updated batch by batch (Chan et al. 1979);
    calling it normalises and clips to [-clip, clip]."""

    def __init__(self, shape=(), epsilon=1e-8, clip=10.0, device="cpu", models=None):
        super().__init__()
        self.epsilon, self.clip, self.models = epsilon, clip, models
        lead = () if models is None else (models,)  # K agents: statistics of each agent's own data
        shape = tuple(shape)
        self.register_buffer("mean", ad.zeros(*lead, *shape, dtype="float64", device=device))
        self.register_buffer("var", ad.ones(*lead, *shape, dtype="float64", device=device))
        self.register_buffer("count", ad.full(lead + (1,) * (len(shape) if lead else 0), 1e-4, dtype="float64",
                                              device=device))

    @ad.no_grad()
    def update(self, batch):
        """Fold a batch (samples on the leading axis, or on the second with a leading agent axis)
        into the statistics."""
        x = batch.double()
        axis = 0 if self.models is None else 1
        n = x.shape[axis]
        batch_mean, batch_var = x.mean(axis), x.var(axis, correction=0)
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta * delta * (self.count * n / total)
        self.mean.copy_(self.mean + delta * (n / total))
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x):
        """Normalise x: (..., *shape), or (K, ..., *shape) with a leading agent axis."""
        std, mean = (self.var + self.epsilon).sqrt(), self.mean
        if self.models is not None:  # broadcast each agent's statistics over its samples
            between = (1,) * (x.ndim - mean.ndim)
            std, mean = std.reshape(std.shape[:1] + between + std.shape[1:]), \
                mean.reshape(mean.shape[:1] + between + mean.shape[1:])
        return ((x - mean.to(dtype=x.dtype)) / std.to(dtype=x.dtype)).clamp(-self.clip, self.clip)


class RewardScaler(nn.Module):
    """Divides rewards by the running std of each sub-env's discounted return (as SB3's
    VecNormalize does), which keeps value targets near unit scale on envs like Pendulum."""

    def __init__(self, num_envs, gamma, epsilon=1e-8, device="cpu", models=None):
        super().__init__()
        self.gamma, self.epsilon = gamma, epsilon
        self.stats = RunningMeanStd((), epsilon, clip=float("inf"), device=device, models=models)
        lead = () if models is None else (models,)  # K agents: (K, num_envs), each its own std
        self.register_buffer("returns", ad.zeros(*lead, num_envs, dtype="float64", device=device))

    @ad.no_grad()
    def forward(self, reward, done):
        self.returns.copy_(self.returns * self.gamma + reward.double())
        self.stats.update(self.returns)
        std = (self.stats.var + self.epsilon).sqrt().to(dtype=reward.dtype)
        scaled = reward / (std if self.stats.models is None else std.unsqueeze(-1))
        self.returns.copy_(ad.where(done, 0.0, self.returns))
        return scaled
