"""Matrix products: MatMul with transposed operands, and the fused Linear layer op."""

from __future__ import annotations

from ..tensor import Tensor
from .base import Primitive
from .elementwise import ReluBackward, TanhBackward
from .shape import unbroadcast


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
            ga = unbroadcast(ga, a.shape)
        if nb:
            gb = MatMul.apply(g, a, True, ta) if tb else MatMul.apply(a, g, not ta, False)
            gb = unbroadcast(gb, b.shape)
        return ga, gb, None, None


def _swap_last(bk, x):
    n = len(x.shape)
    return bk.permute(x, tuple(range(n - 2)) + (n - 1, n - 2))


class Linear(Primitive):
    """activation(x @ w.T + b) in one op (w is (out, in) as in PyTorch; activation None, "tanh"
    or "relu"; x may have any leading dims). A stack of K layers (w (K, out, in), b (K, out), from
    nn.stacked) takes x (K, ..., in), each model its own slice. One op instead of three each way is what makes
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
            g = ReluBackward.apply(g, y)
        if w.ndim == 3:  # a stack of models: per model, fold the dims between into one batch dim
            k = w.shape[0]
            g2, x2 = g.reshape((k, -1, g.shape[-1])), x.reshape((k, -1, x.shape[-1]))
        elif g.ndim != 2:  # fold leading dims into one batch dim for the weight gradient
            g2, x2 = g.reshape((-1, g.shape[-1])), x.reshape((-1, x.shape[-1]))
        else:
            g2, x2 = g, x
        return (MatMul.apply(g2, w, False, False).reshape(x.shape) if nx else None,
                MatMul.apply(g2, x2, True, False) if nw else None,
                g2.sum(g2.ndim - 2) if nb else None,
                None)
