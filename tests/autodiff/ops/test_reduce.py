"""autodiff/ops/reduce.py: reductions against numpy, gradients by gradcheck and gradgradcheck."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from ..conftest import leaf


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "amax"])
def test_reductions(op, axis, keepdim, rng):
    x = leaf(rng, 3, 4, 2)
    fn = lambda t: getattr(t, op)(axis, keepdim)  # noqa: E731
    np.testing.assert_allclose(fn(x).numpy(), getattr(np, op)(x.numpy(), axis=axis, keepdims=keepdim))
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_max_splits_the_gradient_between_ties():
    """x.max() and amax, as PyTorch's: tied maxima share the gradient (max over a dim gives it to
    the index it returns instead: tests/autodiff/test_functional.py)."""
    for reduce in (lambda x: x.max(), lambda x: x.amax(0), lambda x: ad.amax(x)):
        x = ad.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
        reduce(x).backward()
        np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5, 0])
