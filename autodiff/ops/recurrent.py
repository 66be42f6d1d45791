"""The gate arithmetic of recurrent cells, one op per cell step.

A GRU or LSTM step is a dozen elementwise ops around two matrix products. Run once per time step
of every sequence, their per-op cost, not the arithmetic, sets the pace at RL sizes, so each
cell's gates are one op here (the matrix products stay Linear ops). Backward runs on backend
arrays directly (one op per step); under `create_graph=True` the same rule runs as Tensor ops on
the gates rebuilt as a graph, so the gradient is itself differentiable.
"""

from __future__ import annotations

from ..function import is_grad_enabled
from ..tensor import Tensor
from .base import Primitive
from .elementwise import SigmoidBackward, TanhBackward
from .shape import Cat


def _cols(start, stop):
    """The index of columns start:stop of the last axis."""
    return (Ellipsis, slice(start, stop))


def _cat(*xs):
    return Cat.apply(-1, *xs)


class GRUGates(Primitive):
    """h' from gi = W_i x + b_i, gh = W_h h + b_h (each (..., 3H), PyTorch's r, z, n order) and h:
        r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n),
        h' = (1 - z) * n + z * h
    """

    @staticmethod
    def forward(ctx, gi, gh, h):
        bk, H = ctx.backend, h.shape[-1]
        rz = bk.sigmoid(bk.add(bk.getitem(gi.data, _cols(0, 2 * H)), bk.getitem(gh.data, _cols(0, 2 * H))))
        r = bk.getitem(rz, _cols(0, H))
        n = bk.tanh(bk.add(bk.getitem(gi.data, _cols(2 * H, None)),
                           bk.mul(r, bk.getitem(gh.data, _cols(2 * H, None)))))
        z = bk.getitem(rz, _cols(H, None))
        ctx.save_for_backward(gi, gh, h)
        ctx.rz, ctx.n = Tensor._make(rz, bk), Tensor._make(n, bk)
        return bk.add(n, bk.mul(z, bk.sub(h.data, n)))

    @staticmethod
    def backward(ctx, g):
        gi, gh, h = ctx.saved_tensors
        H = h.shape[-1]
        ngi, ngh, nh = ctx.needs_input_grad
        if not is_grad_enabled():
            return GRUGates._backward_raw(ctx, g, gh, h, H)
        # create_graph: the same rule as Tensor ops, on the gates rebuilt as a graph of the inputs
        rz = (gi[..., :2 * H] + gh[..., :2 * H]).sigmoid()
        n = (gi[..., 2 * H:] + rz[..., :H] * gh[..., 2 * H:]).tanh()
        r, z = rz[..., :H], rz[..., H:]
        dh = g * z
        dn = TanhBackward.apply(g - dh, n)  # through n = tanh(.)
        drz = SigmoidBackward.apply(_cat(dn * gh[..., 2 * H:], g * (h - n)), rz)
        return (_cat(drz, dn) if ngi else None,
                _cat(drz, dn * r) if ngh else None,
                dh if nh else None)

    @staticmethod
    def _backward_raw(ctx, g, gh, h, H):
        """The rule above on backend arrays: one op in the graph's backward instead of fifteen
        (a recurrent update runs it once per time step)."""
        bk = ctx.backend
        rz, n, g = ctx.rz.data, ctx.n.data, g.data
        r, z = bk.getitem(rz, _cols(0, H)), bk.getitem(rz, _cols(H, None))
        dh = bk.mul(g, z)
        dn = bk.tanh_backward(bk.sub(g, dh), n)
        drz = bk.sigmoid_backward(bk.concatenate([bk.mul(dn, bk.getitem(gh.data, _cols(2 * H, None))),
                                                  bk.mul(g, bk.sub(h.data, n))], -1), rz)
        ngi, ngh, nh = ctx.needs_input_grad
        return (Tensor._make(bk.concatenate([drz, dn], -1), bk) if ngi else None,
                Tensor._make(bk.concatenate([drz, bk.mul(dn, r)], -1), bk) if ngh else None,
                Tensor._make(dh, bk) if nh else None)


class LSTMGates(Primitive):
    """(h', c') side by side, (..., 2H), from the summed projections a = W_i x + b_i + W_h h + b_h
    ((..., 4H), PyTorch's i, f, g, o order) and the cell state c:
        c' = sigmoid(a_f) * c + sigmoid(a_i) * tanh(a_g), h' = sigmoid(a_o) * tanh(c')
    One output, not two, because an op returns one tensor; the LSTM slices it."""

    @staticmethod
    def forward(ctx, a, c):
        bk, H = ctx.backend, c.shape[-1]
        s = bk.sigmoid(a.data)
        gt = bk.tanh(bk.getitem(a.data, _cols(2 * H, 3 * H)))
        c2 = bk.add(bk.mul(bk.getitem(s, _cols(H, 2 * H)), c.data), bk.mul(bk.getitem(s, _cols(0, H)), gt))
        tc = bk.tanh(c2)
        ctx.save_for_backward(a, c)
        ctx.s, ctx.gt, ctx.tc = Tensor._make(s, bk), Tensor._make(gt, bk), Tensor._make(tc, bk)
        return bk.concatenate([bk.mul(bk.getitem(s, _cols(3 * H, None)), tc), c2], -1)

    @staticmethod
    def backward(ctx, g):
        a, c = ctx.saved_tensors
        H = c.shape[-1]
        if is_grad_enabled():  # create_graph: the gates as a graph of the inputs
            s, gt = a.sigmoid(), a[..., 2 * H:3 * H].tanh()
            tc = (s[..., H:2 * H] * c + s[..., :H] * gt).tanh()
        else:
            s, gt, tc = ctx.s, ctx.gt, ctx.tc
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        gh, gc = g[..., :H], g[..., H:]
        dc2 = gc + TanhBackward.apply(gh * o, tc)  # c' reaches the loss directly and through h'
        da = _cat(SigmoidBackward.apply(_cat(dc2 * gt, dc2 * c), s[..., :2 * H]),
                  TanhBackward.apply(dc2 * i, gt),
                  SigmoidBackward.apply(gh * tc, o))
        na, nc = ctx.needs_input_grad
        return da if na else None, dc2 * f if nc else None
