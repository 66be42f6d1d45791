"""Every primitive in autodiff/ops.py: values against numpy, gradients against finite differences,
second derivatives against finite differences of the first (the backward rules are differentiable)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from .conftest import leaf

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (5, 1)), ((), (2, 3))]

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power),
    "maximum": (ad.maximum, np.maximum),
    "minimum": (ad.minimum, np.minimum),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
def test_binary(name, shapes, rng):
    fn, ref = BINARY[name]
    positive = name in ("div", "pow")
    a, b = leaf(rng, *shapes[0], positive=positive), leaf(rng, *shapes[1], positive=positive)
    np.testing.assert_allclose(fn(a, b).numpy(), ref(a.numpy(), b.numpy()), rtol=1e-12)
    assert gradcheck(fn, [a, b])
    assert gradgradcheck(fn, [a, b])


UNARY = {
    "neg": (lambda x: -x, np.negative, False),
    "exp": (lambda x: x.exp(), np.exp, False),
    "log": (lambda x: x.log(), np.log, True),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, True),
    "abs": (lambda x: x.abs(), np.abs, False),
    "tanh": (lambda x: x.tanh(), np.tanh, False),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), False),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), False),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), False),
    "clamp_min": (lambda x: x.clamp(min=0.1), lambda x: np.maximum(x, 0.1), False),
    "pow_const": (lambda x: x ** 3, lambda x: x ** 3, False),
    "rsub": (lambda x: 2.0 - x, lambda x: 2.0 - x, False),
    "rdiv": (lambda x: 2.0 / x, lambda x: 2.0 / x, True),
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_unary(name, shape, rng):
    fn, ref, positive = UNARY[name]
    x = leaf(rng, *shape, positive=positive)
    np.testing.assert_allclose(fn(x).numpy(), ref(x.numpy()), rtol=1e-12)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_sigmoid_is_stable_for_large_inputs():
    x = ad.tensor(np.array([-1000.0, 0.0, 1000.0], np.float32), requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_allclose(y.numpy(), [0.0, 0.5, 1.0])
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "max"])
def test_reductions(op, axis, keepdim, rng):
    x = leaf(rng, 3, 4, 2)
    fn = lambda t: getattr(t, op)(axis, keepdim)  # noqa: E731
    np.testing.assert_allclose(fn(x).numpy(), getattr(np, op)(x.numpy(), axis=axis, keepdims=keepdim))
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_max_splits_the_gradient_between_ties():
    x = ad.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5, 0])


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                                    ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul(shapes, rng):
    a, b = leaf(rng, *shapes[0]), leaf(rng, *shapes[1])
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    assert gradcheck(lambda a, b: a @ b, [a, b])
    assert gradgradcheck(lambda a, b: a @ b, [a, b])


@pytest.mark.parametrize("shapes", [((4,), (4,)), ((4,), (4, 3)), ((3, 4), (4,))])
def test_matmul_vectors(shapes, rng):
    a, b = leaf(rng, *shapes[0]), leaf(rng, *shapes[1])
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    assert gradcheck(lambda a, b: a @ b, [a, b])


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape, bias, rng):
    x, w = leaf(rng, *x_shape), leaf(rng, 2, 3)
    b = leaf(rng, 2) if bias else None
    expected = x.numpy() @ w.numpy().T + (b.numpy() if bias else 0)
    np.testing.assert_allclose(ad.linear(x, w, b).numpy(), expected, rtol=1e-12)
    args = [x, w] + ([b] if bias else [])
    fn = (lambda x, w, b: ad.linear(x, w, b)) if bias else (lambda x, w: ad.linear(x, w))
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


@pytest.mark.parametrize("fn", [
    lambda x: x.reshape(6, 4),
    lambda x: x.reshape(-1),
    lambda x: x.permute(2, 0, 1),
    lambda x: x.transpose(0, 2),
    lambda x: x.unsqueeze(1).squeeze(1),
    lambda x: x.flatten(1),
    lambda x: x[:, 1:2].expand(3, 2, 3, 4),
    lambda x: x.T,
], ids=["reshape", "reshape-1", "permute", "transpose", "unsqueeze", "flatten", "expand", "T"])
def test_shape_ops(fn, rng):
    x = leaf(rng, 2, 3, 4)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


@pytest.mark.parametrize("index", [
    (slice(None), 1),
    (Ellipsis, slice(1, 3)),
    1,
    (np.array([0, 2, 2, 1]),),  # repeated rows: their gradients add up
    (np.array([0, 1, 1]), np.array([3, 0, 0])),
    (np.array([[True, False, True, False], [False, True, True, True], [True, True, False, False]]),),
], ids=["int", "slice", "row", "repeated", "pairs", "mask"])
def test_getitem(index, rng):
    x = leaf(rng, 3, 4)
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    assert gradcheck(lambda x: x[index], [x])
    assert gradgradcheck(lambda x: x[index], [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather(axis, rng):
    x = leaf(rng, 4, 5)
    shape = (3, 5) if axis == 0 else (4, 3)
    index = rng.integers(0, x.shape[axis], shape)  # repeats included
    np.testing.assert_array_equal(x.gather(axis, index).numpy(), np.take_along_axis(x.numpy(), index, axis))
    assert gradcheck(lambda x: x.gather(axis, index), [x])
    assert gradgradcheck(lambda x: x.gather(axis, index), [x])


def test_where(rng):
    a, b = leaf(rng, 3, 4), leaf(rng, 4)
    cond = ad.tensor(rng.random((3, 4)) > 0.5)
    np.testing.assert_array_equal(ad.where(cond, a, b).numpy(), np.where(cond.numpy(), a.numpy(), b.numpy()))
    assert gradcheck(lambda a, b: ad.where(cond, a, b), [a, b])
    assert gradgradcheck(lambda a, b: ad.where(cond, a, b), [a, b])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_and_stack(axis, rng):
    a, b, c = leaf(rng, 2, 3), leaf(rng, 2, 3), leaf(rng, 2, 3)
    np.testing.assert_array_equal(ad.cat([a, b, c], axis).numpy(), np.concatenate([a.numpy(), b.numpy(), c.numpy()], axis))
    np.testing.assert_array_equal(ad.stack([a, b, c], axis).numpy(), np.stack([a.numpy(), b.numpy(), c.numpy()], axis))
    assert gradcheck(lambda a, b, c: ad.cat([a, b, c], axis), [a, b, c])
    assert gradcheck(lambda a, b, c: ad.stack([a, b, c], axis), [a, b, c])
    assert gradgradcheck(lambda a, b, c: ad.cat([a, b, c], axis) ** 2, [a, b, c])


def test_cast_keeps_gradients_flowing(rng):
    x = leaf(rng, 3)
    y = x.float()
    assert y.dtype == np.float32
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), 2)


def test_float32_is_the_default():
    assert ad.tensor([1.0, 2.0]).dtype == np.float32
    assert (ad.tensor([1.0]) * 2.5).dtype == np.float32  # Python scalars do not promote
    assert ad.zeros(2, 3).dtype == np.float32
    assert ad.tensor([1, 2]).dtype == np.int64


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_with_transposed_operands(ta, tb, rng):
    from autodiff.ops import MatMul

    a = leaf(rng, 2, *((4, 3) if ta else (3, 4)))
    b = leaf(rng, *((5, 4) if tb else (4, 5)))
    op = lambda t, flag: np.swapaxes(t, -1, -2) if flag else t  # noqa: E731
    np.testing.assert_allclose(MatMul.apply(a, b, ta, tb).numpy(), op(a.numpy(), ta) @ op(b.numpy(), tb), rtol=1e-12)
    assert gradcheck(lambda a, b: MatMul.apply(a, b, ta, tb), [a, b])
    assert gradgradcheck(lambda a, b: MatMul.apply(a, b, ta, tb), [a, b])
