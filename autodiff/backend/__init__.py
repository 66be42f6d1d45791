"""The backend interface: the buffer operations every device implements, and nothing else.

Ops in `autodiff.ops` call only these methods, so a new device (the CUDA backend) implements this
class and never touches an op definition. Arrays are the backend's own type (numpy arrays on the
CPU); shapes are tuples, axes are ints or tuples of ints, dtypes are numpy dtypes.
"""

from __future__ import annotations

import numpy as np


class Backend:
    """Abstract buffer operations. `tests/autodiff/test_backend.py` checks each backend covers them."""

    name = "abstract"

    # -- creation and transfer ------------------------------------------------------------------
    def asarray(self, data, dtype=None): raise NotImplementedError
    def to_numpy(self, x) -> np.ndarray: raise NotImplementedError
    def full(self, shape, value, dtype): raise NotImplementedError
    def scalar(self, value, dtype): raise NotImplementedError  # a constant operand, never written
    def zeros(self, shape, dtype): raise NotImplementedError
    def copy(self, x): raise NotImplementedError
    def astype(self, x, dtype): raise NotImplementedError

    # -- elementwise ----------------------------------------------------------------------------
    def add(self, a, b): raise NotImplementedError
    def sub(self, a, b): raise NotImplementedError
    def mul(self, a, b): raise NotImplementedError
    def div(self, a, b): raise NotImplementedError
    def neg(self, x): raise NotImplementedError
    def pow(self, a, b): raise NotImplementedError
    def exp(self, x): raise NotImplementedError
    def log(self, x): raise NotImplementedError
    def sqrt(self, x): raise NotImplementedError
    def abs(self, x): raise NotImplementedError
    def sign(self, x): raise NotImplementedError
    def tanh(self, x): raise NotImplementedError
    def sigmoid(self, x): raise NotImplementedError
    def relu(self, x): raise NotImplementedError
    def maximum(self, a, b): raise NotImplementedError
    def minimum(self, a, b): raise NotImplementedError
    def where(self, cond, a, b): raise NotImplementedError
    def clip(self, x, lo, hi): raise NotImplementedError
    def compare(self, op, a, b): raise NotImplementedError  # op in "lt le gt ge eq ne"
    def logical(self, op, a, b=None): raise NotImplementedError  # op in "and or xor not"

    # -- fused elementwise rules (one pass instead of three ops) -------------------------------
    def tanh_backward(self, g, y): raise NotImplementedError  # g * (1 - y*y)
    def relu_backward(self, g, y): raise NotImplementedError  # g * (y > 0)
    def sigmoid_backward(self, g, y): raise NotImplementedError  # g * y * (1 - y)
    def max_backward_mask(self, x, m, axis): raise NotImplementedError  # (x == m) / count
    def log_softmax(self, x, axis): raise NotImplementedError  # x - logsumexp(x, axis), stably

    # -- reductions -------------------------------------------------------------------------------
    def sum(self, x, axis, keepdims): raise NotImplementedError
    def max(self, x, axis, keepdims): raise NotImplementedError
    def argmax(self, x, axis): raise NotImplementedError
    def sum_to(self, x, shape): raise NotImplementedError  # undo broadcasting by summing
    def all_finite(self, x) -> bool: raise NotImplementedError
    def item(self, x): raise NotImplementedError

    # -- shape and indexing ------------------------------------------------------------------------
    def reshape(self, x, shape): raise NotImplementedError
    def permute(self, x, axes): raise NotImplementedError
    def broadcast_to(self, x, shape): raise NotImplementedError  # may copy
    def concatenate(self, xs, axis): raise NotImplementedError
    def getitem(self, x, index): raise NotImplementedError
    def index_add(self, shape, index, values): raise NotImplementedError  # zeros(shape)[index] += values
    def take_along_axis(self, x, index, axis): raise NotImplementedError
    def scatter_add_along_axis(self, shape, index, values, axis): raise NotImplementedError

    # -- linear algebra ----------------------------------------------------------------------------
    def matmul(self, a, b): raise NotImplementedError
    def linear(self, x, w, b, activation=None): raise NotImplementedError  # act(x @ w.T + b); b may be None

    # -- in place (optimizers, gradient accumulation, Tensor in-place methods) ---------------------
    def setitem(self, x, index, value): raise NotImplementedError
    def iadd(self, x, y): raise NotImplementedError
    def imul(self, x, y): raise NotImplementedError
    def adam_step(self, p, g, m, v, lr, beta1, beta2, eps, step, weight_decay): raise NotImplementedError
    def sgd_step(self, p, g, buf, lr, momentum, weight_decay, nesterov): raise NotImplementedError
    def clip_by_global_norm(self, grads, max_norm): raise NotImplementedError  # returns the norm
    def clip_by_model_norm(self, grads, max_norm): raise NotImplementedError  # (K, P) rows: (K,) norms

    # -- random numbers ------------------------------------------------------------------------------
    def rng(self, seed): raise NotImplementedError
    def rng_state(self, rng): raise NotImplementedError  # JSON-serialisable, for checkpoints
    def set_rng_state(self, rng, state): raise NotImplementedError
    def uniform(self, rng, shape, dtype): raise NotImplementedError
    def normal(self, rng, shape, dtype): raise NotImplementedError
    def permutation(self, rng, n): raise NotImplementedError  # a random order of 0..n-1
    # K streams for a stack of K models: draws from them carry a leading axis of K.
    def rngs(self, seeds): raise NotImplementedError
    def permutations(self, rngs, n): raise NotImplementedError  # (K, n): one order per stream


_BACKENDS: dict[str, Backend] = {}


def get_backend(device: str) -> Backend:
    """The backend for a device name; "auto" picks the best available device."""
    backend = _BACKENDS.get(device)
    if backend is not None:
        return backend
    if device == "auto":
        backend = get_backend("cuda" if _cuda_available() else "cpu")
    elif device == "cpu":
        from .cpu import CPUBackend

        backend = CPUBackend()
    elif device == "cuda":
        if not _cuda_available():
            from numbarl.cuda import unavailable

            raise ValueError(unavailable())
        from .cuda import CUDABackend

        backend = CUDABackend()
    else:
        raise ValueError(f"unknown device {device!r}; valid: cpu, cuda, auto")
    _BACKENDS[device] = backend
    return backend


def _cuda_available() -> bool:
    from numbarl.cuda import available  # on a GPU it also installs numbarl's caching allocator

    return available()
