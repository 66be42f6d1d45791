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


def _cells_as_used():
    """Each recurrent op as the layers use it, the state feeding both its own input and the
    hidden product (h -> W_hh h + b_hh -> gates <- h): name -> (f(x, h) -> a scalar, its module)."""
    ad.manual_seed(0)
    gru, lstm = ad.nn.GRUCell(2, 3, dtype=np.float64), ad.nn.LSTMCell(2, 3, dtype=np.float64)
    gru_layer, lstm_layer = ad.nn.GRU(2, 3, dtype=np.float64), ad.nn.LSTM(2, 3, dtype=np.float64)
    starts = np.zeros((3, 4), bool)
    starts[1, 2] = True

    def layer_in_two_chunks(layer, x, h):  # chunk 2 starts from chunk 1's last state
        state = h if layer is gru_layer else (h, h * 0.5)
        out1, state = layer(x[:2], state)
        out2, _ = layer(x[2:], state, starts=starts)
        return (out1 ** 2).sum() + (out2 ** 2).sum()

    return {
        "GRUCell": (lambda x, h: (gru(x[0], h) ** 2).sum(), gru),
        "LSTMCell": (lambda x, h: (lstm(x[0], (h, h * 0.5))[0] ** 2).sum(), lstm),
        "GRU over two chunks": (lambda x, h: layer_in_two_chunks(gru_layer, x, h), gru_layer),
        "LSTM over two chunks": (lambda x, h: layer_in_two_chunks(lstm_layer, x, h), lstm_layer),
    }


@pytest.mark.parametrize("name", sorted(_cells_as_used()))
def test_gradients_with_create_graph_are_the_first_order_ones(name, rng):
    """Under create_graph an op differentiates its graph form; its gradient with respect to an
    input must count only that input's own uses, even when the input also reaches another one."""
    fn, module = _cells_as_used()[name]
    x, h = leaf(rng, 5, 4, 2), leaf(rng, 4, 3)
    inputs = [x, h] + module.parameters()  # a layer's weights reach both chunks
    plain = ad.grad(fn(x, h), inputs)
    graphed = ad.grad(fn(x, h), inputs, create_graph=True)
    for a, b in zip(plain, graphed):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12, atol=1e-14)
    assert gradgradcheck(fn, [x, h])  # second derivatives against finite differences
