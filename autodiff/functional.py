"""Every Tensor method that computes: the primitives of `autodiff/ops` called with Python values
lifted to tensors, and the ops composed from them (no backward rules of their own).

`Tensor` (autodiff/tensor.py) lists each of its methods that is a function here; this module is
built on Tensor, so it sets them on the class as it loads (`_set_methods`, at the bottom)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import ops
from .backend.codes import ACTIVATIONS
from .tensor import DEFAULT_DTYPE, Tensor, _NUMBER, _functional, _unwrap_index, number_dtype


_CONSTANTS: dict = {}


def _torch_names(fn):
    """Also take PyTorch's `dim=` for numpy's `axis=` (the first axis-like parameter), so code
    written either way runs: x.sum(dim=1) is x.sum(axis=1)."""
    import functools
    import inspect

    names = [n for n in inspect.signature(fn).parameters if n in ("axis", "axes", "dim0")]

    @functools.wraps(fn)
    def wrapper(*args, dim=None, **kwargs):
        if dim is not None:
            if names[0] in kwargs:
                raise TypeError(f"{fn.__name__}: got both dim= and {names[0]}=; give one")
            kwargs[names[0]] = dim
        return fn(*args, **kwargs)

    return wrapper


def _lift(value, like: Tensor) -> Tensor:
    """A constant tensor for a Python number or array, on `like`'s device and (for numbers) dtype."""
    if isinstance(value, Tensor):
        return value
    bk = like._backend
    if isinstance(value, _NUMBER):
        dtype = like.dtype
        if dtype.kind not in "fc" and isinstance(value, (float, np.floating)):
            dtype = np.dtype(DEFAULT_DTYPE)
        # Number constants are never written to or differentiated, so one tensor per value serves
        # every graph (loss coefficients recur on every update).
        key = (value, dtype, bk.name)
        const = _CONSTANTS.get(key)
        if const is None:
            if len(_CONSTANTS) > 4096:
                _CONSTANTS.clear()
            const = _CONSTANTS[key] = Tensor._make(bk.scalar(value, dtype), bk)
        return const
    return Tensor._make(bk.asarray(value), bk)


# -- dtype promotion: PyTorch's rules, not numpy's ---------------------------------------------------------
# Both agree when the operands share a dtype (every op of training). They differ across kinds: PyTorch
# keeps a float tensor's dtype against an integer tensor or a Python float (int64 + 1.5 is float32,
# float32 + int64 is float32; numpy makes both float64), and a 0-dimensional tensor or a Python number
# changes the dtype only when it is of a higher kind (float32 + a 0-d float64 tensor is float32).
_FLOAT_KINDS = "fc"


def _kind(dtype) -> int:
    """PyTorch's category: 0 bool, 1 integer, 2 floating point."""
    return 2 if dtype.kind in _FLOAT_KINDS else 0 if dtype.kind == "b" else 1


def promote_types(a, b) -> np.dtype:
    """PyTorch's promote_types: numpy's within a kind; across kinds, the higher kind's dtype."""
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        return np.promote_types(a, b)
    return a if ka > kb else b


def _combine(higher, lower):
    """PyTorch's combine_categories: an operand of lower priority (0-d tensor, Python number)
    changes the dtype only when it is of a higher kind."""
    if higher is None:
        return lower
    if lower is None or higher.kind in _FLOAT_KINDS:
        return higher
    if higher.kind == "b" or lower.kind in _FLOAT_KINDS:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype PyTorch gives an op over `operands` (tensors and Python numbers)."""
    dims = zeros = numbers = None
    for x in operands:
        if isinstance(x, Tensor):
            if x.ndim:
                dims = x.dtype if dims is None else promote_types(dims, x.dtype)
            else:
                zeros = x.dtype if zeros is None else promote_types(zeros, x.dtype)
        elif x is not None:
            d = number_dtype(x)
            numbers = d if numbers is None else promote_types(numbers, d)
    return _combine(dims, _combine(zeros, numbers))


def _to(x, dtype):
    return x if x.dtype == dtype else ops.Cast.apply(x, dtype)


def _floating(x: Tensor) -> Tensor:
    """`x` itself if it is floating point, else as float32: ops whose result is a float (exp, log,
    sqrt, tanh, true division, ...) promote integers and bools as PyTorch does."""
    return x if x.data.dtype.kind in _FLOAT_KINDS else ops.Cast.apply(x, np.dtype(DEFAULT_DTYPE))


def _promoted(a, b, true_divide=False):
    """`a` and `b` (one a Tensor, the other a Tensor or a number) as tensors of their result dtype."""
    if not isinstance(a, (Tensor,) + _NUMBER):  # an array or a list: a tensor of its own dtype
        a = _lift(a, b)
    if not isinstance(b, (Tensor,) + _NUMBER):
        b = _lift(b, a)
    dtype = result_type(a, b)
    if true_divide and dtype.kind not in _FLOAT_KINDS:
        dtype = np.dtype(DEFAULT_DTYPE)
    if isinstance(a, Tensor):
        a = _to(a, dtype)
        return a, (_to(b, dtype) if isinstance(b, Tensor) else _lift(b, a))
    b = _to(b, dtype)
    return _lift(a, b), b


def _binary(fn, true_divide=False):
    def forward(a, b):
        if isinstance(b, Tensor):
            if a.data.dtype != b.data.dtype:
                a, b = _promoted(a, b, true_divide)
            elif true_divide and a.data.dtype.kind not in _FLOAT_KINDS:
                a, b = _floating(a), _floating(b)
            return fn.apply(a, b)
        if a.data.dtype.kind not in _FLOAT_KINDS:  # an integer or bool tensor and a number
            a, b = _promoted(a, b, true_divide)
            return fn.apply(a, b)
        return fn.apply(a, _lift(b, a))

    def reflected(a, b):
        if a.data.dtype.kind not in _FLOAT_KINDS:
            b, a = _promoted(b, a, true_divide)
            return fn.apply(b, a)
        return fn.apply(_lift(b, a), a)

    return forward, reflected


add, radd = _binary(ops.Add)
sub, rsub = _binary(ops.Sub)
mul, rmul = _binary(ops.Mul)
div, rdiv = _binary(ops.Div, true_divide=True)
_pow, rpow = _binary(ops.Pow)


def pow(a, b):
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        if isinstance(b, float) and a.data.dtype.kind not in _FLOAT_KINDS:
            a = _floating(a)  # int ** 0.5 is a float, as in PyTorch
        return ops.PowScalar.apply(a, b)
    return _pow(a, b)


def maximum(a, b):
    a, b = _pair(a, b)
    return ops.Maximum.apply(a, b)


def minimum(a, b):
    a, b = _pair(a, b)
    return ops.Minimum.apply(a, b)


def _pair(a, b):
    """`a` and `b` as tensors of their result dtype; the common cases first, without promotion."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.data.dtype == b.data.dtype:
                return a, b
        elif a.data.dtype.kind in _FLOAT_KINDS and isinstance(b, _NUMBER):
            return a, _lift(b, a)
    elif isinstance(b, Tensor):
        if b.data.dtype.kind in _FLOAT_KINDS and isinstance(a, _NUMBER):
            return _lift(a, b), b
    else:
        raise TypeError(f"expected a tensor among the operands, got {type(a).__name__} and {type(b).__name__}")
    return _promoted(a, b)


def where(cond, a, b) -> Tensor:
    """`a` where `cond` is true, else `b` (numpy broadcasting; `cond` gets no gradient)."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else cond
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        a, b = _pair(a, b)
    else:
        a, b = _lift(a, like), _lift(b, like)
    return ops.Where.apply(_lift(cond, like), a, b)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clip to [min, max] (either may be None). Number bounds are one op; tensor bounds broadcast
    with `x` and get gradients where they bind, as in PyTorch."""
    if (min is None or isinstance(min, _NUMBER)) and (max is None or isinstance(max, _NUMBER)):
        return ops.Clamp.apply(x, min, max)
    return _clamp_by_tensors(x, min, max)


def _clamp_by_tensors(x, lo, hi):
    """PyTorch's clamp with tensor bounds: the gradient goes to `x` where lo <= x <= hi, to `lo`
    where x < lo < hi, to `hi` where x > hi or hi < lo (the result is then hi)."""
    lo = None if lo is None else lo if isinstance(lo, Tensor) else _lift(lo, x)
    hi = None if hi is None else hi if isinstance(hi, Tensor) else _lift(hi, x)
    dtype = result_type(x, lo, hi)
    x, lo, hi = _to(x, dtype), lo if lo is None else _to(lo, dtype), hi if hi is None else _to(hi, dtype)
    bk = x._backend
    value = x.data  # the values (NaN stays NaN), a constant where no operand gets the gradient
    if lo is not None:
        value = bk.maximum(value, lo.data)
    if hi is not None:
        value = bk.minimum(value, hi.data)
    out = Tensor._make(value, bk)
    if hi is not None:
        out = where((x > hi) | (hi < lo) if lo is not None else x > hi, hi, out)
    if lo is not None:
        out = where((x < lo) & (lo < hi) if hi is not None else x < lo, lo, out)
    inside = (x >= lo) if lo is not None else None
    if hi is not None:
        inside = x <= hi if inside is None else inside & (x <= hi)
    return where(inside, x, out)


def _unary(op, floating=False):
    if floating:  # the result is a float: integer and bool inputs become float32 first
        def fn(x: Tensor) -> Tensor:
            return op.apply(x if x.data.dtype.kind in _FLOAT_KINDS else _floating(x))
    else:
        def fn(x: Tensor) -> Tensor:
            return op.apply(x)

    fn.__name__ = fn.__qualname__ = op.__name__.lower()
    return fn


neg, abs, relu = _unary(ops.Neg), _unary(ops.Abs), _unary(ops.Relu)
exp, log, sqrt = _unary(ops.Exp, True), _unary(ops.Log, True), _unary(ops.Sqrt, True)
tanh, sigmoid = _unary(ops.Tanh, True), _unary(ops.Sigmoid, True)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with numpy's rules for 1-D operands (promoted, then squeezed)."""
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return ops.MatMul.apply(a.reshape((1, -1)), b, False, False).reshape(b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return ops.MatMul.apply(a, b.reshape((-1, 1)), False, False).reshape(a.shape[:-1])
    return ops.MatMul.apply(a, b, False, False)


def rmatmul(a: Tensor, b) -> Tensor:
    return matmul(_lift(b, a), a)


_LINEAR_ACTIVATIONS = tuple(ACTIVATIONS)  # what both backends fuse into a linear layer


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, activation=None) -> Tensor:
    """activation(x @ weight.T + bias) as one op; weight is (out_features, in_features) and
    activation is None, "tanh" or "relu"."""
    if activation not in _LINEAR_ACTIVATIONS:
        valid = ", ".join(map(repr, _LINEAR_ACTIVATIONS))
        raise ValueError(f"linear: unknown activation {activation!r}; valid: {valid}")
    return ops.Linear.apply(x, weight, bias, activation)


# -- reductions ------------------------------------------------------------------------------------------
@_torch_names
def sum(x: Tensor, axis=None, keepdim=False) -> Tensor:
    return ops.Sum.apply(x, axis, keepdim)


def _needs_float(x: Tensor, op: str):
    if x.data.dtype.kind not in _FLOAT_KINDS:
        raise TypeError(f"{op}: needs a floating-point tensor, got {x.dtype} (as in PyTorch); "
                        f"convert it first, e.g. x.float().{op}()")


@_torch_names
def mean(x: Tensor, axis=None, keepdim=False) -> Tensor:
    _needs_float(x, "mean")  # an integer mean would be truncated: numpy's sum times 1/n cast to int
    return ops.Mean.apply(x, axis, keepdim)


@_torch_names
def var(x: Tensor, axis=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """PyTorch's var: over `axis` with `correction` degrees of freedom taken (default 1, Bessel's);
    the legacy positional form var(dim, unbiased, keepdim) too, so x.var(0, True) is unbiased, not
    keepdim, as in PyTorch."""
    _needs_float(x, "var")
    if unbiased is not None and correction is not None:
        raise TypeError("var: give unbiased or correction, not both")
    correction = (1 if unbiased is None or unbiased else 0) if correction is None else correction
    count = x.data.size if axis is None else math.prod(x.shape[a] for a in ops.axes_of(axis, x.ndim, "var"))
    d = x - mean(x, axis, keepdim=True)
    # No degrees of freedom left (one element, correction 1): NaN, as numpy and PyTorch give.
    return sum(d * d, axis, keepdim) * (1.0 / (count - correction) if count > correction else float("nan"))


@_torch_names
def std(x: Tensor, axis=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """The square root of var, with var's arguments."""
    _needs_float(x, "std")
    return var(x, axis, unbiased, keepdim, correction=correction).sqrt()


class MaxMin(NamedTuple):
    """What max and min over one axis return, as PyTorch's torch.return_types.max: the values and
    where they are (`v, i = x.max(1)`, `x.max(1).values`, `x.max(1)[0]`)."""
    values: Tensor
    indices: Tensor


@_torch_names
def amax(x: Tensor, axis=None, keepdim=False) -> Tensor:
    """The largest values over `axis` (an int, a tuple, or None for all). Tied maxima share the
    gradient equally, as in PyTorch's amax."""
    return ops.Max.apply(x, axis, keepdim)


@_torch_names
def amin(x: Tensor, axis=None, keepdim=False) -> Tensor:
    return -ops.Max.apply(-x, axis, keepdim)


@_torch_names
def max(x: Tensor, axis=None, keepdim=False):
    """PyTorch's three max: x.max() is the largest value (0-d); x.max(dim) is (values, indices),
    the gradient going to the first maximum of each row, as its index says; x.max(other) is
    maximum(x, other)."""
    return _extreme(x, axis, keepdim, "max")


@_torch_names
def min(x: Tensor, axis=None, keepdim=False):
    """As max: x.min(), (values, indices) = x.min(dim), or minimum(x, other)."""
    return _extreme(x, axis, keepdim, "min")


def _extreme(x, axis, keepdim, name):
    if isinstance(axis, Tensor):
        if keepdim:
            raise TypeError(f"{name}(other): takes no keepdim (it is the elementwise {name}imum)")
        return maximum(x, axis) if name == "max" else minimum(x, axis)
    if axis is None:
        return amax(x) if name == "max" else amin(x)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{name}: dim must be one integer (PyTorch's {name}(dim) returns values and indices); "
                        f"for several axes use a{name}(dim=(...))")
    indices = (argmax if name == "max" else argmin)(x, axis, keepdim=True)
    values = gather(x, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return MaxMin(values, indices)


@_torch_names
def logsumexp(x: Tensor, axis=None, keepdim=False) -> Tensor:
    """log(sum(exp(x))) without overflow: the max is subtracted first (and gets no gradient,
    since the result does not depend on it)."""
    axes = ops.axes_of(axis, x.ndim, "logsumexp")
    x = _floating(x)
    m = amax(x, axis, keepdim=True).detach()
    # A row that is all -inf (fully masked logits) or holds +inf: shift by 0 there, so the result
    # is -inf or +inf, as PyTorch's, instead of inf - inf = NaN.
    m = where((m == m) & (m.abs() < float("inf")), m, 0.0)
    out = ((x - m).exp().sum(axis, keepdim=True)).log() + m
    if keepdim:
        return out
    return out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


@_torch_names
def log_softmax(x: Tensor, axis=-1) -> Tensor:
    return ops.LogSoftmax.apply(_floating(x), ops.axis_of(axis, x.ndim, "log_softmax"))


@_torch_names
def softmax(x: Tensor, axis=-1) -> Tensor:
    return ops.LogSoftmax.apply(_floating(x), ops.axis_of(axis, x.ndim, "softmax")).exp()


def softplus(x: Tensor, beta=1.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, written so that large |x| neither overflows nor loses digits."""
    x = _floating(x)
    bx = x * beta if beta != 1.0 else x
    out = ops.Softplus.apply(bx)
    return out / beta if beta != 1.0 else out


# -- losses --------------------------------------------------------------------------------------------------------
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r}; valid: 'mean', 'sum', 'none'")


def mse_loss(input: Tensor, target, reduction="mean") -> Tensor:
    d = input - target
    return _reduce(d * d, reduction)


def smooth_l1_loss(input: Tensor, target, beta=1.0, reduction="mean") -> Tensor:
    """Huber loss (DQN's): quadratic within `beta` of the target, linear beyond."""
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss: beta must be positive, got {beta}")
    return _reduce(ops.Huber.apply(input - target, float(beta)), reduction)


# -- shape --------------------------------------------------------------------------------------------------------
def reshape(x: Tensor, *shape) -> Tensor:
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return ops.Reshape.apply(x, shape)


def permute(x: Tensor, *axes) -> Tensor:
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    checked = tuple(ops.axis_of(a, x.ndim, "permute") for a in axes)
    if sorted(checked) != list(range(x.ndim)):
        raise ops.AxisError(f"permute: the axes {tuple(axes)} must name each of the tensor's {x.ndim} axes once")
    return ops.Permute.apply(x, checked)


def transpose(x: Tensor, dim0=-2, dim1=-1) -> Tensor:
    axes = list(range(x.ndim))
    dim0, dim1 = ops.axis_of(dim0, x.ndim, "transpose"), ops.axis_of(dim1, x.ndim, "transpose")
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return ops.Permute.apply(x, tuple(axes))


@_torch_names
def unsqueeze(x: Tensor, axis: int) -> Tensor:
    axis = ops.axis_of(axis, x.ndim, "unsqueeze", new=True)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


@_torch_names
def squeeze(x: Tensor, axis=None) -> Tensor:
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axis = ops.axis_of(axis, x.ndim, "squeeze")
    if x.ndim == 0:
        return x
    if x.shape[axis] != 1:
        return x
    return reshape(x, x.shape[:axis] + x.shape[axis + 1:])


def flatten(x: Tensor, start_dim=0, end_dim=-1) -> Tensor:
    start, end = ops.axis_of(start_dim, x.ndim, "flatten"), ops.axis_of(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    if start > end:
        raise ops.AxisError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def expand(x: Tensor, *shape) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    shape = tuple(x.shape[i - len(shape) + x.ndim] if n == -1 else n for i, n in enumerate(shape))
    return x if shape == x.shape else ops.Expand.apply(x, shape)


@_torch_names
def cat(tensors, axis=0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: needs at least one tensor")
    ops.axis_of(axis, tensors[0].ndim, "cat")
    return ops.Cat.apply(axis, *tensors)


@_torch_names
def stack(tensors, axis=0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    axis = ops.axis_of(axis, tensors[0].ndim, "stack", new=True)
    return cat([unsqueeze(t, axis) for t in tensors], axis)


@_torch_names
def gather(x: Tensor, axis: int, index) -> Tensor:
    """take_along_axis(x, index, axis): `index` has x's number of dims (PyTorch's gather)."""
    axis = ops.axis_of(axis, x.ndim, "gather")
    index = index.data if isinstance(index, Tensor) else x._backend.asarray(index)
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index has {index.ndim} dims but the input of shape {x.shape} has "
                         f"{x.ndim}; add the missing axes (e.g. index[..., None])")
    return ops.Gather.apply(x, axis, index)


def getitem(x: Tensor, index) -> Tensor:
    index = _unwrap_index(index)
    if type(index) is tuple and len(index) > 1:
        split = _integers_first(index)
        if split is not None:
            return ops.GetItem.apply(ops.GetItem.apply(x, split[0]), split[1])
    return ops.GetItem.apply(x, index)


def _integers_first(index):
    """PyTorch's order for an index mixing integers with index arrays: the integers select first,
    then the arrays index what is left. numpy counts an integer as an index array, so x[0, :, [1, 2]]
    of a (2, 3, 4) tensor is (2, 3) there and (3, 2) in PyTorch. Returns (basic, rest), or None when
    the index has no integer or no array (the orders then agree)."""
    ints = arrays = False
    for i in index:
        if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            ints = True
        elif getattr(i, "ndim", 0) == 0 and getattr(i, "dtype", None) is not None and i.dtype.kind in "iu":
            ints = True  # a 0-d integer tensor is an integer, as in PyTorch
        elif isinstance(i, (list, bool, np.bool_)) or getattr(i, "ndim", 0) > 0:
            arrays = True
    if not (ints and arrays):
        return None
    basic, rest = [], []
    for i in index:
        if i is None:
            rest.append(i)
        elif i is Ellipsis:
            basic.append(i)
            rest.append(i)
        elif isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            basic.append(i)
        elif getattr(i, "ndim", 0) == 0 and getattr(i, "dtype", None) is not None and i.dtype.kind in "iu":
            basic.append(int(i))
        else:  # an index array, or a slice; a boolean array stands for as many axes as it has
            a = i if hasattr(i, "dtype") or isinstance(i, slice) else np.asarray(i)
            basic.extend([slice(None)] * (a.ndim if getattr(a, "dtype", None) is not None and a.dtype.kind == "b" else 1))
            rest.append(i)
    return tuple(basic), tuple(rest)


@_torch_names
def argmax(x: Tensor, axis=None, keepdim=False) -> Tensor:
    """Where the largest value is (the first, where several tie), over `axis` or the flattened x."""
    if axis is not None:
        axis = ops.axis_of(axis, x.ndim, "argmax")
    out = Tensor._make(x._backend.argmax(x.data, axis), x._backend)
    if keepdim:
        return out.reshape(tuple(1 if axis is None or i == axis else n for i, n in enumerate(x.shape)))
    return out


@_torch_names
def argmin(x: Tensor, axis=None, keepdim=False) -> Tensor:
    """Where the smallest value is (the first, where several tie): argmax of an order-reversing
    map that cannot overflow (-x for floats, -1 - x for signed integers, max - x for unsigned)."""
    kind = x.dtype.kind
    if kind == "b":
        x, kind = x.to(np.int8), "i"
    flipped = -x if kind == "f" else (-1 - x if kind == "i" else int(np.iinfo(x.dtype).max) - x)
    return argmax(flipped, axis, keepdim)


# -- comparisons and logic (no gradient: boolean results) ------------------------------------------------------------
def _compare(op):
    def fn(a, b):
        b = b.data if isinstance(b, Tensor) else b
        return Tensor._make(a._backend.compare(op, a.data, b), a._backend)

    return fn


def _logical(op):
    def fn(a, b=None):
        b = b.data if isinstance(b, Tensor) else b
        return Tensor._make(a._backend.logical(op, a.data, b), a._backend)

    return fn


eq, ne, lt, le, gt, ge = (_compare(op) for op in ("eq", "ne", "lt", "le", "gt", "ge"))
logical_and, logical_or, logical_xor, logical_not = (_logical(op) for op in ("and", "or", "xor", "not"))


def cast(x, dtype):
    """x as numpy dtype `dtype`, differentiable between float dtypes (Tensor.to's dtype step)."""
    return ops.Cast.apply(x, dtype)


def _set_methods(cls):
    """Replace each method mark in `cls`'s body (Tensor's) with the function here that it names."""
    for name, mark in list(vars(cls).items()):
        if isinstance(mark, _functional):
            fn = globals().get(mark.name or name)
            if not callable(fn):
                raise ImportError(f"{cls.__name__}.{name} names autodiff.functional.{mark.name or name}, "
                                  "which is not defined there")
            setattr(cls, name, fn)


_set_methods(Tensor)
