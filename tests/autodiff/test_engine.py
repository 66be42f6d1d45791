"""autodiff/engine.py: the reverse walk, accumulation, hooks, higher-order gradients, grad()."""

import numpy as np
import pytest

import autodiff as ad

from .conftest import leaf


def test_a_tensor_used_twice_gets_both_contributions(rng):
    x = leaf(rng, 3)
    y = x * x + x  # x appears three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)


def test_shared_subexpression_is_differentiated_once_per_path(rng):
    x, w = leaf(rng, 4), leaf(rng, 4)
    h = (x * w).tanh()  # used by both branches below
    out = (h * 2).sum() + (h * h).sum()
    out.backward()
    hv = np.tanh(x.numpy() * w.numpy())
    dh = 2 + 2 * hv
    np.testing.assert_allclose(x.grad.numpy(), dh * (1 - hv ** 2) * w.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), dh * (1 - hv ** 2) * x.numpy(), rtol=1e-12)


def test_data_dependent_control_flow(rng):
    """The graph follows the data: a loop whose length depends on the values, different per call."""
    def f(x):
        y, steps = x, 0
        while float(y.abs().sum()) < 50.0 and steps < 100:  # length decided by the data
            y = y * 1.5 + 0.1
            steps += 1
        return (y * y).sum(), steps

    for scale in (0.1, 1.0, 5.0):
        x = ad.tensor(rng.standard_normal(3) * scale, requires_grad=True)
        out, steps = f(x)
        out.backward()
        # y = a^n x + c with a = 1.5: d(sum y^2)/dx = 2 y a^n
        y = x.numpy()
        for _ in range(steps):
            y = y * 1.5 + 0.1
        np.testing.assert_allclose(x.grad.numpy(), 2 * y * 1.5 ** steps, rtol=1e-12)
        assert ad.gradcheck(lambda t: f(t)[0], [x])


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = ad.tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-9)


def test_gradients_accumulate_across_backward_calls(rng):
    x = leaf(rng, 3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5)


def test_no_grad_records_nothing(rng):
    x = leaf(rng, 3)
    with ad.no_grad():
        y = (x * 2).exp()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()

    @ad.no_grad()
    def infer(t):
        return t * 2

    assert not infer(x).requires_grad
    with ad.no_grad():
        with ad.enable_grad():
            assert (x * 2).requires_grad
    assert ad.is_grad_enabled()


def test_detach_cuts_the_graph(rng):
    x = leaf(rng, 3)
    y = x * x.detach()  # d/dx = x (not 2x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())


def test_backward_on_non_scalar_needs_a_gradient(rng):
    x = leaf(rng, 3, 4)
    with pytest.raises(RuntimeError, match=r"shape \(3, 4\).*gradient="):
        (x * 2).backward()
    (x * 2).backward(gradient=np.ones((3, 4)))
    np.testing.assert_allclose(x.grad.numpy(), 2)
    with pytest.raises(RuntimeError, match=r"gradient of shape \(4,\) given for an output of shape \(3, 4\)"):
        (x * 2).backward(gradient=np.ones(4))


def test_backward_twice_needs_retain_graph(rng):
    x = leaf(rng, 3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_hessian_vector_product_matches_finite_differences(rng):
    A = rng.standard_normal((5, 5))

    def f(x):  # a non-quadratic scalar function
        return ((ad.tensor(A) @ x).tanh() ** 2).sum() + (x ** 4).sum()

    x = leaf(rng, 5)
    v = rng.standard_normal(5)
    g, = ad.grad(f(x), [x], create_graph=True)
    hv, = ad.grad((g * ad.tensor(v)).sum(), [x])

    def gradient_at(point):
        p = ad.tensor(point, requires_grad=True)
        return ad.grad(f(p), [p])[0].numpy()

    eps = 1e-6
    numeric = (gradient_at(x.numpy() + eps * v) - gradient_at(x.numpy() - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_backward_with_create_graph_gives_differentiable_grads(rng):
    x = leaf(rng, 3)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    gx = x.grad
    x.grad = None
    gx.sum().backward()  # d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_create_graph_off_leaves_plain_grads(rng):
    x = leaf(rng, 3)
    (x.exp()).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_grad_returns_without_touching_dot_grad(rng):
    x, y = leaf(rng, 3), leaf(rng, 3)
    gx, gy = ad.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), y.numpy())
    np.testing.assert_allclose(gy.numpy(), x.numpy())
    assert x.grad is None and y.grad is None


def test_grad_of_an_intermediate(rng):
    x = leaf(rng, 3)
    h = x * 2
    out = (h * h).sum()
    gh, = ad.grad(out, [h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_grad_unused_input(rng):
    x, z = leaf(rng, 3), leaf(rng, 3)
    with pytest.raises(RuntimeError, match="not used"):
        ad.grad((x * 2).sum(), [x, z])
    gx, gz = ad.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None


def test_hooks_inspect_and_replace_gradients(rng):
    x = leaf(rng, 3)
    seen = []
    h = x * 2
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)  # a leaf hook changes what is accumulated
    (h * 3).sum().backward()
    np.testing.assert_allclose(seen[0], 3)
    np.testing.assert_allclose(x.grad.numpy(), 60)
    handle.remove()
    x.grad = None
    h2 = x * 2
    (h2 * 3).sum().backward()
    assert len(seen) == 1


def test_hook_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.tensor([1.0]).register_hook(lambda g: g)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        ad.tensor([1, 2], requires_grad=True)


def test_a_gradient_has_its_inputs_dtype(rng):
    """Through an op of mixed dtypes (float32 @ float64 is float64) and from a seed of another
    dtype, each input's gradient is cast to its own dtype, as in PyTorch."""
    x = ad.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    w = ad.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    y = x @ w
    assert y.dtype == np.float64
    y.backward(ad.tensor(np.ones((3, 2))))
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), np.ones((3, 2)) @ w.numpy().T, rtol=1e-6)
    x.grad = None
    x.backward(ad.tensor(np.ones((3, 4))))  # a float64 seed for a float32 leaf
    assert x.grad.dtype == np.float32
