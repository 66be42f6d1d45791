"""Running normalisation of observations and rewards, kept as module buffers so that a checkpoint
saves them and evaluation uses the statistics the policy was trained with."""

from __future__ import annotations

import autodiff as ad
from autodiff import nn


class RunningMeanStd(nn.Module):
    """Mean and variance of everything seen so far, updated batch by batch (Chan et al. 1979);
    calling it normalises and clips to [-clip, clip]."""

    def __init__(self, shape=(), epsilon=1e-8, clip=10.0, device="cpu"):
        super().__init__()
        self.epsilon, self.clip = epsilon, clip
        self.register_buffer("mean", ad.zeros(*shape, dtype="float64", device=device))
        self.register_buffer("var", ad.ones(*shape, dtype="float64", device=device))
        self.register_buffer("count", ad.full((), 1e-4, dtype="float64", device=device))

    @ad.no_grad()
    def update(self, batch):
        """Fold a batch (leading axis = samples) into the statistics."""
        x = batch.double()
        n = x.shape[0]
        batch_mean, batch_var = x.mean(0), x.var(0, correction=0)
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta * delta * (self.count * n / total)
        self.mean.copy_(self.mean + delta * (n / total))
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x):
        std = (self.var + self.epsilon).sqrt()
        return ((x - self.mean.to(dtype=x.dtype)) / std.to(dtype=x.dtype)).clamp(-self.clip, self.clip)


class RewardScaler(nn.Module):
    """Divides rewards by the running std of each sub-env's discounted return (as SB3's
    VecNormalize does), which keeps value targets near unit scale on envs like Pendulum."""

    def __init__(self, num_envs, gamma, epsilon=1e-8, device="cpu"):
        super().__init__()
        self.gamma, self.epsilon = gamma, epsilon
        self.stats = RunningMeanStd((), epsilon, clip=float("inf"), device=device)
        self.register_buffer("returns", ad.zeros(num_envs, dtype="float64", device=device))

    @ad.no_grad()
    def forward(self, reward, done):
        self.returns.copy_(self.returns * self.gamma + reward.double())
        self.stats.update(self.returns)
        scaled = reward / (self.stats.var + self.epsilon).sqrt().to(dtype=reward.dtype)
        self.returns.copy_(ad.where(done, 0.0, self.returns))
        return scaled
