"""Recurrent layers: GRU and LSTM cells, and the same cells run over sequences.

The sequence layers follow the data, as a define-by-run graph can: a per-step `starts` mask
resets the hidden state where an episode begins inside a sequence, and `lengths` lets a batch
hold sequences of different lengths. Steps past a sequence's end are not computed at all: the
sequences are ordered longest first, step t runs the cell on the ones still going, and the
others' states are carried unchanged. So padding costs no work, its outputs are zeros, and its
inputs get exactly zero gradient.

A layer runs a whole sequence as one op (RecurrentScan in autodiff/ops/recurrent.py: its forward
and backward-through-time loops call the backend directly, recording nothing per step); a cell
called step by step (acting in an env) is three ops per call.

Tensors are time-major, (T, B, features), as PyTorch's default; states are (B, H).
"""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from . import ops
from .module import Module, Parameter, _host_rng
from .tensor import DEFAULT_DTYPE, Tensor


def _uniform_parameters(module, shapes, hidden_size, dtype, device, generator):
    """PyTorch's recurrent initialisation: every weight and bias from U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    rng = _host_rng(generator)
    for name, shape in shapes.items():
        setattr(module, name, Parameter(Tensor(rng.uniform(-bound, bound, shape).astype(dtype), device=device)))


class GRUCell(Module):
    """One GRU step with PyTorch's equations and parameter names:
        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h
    Three ops each way: the two products and the gates (autodiff/ops/recurrent.py)."""

    kind = "gru"

    def __init__(self, input_size, hidden_size, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        _uniform_parameters(self, {"weight_ih": (3 * H, input_size), "weight_hh": (3 * H, H),
                                   "bias_ih": (3 * H,), "bias_hh": (3 * H,)}, H, dtype, device, generator)

    state_size = property(lambda self: self.hidden_size)

    def forward(self, x, h):
        return ops.GRUGates.apply(F.linear(x, self.weight_ih, self.bias_ih),
                                  F.linear(h, self.weight_hh, self.bias_hh), h)

    step = forward  # the step on the state the GRU layer carries: h itself

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class LSTMCell(Module):
    """One LSTM step with PyTorch's equations and parameter names (gates i, f, g, o):
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c')
    `cell(x, (h, c))` returns (h', c')."""

    kind = "lstm"

    def __init__(self, input_size, hidden_size, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        _uniform_parameters(self, {"weight_ih": (4 * H, input_size), "weight_hh": (4 * H, H),
                                   "bias_ih": (4 * H,), "bias_hh": (4 * H,)}, H, dtype, device, generator)

    state_size = property(lambda self: 2 * self.hidden_size)  # h and c side by side

    def forward(self, x, state):
        h, c = state
        hc = self.step(x, F.cat([h, c], -1))
        return hc[..., :self.hidden_size], hc[..., self.hidden_size:]

    def step(self, x, hc):
        """The step on h and c kept side by side as one (B, 2H) state, as the LSTM layer runs it."""
        return ops.LSTMGates.apply(F.linear(x, self.weight_ih, self.bias_ih),
                                   F.linear(hc[..., :self.hidden_size], self.weight_hh, self.bias_hh), hc)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class _Recurrent(Module):
    """A cell run over a (T, B, input) sequence; see the module docstring for `starts` and `lengths`."""

    def scan(self, x, state, starts=None, lengths=None):
        """The cell over x from `state`, both in the cell's own state layout (B, cell.state_size):
        (states after every step (T, B, state_size), final state). An LSTM's state is h and c side
        by side; `forward` gives PyTorch's layout."""
        cell = self.cell
        if len(cell.weight_hh.shape) == 3:
            return self._scan_models(x, state, starts, lengths)
        T, B = x.shape[0], x.shape[1]
        S = cell.state_size
        if x.ndim != 3 or x.shape[2] != cell.input_size:
            raise ValueError(f"{type(self).__name__} expects input (T, B, {cell.input_size}), got {x.shape}")
        if state.shape != (B, S):
            raise ValueError(f"{type(self).__name__}: the state for {B} sequences must be ({B}, {S}), got {state.shape}")
        reset = np.zeros((T, B), bool)
        if starts is not None:
            reset = _host(starts).astype(bool)
            if reset.shape != (T, B):
                raise ValueError(f"starts must be (T, B) = {(T, B)}, got {reset.shape}")
        n = np.full(B, T)
        if lengths is not None:
            n = _host(lengths).astype(np.int64)
            if n.shape != (B,) or (n < 0).any() or (n > T).any():
                raise ValueError(f"lengths must be {B} integers in [0, {T}], got {n.tolist()}")
        order = np.argsort(-n, kind="stable")  # longest first: the sequences still going are a prefix
        if (order == np.arange(B)).all():
            order = None
        else:
            x, state, reset, n = x[:, order], state[order], reset[:, order], n[order]
        real = np.arange(T)[:, None] < n[None, :]
        if real.all():  # every step's input product at once
            gi = F.linear(x, cell.weight_ih, cell.bias_ih)
        else:  # only the real steps': padding is never read, so never turns into a NaN or a gradient
            gi = ops.IndexAdd.apply(F.linear(x[real], cell.weight_ih, cell.bias_ih),
                                    (T, B, cell.weight_ih.shape[0]), real)
        keep = x._backend.asarray((~reset).astype(x.dtype)[..., None]) if reset.any() else None
        out = ops.RecurrentScan.apply(gi, state, cell.weight_hh, cell.bias_hh, cell.kind, keep,
                                      reset.any(axis=1).tolist(), real.sum(axis=1).tolist())
        states, final = out[:T], out[T]
        if order is not None:
            inverse = np.argsort(order)
            states, final = states[:, inverse], final[inverse]
        return states, final

    def _scan_models(self, x, state, starts, lengths):
        """A stack of K cells (nn.stacked): x (K, T, B, input), state (K, B, S), starts (K, T, B);
        returns states (K, T, B, S) and the final state (K, B, S). Model k's result is bit for
        bit its cell's alone on x[k]."""
        cell = self.cell
        K = cell.weight_hh.shape[0]
        S = cell.state_size
        name = type(self).__name__
        if x.ndim != 4 or x.shape[0] != K or x.shape[3] != cell.input_size:
            raise ValueError(f"a stack of {K} {name}s expects input (K={K}, T, B, {cell.input_size}), got {x.shape}")
        T, B = x.shape[1], x.shape[2]
        if state.shape != (K, B, S):
            raise ValueError(f"a stack of {K} {name}s: the state must be (K, B, S) = {(K, B, S)}, got {state.shape}")
        if lengths is not None:
            raise ValueError(f"a stack of {name}s runs whole sequences: lengths are not supported")
        reset = np.zeros((K, T, B), bool)
        if starts is not None:
            reset = _host(starts).astype(bool)
            if reset.shape != (K, T, B):
                raise ValueError(f"starts must be (K, T, B) = {(K, T, B)}, got {reset.shape}")
        gi = F.linear(x, cell.weight_ih, cell.bias_ih)
        keep = x._backend.asarray((~reset).astype(x.dtype)[..., None]) if reset.any() else None
        out = ops.RecurrentScan.apply(gi, state, cell.weight_hh, cell.bias_hh, cell.kind, keep,
                                      reset.any(axis=(0, 2)).tolist(), [B] * T)
        return out[:, :T], out[:, T]


class GRU(_Recurrent):
    """A GRU over sequences: `gru(x, h0=None, starts=None, lengths=None) -> (out, h_n)` with x
    (T, B, input_size), h0 and h_n (B, hidden_size), out (T, B, hidden_size).

    starts  (T, B), true where a new episode begins at step t: the state is zeroed before the step
    lengths (B,), steps in each sequence: steps past it are padding, not computed; out is zero
            there and h_n is each sequence's state after its last real step"""

    def __init__(self, input_size, hidden_size, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.cell = GRUCell(input_size, hidden_size, dtype, device, generator)

    def initial_state(self, batch, device=None):
        return Tensor(np.zeros((batch, self.hidden_size), self.cell.weight_hh.dtype),
                      device=device or self.cell.weight_hh.device)

    def forward(self, x, h0=None, starts=None, lengths=None):
        h0 = self.initial_state(x.shape[1], x.device) if h0 is None else h0
        return self.scan(x, h0, starts, lengths)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class LSTM(_Recurrent):
    """An LSTM over sequences: `lstm(x, (h0, c0)=None, starts=None, lengths=None) -> (out, (h_n, c_n))`
    with the shapes, `starts` and `lengths` of GRU."""

    def __init__(self, input_size, hidden_size, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.cell = LSTMCell(input_size, hidden_size, dtype, device, generator)

    def initial_state(self, batch, device=None):
        zeros = np.zeros((batch, self.hidden_size), self.cell.weight_hh.dtype)
        device = device or self.cell.weight_hh.device
        return Tensor(zeros, device=device), Tensor(zeros, device=device)

    def forward(self, x, state=None, starts=None, lengths=None):
        h0, c0 = self.initial_state(x.shape[1], x.device) if state is None else state
        out, hc = self.scan(x, F.cat([h0, c0], -1), starts, lengths)
        H = self.hidden_size
        return out[..., :H], (hc[..., :H], hc[..., H:])

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


def _host(x) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)
