"""autodiff/recurrent.py: GRU and LSTM cells and sequence layers against numpy references, resets
inside sequences, sequences of different lengths, chunked sequences with carried state, and stacks
of layers against each layer alone."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, nn


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRU equations in numpy."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    H = h.shape[-1]
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTM equations in numpy."""
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    H = h.shape[-1]
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c + i * g
    return o * np.tanh(c), c


def weights(cell):
    return [p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]


def reference(layer, x, h0, starts, lengths):
    """The layer over each sequence alone, step by step in numpy: (out, final state)."""
    T, B, _ = x.shape
    lstm = isinstance(layer, nn.LSTM)
    H = layer.hidden_size
    out = np.zeros((T, B, H))
    final = []
    for b in range(B):
        h = h0[0][b:b + 1] if lstm else h0[b:b + 1]
        c = h0[1][b:b + 1] if lstm else None
        for t in range(lengths[b]):
            if starts[t, b]:
                h = np.zeros_like(h)
                c = np.zeros_like(c) if lstm else None
            if lstm:
                h, c = lstm_step(x[t, b:b + 1], h, c, *weights(layer.cell))
            else:
                h = gru_step(x[t, b:b + 1], h, *weights(layer.cell))
            out[t, b] = h[0]
        final.append((h[0], c[0]) if lstm else h[0])
    return out, final


def test_cells_against_numpy(rng):
    gru, lstm = nn.GRUCell(3, 4, dtype=np.float64), nn.LSTMCell(3, 4, dtype=np.float64)
    x, h, c = rng.standard_normal((5, 3)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(gru(ad.tensor(x), ad.tensor(h)).numpy(), gru_step(x, h, *weights(gru)), rtol=1e-12)
    h2, c2 = lstm(ad.tensor(x), (ad.tensor(h), ad.tensor(c)))
    eh, ec = lstm_step(x, h, c, *weights(lstm))
    np.testing.assert_allclose(h2.numpy(), eh, rtol=1e-12)
    np.testing.assert_allclose(c2.numpy(), ec, rtol=1e-12)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_sequences_with_resets_and_lengths_against_numpy(kind, rng):
    T, B, I, H = 7, 5, 3, 4
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(I, H, dtype=np.float64)
    x = rng.standard_normal((T, B, I))
    starts = rng.random((T, B)) < 0.25
    lengths = np.array([7, 2, 5, 0, 7])
    h0 = rng.standard_normal((B, H))
    state = h0 if kind == "gru" else (h0, rng.standard_normal((B, H)))
    arg = ad.tensor(state) if kind == "gru" else tuple(ad.tensor(s) for s in state)
    out, final = layer(ad.tensor(x), arg, starts=starts, lengths=lengths)
    expected_out, expected_final = reference(layer, x, state, starts, lengths)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-10, atol=1e-12)
    if kind == "gru":
        np.testing.assert_allclose(final.numpy(), np.array(expected_final), rtol=1e-10)
    else:
        np.testing.assert_allclose(final[0].numpy(), np.array([h for h, _ in expected_final]), rtol=1e-10)
        np.testing.assert_allclose(final[1].numpy(), np.array([c for _, c in expected_final]), rtol=1e-10)
    # the sequence of length 0 keeps its initial state
    np.testing.assert_array_equal((final if kind == "gru" else final[0]).numpy()[3], h0[3])


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_gradcheck_over_sequences_with_resets_and_lengths(kind, rng):
    T, B, I, H = 4, 3, 2, 3
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(I, H, dtype=np.float64)
    x = ad.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    h0 = ad.tensor(rng.standard_normal((B, H)), requires_grad=True)
    starts = np.array([[0, 0, 1], [1, 0, 0], [0, 0, 0], [0, 1, 0]], bool)
    lengths = [3, 4, 2]
    params = list(layer.parameters())

    def run(x, h0, *ps):
        for (name, _), p in zip(layer.cell.named_parameters(), ps):
            object.__setattr__(layer.cell, name, p)
        state = h0 if kind == "gru" else (h0, h0 * 0.5)
        out, final = layer(x, state, starts=starts, lengths=lengths)
        return out.sum(-1) + (final if kind == "gru" else final[1]).sum()

    assert gradcheck(run, [x, h0, *params])


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_padding_gets_zero_gradient_and_is_never_read(kind, rng):
    T, B, I, H = 6, 3, 2, 4
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(I, H, dtype=np.float64)
    lengths = np.array([6, 2, 4])
    x = rng.standard_normal((T, B, I))
    padded = np.arange(T)[:, None] >= lengths[None, :]
    x_nan = x.copy()
    x_nan[padded] = np.nan  # if any padded input were read, NaN would reach the outputs
    xt = ad.tensor(x_nan, requires_grad=True)
    out, final = layer(xt, starts=None, lengths=lengths)
    assert np.isfinite(out.numpy()).all()
    np.testing.assert_array_equal(out.numpy()[padded], 0.0)
    (out.sum() + (final if kind == "gru" else final[0]).sum()).backward()
    g = xt.grad.numpy()
    np.testing.assert_array_equal(g[padded], 0.0)
    assert (np.abs(g[~padded]).sum(-1) > 0).all()
    for p in layer.parameters():
        assert np.isfinite(p.grad.numpy()).all()


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_chunks_with_carried_state_equal_one_long_sequence(kind, rng):
    T, B, I, H = 12, 3, 2, 4
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(I, H, dtype=np.float64)
    x = rng.standard_normal((T, B, I))
    starts = rng.random((T, B)) < 0.2
    target = rng.standard_normal((T, B, H))

    def grads_and_loss(chunks):
        layer.zero_grad()
        state, loss, begin = None, 0.0, 0
        for size in chunks:
            sl = slice(begin, begin + size)
            out, state = layer(ad.tensor(x[sl]), state, starts=starts[sl])
            loss = loss + ((out - ad.tensor(target[sl])) ** 2).sum()
            begin += size
        loss.backward()
        return float(loss), [p.grad.numpy().copy() for p in layer.parameters()]

    whole_loss, whole_grads = grads_and_loss([T])
    chunk_loss, chunk_grads = grads_and_loss([5, 4, 3])
    assert chunk_loss == pytest.approx(whole_loss, rel=1e-12)
    for a, b in zip(whole_grads, chunk_grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_shapes_are_checked():
    gru = nn.GRU(3, 4)
    with pytest.raises(ValueError, match=r"expects input \(T, B, 3\)"):
        gru(ad.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="starts must be"):
        gru(ad.zeros(5, 2, 3), starts=np.zeros((5, 3), bool))
    with pytest.raises(ValueError, match=r"lengths must be 2 integers in \[0, 5\]"):
        gru(ad.zeros(5, 2, 3), lengths=[6, 1])
    with pytest.raises(ValueError, match=r"must be \(2, 4\)"):
        gru(ad.zeros(5, 2, 3), ad.zeros(3, 4))


@pytest.mark.parametrize("layer", [nn.GRU, nn.LSTM])
def test_a_stack_of_layers_is_each_layer_alone_bit_for_bit(layer, rng):
    """nn.stacked layers over (K, T, B, input) with each model's own resets: states, final state
    and every gradient of model k equal those of its layer run alone on its slice."""
    K, T, B, n_in, H = 3, 6, 4, 3, 5
    stack = nn.stacked(lambda: layer(n_in, H), [1, 2, 3])
    S = stack.cell.state_size
    x = ad.tensor(rng.standard_normal((K, T, B, n_in)).astype(np.float32), requires_grad=True)
    s0 = ad.tensor(rng.standard_normal((K, B, S)).astype(np.float32), requires_grad=True)
    starts = rng.random((K, T, B)) < 0.3
    states, final = stack.scan(x, s0, starts)
    ((states ** 2).sum() + final.sum()).backward()
    assert states.shape == (K, T, B, S) and final.shape == (K, B, S)
    for k, seed in enumerate([1, 2, 3]):
        ad.manual_seed(seed)
        alone = layer(n_in, H)
        xk, sk = ad.tensor(x.numpy()[k], requires_grad=True), ad.tensor(s0.numpy()[k], requires_grad=True)
        states_k, final_k = alone.scan(xk, sk, starts[k])
        ((states_k ** 2).sum() + final_k.sum()).backward()
        np.testing.assert_array_equal(states.numpy()[k], states_k.numpy())
        np.testing.assert_array_equal(final.numpy()[k], final_k.numpy())
        np.testing.assert_array_equal(x.grad.numpy()[k], xk.grad.numpy())
        np.testing.assert_array_equal(s0.grad.numpy()[k], sk.grad.numpy())
        for (name, p), (_, q) in zip(stack.named_parameters(), alone.named_parameters()):
            np.testing.assert_array_equal(p.grad.numpy()[k], q.grad.numpy(), err_msg=f"model {k}: {name}")


def test_a_stack_checks_its_shapes():
    gru = nn.stacked(lambda: nn.GRU(3, 4), [1, 2])
    with pytest.raises(ValueError, match=r"a stack of 2 GRUs expects input \(K=2, T, B, 3\)"):
        gru.scan(ad.zeros(5, 2, 3), ad.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"the state must be \(K, B, S\) = \(2, 2, 4\)"):
        gru.scan(ad.zeros(2, 5, 2, 3), ad.zeros(2, 4))
    with pytest.raises(ValueError, match="lengths are not supported"):
        gru.scan(ad.zeros(2, 5, 2, 3), ad.zeros(2, 2, 4), lengths=[5, 5])


def test_state_dict_names_follow_pytorch():
    assert sorted(nn.GRU(2, 3).state_dict()) == ["cell.bias_hh", "cell.bias_ih", "cell.weight_hh", "cell.weight_ih"]
    assert nn.LSTM(2, 3).cell.weight_ih.shape == (12, 2)
