"""numbarl's define-by-run automatic differentiation.

    import autodiff as ad
    x = ad.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

Tensors run on a backend (numpy on the CPU); every op is a `Function` with a forward and a
backward written against the backend interface, so the same ops run on every device.
"""

from .tensor import (Generator, Tensor, arange, as_tensor, default_generator, from_numpy, full, manual_seed,
                     ones, ones_like, rand, randn, randperm, tensor, zeros, zeros_like)
from .function import (AnomalyError, Function, InPlaceError, detect_anomaly, enable_grad,
                       is_grad_enabled, no_grad)
from .engine import backward, grad
from .functional import (amax, amin, argmax, argmin, cat, clamp, gather, linear, log_softmax, logsumexp, matmul,
                         max, maximum, min, minimum, mse_loss, smooth_l1_loss, softmax, softplus, stack, where)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import AxisError
from .serialization import load, save
from .backend.threads import get_num_threads, set_num_threads
from . import distributions, nn, optim

float32 = "float32"
float64 = "float64"

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
    "rand", "randn", "randperm", "Generator", "manual_seed", "default_generator",
    "Function", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "AnomalyError",
    "InPlaceError", "AxisError", "backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError",
    "cat", "stack", "where", "clamp", "gather", "linear", "matmul", "maximum", "minimum", "amax", "amin",
    "argmax", "argmin",  # ad.max and ad.min too, left out of * so they do not hide the builtins
    "logsumexp", "softmax", "log_softmax", "softplus", "mse_loss", "smooth_l1_loss",
    "save", "load", "get_num_threads", "set_num_threads", "nn", "optim", "distributions", "float32", "float64",
]
