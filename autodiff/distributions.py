"""Action distributions for policies: `Categorical` and diagonal `Normal`.

`log_prob` and `entropy` are differentiable in the parameters; `sample(rng)` draws without a
gradient (policy-gradient methods differentiate log_prob, not the sample); `Normal.rsample`
draws with the reparameterisation gradient.
"""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from .tensor import Generator, Tensor, _rng_state


def _as_tensor(value, like: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else F._lift(value, like)


class Categorical:
    """A distribution over {0, ..., K-1} along the last axis, from unnormalised `logits`
    (or from `probs`)."""

    def __init__(self, logits: Tensor | None = None, probs: Tensor | None = None):
        if (logits is None) == (probs is None):
            raise ValueError("Categorical takes exactly one of logits= or probs=")
        self.logits = F.log_softmax(logits if logits is not None else probs.log(), -1)

    @property
    def probs(self) -> Tensor:
        return self.logits.exp()

    def sample(self, rng: Generator | None = None) -> Tensor:
        """Integer samples of shape logits.shape[:-1], by the Gumbel-max trick (one pass, no CDF)."""
        bk = self.logits._backend
        u = bk.uniform(_rng_state(rng, bk), self.logits.shape, self.logits.dtype)
        # -log(-log(u)) with u in [0, 1): u = 0 gives -inf, which argmax never picks over a finite logit.
        gumbel = bk.neg(bk.log(bk.neg(bk.log(u))))
        return Tensor._make(bk.argmax(bk.add(self.logits.data, gumbel), -1), bk)

    def log_prob(self, value) -> Tensor:
        index = value.data if isinstance(value, Tensor) else self.logits._backend.asarray(value)
        if index.shape != self.logits.shape[:-1]:
            raise ValueError(f"Categorical.log_prob: values of shape {index.shape} for a batch of "
                             f"shape {self.logits.shape[:-1]}")
        bk = self.logits._backend
        if index.dtype.kind not in "iu":  # float actions (a float rollout buffer): PyTorch's value.long()
            index = bk.astype(index, np.int64)
        if isinstance(index, np.ndarray) and index.size:
            # A negative action would wrap around to a class from the end (numpy's indexing): refused,
            # as PyTorch's support check does. Checked on the CPU only: on a GPU it would cost a sync.
            n = self.logits.shape[-1]
            lo, hi = int(index.min()), int(index.max())
            if lo < 0 or hi >= n:
                raise ValueError(f"Categorical.log_prob: actions must be in 0..{n - 1}, got {lo if lo < 0 else hi}")
        return F.gather(self.logits, -1, bk.reshape(index, index.shape + (1,))).squeeze(-1)

    def entropy(self) -> Tensor:
        # Masked actions (logit -inf) would give 0 * -inf = nan; their term is 0 in the limit.
        finite = self.logits.clamp(min=float(-3.0e38) if self.logits.dtype.itemsize >= 4 else -6e4)
        return -(self.probs * finite).sum(-1)

    def mode(self) -> Tensor:
        return F.argmax(self.logits, -1)


class Normal:
    """Independent Gaussians with mean `loc` and standard deviation `scale` (broadcast together).
    log_prob and entropy are per element: sum over the last axis for a diagonal Gaussian policy."""

    def __init__(self, loc: Tensor, scale):
        self.loc = loc
        self.scale = _as_tensor(scale, loc)

    def sample(self, rng: Generator | None = None) -> Tensor:
        bk = self.loc._backend
        shape = tuple(max(a, b) for a, b in zip(*_aligned(self.loc.shape, self.scale.shape)))
        eps = bk.normal(_rng_state(rng, bk), shape, self.loc.dtype)
        return Tensor._make(bk.add(self.loc.data, bk.mul(self.scale.data, eps)), bk)

    def rsample(self, rng: Generator | None = None) -> Tensor:
        """A sample that carries gradients to loc and scale (the reparameterisation trick)."""
        bk = self.loc._backend
        shape = tuple(max(a, b) for a, b in zip(*_aligned(self.loc.shape, self.scale.shape)))
        eps = Tensor._make(bk.normal(_rng_state(rng, bk), shape, self.loc.dtype), bk)
        return self.loc + self.scale * eps

    def log_prob(self, value) -> Tensor:
        value = _as_tensor(value, self.loc)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - self.scale.log() - 0.5 * math.log(2 * math.pi)

    def entropy(self) -> Tensor:
        return (self.scale.log() + 0.5 * (1 + math.log(2 * math.pi))) + self.loc * 0

    def mode(self) -> Tensor:
        return self.loc.detach()


def _aligned(a: tuple, b: tuple):
    n = max(len(a), len(b))
    return (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
