"""autodiff/ops/recurrent.py: the GRU and LSTM gate ops against numpy; the sequence op's fast
forward and backward against its per-step graph form; gradcheck and gradgradcheck for all."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck, ops
from autodiff.ops.recurrent import scan_graph

from ..conftest import leaf


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_gru_gates(rng):
    H = 3
    gi, gh, h = leaf(rng, 4, 3 * H), leaf(rng, 4, 3 * H), leaf(rng, 4, H)
    a, b, hv = gi.numpy(), gh.numpy(), h.numpy()
    r, z = sigmoid(a[:, :H] + b[:, :H]), sigmoid(a[:, H:2 * H] + b[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + r * b[:, 2 * H:])
    np.testing.assert_allclose(ops.GRUGates.apply(gi, gh, h).numpy(), (1 - z) * n + z * hv, rtol=1e-12)
    assert gradcheck(ops.GRUGates.apply, [gi, gh, h])
    assert gradgradcheck(ops.GRUGates.apply, [gi, gh, h])


def test_lstm_gates(rng):
    H = 2
    gi, gh, hc = leaf(rng, 3, 4 * H), leaf(rng, 3, 4 * H), leaf(rng, 3, 2 * H)
    av, cv = gi.numpy() + gh.numpy(), hc.numpy()[:, H:]
    i, f, g, o = sigmoid(av[:, :H]), sigmoid(av[:, H:2 * H]), np.tanh(av[:, 2 * H:3 * H]), sigmoid(av[:, 3 * H:])
    c2 = f * cv + i * g
    expected = np.concatenate([o * np.tanh(c2), c2], -1)
    np.testing.assert_allclose(ops.LSTMGates.apply(gi, gh, hc).numpy(), expected, rtol=1e-12)
    assert gradcheck(ops.LSTMGates.apply, [gi, gh, hc])
    assert gradgradcheck(ops.LSTMGates.apply, [gi, gh, hc])


def test_gates_over_leading_dims(rng):
    gi, gh, h = leaf(rng, 2, 3, 6), leaf(rng, 2, 3, 6), leaf(rng, 2, 3, 2)
    assert gradcheck(ops.GRUGates.apply, [gi, gh, h])


def scan_case(rng, cell, T=5, B=4, H=3):
    G = (3 if cell == "gru" else 4) * H
    S = H if cell == "gru" else 2 * H
    reset = rng.random((T, B)) < 0.3
    keep = (~reset).astype(np.float64)[..., None]
    counts = [4, 4, 3, 1, 0]  # sequences of lengths 4, 3, 3, 1 (longest first), and a step none reaches
    inputs = [leaf(rng, T, B, G), leaf(rng, B, S), leaf(rng, G, H), leaf(rng, G)]
    plan = (cell, keep, reset.any(axis=1).tolist(), counts)
    return inputs, plan


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_scan_matches_its_per_step_graph(cell, rng):
    inputs, plan = scan_case(rng, cell)
    fast = ops.RecurrentScan.apply(*inputs, *plan)
    slow = scan_graph(*inputs, *plan)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-12)
    g = ad.tensor(rng.standard_normal(fast.shape))
    fast_grads = ad.grad(fast, inputs, g)
    slow_grads = ad.grad(slow, inputs, g)
    for name, a, b in zip(["gi", "s0", "w_hh", "b_hh"], fast_grads, slow_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert not fast.numpy()[4].any()  # the step no sequence reaches stays zero


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_scan_gradcheck_and_gradgradcheck(cell, rng):
    inputs, plan = scan_case(rng, cell, T=5, B=4, H=2)

    def scan(*x):
        return ops.RecurrentScan.apply(*x, *plan)

    assert gradcheck(scan, inputs)
    assert gradgradcheck(scan, inputs)
