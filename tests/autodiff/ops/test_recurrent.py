"""autodiff/ops/recurrent.py: the GRU and LSTM gate ops against numpy, by gradcheck and gradgradcheck."""

import numpy as np

from autodiff import gradcheck, gradgradcheck, ops

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
    a, c = leaf(rng, 3, 4 * H), leaf(rng, 3, H)
    av, cv = a.numpy(), c.numpy()
    i, f, g, o = sigmoid(av[:, :H]), sigmoid(av[:, H:2 * H]), np.tanh(av[:, 2 * H:3 * H]), sigmoid(av[:, 3 * H:])
    c2 = f * cv + i * g
    expected = np.concatenate([o * np.tanh(c2), c2], -1)
    np.testing.assert_allclose(ops.LSTMGates.apply(a, c).numpy(), expected, rtol=1e-12)
    assert gradcheck(ops.LSTMGates.apply, [a, c])
    assert gradgradcheck(ops.LSTMGates.apply, [a, c])


def test_gates_over_leading_dims(rng):
    gi, gh, h = leaf(rng, 2, 3, 6), leaf(rng, 2, 3, 6), leaf(rng, 2, 3, 2)
    assert gradcheck(ops.GRUGates.apply, [gi, gh, h])
