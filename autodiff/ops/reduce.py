"""Reductions over axes, and Unreduce, the op that spreads their gradients back."""

from __future__ import annotations

from ..tensor import Tensor
from .base import Primitive
from .shape import axes_of, keepdim_shape


# -- reductions -------------------------------------------------------------------------------------------------
class Sum(Primitive):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.shape = x.shape
        ctx.axes = axes_of(axis, x.ndim)
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
        spread = bk.broadcast_to(bk.reshape(g.data, keepdim_shape(shape, axes)), shape)
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
        ctx.axes = axes_of(axis, x.ndim)
        ctx.keepdim = keepdim
        count = 1
        for a in ctx.axes:
            count *= x.shape[a]
        ctx.scale = 1.0 / count if count else float("nan")  # the mean of nothing: NaN, as numpy's and PyTorch's
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
        ctx.axes = axes_of(axis, x.ndim)
        ctx.keepdim = keepdim
        m = bk.max(x.data, ctx.axes, True)
        if ctx._record:
            ctx.share = bk.max_backward_mask(x.data, m, ctx.axes)
        return m if keepdim else bk.reshape(m, tuple(n for i, n in enumerate(x.shape) if i not in ctx.axes))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(keepdim_shape(ctx.shape, ctx.axes))
        return g * Tensor._make(ctx.share, ctx.backend), None, None
