"""Independent references the autodiff tests compare against."""

import numpy as np


def numpy_adam(p, g, m, v, lr, beta1, beta2, eps, step, flush):
    """Adam as whole-array numpy passes in the arrays' dtype (the CPU backend's former code): the
    reference its fused kernel must match bit for bit."""
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    if flush:
        for x in (m, v):
            x[np.abs(x) < np.finfo(x.dtype).tiny] = 0
    denom = np.sqrt(v)
    denom *= 1.0 / np.sqrt(1 - beta2 ** step)
    denom += eps
    np.divide(m, denom, out=denom)
    denom *= lr / (1 - beta1 ** step)
    p -= denom
