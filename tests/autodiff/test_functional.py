"""Composite ops in autodiff/functional.py: values against numpy, gradients by gradcheck."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck, gradgradcheck

from .conftest import leaf


def np_logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_min_logsumexp(axis, keepdim, rng):
    x = leaf(rng, 3, 4, 2)
    cases = {
        "mean": (lambda t: t.mean(axis, keepdim), np.mean(x.numpy(), axis=axis, keepdims=keepdim)),
        "min": (lambda t: t.min(axis, keepdim), np.min(x.numpy(), axis=axis, keepdims=keepdim)),
        "logsumexp": (lambda t: t.logsumexp(axis, keepdim),
                      np_logsumexp(x.numpy(), axis if axis is not None else (0, 1, 2), keepdim)),
    }
    for name, (fn, expected) in cases.items():
        np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-12, err_msg=name)
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


def test_var_std(rng):
    x = leaf(rng, 5, 3)
    np.testing.assert_allclose(x.var(0).numpy(), np.var(x.numpy(), axis=0, ddof=1))
    np.testing.assert_allclose(x.std().numpy(), np.std(x.numpy(), ddof=1))
    assert gradcheck(lambda t: t.std(0), [x])


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax(axis, rng):
    x = leaf(rng, 4, 5)
    ls = x.numpy() - np_logsumexp(x.numpy(), axis, keepdims=True)
    np.testing.assert_allclose(x.log_softmax(axis).numpy(), ls, rtol=1e-12)
    np.testing.assert_allclose(x.softmax(axis).numpy(), np.exp(ls), rtol=1e-12)
    for fn in (lambda t: t.log_softmax(axis), lambda t: t.softmax(axis)):
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


def test_softmax_family_is_stable_for_huge_logits():
    x = ad.tensor(np.array([[1000.0, 0.0, -1000.0]], np.float32), requires_grad=True)
    np.testing.assert_allclose(x.softmax(-1).numpy(), [[1, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(x.log_softmax(-1).numpy(), [[0, -1000, -2000]])
    np.testing.assert_allclose(x.logsumexp(-1).numpy(), [1000])
    x.log_softmax(-1)[:, 1].sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_softplus(rng):
    x = leaf(rng, 10) * 5
    np.testing.assert_allclose(ad.softplus(x).numpy(), np.log1p(np.exp(x.numpy())), rtol=1e-10)
    big = ad.tensor(np.array([-100.0, 100.0], np.float32))
    np.testing.assert_allclose(big.softplus().numpy(), [0, 100], atol=1e-30)
    y = leaf(rng, 6)
    assert gradcheck(lambda t: t.softplus(), [y])
    assert gradcheck(lambda t: t.softplus(beta=2.0), [y])
    assert gradgradcheck(lambda t: t.softplus(), [y])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses(reduction, rng):
    a, b = leaf(rng, 6, 2), leaf(rng, 6, 2) * 3
    d = a.numpy() - b.numpy()
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    np.testing.assert_allclose(ad.mse_loss(a, b, reduction).numpy(), reduce(d ** 2))
    huber = np.where(np.abs(d) < 1, 0.5 * d ** 2, np.abs(d) - 0.5)
    np.testing.assert_allclose(ad.smooth_l1_loss(a, b, reduction=reduction).numpy(), reduce(huber))
    assert gradcheck(lambda a, b: ad.mse_loss(a, b, reduction), [a, b.detach().requires_grad_()])
    assert gradcheck(lambda a: ad.smooth_l1_loss(a, b.detach(), beta=0.5, reduction=reduction), [a])


def test_huber_needs_a_positive_beta(rng):
    with pytest.raises(ValueError, match="beta must be positive"):
        ad.smooth_l1_loss(leaf(rng, 3), leaf(rng, 3), beta=0.0)


def test_unknown_reduction_names_the_choices(rng):
    with pytest.raises(ValueError, match="'mean', 'sum', 'none'"):
        ad.mse_loss(leaf(rng, 3), leaf(rng, 3), reduction="avg")


def test_clamp_is_ppo_clipping(rng):
    ratio = ad.tensor(np.array([0.5, 0.9, 1.0, 1.1, 1.5]), requires_grad=True)
    ratio.clamp(0.8, 1.2).sum().backward()
    np.testing.assert_array_equal(ratio.grad.numpy(), [0, 1, 1, 1, 0])


def test_comparisons_and_argmax_carry_no_gradient(rng):
    x = leaf(rng, 3, 4)
    assert (x > 0).dtype == np.bool_ and not (x > 0).requires_grad
    np.testing.assert_array_equal(x.argmax(-1).numpy(), np.argmax(x.numpy(), -1))
    np.testing.assert_array_equal(((x > 0) & (x < 1)).numpy(), (x.numpy() > 0) & (x.numpy() < 1))
