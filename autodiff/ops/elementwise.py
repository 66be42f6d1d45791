"""Elementwise ops: numpy broadcasting, and gradients summed back to each input's shape."""

from __future__ import annotations

from ..tensor import Tensor
from .base import Primitive
from .shape import unbroadcast


# -- elementwise, binary (numpy broadcasting) -----------------------------------------------------------
class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.add(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, ctx.shapes[0]) if na else None,
                unbroadcast(g, ctx.shapes[1]) if nb else None)


class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.data.shape, b.data.shape
        return ctx.backend.sub(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, ctx.shapes[0]) if na else None,
                unbroadcast(-g, ctx.shapes[1]) if nb else None)


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.backend.mul(a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, a.shape) if na else None,
                unbroadcast(g * a, b.shape) if nb else None)


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
        return (unbroadcast(ga, a.shape) if na else None,
                unbroadcast(-ga * a / b, b.shape) if nb else None)


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
        from ..functional import where

        # PyTorch's values where the formulas meet 0 * inf: d/da a^0 = 0 (also at a = 0), and
        # d/db a^b = 0 at a = 0. The exponent and the log see safe stand-ins there, so no NaN
        # enters the graph, and the second derivatives stay finite too.
        ga = unbroadcast(g * b * a ** (where(b == 0, 1.0, b) - 1), a.shape) if na else None
        gb = unbroadcast(g * a ** b * where(a == 0, 1.0, a).log(), b.shape) if nb else None
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
        if p == 0:  # x ** 0 is 1 everywhere, 0 ** 0 included: no gradient (PyTorch's 0, not 0 * inf)
            return g * 0.0, None
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
    return (unbroadcast(g * share_a, ctx.shapes[0]) if na else None,
            unbroadcast(g * share_b, ctx.shapes[1]) if nb else None)


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
                unbroadcast(Where.apply(cond, g, zero), ctx.shapes[0]) if na else None,
                unbroadcast(Where.apply(cond, zero, g), ctx.shapes[1]) if nb else None)


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
        y = Tensor._make(ctx.backend.relu(x.data), ctx.backend)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return ReluBackward.apply(g, y)


class ReluBackward(Primitive):
    """g * (y > 0) in one pass (y is the ReLU's output); linear in g, so its own backward is itself."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(y)
        return ctx.backend.relu_backward(g.data, y.data)

    @staticmethod
    def backward(ctx, gg):
        y, = ctx.saved_tensors
        return ReluBackward.apply(gg, y), None


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


class Softplus(Primitive):
    """log(1 + exp(x)) as relu(x) + log(1 + exp(-|x|)), which neither overflows nor loses digits;
    its gradient is sigmoid(x) (0.5 at 0, as PyTorch's), where the composed form's would take
    relu's and abs's one-sided 0 there. The gradient is an op, so it is twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        bk = ctx.backend
        ctx.save_for_backward(x)
        one = bk.scalar(1.0, x.dtype)
        y = bk.exp(bk.neg(bk.abs(x.data)))
        u = bk.add(y, one)
        # log1p(y) from log: log(u) * y / (u - 1) corrects u's rounding (Goldberg 1991), and where
        # u rounds to 1, log1p(y) is y itself (softplus(-50) = 1.9e-22, not 0).
        small = bk.compare("eq", u, one)
        log1p = bk.where(small, y, bk.div(bk.mul(bk.log(u), y), bk.where(small, one, bk.sub(u, one))))
        return bk.add(bk.relu(x.data), log1p)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * Sigmoid.apply(x)


class Huber(Primitive):
    """The elementwise Huber loss of a difference d: d^2 / (2 beta) within beta of 0, |d| - beta / 2
    beyond. One op where the composed form takes eight (DQN's loss, every gradient step); its
    gradient, g * clamp(d, -beta, beta) / beta, is made of ops, so it is twice differentiable."""

    @staticmethod
    def forward(ctx, d, beta):
        bk = ctx.backend
        ctx.save_for_backward(d)
        ctx.beta = beta
        a = bk.abs(d.data)
        quadratic = bk.mul(bk.mul(d.data, d.data), bk.scalar(0.5 / beta, d.dtype))
        return bk.where(bk.compare("lt", a, beta), quadratic, bk.sub(a, bk.scalar(0.5 * beta, d.dtype)))

    @staticmethod
    def backward(ctx, g):
        d, = ctx.saved_tensors
        slope = Clamp.apply(d, -ctx.beta, ctx.beta)
        return (g * slope if ctx.beta == 1.0 else g * slope * (1.0 / ctx.beta)), None


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
