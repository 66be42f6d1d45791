"""Recurrent cells as ops: the gates of one GRU or LSTM step, and a whole sequence of steps.

A cell step is a dozen elementwise ops around two matrix products; run once per time step of
every sequence, their per-op cost, not the arithmetic, sets the pace at RL sizes. So the gates of
a step are one op (GRUGates, LSTMGates: what the cells use, e.g. while acting), and a sequence is
one op (RecurrentScan: what the layers use for training), whose forward and backward loops run on
backend arrays with nothing recorded per step.

Each cell is written three times, each form short: `forward` and `backward` on backend arrays
(the ops' fast paths), and `graph` in Tensor ops, the same equations as a differentiable graph.
Under `backward(create_graph=True)` an op differentiates its `graph` form instead, so gradients of
gradients work; the tests check the fast paths against it.

    forward(bk, gi, gh, s) -> (s', cache)        gi = W_i x + b_i, gh = W_h h + b_h, s the state
    backward(bk, g, cache) -> (d_gi, d_gh, d_s)  d_s: s's direct path only (not through gh)
    graph(gi, gh, s) -> s'

GRU: s = h, gi and gh (B, 3H) in PyTorch's r, z, n order. LSTM: s = [h, c] side by side (B, 2H),
gi and gh (B, 4H) in PyTorch's i, f, g, o order.
"""

from __future__ import annotations

from ..function import is_grad_enabled
from ..tensor import Tensor
from .base import Primitive
from .shape import Cat


def _last(x) -> int:
    """The size of x's last axis (through a tuple: the CUDA simulator's shapes refuse [-1])."""
    return tuple(x.shape)[-1]


def _cols(start, stop):
    """The index of columns start:stop of the last axis."""
    return (Ellipsis, slice(start, stop))


# -- GRU: r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r gh_n), h' = (1-z) n + z h --
def _gru_forward(bk, gi, gh, h):
    H = _last(h)
    rz = bk.sigmoid(bk.add(bk.getitem(gi, _cols(0, 2 * H)), bk.getitem(gh, _cols(0, 2 * H))))
    ghn = bk.getitem(gh, _cols(2 * H, None))
    n = bk.tanh(bk.add(bk.getitem(gi, _cols(2 * H, None)), bk.mul(bk.getitem(rz, _cols(0, H)), ghn)))
    return bk.add(n, bk.mul(bk.getitem(rz, _cols(H, None)), bk.sub(h, n))), (rz, n, ghn, h)


def _gru_backward(bk, g, cache):
    rz, n, ghn, h = cache
    H = _last(h)
    dh = bk.mul(g, bk.getitem(rz, _cols(H, None)))
    dn = bk.tanh_backward(bk.sub(g, dh), n)  # g (1 - z) through n = tanh(.)
    drz = bk.sigmoid_backward(bk.concatenate([bk.mul(dn, ghn), bk.mul(g, bk.sub(h, n))], -1), rz)
    return (bk.concatenate([drz, dn], -1),
            bk.concatenate([drz, bk.mul(dn, bk.getitem(rz, _cols(0, H)))], -1),
            dh)


def _gru_graph(gi, gh, h):
    H = _last(h)
    rz = (gi[..., :2 * H] + gh[..., :2 * H]).sigmoid()
    n = (gi[..., 2 * H:] + rz[..., :H] * gh[..., 2 * H:]).tanh()
    return n + rz[..., H:] * (h - n)


# -- LSTM: c' = sigmoid(a_f) c + sigmoid(a_i) tanh(a_g), h' = sigmoid(a_o) tanh(c'), a = gi + gh ------------
def _lstm_forward(bk, gi, gh, hc):
    H = _last(hc) // 2
    a = bk.add(gi, gh)
    s = bk.sigmoid(a)
    gt = bk.tanh(bk.getitem(a, _cols(2 * H, 3 * H)))
    c = bk.getitem(hc, _cols(H, None))
    c2 = bk.add(bk.mul(bk.getitem(s, _cols(H, 2 * H)), c), bk.mul(bk.getitem(s, _cols(0, H)), gt))
    tc = bk.tanh(c2)
    return bk.concatenate([bk.mul(bk.getitem(s, _cols(3 * H, None)), tc), c2], -1), (s, gt, tc, c)


def _lstm_backward(bk, g, cache):
    s, gt, tc, c = cache
    H = _last(c)
    i, f, o = bk.getitem(s, _cols(0, H)), bk.getitem(s, _cols(H, 2 * H)), bk.getitem(s, _cols(3 * H, None))
    gh, gc = bk.getitem(g, _cols(0, H)), bk.getitem(g, _cols(H, None))
    dc2 = bk.add(gc, bk.tanh_backward(bk.mul(gh, o), tc))  # c' reaches the loss directly and through h'
    da = bk.concatenate([bk.sigmoid_backward(bk.concatenate([bk.mul(dc2, gt), bk.mul(dc2, c)], -1),
                                             bk.getitem(s, _cols(0, 2 * H))),
                         bk.tanh_backward(bk.mul(dc2, i), gt),
                         bk.sigmoid_backward(bk.mul(gh, tc), o)], -1)
    return da, da, bk.concatenate([bk.zeros(dc2.shape, dc2.dtype), bk.mul(dc2, f)], -1)


def _lstm_graph(gi, gh, hc):
    H = _last(hc) // 2
    a = gi + gh
    s = a.sigmoid()
    c2 = s[..., H:2 * H] * hc[..., H:] + s[..., :H] * a[..., 2 * H:3 * H].tanh()
    return Cat.apply(-1, s[..., 3 * H:] * c2.tanh(), c2)


CELLS = {"gru": (_gru_forward, _gru_backward, _gru_graph), "lstm": (_lstm_forward, _lstm_backward, _lstm_graph)}


def _grad_of_graph(ctx, graph, inputs, g, n_rest):
    """Backward under create_graph: differentiate the op's graph form, so the result is itself a
    graph of the inputs."""
    from ..engine import grad
    from .shape import Reshape

    # The graph runs on aliases of the inputs: its gradient with respect to an input must count
    # only that input's direct uses here. Differentiated with respect to the inputs themselves, an
    # input that also reaches another (the state h, which feeds gh = W_hh h too) would collect the
    # other's path as well, and the outer backward adds that path again.
    aliases = [Reshape.apply(t, t.shape) if need else t for t, need in zip(inputs, ctx.needs_input_grad)]
    wanted = [t for t, need in zip(aliases, ctx.needs_input_grad) if need]
    grads = iter(grad(graph(*aliases), wanted, g, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in ctx.needs_input_grad[:len(inputs)]) + (None,) * n_rest


class _Gates(Primitive):
    """One cell step's gates: s' from (gi, gh, s); see the module docstring."""

    cell = None

    @classmethod
    def forward(cls, ctx, gi, gh, s):
        out, ctx.cache = CELLS[cls.cell][0](ctx.backend, gi.data, gh.data, s.data)
        ctx.save_for_backward(gi, gh, s)
        return out

    @classmethod
    def backward(cls, ctx, g):
        if is_grad_enabled():
            return _grad_of_graph(ctx, CELLS[cls.cell][2], ctx.saved_tensors, g, 0)
        bk = ctx.backend
        grads = CELLS[cls.cell][1](bk, g.data, ctx.cache)
        return tuple(Tensor._make(d, bk) if need else None for d, need in zip(grads, ctx.needs_input_grad))


class GRUGates(_Gates):
    """h' = GRU gates of (gi, gh, h), each gate input (..., 3H)."""

    cell = "gru"


class LSTMGates(_Gates):
    """[h', c'] = LSTM gates of (gi, gh, [h, c]), each gate input (..., 4H)."""

    cell = "lstm"


class RecurrentScan(Primitive):
    """A cell run over a sequence as one op: the states (T + 1, B, S) after each step, the last
    row the final state, from gi (T, B, G) (every step's input projection, computed beforehand in
    one product), s0 (B, S), w_hh (G, H), b_hh (G,) or None, and a plan:

        cell     "gru" or "lstm"
        keep     (T, B, 1) backend array, 0 where an episode starts (the state is zeroed before
                 that step), or None
        resets   T booleans: whether step t has any start (host side, so reset-free steps skip it)
        counts   T integers: the sequences are ordered longest first and step t runs the first
                 counts[t]; the others keep their state and their rows stay zero (padding)

    A stack of K cells (w_hh (K, G, H), as nn.stacked makes) runs K models at once, each on its
    own slice, model first: gi (K, T, B, G), s0 (K, B, S), keep (K, T, B, 1), states
    (K, T + 1, B, S); every sequence runs every step (counts all B). The products are numpy's
    stacked ones, which round each model's as the 2-D product does.
    """

    @staticmethod
    def forward(ctx, gi, s0, w, b, cell, keep, resets, counts):
        bk, step = ctx.backend, CELLS[cell][0]
        lead = _lead(w)
        T, B = gi.shape[len(lead)], gi.shape[len(lead) + 1]
        S, H = _last(s0), _last(w)
        k = tuple(gi.shape[:len(lead)])
        out = bk.zeros(k + (T + 1, B, S), s0.dtype)
        h_all = bk.zeros(k + (T, B, H), s0.dtype)  # each step's h input to W_hh, for its gradient
        s, caches = s0.data, []
        for t, n in enumerate(counts):
            if n == 0:
                caches.append(None)
                continue
            s_in = s if n == B else bk.getitem(s, slice(0, n))
            if resets[t]:
                s_in = bk.mul(s_in, bk.getitem(keep, lead + (t, slice(0, n))))
            h_in = s_in if S == H else bk.getitem(s_in, _cols(0, H))
            bk.setitem(h_all, lead + (t, slice(0, n)), h_in)
            s_new, cache = step(bk, bk.getitem(gi.data, lead + (t, slice(0, n))),
                                bk.linear(h_in, w.data, None if b is None else b.data), s_in)
            caches.append(cache)
            bk.setitem(out, lead + (t, slice(0, n)), s_new)
            s = s_new if n == B else bk.concatenate([s_new, bk.getitem(s, slice(n, None))], 0)
        bk.setitem(out, lead + (T,), s)
        ctx.save_for_backward(gi, s0, w, b)
        ctx.plan, ctx.caches, ctx.h_all = (cell, keep, resets, counts), caches, h_all
        return out

    @staticmethod
    def backward(ctx, g):
        if is_grad_enabled():
            gi, s0, w, b = ctx.saved_tensors
            return _grad_of_graph(ctx, lambda *x: scan_graph(*x, *ctx.plan), (gi, s0, w, b), g, 4)
        bk = ctx.backend
        cell, keep, resets, counts = ctx.plan
        gi, s0, w, b = ctx.saved_tensors
        lead = _lead(w)
        k = tuple(gi.shape[:len(lead)])
        T, B, G = tuple(gi.shape)[len(lead):]
        S, H = _last(s0), _last(w)
        g = g.data
        ds = bk.copy(bk.getitem(g, lead + (T,)))
        dgi = bk.zeros(k + (T, B, G), gi.dtype)
        dgh = bk.zeros(k + (T, B, G), gi.dtype)
        for t in range(T - 1, -1, -1):
            n = counts[t]
            if n == 0:
                continue
            d_new = bk.add(ds if n == B else bk.getitem(ds, slice(0, n)), bk.getitem(g, lead + (t, slice(0, n))))
            d_gi, d_gh, d_s = CELLS[cell][1](bk, d_new, ctx.caches[t])
            bk.setitem(dgi, lead + (t, slice(0, n)), d_gi)
            bk.setitem(dgh, lead + (t, slice(0, n)), d_gh)
            d_h = bk.matmul(d_gh, w.data)  # through gh = W_hh h + b_hh
            d_s = bk.add(d_s, d_h) if S == H else bk.concatenate(
                [bk.add(bk.getitem(d_s, _cols(0, H)), d_h), bk.getitem(d_s, _cols(H, None))], -1)
            if resets[t]:
                d_s = bk.mul(d_s, bk.getitem(keep, lead + (t, slice(0, n))))
            ds = d_s if n == B else bk.concatenate([d_s, bk.getitem(ds, slice(n, None))], 0)
        need_gi, need_s0, need_w, need_b = ctx.needs_input_grad[:4]
        flat_dgh = bk.reshape(dgh, k + (T * B, G))
        last_two = (0, 2, 1) if lead else (1, 0)
        dw = bk.matmul(bk.permute(flat_dgh, last_two), bk.reshape(ctx.h_all, k + (T * B, H))) if need_w else None
        db = bk.sum(flat_dgh, len(lead), False) if need_b and b is not None else None
        return tuple(None if d is None else Tensor._make(d, bk)
                     for d in (dgi if need_gi else None, ds if need_s0 else None, dw, db)) + (None,) * 4


def _lead(w) -> tuple:
    """The index prefix that keeps a stack's model axis: () for one cell, (:,) for a stack."""
    return (slice(None),) if len(w.shape) == 3 else ()


def scan_graph(gi, s0, w, b, cell, keep, resets, counts):
    """RecurrentScan's result as a graph of per-step Tensor ops: the reference its backward is
    checked against, and what it differentiates under create_graph."""
    graph_step = CELLS[cell][2]
    lead = _lead(w)
    T, B = gi.shape[len(lead)], gi.shape[len(lead) + 1]
    S, H = _last(s0), _last(w)
    bk = gi._backend
    pad = Tensor._make(bk.zeros((B, S), s0.dtype), bk)
    keep = None if keep is None else Tensor._make(keep, bk)
    s, outs = s0, []
    for t, n in enumerate(counts):
        if n == 0:
            outs.append(pad)
            continue
        s_in = s if n == B else s[:n]
        if resets[t]:
            s_in = s_in * keep[lead + (t, slice(0, n))]
        h_in = s_in if S == H else s_in[..., :H]
        s_new = graph_step(gi[lead + (t, slice(0, n))], _linear(h_in, w, b), s_in)
        outs.append(s_new if n == B else Cat.apply(0, s_new, pad[n:]))
        s = s_new if n == B else Cat.apply(0, s_new, s[n:])
    if lead:  # K models: (K, T + 1, B, S)
        return Cat.apply(1, *(o.unsqueeze(1) for o in outs), s.unsqueeze(1))
    return Cat.apply(0, *outs, s).reshape((T + 1, B, S))


def _linear(x, w, b):
    from .linalg import Linear

    return Linear.apply(x, w, b, None)
