"""autodiff/nn.py: initialisation, layers against numpy references, stacked models, and a small
network that learns XOR (Module's bookkeeping is in test_module.py)."""

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, nn, optim


@pytest.mark.parametrize("shape, gain", [((4, 8), 1.0), ((8, 4), math.sqrt(2)), ((5, 5), 0.01)])
def test_orthogonal_init(shape, gain):
    w = nn.Linear(shape[1], shape[0], gain=gain, bias_const=0.5).weight.numpy().astype(np.float64)
    small = w @ w.T if shape[0] <= shape[1] else w.T @ w
    np.testing.assert_allclose(small, gain ** 2 * np.eye(min(shape)), atol=1e-5)
    np.testing.assert_array_equal(nn.Linear(shape[1], shape[0], bias_const=0.5).bias.numpy(), 0.5)


@pytest.mark.parametrize("activation, ref", [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0)), (None, lambda z: z)])
def test_linear_with_fused_activation(activation, ref, rng):
    layer = nn.Linear(3, 4, activation=activation, bias_const=0.1, dtype=np.float64)
    x = ad.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    np.testing.assert_allclose(layer(x).numpy(), ref(x.numpy() @ layer.weight.numpy().T + 0.1), rtol=1e-12)
    assert gradcheck(lambda x, w, b: ad.linear(x, w, b, activation), [x, layer.weight, layer.bias])
    with pytest.raises(ValueError, match="valid: None, 'tanh', 'relu'"):
        nn.Linear(3, 4, activation="gelu")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fused_activation_equals_linear_then_activation(activation, rng):
    x, w, b = (ad.tensor(rng.standard_normal(s), requires_grad=True) for s in ((5, 3), (4, 3), (4,)))
    g = rng.standard_normal((5, 4))
    fused = ad.linear(x, w, b, activation)
    unfused = getattr(ad.linear(x, w, b), activation)()
    np.testing.assert_allclose(fused.numpy(), unfused.numpy(), rtol=1e-12, atol=1e-15)
    grads_fused = ad.grad([fused], [x, w, b], grad_outputs=[ad.tensor(g)])
    grads_unfused = ad.grad([unfused], [x, w, b], grad_outputs=[ad.tensor(g)])
    for a, c in zip(grads_fused, grads_unfused):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12, atol=1e-15)


def test_mlp_structure_gains_and_activations():
    mlp = nn.MLP([4, 64, 64, 2], "tanh", output_gain=0.01)
    assert len(mlp) == 3 and [layer.activation for layer in mlp] == ["tanh", "tanh", None]
    last = mlp[2].weight.numpy().astype(np.float64)
    np.testing.assert_allclose(last @ last.T, 1e-4 * np.eye(2), atol=1e-7)
    hidden = mlp[1].weight.numpy().astype(np.float64)
    np.testing.assert_allclose(hidden @ hidden.T, 2 * np.eye(64), atol=1e-4)
    sig = nn.MLP([2, 3, 1], "sigmoid", output_activation="sigmoid")
    assert [type(m).__name__ for m in sig] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    trunk = nn.MLP([2, 3, 4], "tanh", output_activation="tanh")  # tanh and relu fuse into the last layer too
    assert len(trunk) == 2 and [layer.activation for layer in trunk] == ["tanh", "tanh"]
    with pytest.raises(ValueError, match="unknown activation 'swish'; valid: tanh, relu, sigmoid, identity"):
        nn.MLP([2, 2], "swish")


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_mlp_without_a_graph_computes_what_its_ops_do(activation, rng):
    # Under no_grad an MLP of fused Linear layers runs them back to back in the backend; it must
    # give the op-by-op result bit for bit, and leave shape errors to the ops that name them.
    net = nn.MLP([5, 16, 16, 3], activation)
    x = ad.tensor(rng.standard_normal((7, 5)).astype(np.float32))
    recorded = net(x).numpy()
    with ad.no_grad():
        out = net(x)
        assert not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), recorded)
        with pytest.raises(ValueError, match=r"Linear failed on inputs of shapes \(7, 4\)"):
            net(ad.tensor(np.zeros((7, 4), np.float32)))
    with ad.no_grad(), ad.detect_anomaly():
        np.testing.assert_array_equal(net(x).numpy(), recorded)


def test_embedding_accumulates_repeated_indices(rng):
    emb = nn.Embedding(5, 3, dtype=np.float64)
    idx = np.array([[0, 2], [2, 4], [2, 0]])
    out = emb(ad.tensor(idx))
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((5, 3))
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected)
    with pytest.raises(TypeError, match="integer indices"):
        emb(ad.tensor([0.5]))


def test_mlp_learns_xor():
    ad.manual_seed(0)
    x = ad.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = ad.tensor([[0.0], [1.0], [1.0], [0.0]])
    net = nn.MLP([2, 8, 1], "tanh")
    opt = optim.Adam(net.parameters(), lr=0.05)
    for _ in range(500):
        opt.zero_grad()
        loss = ad.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    assert float(loss) < 0.01
    np.testing.assert_array_equal(np.round(net(x).numpy()), y.numpy())


# -- stacks of models (nn.stacked): model k of a stack is the single model built with seed k ---------
def _stack_mlp_train(seeds, steps=4, activation="tanh", sizes=(4, 64, 64, 2)):
    """A few Adam steps with per-model clipping on a stack; returns parameters and the last norms."""
    net = nn.stacked(lambda: nn.MLP(list(sizes), activation), seeds)
    opt = optim.Adam(net.parameters(), lr=1e-2, models=len(seeds))
    xs = np.stack([np.random.default_rng(s).standard_normal((64, sizes[0])).astype(np.float32) for s in seeds])
    for _ in range(steps):
        loss = (net(ad.tensor(xs)) ** 2).mean(-1).mean(-1)
        opt.zero_grad()
        loss.sum().backward()
        norms = optim.clip_grad_norm_(net.parameters(), 0.05)
        opt.step()
    return [p.numpy() for p in net.parameters()], norms.numpy()


@pytest.mark.parametrize("activation, sizes", [("tanh", (4, 64, 64, 2)), ("relu", (4, 256, 256, 2)),
                                               ("tanh", (3, 16, 1))])
def test_a_stacked_model_trains_bit_for_bit_as_the_model_alone(activation, sizes):
    stack, stack_norms = _stack_mlp_train([3, 4, 5], activation=activation, sizes=sizes)
    for k, seed in enumerate([3, 4, 5]):
        alone, alone_norms = _stack_mlp_train([seed], activation=activation, sizes=sizes)
        for a, b in zip(stack, alone):
            np.testing.assert_array_equal(a[k], b[0])
        assert stack_norms[k] == alone_norms[0]


def test_a_stacked_linear_matches_each_model_forward_and_backward():
    rng = np.random.default_rng(0)
    net = nn.stacked(lambda: nn.Linear(5, 3, activation="relu"), [1, 2])
    x = ad.tensor(rng.standard_normal((2, 7, 5)), dtype="float32", requires_grad=True)
    (net(x) ** 2).sum().backward()
    for k in range(2):
        w, b = net.weight.numpy()[k], net.bias.numpy()[k]
        single = nn.Linear(5, 3, activation="relu")
        single.load_state_dict({"weight": w, "bias": b})
        xk = ad.tensor(x.numpy()[k], requires_grad=True)
        (single(xk) ** 2).sum().backward()
        np.testing.assert_allclose(net.weight.grad.numpy()[k], single.weight.grad.numpy(), rtol=1e-5)
        np.testing.assert_allclose(net.bias.grad.numpy()[k], single.bias.grad.numpy(), rtol=1e-5)
        np.testing.assert_allclose(x.grad.numpy()[k], xk.grad.numpy(), rtol=1e-5)


def test_a_stacked_linear_refuses_inputs_without_the_model_axis():
    net = nn.stacked(lambda: nn.Linear(5, 3), [1, 2])
    with pytest.raises(ValueError, match="stack of 2 layers"):
        with ad.no_grad():
            net(ad.zeros(7, 5))
