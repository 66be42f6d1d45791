"""autodiff/ops/shape.py: shape, indexing and gather ops against numpy; gradients by gradcheck."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from ..conftest import leaf


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

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_and_stack(axis, rng):
    a, b, c = leaf(rng, 2, 3), leaf(rng, 2, 3), leaf(rng, 2, 3)
    np.testing.assert_array_equal(ad.cat([a, b, c], axis).numpy(), np.concatenate([a.numpy(), b.numpy(), c.numpy()], axis))
    np.testing.assert_array_equal(ad.stack([a, b, c], axis).numpy(), np.stack([a.numpy(), b.numpy(), c.numpy()], axis))
    assert gradcheck(lambda a, b, c: ad.cat([a, b, c], axis), [a, b, c])
    assert gradcheck(lambda a, b, c: ad.stack([a, b, c], axis), [a, b, c])
    assert gradgradcheck(lambda a, b, c: ad.cat([a, b, c], axis) ** 2, [a, b, c])
