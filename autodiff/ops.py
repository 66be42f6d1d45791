"""The primitive ops: each is one `Function` with one backward rule, calling only the backend.

Backward rules are written with Tensor ops, so they are differentiable themselves (higher-order
gradients); the engine runs them with grad mode off unless `create_graph=True`. Every other op
(sub-expressions such as softmax, logsumexp, losses) is composed from these in `functional.py`.
"""

from __future__ import annotations

from .function import Function


class Primitive(Function):
    """A built-in op: its forward calls only the backend, so apply need not switch grad mode off."""

    _primitive = True
from .tensor import Tensor


def _unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient back to an input's shape (identity when nothing was broadcast)."""
    return grad if grad.shape == shape else SumTo.apply(grad, shape)


def _axes(axis, ndim) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


def _keepdim_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# -- elementwise, binary (numpy broadcasting) -----------------------------------------------------------
class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.add(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (_unbroadcast(g, ctx.shapes[0]) if na else None,
                _unbroadcast(g, ctx.shapes[1]) if nb else None)


class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.sub(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (_unbroadcast(g, ctx.shapes[0]) if na else None,
                _unbroadcast(-g, ctx.shapes[1]) if nb else None)


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.backend.mul(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (_unbroadcast(g * b, a.shape) if na else None,
                _unbroadcast(g * a, b.shape) if nb else None)


class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.backend.div(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = g / b
        return (_unbroadcast(ga, a.shape) if na else None,
                _unbroadcast(-ga * a / b, b.shape) if nb else None)


class Pow(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        y = ctx.backend.pow(a.data, b.data)
        ctx.save_for_backward(a, b)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = _unbroadcast(g * b * a ** (b - 1), a.shape) if na else None
        gb = _unbroadcast(g * a ** b * a.log(), b.shape) if nb else None
        return ga, gb


class PowScalar(Primitive):
    """x ** p for a constant number p: one op each way instead of Pow's four."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return ctx.backend.pow(x.data, ctx.backend.scalar(p, x.dtype))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        p = ctx.p
        if p == 2:
            return g * x * 2.0, None
        return g * PowScalar.apply(x, p - 1) * p, None


class Maximum(Primitive):
    """Elementwise max; where the inputs tie, each gets half the gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        if ctx._record:
            ctx.shares = _tie_share(ctx.backend, "gt", a, b)
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.maximum(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


class Minimum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        if ctx._record:
            ctx.shares = _tie_share(ctx.backend, "lt", a, b)
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.minimum(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        return _split_grad(ctx, g)


def _tie_share(bk, op, a, b):
    """The shares of the gradient: 1 where `a` wins, 0.5 on ties, 0 where `b` wins; and 1 - that."""
    wins = bk.astype(bk.compare(op, a.data, b.data), a.dtype)
    ties = bk.astype(bk.compare("eq", a.data, b.data), a.dtype)
    share_a = bk.add(wins, bk.mul(ties, bk.scalar(0.5, a.dtype)))
    return Tensor._make(share_a, bk), Tensor._make(bk.sub(bk.scalar(1, a.dtype), share_a), bk)


def _split_grad(ctx, g):
    na, nb = ctx.needs_input_grad
    share_a, share_b = ctx.shares
    return (_unbroadcast(g * share_a, ctx.shapes[0]) if na else None,
            _unbroadcast(g * share_b, ctx.shapes[1]) if nb else None)


class Where(Primitive):
    """`a` where `cond` holds, else `b`; `cond` is a constant (no gradient)."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond.data
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.where(cond.data, a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        _, na, nb = ctx.needs_input_grad
        cond = Tensor._make(ctx.cond, ctx.backend)
        zero = Tensor._make(ctx.backend.scalar(0, g.dtype), ctx.backend)
        return (None,
                _unbroadcast(Where.apply(cond, g, zero), ctx.shapes[0]) if na else None,
                _unbroadcast(Where.apply(cond, zero, g), ctx.shapes[1]) if nb else None)


# -- elementwise, unary -----------------------------------------------------------------------------------
class Neg(Primitive):
    @staticmethod
    def forward(ctx, x):
        return ctx.backend.neg(x.data)

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = Tensor._make(ctx.backend.exp(x.data), ctx.backend)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class Log(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.log(x.data)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Sqrt(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = Tensor._make(ctx.backend.sqrt(x.data), ctx.backend)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * 0.5 / y


class Abs(Primitive):
    @staticmethod
    def forward(ctx, x):
        if ctx._record:
            ctx.sign = ctx.backend.sign(x.data)
        return ctx.backend.abs(x.data)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._make(ctx.sign, ctx.backend)


class Relu(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = ctx.backend.relu(x.data)
        if ctx._record:
            ctx.mask = ctx.backend.astype(ctx.backend.compare("gt", y, 0), y.dtype)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._make(ctx.mask, ctx.backend)


class Clamp(Primitive):
    """Clip to [lo, hi] (either may be None); the gradient passes where lo <= x <= hi."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        bk = ctx.backend
        if ctx._record:
            ctx.mask = _inside(bk, x, lo, hi)
        return bk.clip(x.data, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._make(ctx.mask, ctx.backend), None, None


def _inside(bk, x, lo, hi):
    """1 where lo <= x <= hi, else 0 (a bound of None is no bound)."""
    inside = None
    if lo is not None:
        inside = bk.compare("ge", x.data, lo)
    if hi is not None:
        le = bk.compare("le", x.data, hi)
        inside = le if inside is None else bk.logical("and", inside, le)
    return bk.astype(inside, x.dtype)


class Tanh(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = Tensor._make(ctx.backend.tanh(x.data), ctx.backend)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return TanhBackward.apply(g, y)


class TanhBackward(Primitive):
    """g * (1 - y^2) in one pass; its own backward makes tanh twice differentiable."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return ctx.backend.tanh_backward(g.data, y.data)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        ng, ny = ctx.needs_input_grad
        return (TanhBackward.apply(gg, y) if ng else None,
                -2 * gg * g * y if ny else None)


class Sigmoid(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = Tensor._make(ctx.backend.sigmoid(x.data), ctx.backend)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return SigmoidBackward.apply(g, y)


class SigmoidBackward(Primitive):
    """g * y * (1 - y) in one pass; its own backward makes sigmoid twice differentiable."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return ctx.backend.sigmoid_backward(g.data, y.data)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        ng, ny = ctx.needs_input_grad
        return (SigmoidBackward.apply(gg, y) if ng else None,
                gg * g * (1 - 2 * y) if ny else None)


class Cast(Primitive):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return ctx.backend.astype(x.data, dtype)

    @staticmethod
    def backward(ctx, g):
        return Cast.apply(g, ctx.dtype), None


# -- reductions -------------------------------------------------------------------------------------------------
class Sum(Primitive):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.shape = x.shape
        ctx.axes = _axes(axis, x.ndim)
        ctx.keepdim = keepdim
        return ctx.backend.sum(x.data, ctx.axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        return Unreduce.apply(g, ctx.shape, ctx.axes, 1.0), None, None


class Unreduce(Primitive):
    """Spread a reduction's gradient back over the reduced axes, times `scale` (1 for a sum,
    1/count for a mean): one op where reshape, multiply and expand would be three."""

    @staticmethod
    def forward(ctx, g, shape, axes, scale):
        bk = ctx.backend
        ctx.g_shape, ctx.axes, ctx.scale = g.shape, axes, scale
        spread = bk.broadcast_to(bk.reshape(g.data, _keepdim_shape(shape, axes)), shape)
        return spread if scale == 1.0 else bk.mul(spread, bk.scalar(scale, g.dtype))

    @staticmethod
    def backward(ctx, gg):
        out = gg.sum(ctx.axes, keepdim=True).reshape(ctx.g_shape)
        return (out if ctx.scale == 1.0 else out * ctx.scale), None, None, None


class Mean(Primitive):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        bk = ctx.backend
        ctx.shape = x.shape
        ctx.axes = _axes(axis, x.ndim)
        ctx.keepdim = keepdim
        count = 1
        for a in ctx.axes:
            count *= x.shape[a]
        ctx.scale = 1.0 / count
        return bk.mul(bk.sum(x.data, ctx.axes, keepdim), bk.scalar(ctx.scale, x.dtype))

    @staticmethod
    def backward(ctx, g):
        return Unreduce.apply(g, ctx.shape, ctx.axes, ctx.scale), None, None


class LogSoftmax(Primitive):
    """x - logsumexp(x) along one axis, computed stably in one pass; backward g - softmax * sum(g)."""

    @staticmethod
    def forward(ctx, x, axis):
        y = Tensor._make(ctx.backend.log_softmax(x.data, axis), ctx.backend)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.axis, keepdim=True), None


class Max(Primitive):
    """Max over axes; tied maxima share the gradient equally."""

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        bk = ctx.backend
        ctx.shape = x.shape
        ctx.axes = _axes(axis, x.ndim)
        ctx.keepdim = keepdim
        m = bk.max(x.data, ctx.axes, True)
        if ctx._record:
            ctx.share = bk.max_backward_mask(x.data, m, ctx.axes)
        return m if keepdim else bk.reshape(m, tuple(n for i, n in enumerate(x.shape) if i not in ctx.axes))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_keepdim_shape(ctx.shape, ctx.axes))
        return g * Tensor._make(ctx.share, ctx.backend), None, None


# -- shape ------------------------------------------------------------------------------------------------------
class Reshape(Primitive):
    _view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return ctx.backend.reshape(x.data, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Permute(Primitive):
    _view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return ctx.backend.permute(x.data, axes)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return Permute.apply(g, tuple(inverse)), None


class Expand(Primitive):
    """Broadcast to a larger shape (numpy rules); backward sums back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return ctx.backend.broadcast_to(x.data, shape)

    @staticmethod
    def backward(ctx, g):
        return _unbroadcast(g, ctx.shape), None


class SumTo(Primitive):
    """Sum a broadcast array down to `shape`: the transpose of Expand."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return ctx.backend.sum_to(x.data, shape)

    @staticmethod
    def backward(ctx, g):
        return Expand.apply(g, ctx.shape), None


class Cat(Primitive):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis % xs[0].ndim
        ctx.sizes = [x.shape[ctx.axis] for x in xs]
        return ctx.backend.concatenate([x.data for x in xs], ctx.axis)

    @staticmethod
    def backward(ctx, g):
        grads, start = [None], 0
        lead = (slice(None),) * ctx.axis
        for size, need in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            grads.append(g[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(grads)


# -- indexing ----------------------------------------------------------------------------------------------------
class GetItem(Primitive):
    """x[index]: basic (slices, ints) or advanced (integer / boolean arrays) numpy indexing."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape = x.shape
        ctx.index = index
        return ctx.backend.getitem(x.data, index)

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.shape, ctx.index), None


class IndexAdd(Primitive):
    """zeros(shape)[index] += values, with repeated positions accumulated: the transpose of GetItem."""

    @staticmethod
    def forward(ctx, values, shape, index):
        ctx.index = index
        return ctx.backend.index_add(shape, index, values.data)

    @staticmethod
    def backward(ctx, g):
        return GetItem.apply(g, ctx.index), None, None


class Gather(Primitive):
    """numpy's take_along_axis (PyTorch's gather): out[i][j] = x[i][index[i][j]] along `axis`."""

    @staticmethod
    def forward(ctx, x, axis, index):
        ctx.shape, ctx.axis, ctx.index = x.shape, axis, index
        return ctx.backend.take_along_axis(x.data, index, axis)

    @staticmethod
    def backward(ctx, g):
        return ScatterAdd.apply(g, ctx.shape, ctx.axis, ctx.index), None, None


class ScatterAdd(Primitive):
    """The transpose of Gather: zeros(shape) with `values` added at `index` along `axis`."""

    @staticmethod
    def forward(ctx, values, shape, axis, index):
        ctx.axis, ctx.index = axis, index
        return ctx.backend.scatter_add_along_axis(shape, index, values.data, axis)

    @staticmethod
    def backward(ctx, g):
        return Gather.apply(g, ctx.axis, ctx.index), None, None, None


# -- linear algebra ------------------------------------------------------------------------------------------------
class MatMul(Primitive):
    """op(a) @ op(b) for 2-D and batched (..., n, k) @ (..., k, m) operands, batch dims broadcast,
    where op transposes the last two axes when `ta` / `tb` is set: backward's products with
    transposed operands are one op, not a permute and a product."""

    @staticmethod
    def forward(ctx, a, b, ta, tb):
        bk = ctx.backend
        ctx.save_for_backward(a, b)
        ctx.ta, ctx.tb = ta, tb
        return bk.matmul(_swap_last(bk, a.data) if ta else a.data, _swap_last(bk, b.data) if tb else b.data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad[:2]
        ta, tb = ctx.ta, ctx.tb
        ga = gb = None
        if na:  # d/dA of A @ B is g @ B^T; transposed back when a entered transposed
            ga = MatMul.apply(b, g, tb, True) if ta else MatMul.apply(g, b, False, not tb)
            ga = _unbroadcast(ga, a.shape)
        if nb:
            gb = MatMul.apply(g, a, True, ta) if tb else MatMul.apply(a, g, not ta, False)
            gb = _unbroadcast(gb, b.shape)
        return ga, gb, None, None


def _swap_last(bk, x):
    n = len(x.shape)
    return bk.permute(x, tuple(range(n - 2)) + (n - 1, n - 2))


class Linear(Primitive):
    """activation(x @ w.T + b) in one op (w is (out, in) as in PyTorch; activation None, "tanh"
    or "relu"; x may have any leading dims). One op instead of three each way is what makes
    small-batch updates cheap."""

    @staticmethod
    def forward(ctx, x, w, b, activation=None):
        y = Tensor._make(ctx.backend.linear(x.data, w.data, None if b is None else b.data, activation),
                         ctx.backend)
        ctx.activation = activation
        ctx.save_for_backward(x, w, y if activation is not None else None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, y = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        if ctx.activation == "tanh":
            g = TanhBackward.apply(g, y)
        elif ctx.activation == "relu":
            g = g * Tensor._make(ctx.backend.astype(ctx.backend.compare("gt", y.data, 0), y.dtype),
                                 ctx.backend)
        if g.ndim != 2:  # fold leading dims into one batch dim for the weight gradient
            g2, x2 = g.reshape((-1, g.shape[-1])), x.reshape((-1, x.shape[-1]))
        else:
            g2, x2 = g, x
        return (MatMul.apply(g2, w, False, False).reshape(x.shape) if nx else None,
                MatMul.apply(g2, x2, True, False) if nw else None,
                g2.sum(0) if nb else None,
                None)
