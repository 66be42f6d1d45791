"""autodiff/ops/elementwise.py: values against numpy, gradients and second derivatives against
finite differences (the backward rules are differentiable)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from ..conftest import leaf


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
    # leaf() draws from N(0, 1), so both of Huber's pieces are exercised at each beta.
    "huber": (lambda x: ad.ops.Huber.apply(x, 1.0),
              lambda x: np.where(np.abs(x) < 1, 0.5 * x * x, np.abs(x) - 0.5), False),
    "huber_beta": (lambda x: ad.ops.Huber.apply(x, 0.3),
                   lambda x: np.where(np.abs(x) < 0.3, x * x / 0.6, np.abs(x) - 0.15), False),
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

def test_where(rng):
    a, b = leaf(rng, 3, 4), leaf(rng, 4)
    cond = ad.tensor(rng.random((3, 4)) > 0.5)
    np.testing.assert_array_equal(ad.where(cond, a, b).numpy(), np.where(cond.numpy(), a.numpy(), b.numpy()))
    assert gradcheck(lambda a, b: ad.where(cond, a, b), [a, b])
    assert gradgradcheck(lambda a, b: ad.where(cond, a, b), [a, b])

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
