"""The CPU backend: every buffer operation of `Backend` on numpy arrays."""

from __future__ import annotations

import numba
import numpy as np

from numbarl.malloc import keep_freed_memory_in_the_heap

from . import Backend
from . import tanh32
from .codes import ACT_RELU, ACT_TANH, ACTIVATIONS, CLIP_EPS, adam_scalars, flush_subnormal
from .threads import over_models, pays

_COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
            "eq": np.equal, "ne": np.not_equal}
_LOGICAL = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor, "not": np.logical_not}


def _is_basic_index(index) -> bool:
    """True when numpy indexing makes a view, so no position can be selected twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


_flush = numba.njit(cache=True)(flush_subnormal)


@numba.njit(cache=True, error_model="numpy")
def _adam(p, g, m, v, beta1, c1, beta2, c2, tiny, inv_sqrt_bias2, eps, step_size, weight_decay):
    """Adam's step in one pass, each element's arithmetic in numpy's order and precision (the
    scalars come from codes.adam_scalars), so parameters end bit for bit where numpy's fourteen
    whole-array passes put them, in a fifth of the time (67k parameters: 173-260 -> 36 us).
    Moments below the dtype's smallest normal number are set to 0 (codes.flush_subnormal), as
    the CUDA kernel does."""
    # numpy multiplies a float32 array by a float64 scalar in float64 and rounds the result back
    # to float32; storing into an array of the moments' dtype rounds the same way.
    rounded = np.empty(1, m.dtype)
    for i in range(p.shape[0]):
        gi = g[i] + weight_decay * p[i] if weight_decay != 0 else g[i]
        mi = _flush(m[i] * beta1 + c1 * gi, tiny)
        vi = _flush(v[i] * beta2 + c2 * (gi * gi), tiny)
        m[i], v[i] = mi, vi
        rounded[0] = np.sqrt(vi) * inv_sqrt_bias2
        p[i] -= mi / (rounded[0] + eps) * step_size


# The fused kernels below compute each element with numpy's operations in numpy's order, in the
# arrays' own dtype (a literal 1 would make numba compute in float64), so results match numpy's
# bit for bit (tested in tests/autodiff/test_backend.py), but for the sign of a NaN made from two
# NaNs of opposite signs.
@numba.njit(cache=True)
def _bias_activation(y, b, act):
    """y += b along the rows, then the activation (a codes.ACT_* code; relu keeps NaN, tanh is
    tanh32's, so float32 only): numpy's two passes in one (64 x 256: 7.0 -> 1.4 us)."""
    zero = np.zeros(1, y.dtype)[0]
    rows, cols = y.shape
    for i in range(rows):
        for j in range(cols):
            v = y[i, j] + b[j]
            if act == ACT_TANH:
                y[i, j] = tanh32.tanh(v)
            else:
                y[i, j] = v if (act != ACT_RELU or v > zero or v != v) else zero


@numba.njit(cache=True, nogil=True)
def _relu_backward(g, y, out):
    """out = g * (y > 0) over flat arrays, as numpy computes it (inf * 0 is NaN, -g * 0 is -0)."""
    zero, one = np.zeros(1, g.dtype)[0], np.ones(1, g.dtype)[0]
    for i in range(g.shape[0]):
        out[i] = g[i] * (one if y[i] > zero else zero)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _tanh_backward(g, y, out):
    """out = (1 - y * y) * g over flat arrays (1024 x 64: 23 -> 8 us)."""
    one = np.ones(1, g.dtype)[0]
    for i in range(g.shape[0]):
        out[i] = (one - y[i] * y[i]) * g[i]


@numba.njit(cache=True)
def _sum_rows(x):
    """x.sum(0) of a C-order matrix with 2 or more columns, rows added one after another to 0 as
    numpy adds them (so a column of -0s sums to +0; 1024 x 64: 20 -> 5 us; every bias gradient)."""
    out = np.zeros(x.shape[1], x.dtype)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[j] += x[i, j]
    return out


@numba.njit(cache=True, nogil=True)
def _bias_activation_models(y, b, act):
    """_bias_activation for a stack of models: y (K, rows, cols) += b (K, cols) per model."""
    zero = np.zeros(1, y.dtype)[0]
    models, rows, cols = y.shape
    for k in range(models):
        for i in range(rows):
            for j in range(cols):
                v = y[k, i, j] + b[k, j]
                if act == ACT_TANH:
                    y[k, i, j] = tanh32.tanh(v)
                else:
                    y[k, i, j] = v if (act != ACT_RELU or v > zero or v != v) else zero


@numba.njit(cache=True)
def _sum_rows_models(x):
    """x.sum(1) of a C-order (K, rows, cols) stack, each model's rows added in order as _sum_rows
    adds them, so model k's sum does not depend on the other models (every stacked bias gradient)."""
    out = np.zeros((x.shape[0], x.shape[2]), x.dtype)
    for k in range(x.shape[0]):
        for i in range(x.shape[1]):
            for j in range(x.shape[2]):
                out[k, j] += x[k, i, j]
    return out


# numba compiles for native byte order only; numpy's ">f4" arrays take numpy's own passes.
_FLOAT32 = np.dtype(np.float32)
_NATIVE_FLOATS = (_FLOAT32, np.dtype(np.float64))

# An element of a cheap elementwise pass, and of a tanh, in multiply-adds of a product (the unit of
# threads.MIN_WORK), as measured on 2 cores: ~0.5 ns, ~1.5 ns (tanh32) and ~0.03 ns.
_ELEMENTWISE, _TANH = 16, 50


def _flat_kernel(kernel, cost, out, *arrays):
    """kernel(*flat arrays, flat out) over C-order arrays of one shape, split over threads where
    that pays (each element on its own: any split leaves the bits)."""
    flat = [a.reshape(-1) for a in arrays] + [out.reshape(-1)]
    n = out.size
    if pays(n, cost * n):
        over_models(lambda lo, hi: kernel(*[a[lo:hi] for a in flat]), n, cost * n)
    else:
        kernel(*flat)
    return out


def _fused_pair(kernel, g, y):
    """kernel's result for two float32 or float64 C-order arrays of one shape and dtype; None for
    anything else (broadcasting, strides), which numpy's own passes handle."""
    if (g.shape == y.shape and g.dtype == y.dtype and g.dtype in _NATIVE_FLOATS and g.flags.c_contiguous
            and y.flags.c_contiguous):
        return _flat_kernel(kernel, _ELEMENTWISE, np.empty_like(g), g, y)
    return None


def _tanh(x, out=None):
    """tanh32 for every native float32 array (faster than numpy's float32 tanh, and nearer the
    true tanh), numpy's tanh for other dtypes. out: None or x."""
    if x.dtype != _FLOAT32:
        return np.tanh(x, out=out)
    if out is x and x.flags.c_contiguous:
        return _flat_kernel(tanh32.tanh_inplace, _TANH, x)
    y = _flat_kernel(tanh32.tanh_into, _TANH, np.empty(x.shape, x.dtype), np.ascontiguousarray(x))
    if out is not None:
        out[...] = y
        return out
    return y


def _fusable(y, b, activation):
    """True when _bias_activation(_models) computes y + b and the activation: native floats of one
    dtype, and float32 for tanh (float64 keeps numpy's)."""
    return (b is not None and y.dtype == b.dtype and y.dtype in _NATIVE_FLOATS
            and (activation != "tanh" or y.dtype == _FLOAT32))


def _activation_inplace(y, activation):
    if activation == "tanh":
        _tanh(y, out=y)
    elif activation == "relu":
        np.maximum(y, 0, out=y)


def _bias_activation_inplace(y, b, activation):
    """y (K, rows, out) += b (K, out) per model, then the activation, in place."""
    if _fusable(y, b, activation) and b.shape == (y.shape[0], y.shape[2]):
        # b is often a view into an optimizer's flat buffer: strided, numba's loop would not vectorise
        _bias_activation_models(y, np.ascontiguousarray(b), ACTIVATIONS[activation])
        return
    if b is not None:
        y += b[:, None, :]
    _activation_inplace(y, activation)


def _reduce(ufunc, x, axis, keepdims=False):
    """ufunc.reduce(x, axis, keepdims), with two faster paths for float32 and float64 (float16 sums
    accumulate in float32 inside numpy's reduce), each bit for bit numpy's result (tested):
    - a short last axis (2 to 7 entries: the logits of a few actions) reduced by ufunc calls on
      its columns. numpy reduces a short inner axis row by row, 13 us for (1024, 2) against 1 us
      this way, and below 8 entries it combines them in the same order (a sum starting from 0);
    - a sum over the rows of a C-order matrix, by _sum_rows.
    Invalid axes go to numpy, which names them."""
    if isinstance(axis, tuple) and len(axis) == 1:
        axis = axis[0]
    if (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and x.ndim >= 2
            and -x.ndim <= axis < x.ndim and x.dtype in _NATIVE_FLOATS):
        axis %= x.ndim
        if axis == x.ndim - 1 and 2 <= x.shape[-1] < 8:
            out = ufunc(x[..., 0], x[..., 1])
            for j in range(2, x.shape[-1]):
                ufunc(out, x[..., j], out=out)
            if ufunc is np.add:
                out += 0  # numpy's sum starts from +0: a row of -0s sums to +0
            return out[..., None] if keepdims else out
        # With one column numpy sums the rows pairwise, as a vector.
        if (ufunc is np.add and axis == 0 and x.ndim == 2 and x.shape[0] and x.shape[1] > 1
                and x.flags.c_contiguous):
            out = _sum_rows(x)
            return out[None] if keepdims else out
        if (ufunc is np.add and axis == 1 and x.ndim == 3 and x.shape[1] and x.shape[2] > 1
                and x.flags.c_contiguous):  # the same over each model of a stack
            out = _sum_rows_models(x)
            return out[:, None] if keepdims else out
    return ufunc.reduce(x, axis=axis, keepdims=keepdims)


def _along_axis(index, axis):
    """Fancy-index coordinates of every element of `index`, with `index` itself on `axis`
    (what np.take_along_axis builds, without its Python overhead)."""
    axis = axis % index.ndim
    coords = []
    for d, n in enumerate(index.shape):
        if d == axis:
            coords.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            coords.append(np.arange(n).reshape(shape))
    return tuple(coords)


class CPUBackend(Backend):
    name = "cpu"

    def __init__(self):
        keep_freed_memory_in_the_heap()

    # -- creation and transfer ----------------------------------------------------------------
    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype=dtype)

    def scalar(self, value, dtype):
        # A 0-d array: ufuncs take it faster than a numpy or Python scalar (0.51 vs 0.72 us).
        return np.array(value, dtype=dtype)

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def copy(self, x):
        return np.array(x, copy=True)

    def astype(self, x, dtype):
        return x.astype(dtype)

    # -- elementwise ----------------------------------------------------------------------------
    add = staticmethod(np.add)
    sub = staticmethod(np.subtract)
    mul = staticmethod(np.multiply)
    div = staticmethod(np.true_divide)
    neg = staticmethod(np.negative)
    pow = staticmethod(np.power)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    where = staticmethod(np.where)

    def sigmoid(self, x):
        # exp of a non-positive number only, so large |x| neither overflows nor warns.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)

    def relu(self, x):
        return np.maximum(x, 0, dtype=x.dtype)

    def tanh(self, x):
        return _tanh(x)

    def clip(self, x, lo, hi):
        # Two ufunc calls: np.clip's Python wrappers cost more than both at RL sizes.
        if lo is None and hi is None:
            return x.copy()
        if lo is not None:
            x = np.maximum(x, np.asarray(lo, dtype=x.dtype))
        if hi is not None:
            x = np.minimum(x, np.asarray(hi, dtype=x.dtype))
        return x

    def compare(self, op, a, b):
        return _COMPARE[op](a, b)

    def logical(self, op, a, b=None):
        return _LOGICAL[op](a) if op == "not" else _LOGICAL[op](a, b)

    # -- fused elementwise rules ------------------------------------------------------------------
    def tanh_backward(self, g, y):
        out = _fused_pair(_tanh_backward, g, y)
        if out is not None:
            return out
        out = np.multiply(y, y)
        np.subtract(1, out, out=out)
        return np.multiply(out, g, out=out) if g.shape == out.shape else out * g

    def log_softmax(self, x, axis):
        shifted = x - _reduce(np.maximum, x, axis, keepdims=True)
        shifted -= np.log(_reduce(np.add, np.exp(shifted), axis, keepdims=True))
        return shifted

    def relu_backward(self, g, y):
        out = _fused_pair(_relu_backward, g, y)
        return g * (y > 0).astype(y.dtype) if out is None else out

    def sigmoid_backward(self, g, y):
        return g * (y * (1 - y))

    def max_backward_mask(self, x, m, axis):
        mask = (x == m).astype(x.dtype)
        return mask / _reduce(np.add, mask, axis, keepdims=True)

    # -- reductions ---------------------------------------------------------------------------------
    # The ufuncs' own reduce methods: np.sum / np.max add a Python layer that costs more than
    # the arithmetic on RL-sized arrays.
    def sum(self, x, axis, keepdims):
        return _reduce(np.add, x, axis, keepdims)

    def max(self, x, axis, keepdims):
        return _reduce(np.maximum, x, axis, keepdims)

    def argmax(self, x, axis):
        return np.argmax(x, axis=axis)

    def sum_to(self, x, shape):
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
        out = np.add.reduce(x, axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    def all_finite(self, x):
        return bool(np.isfinite(x).all()) if x.dtype.kind in "fc" else True

    def item(self, x):
        return x.item()

    # -- shape and indexing -----------------------------------------------------------------------
    def reshape(self, x, shape):
        return x.reshape(shape)

    def permute(self, x, axes):
        return x.transpose(axes)

    def broadcast_to(self, x, shape):
        # A materialised copy: cheaper to make than np.broadcast_to's read-only view at RL sizes.
        out = np.empty(shape, dtype=x.dtype)
        np.copyto(out, x)
        return out

    def concatenate(self, xs, axis):
        return np.concatenate(xs, axis=axis)

    def getitem(self, x, index):
        return x[index]

    def index_add(self, shape, index, values):
        out = np.zeros(shape, dtype=values.dtype)
        if _is_basic_index(index):
            out[index] = values  # a view: each position at most once
        else:
            np.add.at(out, index, values)  # advanced indexing may repeat positions
        return out

    def take_along_axis(self, x, index, axis):
        return x[_along_axis(index, axis)]

    def scatter_add_along_axis(self, shape, index, values, axis):
        out = np.zeros(shape, dtype=values.dtype)
        coords = _along_axis(index, axis)
        if index.shape[axis % index.ndim] == 1:
            out[coords] = values  # one index per line along the axis: no position repeats
        else:
            np.add.at(out, coords, values)
        return out

    # -- linear algebra -----------------------------------------------------------------------------
    def matmul(self, a, b):
        """np.matmul; a stack of models' products ((K, n, k) @ (K, k, m)) split over threads by model."""
        if (a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1 and a.dtype == b.dtype
                and a.dtype in _NATIVE_FLOATS):
            # An outer product (a value head's input gradient): BLAS packs the operands for one
            # multiply per entry, 10x the arithmetic's time ((16, 1024, 1) @ (16, 1, 64): 2.0 ms).
            # BLAS adds each product to +0, so a -0 product comes out +0: `+= 0` does the same.
            out = np.multiply(a, b)
            out += 0
            return out
        if (a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0]
                and pays(a.shape[0], a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2])):
            k = a.shape[0]
            out = np.empty((k, a.shape[1], b.shape[2]), np.result_type(a, b))
            over_models(lambda lo, hi: np.matmul(a[lo:hi], b[lo:hi], out=out[lo:hi]), k,
                        out.size * a.shape[2])
            return out
        return np.matmul(a, b)

    def linear(self, x, w, b, activation=None):
        if w.ndim == 3:
            return self._linear_models(x, w, b, activation)
        y = x @ w.T
        if _fusable(y, b, activation) and y.ndim == 2 and b.shape == y.shape[1:] and y.flags.c_contiguous:
            # numba checks no bounds: shapes first; b contiguous, or the loop does not vectorise
            _bias_activation(y, np.ascontiguousarray(b), ACTIVATIONS[activation])
            return y
        if b is not None:
            y += b
        _activation_inplace(y, activation)
        return y

    def _linear_models(self, x, w, b, activation):
        """A stack of K layers: x (K, ..., in), w (K, out, in), b (K, out). numpy's stacked matmul
        makes the same BLAS call for every model as the 2-D product would, so model k's result
        does not depend on the others."""
        k = w.shape[0]
        if x.ndim < 2 or x.shape[0] != k:
            raise ValueError(f"linear: a stack of {k} layers takes inputs (K={k}, ..., in), got {x.shape}")
        x3, wt = x.reshape(k, -1, x.shape[-1]), w.transpose(0, 2, 1)
        work = k * x3.shape[1] * w.shape[1] * (x.shape[-1] + (_TANH if activation == "tanh" else _ELEMENTWISE))
        if pays(k, work):
            y = np.empty((k, x3.shape[1], w.shape[1]), np.result_type(x, w))

            def models(lo, hi):
                np.matmul(x3[lo:hi], wt[lo:hi], out=y[lo:hi])
                _bias_activation_inplace(y[lo:hi], None if b is None else b[lo:hi], activation)

            over_models(models, k, work)
        else:
            y = np.matmul(x3, wt)
            _bias_activation_inplace(y, b, activation)
        return y.reshape(x.shape[:-1] + (w.shape[1],))

    # -- in place ---------------------------------------------------------------------------------
    def setitem(self, x, index, value):
        x[index] = value

    def iadd(self, x, y):
        x += y

    def imul(self, x, y):
        x *= y

    def adam_step(self, p, g, m, v, lr, beta1, beta2, eps, step, weight_decay):
        _adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
              *adam_scalars(p.dtype, lr, beta1, beta2, eps, step, weight_decay))

    def sgd_step(self, p, g, buf, lr, momentum, weight_decay, nesterov):
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf *= momentum
            buf += g
            g = g + momentum * buf if nesterov else buf
        p -= lr * g

    def clip_by_global_norm(self, grads, max_norm):
        total = np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
        scale = min(1.0, max_norm / (total + CLIP_EPS))
        if scale < 1.0:  # the norm is on the host here, so an unclipped step skips a pass (x * 1 is x)
            for g in grads:
                g *= scale
        return np.asarray(total, dtype=grads[0].dtype if grads else np.float32)

    def clip_by_model_norm(self, grads, max_norm):
        """clip_by_global_norm for each row of a (K, P) buffer, a stack of K models' gradients:
        each model is scaled by its own norm (one product per row, the same for every K)."""
        total = np.sqrt(np.matmul(grads[:, None, :], grads[:, :, None])[:, 0, 0].astype(np.float64))
        scale = np.minimum(1.0, max_norm / (total + CLIP_EPS))
        if (scale < 1.0).any():  # a row that needs no clipping is multiplied by 1: unchanged
            grads *= scale.astype(grads.dtype)[:, None]
        return total.astype(grads.dtype)

    # -- random numbers ---------------------------------------------------------------------------
    def rng(self, seed):
        return np.random.default_rng(seed)

    def rng_state(self, rng):
        if isinstance(rng, list):
            return [r.bit_generator.state for r in rng]
        return rng.bit_generator.state

    def set_rng_state(self, rng, state):
        if isinstance(rng, list):
            if not isinstance(state, list) or len(state) != len(rng):
                raise ValueError(f"set_rng_state: a state for {len(rng)} streams is a list of {len(rng)} states")
            for r, s in zip(rng, state):
                r.bit_generator.state = s
        else:
            rng.bit_generator.state = state

    # K streams are K numpy generators, each drawing its row, so that row k is bit for bit the
    # draw of a single stream seeded like it (a population's agent k is the single-seed run).
    def rngs(self, seeds):
        return [np.random.default_rng(s) for s in seeds]

    def _draw(self, rng, shape, draw):
        if not isinstance(rng, list):
            return draw(rng, shape)
        if not shape or shape[0] != len(rng):
            raise ValueError(f"a draw from {len(rng)} streams needs a leading axis of {len(rng)}, got shape {shape}")
        out = None
        for k, r in enumerate(rng):
            row = draw(r, shape[1:])
            if out is None:
                out = np.empty(shape, row.dtype)
            out[k] = row
        return out

    def uniform(self, rng, shape, dtype):
        return self._draw(rng, shape, lambda r, s: r.random(s, dtype=dtype))

    def normal(self, rng, shape, dtype):
        return self._draw(rng, shape, lambda r, s: r.standard_normal(s, dtype=dtype))

    def permutation(self, rng, n):
        return rng.permutation(n)

    def permutations(self, rngs, n):
        return np.stack([r.permutation(n) for r in rngs])
