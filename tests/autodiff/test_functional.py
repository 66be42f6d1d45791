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
        "amin": (lambda t: t.amin(axis, keepdim), np.min(x.numpy(), axis=axis, keepdims=keepdim)),
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


# -- axes: every op that takes one refuses an axis outside the tensor's dimensions, as numpy does --------------
_AXIS_OPS = {  # name: (op(x, axis), numpy's result, or None where numpy has no such op)
    "sum": (lambda t, a: t.sum(a), lambda x, a: x.sum(a)),
    "mean": (lambda t, a: t.mean(a), lambda x, a: x.mean(a)),
    "var": (lambda t, a: t.var(a), lambda x, a: x.var(a, ddof=1)),
    "std": (lambda t, a: t.std(a), lambda x, a: x.std(a, ddof=1)),
    "max": (lambda t, a: t.max(a).values, lambda x, a: x.max(a)),
    "min": (lambda t, a: t.min(a).indices, lambda x, a: x.argmin(a)),
    "amax": (lambda t, a: t.amax(a), lambda x, a: x.max(a)),
    "amin": (lambda t, a: t.amin(a), lambda x, a: x.min(a)),
    "argmax": (lambda t, a: t.argmax(a), lambda x, a: x.argmax(a)),
    "argmin": (lambda t, a: t.argmin(a), lambda x, a: x.argmin(a)),
    "logsumexp": (lambda t, a: t.logsumexp(a), lambda x, a: np_logsumexp(x, a)),
    "softmax": (lambda t, a: t.softmax(a), lambda x, a: np.exp(x - np_logsumexp(x, a, True))),
    "log_softmax": (lambda t, a: t.log_softmax(a), lambda x, a: x - np_logsumexp(x, a, True)),
    "cat": (lambda t, a: ad.cat([t, t], a), lambda x, a: np.concatenate([x, x], a)),
    "gather": (lambda t, a: t.gather(a, np.zeros((2, 3), np.int64)),
               lambda x, a: np.take_along_axis(x, np.zeros((2, 3), np.int64), a)),
    "squeeze": (lambda t, a: t.squeeze(a), lambda x, a: x if x.shape[a] != 1 else x.squeeze(a)),
    "flatten": (lambda t, a: t.flatten(a), lambda x, a: x.reshape(x.shape[:a % 2] + (-1,))),
    "transpose": (lambda t, a: t.transpose(a, 0), lambda x, a: np.swapaxes(x, a, 0)),
}
_NEW_AXIS_OPS = {  # ops that insert an axis: a 2-D tensor takes -3 to 2
    "unsqueeze": (lambda t, a: t.unsqueeze(a), lambda x, a: np.expand_dims(x, a)),
    "stack": (lambda t, a: ad.stack([t, t], a), lambda x, a: np.stack([x, x], a)),
}


@pytest.mark.parametrize("name", sorted(_AXIS_OPS) + sorted(_NEW_AXIS_OPS))
def test_every_axis_is_checked_and_the_valid_ones_match_numpy(name, rng):
    x = rng.standard_normal((2, 3))
    op, reference = {**_AXIS_OPS, **_NEW_AXIS_OPS}[name]
    span = 3 if name in _NEW_AXIS_OPS else 2
    for axis in range(-span, span):
        np.testing.assert_allclose(op(ad.tensor(x), axis).numpy(), reference(x, axis), rtol=1e-12,
                                   err_msg=f"{name} axis {axis}")
    for axis in (span, -span - 1, 7):
        with pytest.raises(ad.AxisError, match=rf"axis {axis} is out of range for .*tensor of 2 dimensions; "
                                               rf"valid axes: {-span} to {span - 1}"):
            op(ad.tensor(x), axis)
    assert issubclass(ad.AxisError, IndexError) and issubclass(ad.AxisError, ValueError)


def test_axis_tuples_permute_and_flatten_are_checked():
    x = ad.zeros(2, 3)
    with pytest.raises(ad.AxisError, match="names an axis twice"):
        x.sum((1, -1))
    with pytest.raises(ad.AxisError, match="axis 2 is out of range"):
        x.mean((0, 2))
    with pytest.raises(ad.AxisError, match=r"must name each of the tensor's 2 axes once"):
        x.permute(0, 0)
    with pytest.raises(ad.AxisError, match="start_dim 1 comes after end_dim 0"):
        x.flatten(1, 0)
    with pytest.raises(TypeError, match="an axis must be an integer"):
        x.sum(1.0)
    scalar = ad.tensor(3.0)  # PyTorch's rule: a 0-dimensional tensor takes -1 and 0
    assert float(scalar.sum(0)) == float(scalar.sum(-1)) == 3.0


# -- PyTorch's dim= beside numpy's axis= ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(_AXIS_OPS) + sorted(_NEW_AXIS_OPS))
def test_dim_is_axis(name, rng):
    x = ad.tensor(rng.standard_normal((2, 3)))
    by_axis = {"sum": lambda **k: x.sum(**k), "mean": lambda **k: x.mean(**k), "var": lambda **k: x.var(**k),
               "std": lambda **k: x.std(**k), "max": lambda **k: x.max(**k).values,
               "min": lambda **k: x.min(**k).values, "amax": lambda **k: x.amax(**k), "amin": lambda **k: x.amin(**k),
               "argmax": lambda **k: x.argmax(**k), "argmin": lambda **k: x.argmin(**k),
               "logsumexp": lambda **k: x.logsumexp(**k),
               "softmax": lambda **k: x.softmax(**k), "log_softmax": lambda **k: x.log_softmax(**k),
               "cat": lambda **k: ad.cat([x, x], **k), "stack": lambda **k: ad.stack([x, x], **k),
               "gather": lambda **k: x.gather(index=np.zeros((2, 3), np.int64), **k),
               "squeeze": lambda **k: x.squeeze(**k), "unsqueeze": lambda **k: x.unsqueeze(**k),
               "flatten": None, "transpose": None}[name]
    if by_axis is None:  # these take PyTorch's own names already (start_dim, dim0)
        return
    np.testing.assert_array_equal(by_axis(dim=1).numpy(), by_axis(axis=1).numpy())
    with pytest.raises(TypeError, match="got both dim= and axis="):
        by_axis(dim=1, axis=1)


# -- edge values, against numpy and the rules PyTorch follows -------------------------------------------------
def _grad(fn, *values):
    leaves = [ad.tensor(np.asarray(v, np.float64), requires_grad=True) for v in values]
    out = fn(*leaves)
    out.sum().backward()
    return out.numpy(), [t.grad.numpy() for t in leaves]


def test_gradients_where_the_formulas_meet_zero():
    # softplus' gradient is sigmoid everywhere, 0 included (parameters initialised to 0 are common)
    x = np.array([0.0, -1e-12, 1e-12, -40.0, 40.0, 3.0])
    out, (g,) = _grad(lambda t: t.softplus(), x)
    np.testing.assert_allclose(out, np.logaddexp(0, x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-x)), rtol=1e-14)
    # x ** 0 is constant: gradient 0, at 0 too; a ** b at a = 0: 0 for both, not nan / -inf
    assert _grad(lambda t: t ** 0, [0.0, 2.0])[1][0].tolist() == [0.0, 0.0]
    out, (ga, gb) = _grad(lambda a, b: a ** b, [0.0, 0.0, 2.0], [2.0, 0.0, 3.0])
    np.testing.assert_array_equal(out, [0.0, 1.0, 8.0])
    np.testing.assert_allclose(ga, [0.0, 0.0, 12.0])
    np.testing.assert_allclose(gb, [0.0, 0.0, 8 * np.log(2.0)])
    # the gradients of these at 0 are what they are in PyTorch: one-sided 0, or inf
    for fn, expected in [(lambda t: t.relu(), 0.0), (lambda t: t.abs(), 0.0), (lambda t: t.sqrt(), np.inf),
                         (lambda t: t.log(), np.inf), (lambda t: t.tanh(), 1.0), (lambda t: t.sigmoid(), 0.25)]:
        assert _grad(fn, [0.0])[1][0][0] == expected


def test_second_derivatives_at_zero_stay_finite():
    for fn in (lambda t: t.softplus(), lambda t: t ** 2, lambda t: t ** ad.tensor(np.array([2.0, 0.5]))):
        x = ad.tensor(np.array([0.0, 1.5]), requires_grad=True)
        g, = ad.grad(fn(x).sum(), [x], create_graph=True)
        gg, = ad.grad(g.sum(), [x])
        assert np.isfinite(gg.numpy()).all()
    x = ad.tensor(np.array([0.0, 1.5]), requires_grad=True)
    g, = ad.grad(x.softplus().sum(), [x], create_graph=True)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(ad.grad(g.sum(), [x])[0].numpy(), s * (1 - s), rtol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_one_element_empty_and_infinite_reductions_follow_numpy():
    one, empty = np.array([3.0]), np.zeros(0)
    for name, ours, theirs in [
        ("var of one", ad.tensor(one).var(), np.var(one, ddof=1)),
        ("std of one", ad.tensor(one).std(), np.std(one, ddof=1)),
        ("mean of none", ad.tensor(empty).mean(), np.mean(empty)),
        ("var of none", ad.tensor(empty).var(), np.var(empty, ddof=1)),
        ("sum of none", ad.tensor(empty).sum(), np.sum(empty)),
        ("means of empty rows", ad.zeros(2, 0).mean(1), np.zeros((2, 0)).mean(1)),
    ]:
        np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=name)
    rows = np.array([[-np.inf, -np.inf], [1.0, np.inf], [-np.inf, 2.0]])
    np.testing.assert_array_equal(ad.tensor(rows).logsumexp(1).numpy(), np.logaddexp.reduce(rows, axis=1))
    masked = ad.tensor(np.array([[-np.inf, 0.0], [-np.inf, -np.inf]]))
    np.testing.assert_array_equal(masked.log_softmax(1).numpy()[0], [-np.inf, 0.0])


# -- dtype promotion: PyTorch's rules ---------------------------------------------------------------------------
# (operands, op) -> the dtype PyTorch gives. Written out so the test needs no torch; checked against
# torch below when it is installed.
_I64, _I32, _F32, _F64, _B = (np.arange(3), np.arange(3, dtype=np.int32), np.ones(3, np.float32),
                              np.ones(3), np.array([True, False, True]))
PROMOTIONS = [
    ("f32 + i64", lambda m, t: t(_F32) + t(_I64), "float32"),
    ("i64 * f32", lambda m, t: t(_I64) * t(_F32), "float32"),
    ("f32 - i32", lambda m, t: t(_F32) - t(_I32), "float32"),
    ("f32 + f64", lambda m, t: t(_F32) + t(_F64), "float64"),
    ("i64 * 2.5", lambda m, t: t(_I64) * 2.5, "float32"),
    ("2.5 - i64", lambda m, t: 2.5 - t(_I64), "float32"),
    ("i32 + 2", lambda m, t: t(_I32) + 2, "int32"),
    ("bool + 1", lambda m, t: t(_B) + 1, "int64"),
    ("bool * 1.5", lambda m, t: t(_B) * 1.5, "float32"),
    ("i64 / i64", lambda m, t: t(_I64) / t(_I64 + 1), "float32"),
    ("i64 / 2", lambda m, t: t(_I64) / 2, "float32"),
    ("1 / i64", lambda m, t: 1 / t(_I64 + 1), "float32"),
    ("f32 + 0-d f64", lambda m, t: t(_F32) + t(np.array(2.0)), "float32"),
    ("f32 * 0-d i64", lambda m, t: t(_F32) * t(np.array(2)), "float32"),
    ("i64 * 0-d f64", lambda m, t: t(_I64) * t(np.array(2.5)), "float64"),
    ("i64 ** 0.5", lambda m, t: t(_I64) ** 0.5, "float32"),
    ("i64 ** 2", lambda m, t: t(_I64) ** 2, "int64"),
    ("2.0 ** i64", lambda m, t: 2.0 ** t(_I64), "float32"),
    ("maximum(i64, f32)", lambda m, t: m.maximum(t(_I64), t(_F32)), "float32"),
    ("where(c, i64, 0.5)", lambda m, t: m.where(t(_B), t(_I64), 0.5), "float32"),
    ("exp(i64)", lambda m, t: t(_I64).exp(), "float32"),
    ("log(i64)", lambda m, t: (t(_I64) + 1).log(), "float32"),
    ("sqrt(i64)", lambda m, t: t(_I64).sqrt(), "float32"),
    ("tanh(i64)", lambda m, t: t(_I64).tanh(), "float32"),
    ("sigmoid(i64)", lambda m, t: t(_I64).sigmoid(), "float32"),
    ("logsumexp(i64)", lambda m, t: t(_I64).logsumexp(0), "float32"),
    ("sum(i32)", lambda m, t: t(_I32).sum(), "int64"),
]


@pytest.mark.parametrize("name,fn,dtype", PROMOTIONS, ids=[p[0] for p in PROMOTIONS])
def test_dtype_promotion_follows_pytorch(name, fn, dtype):
    """numpy promotes int64 with float32 to float64 and computes exp, sigmoid or int ** 0.5 of an
    integer array in the integer's or float64's dtype (sigmoid of ints was 0); PyTorch keeps the float
    dtype. The values are those of the same expression over float64 tensors, rounded."""
    out = fn(ad, ad.tensor)
    assert out.dtype == np.dtype(dtype), name
    expected = fn(ad, lambda a: ad.tensor(np.asarray(a, np.float64))).numpy()
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected, rtol=1e-6)
    torch = pytest.importorskip("torch")
    assert str(fn(torch, torch.tensor).dtype) == f"torch.{dtype}", name


def test_mixed_dtype_gradients_have_their_inputs_dtype(rng):
    """A float32 leaf used with float64 operands gets a float32 gradient (PyTorch's rule), of the
    float64 gradient's values."""
    x32 = ad.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    x64 = ad.tensor(x32.numpy().astype(np.float64), requires_grad=True)
    w = ad.tensor(rng.standard_normal((4, 2)))
    for x in (x32, x64):
        ((x @ w).tanh() * ad.tensor(np.arange(2)) + x.sum(-1, keepdim=True) / ad.tensor(np.array(3.0))).sum().backward()
    assert x32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), rtol=1e-5)


def test_mean_var_std_of_integers_are_refused_as_in_pytorch():
    """The mean of an integer tensor was its sum times 1/n cast to an integer: mean([0..4]) was 0."""
    for op in ("mean", "var", "std"):
        with pytest.raises(TypeError, match=f"{op}.*floating-point"):
            getattr(ad.arange(5), op)()
    assert ad.arange(5).float().mean().item() == 2.0


def test_clamp_by_tensors_gives_the_bounds_their_gradients():
    """clamp(x, lo_tensor, hi_tensor) gave the bounds no gradient. PyTorch's rule: x's where
    lo <= x <= hi, lo's where x < lo < hi, hi's where x > hi or hi < lo (the result is then hi);
    ties go to x, NaN stays NaN and gets no gradient."""
    x = np.array([-2., -1., 0., 0.5, 1., 2., np.nan, 3., -3.], np.float32)
    lo = np.array([-1., -1., -1., -1., -1., 1.5, 0., 4., 4.], np.float32)
    hi = np.array([1., 1., 1., 1., 1., 1.5, 1., 1., -4.], np.float32)
    g = np.arange(1, 10, dtype=np.float32)
    tx, tlo, thi = (ad.tensor(a, requires_grad=True) for a in (x, lo, hi))
    y = tx.clamp(tlo, thi)
    y.backward(ad.tensor(g))
    np.testing.assert_array_equal(y.numpy(), np.minimum(np.maximum(x, lo), hi))
    np.testing.assert_array_equal(tx.grad.numpy(), [0, 2, 3, 4, 5, 0, 0, 0, 0])
    np.testing.assert_array_equal(tlo.grad.numpy(), [1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(thi.grad.numpy(), [0, 0, 0, 0, 0, 6, 0, 8, 9])
    b = ad.tensor(lo[:1], requires_grad=True)  # a broadcast bound sums its gradient
    ad.tensor(x, requires_grad=True).clamp(min=b).sum().backward()
    assert b.grad.numpy().tolist() == [2.0]  # x = -2 and x = -3
    torch = pytest.importorskip("torch")
    for bounds in [(lo, hi), (lo, None), (None, hi), (lo[:1], hi)]:
        ours = [ad.tensor(x, requires_grad=True)] + [None if a is None else ad.tensor(a, requires_grad=True) for a in bounds]
        theirs = [torch.tensor(x, requires_grad=True)] + [None if a is None else torch.tensor(a, requires_grad=True) for a in bounds]
        ours[0].clamp(*ours[1:]).backward(ad.tensor(g))
        torch.clamp(*theirs).backward(torch.tensor(g))
        for a, t in zip(ours, theirs):
            if a is not None:
                np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())


_S = slice(None)


def _index_cases(m):
    """(index, numpy's index selecting the integers, numpy's index for the rest)."""
    mask = [[True, False, True, True, False]] * 4
    return [((0, _S, [1, 2], 1), (0, _S, _S, 1), (_S, [1, 2])),
            ((_S, 0, _S, [1, 2]), (_S, 0), (_S, _S, [1, 2])),
            ((None, 0, _S, [1, 2]), (0,), (None, _S, [1, 2])),
            ((1, Ellipsis, [1, 3]), (1, Ellipsis), (Ellipsis, [1, 3])),
            ((m.tensor(1), _S, [1, 2]), (1,), (_S, [1, 2])),
            ((-1, _S, m.tensor([[-1, 0]])), (-1,), (_S, np.array([[-1, 0]]))),
            ((0, _S, m.tensor(mask)), (0,), (_S, np.array(mask))),
            (([1, 0], 2, slice(1, 3), [0, 4]), (_S, 2), ([1, 0], slice(1, 3), [0, 4])),
            ((0, [0, 1], _S, [1, 2]), (0,), ([0, 1], _S, [1, 2])),
            ((_S, [0, 1], 0), (_S, _S, 0), (_S, [0, 1]))]


@pytest.mark.parametrize("case", range(10))
def test_integers_mixed_with_index_arrays_select_first_as_in_pytorch(case, rng):
    """numpy counts an integer as an index array, so x[0, :, [1, 2]] put the indexed axis first
    ((2, 3) of a (2, 3, 4) tensor); PyTorch selects with the integers first ((3, 2)). The reference
    is numpy's indexing done in PyTorch's order; gradients scatter back to the same places."""
    x = rng.standard_normal((2, 3, 4, 5))
    index, first, rest = _index_cases(ad)[case]
    t = ad.tensor(x, requires_grad=True)
    y = t[index]
    np.testing.assert_array_equal(y.numpy(), x[first][rest])
    g = rng.standard_normal(y.shape)
    y.backward(ad.tensor(g))
    expected = np.zeros_like(x)
    np.add.at(expected[first], rest, g)  # expected[first] is a view: the adds land in expected
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    torch = pytest.importorskip("torch")
    tt = torch.tensor(x, requires_grad=True)
    ty = tt[_index_cases(torch)[case][0]]
    ty.backward(torch.tensor(g))
    assert tuple(ty.shape) == y.shape
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())


# -- max and min: PyTorch's three forms --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_and_min_over_a_dim_return_values_and_indices(name, keepdim, rng):
    """x.max(dim) is (values, indices) with the first extreme's index, whose entry alone gets the
    gradient; against numpy (argmax/argmin take the first too) and, where installed, PyTorch."""
    x = rng.standard_normal((4, 5))
    x[1, [0, 3]] = 9.0 if name == "max" else -9.0  # a tie: both the index and the gradient take the first
    x[2, 2] = np.nan  # a NaN wins, as in PyTorch and numpy
    for axis in (0, 1, -1):
        t = ad.tensor(x, requires_grad=True)
        values, indices = getattr(t, name)(axis, keepdim=keepdim)
        result = getattr(t, name)(dim=axis, keepdim=keepdim)
        np.testing.assert_array_equal(result.values.numpy(), values.numpy())
        assert result[1] is result.indices and result[0] is result.values
        first = (np.argmax if name == "max" else np.argmin)(x, axis)
        expected = getattr(np, name)(x, axis)
        if keepdim:
            first, expected = np.expand_dims(first, axis), np.expand_dims(expected, axis)
        np.testing.assert_array_equal(indices.numpy(), first)
        assert indices.dtype == np.int64
        np.testing.assert_array_equal(values.numpy(), expected)
        weights = rng.standard_normal(values.shape)
        (values * ad.tensor(weights)).sum().backward()
        grad = np.zeros_like(x)
        np.put_along_axis(grad, first if keepdim else np.expand_dims(first, axis),
                          weights if keepdim else np.expand_dims(weights, axis), axis)
        np.testing.assert_array_equal(t.grad.numpy(), grad)
        torch = pytest.importorskip("torch")
        tt = torch.tensor(x, requires_grad=True)
        tv, ti = getattr(tt, name)(axis, keepdim=keepdim)
        (tv * torch.tensor(weights)).sum().backward()
        np.testing.assert_array_equal(ti.numpy(), indices.numpy())
        np.testing.assert_array_equal(tt.grad.numpy(), t.grad.numpy())


def test_max_and_min_of_all_elements_amax_and_of_another_tensor(rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    t = ad.tensor(x)
    assert t.max().shape == () and float(t.max()) == x.max() and float(ad.min(t)) == x.min()
    np.testing.assert_array_equal(ad.max(t, ad.tensor(y)).numpy(), np.maximum(x, y))
    np.testing.assert_array_equal(t.min(ad.tensor(y)).numpy(), np.minimum(x, y))
    np.testing.assert_array_equal(ad.amax(t, (0, 1)).numpy(), x.max())
    np.testing.assert_array_equal(t.amin(dim=0, keepdim=True).numpy(), x.min(0, keepdims=True))
    with pytest.raises(TypeError, match=r"dim must be one integer .* amax\(dim=\(\.\.\.\)\)"):
        t.max((0, 1))
    with pytest.raises(ad.AxisError):
        t.min(2)
    assert not hasattr(ad, "__all__") or "max" not in ad.__all__  # `from autodiff import *` keeps the builtins


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32"])
def test_argmin_of_every_dtype_takes_the_first_minimum(dtype, rng):
    """Through an order-reversing map: none may overflow at the dtype's ends."""
    x = rng.integers(0, 3, (6, 7)).astype(dtype)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        x[0, 3], x[2, 1], x[4, 5] = info.min, info.max, info.min
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(ad.argmin(ad.tensor(x), axis).numpy(), np.argmin(x, axis))
        np.testing.assert_array_equal(ad.argmax(ad.tensor(x), axis).numpy(), np.argmax(x, axis))


def test_to_takes_a_dtype_in_the_first_place_as_in_pytorch():
    x = ad.tensor([1.5, -2.0])
    assert x.to(ad.float64).dtype == np.float64 and x.to(np.int32).dtype == np.int32
    assert x.to("cpu", "float64").dtype == np.float64 and x.to("cpu").dtype == np.float32
    with pytest.raises(ValueError, match="unknown device 'gpu'; valid: cpu, cuda, auto"):
        x.to("gpu")


_VAR_CALLS = {  # the call, then numpy's (function, axis, ddof, keepdims)
    "std(0, True)": ("std", 0, 1, False), "std(0, False)": ("std", 0, 0, False),
    "var(1, False, True)": ("var", 1, 0, True), "std(dim=0, keepdim=True)": ("std", 0, 1, True),
    "var(0, correction=0)": ("var", 0, 0, False), "std()": ("std", None, 1, False),
    "var(1, unbiased=False)": ("var", 1, 0, False), "var(-1, True, True)": ("var", -1, 1, True),
}


@pytest.mark.parametrize("call", sorted(_VAR_CALLS))
def test_var_and_std_take_pytorchs_positional_unbiased(call, rng):
    """x.std(0, True) is unbiased (PyTorch's legacy order dim, unbiased, keepdim), not keepdim."""
    x = rng.standard_normal((3, 4))
    name, axis, ddof, keepdims = _VAR_CALLS[call]
    got = eval("ad.tensor(x)." + call)
    np.testing.assert_allclose(got.numpy(), getattr(np, name)(x, axis=axis, ddof=ddof, keepdims=keepdims))
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(got.numpy(), eval("torch.tensor(x)." + call).numpy())


def test_var_refuses_unbiased_with_correction():
    with pytest.raises(TypeError, match="give unbiased or correction, not both"):
        ad.tensor([1.0, 2.0]).var(0, True, correction=0)
