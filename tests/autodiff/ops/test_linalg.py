"""autodiff/ops/linalg.py: MatMul (transposed operands too) and the fused Linear op."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from ..conftest import leaf


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
