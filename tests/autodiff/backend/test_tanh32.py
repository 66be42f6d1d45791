"""float32 tanh on the CPU (autodiff/backend/tanh32.py) against float64 tanh rounded once: within
one ulp everywhere, exact at the special values, and the one tanh every CPU path computes."""

import numpy as np
import pytest

from autodiff.backend import get_backend, tanh32

bk = get_backend("cpu")


def _ulps(a, b):
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_within_one_ulp_of_the_rounded_tanh_over_a_sweep_of_every_binade():
    # every 61st float32 from 0 to 9.6 (where float32 tanh reaches 1), both signs
    top = int(np.array([9.6], np.float32).view(np.int32)[0])
    x = np.arange(0, top, 61, dtype=np.int32).view(np.float32)
    x = np.concatenate([x, -x])
    out = np.empty_like(x)
    tanh32.tanh_into(x, out)
    ulps = _ulps(out, np.tanh(x.astype(np.float64)).astype(np.float32))
    assert ulps.max() <= 1
    assert (ulps > 0).mean() < 1e-3  # the fit's error is far below half an ulp: near-ties only
    np.testing.assert_array_equal(out[: x.size // 2], -out[x.size // 2:])  # odd, exactly


def test_special_values():
    tiny = np.finfo(np.float32).smallest_subnormal
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, tiny, -tiny, 1e-30, 9.02, 9.5, 9.6, 50.0, -3e38],
                 np.float32)
    out = bk.tanh(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.signbit(out[:2]), [False, True])
    np.testing.assert_array_equal(out[2:4], [1.0, -1.0])
    assert np.isnan(out[4])
    np.testing.assert_array_equal(out[5:8], x[5:8])  # tanh(x) rounds to x below ~2^-12
    np.testing.assert_array_equal(out[8:], [1.0, 1.0, 1.0, 1.0, -1.0])


@pytest.mark.parametrize("shape", [(), (1,), (7, 5), (3, 4, 130)])
def test_backend_tanh_is_tanh32_for_any_float32_array_and_numpys_otherwise(rng, shape):
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    expected = np.empty(max(x.size, 1), np.float32)
    tanh32.tanh_into(x.reshape(-1), expected[: x.size])
    expected = expected[: x.size].reshape(shape)
    np.testing.assert_array_equal(bk.tanh(x), expected)
    assert _ulps(bk.tanh(x), np.tanh(x.astype(np.float64)).astype(np.float32)).max(initial=0) <= 1
    wide = x.astype(np.float64)
    np.testing.assert_array_equal(bk.tanh(wide), np.tanh(wide))
    if x.ndim >= 2:  # a strided view (an LSTM's gate columns): the same tanh
        np.testing.assert_array_equal(bk.tanh(x[:, ::2]), expected[:, ::2])
        np.testing.assert_array_equal(bk.tanh(x.T), expected.T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stacked", [False, True])
def test_a_linear_layers_fused_tanh_is_the_layer_then_tanh(rng, dtype, stacked):
    lead = (4,) if stacked else ()
    x = rng.standard_normal(lead + (33, 6)).astype(dtype)
    w = rng.standard_normal(lead + (9, 6)).astype(dtype)
    b = rng.standard_normal(lead + (9,)).astype(dtype)
    np.testing.assert_array_equal(bk.linear(x, w, b, "tanh"), bk.tanh(bk.linear(x, w, b)))
    np.testing.assert_array_equal(bk.linear(x, w, None, "tanh"), bk.tanh(bk.linear(x, w, None)))
