"""autodiff/gradcheck.py: the checker itself must catch wrong backward rules."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import Function, GradcheckError, gradcheck, gradgradcheck

from .conftest import leaf


class WrongSquare(Function):
    """x^2 whose backward forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x


class DetachedSquare(Function):
    """Right first derivative, but written with raw arrays: not differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return ad.Tensor(2 * grad.numpy() * x.numpy())


def test_gradcheck_catches_a_wrong_rule(rng):
    x = leaf(rng, 3, 2)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3, 2\)\)"):
        gradcheck(WrongSquare.apply, [x])


def test_gradgradcheck_catches_a_rule_that_is_not_differentiable(rng):
    x = leaf(rng, 4)
    assert gradcheck(DetachedSquare.apply, [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(DetachedSquare.apply, [x])


def test_gradcheck_works_in_float64_for_float32_inputs(rng):
    x = ad.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    assert gradcheck(lambda t: (t * t).exp().sum(), [x])


def test_gradcheck_handles_several_outputs_and_constant_inputs(rng):
    x, c = leaf(rng, 3), ad.tensor(rng.standard_normal(3))
    assert gradcheck(lambda a, b: (a * b, a.exp()), [x, c])


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, [ad.tensor([1.0])])
