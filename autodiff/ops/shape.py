"""Shape, broadcasting and indexing ops."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .base import Primitive


def unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient back to an input's shape (identity when nothing was broadcast)."""
    return grad if grad.shape == shape else SumTo.apply(grad, shape)


class AxisError(IndexError, ValueError):
    """An axis outside a tensor's dimensions. Both an IndexError (as PyTorch raises) and a
    ValueError (numpy's AxisError is both too)."""


def axis_of(axis, ndim, op=None, new=False) -> int:
    """`axis` as a non-negative index of `ndim` dimensions; AxisError outside -ndim..ndim-1 (a
    0-dimensional tensor takes -1 and 0, as in PyTorch, and they mean the tensor itself). With
    `new`, the position of an axis to insert: -ndim-1..ndim."""
    span = ndim + 1 if new else (ndim or 1)
    if type(axis) is int and -span <= axis < span:  # the common case, ahead of the checks (~0.4 us a call)
        return axis % span
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op + ': ' if op else ''}an axis must be an integer, got {axis!r}")
    if not -span <= axis < span:
        where = "a new axis of" if new else "a"
        raise AxisError(f"{op + ': ' if op else ''}axis {axis} is out of range for {where} tensor of {ndim} "
                        f"dimension{'s' if ndim != 1 else ''}; valid axes: {-span} to {span - 1}")
    return int(axis) % span


def axes_of(axis, ndim, op=None) -> tuple:
    """The sorted axes `axis` names (None: all), each checked by axis_of; repeats are refused."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int:  # one axis: nothing to sort or repeat
        axis = axis_of(axis, ndim, op)
        return (axis,) if ndim else ()
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(sorted(axis_of(a, ndim, op) for a in axes))
    if len(set(out)) != len(out):
        raise AxisError(f"{op + ': ' if op else ''}axis {axis} names an axis twice")
    return out if ndim else ()


def keepdim_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


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
        return unbroadcast(g, ctx.shape), None


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
        ctx.axis = axis_of(axis, xs[0].ndim)
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
