"""Numbers the host code and the kernels of both backends must agree on, each named once.

Kernels read these as compile-time constants; the host passes the codes. Keeping them here, and
Adam's scalars and flush in one place, is what makes the two devices compute the same thing.
"""

from __future__ import annotations

import numpy as np

# the activation fused into a linear layer (cuda.py passes the code, the matmul kernel reads it)
ACT_NONE, ACT_TANH, ACT_RELU = 0, 1, 2
ACTIVATIONS = {None: ACT_NONE, "tanh": ACT_TANH, "relu": ACT_RELU}

# what a row reduction computes (REDUCE_SUMSQ: the sum of squares of the gradient norm)
REDUCE_SUM, REDUCE_MAX, REDUCE_SUMSQ = 0, 1, 2

# clip_by_global_norm scales by max_norm / (norm + CLIP_EPS): no division by a zero norm
CLIP_EPS = 1e-6


def flush_subnormal(x, tiny):
    """x, or +0 when |x| is below `tiny`, the dtype's smallest normal number (a NaN stays, so
    divergence shows). Adam's moments go through it on both devices: a moment decaying towards 0
    (a ReLU unit that stopped getting gradient) turns subnormal after a few hundred steps, and
    arithmetic on a subnormal costs the CPU about 100x (38 % of a DQN's first moments were). Below
    the smallest normal number a moment's share of the step (m / eps) is far below the last bit of
    any parameter it moves. Plain scalar Python: compiled by numba.njit and by cuda.jit alike."""
    return x - x if abs(x) < tiny else x  # x - x: a zero of x's own type


def adam_scalars(dtype, lr, beta1, beta2, eps, step, weight_decay):
    """The scalars of an Adam step (beta1, 1 - beta1, beta2, 1 - beta2, tiny, 1 / sqrt(bias2),
    eps, step size, weight decay), in the parameters' dtype but for 1 / sqrt(bias2), which stays
    float64 as numpy's whole-array passes had it. Bias correction is folded into the step size and
    the denominator (the paper's math)."""
    bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
    cast = np.dtype(dtype).type
    return (cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2), cast(np.finfo(dtype).tiny),
            np.float64(1.0 / np.sqrt(bias2)), cast(eps), cast(lr / bias1), cast(weight_decay))
