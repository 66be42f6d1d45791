"""autodiff/backend: every backend implements the whole interface."""

import inspect

import numpy as np
import pytest

from autodiff.backend import Backend, get_backend, tanh32
from autodiff.backend.cpu import CPUBackend

from .reference import numpy_adam

INTERFACE = sorted(name for name, member in vars(Backend).items()
                   if callable(member) and not name.startswith("_"))


@pytest.mark.parametrize("backend_cls", [CPUBackend])
def test_backend_implements_every_method(backend_cls):
    missing = [name for name in INTERFACE if getattr(backend_cls, name) is getattr(Backend, name)]
    assert not missing, f"{backend_cls.__name__} lacks {missing}"
    assert len(INTERFACE) > 40


def test_interface_methods_are_documented_by_signature():
    for name in INTERFACE:
        assert inspect.signature(getattr(Backend, name)).parameters, name


def test_get_backend():
    assert get_backend("cpu") is get_backend("auto") is get_backend("cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'; valid: cpu, cuda, auto"):
        get_backend("gpu")
    # no GPU here (the CUDA backend is tested in its own process, under the simulator)
    with pytest.raises(ValueError, match=r"device 'cuda' (needs numba-cuda|cannot run here: numba-cuda is installed, but).*valid here: cpu, auto"):
        get_backend("cuda")


def test_cpu_fused_rules_match_their_definitions(rng):
    bk = get_backend("cpu")
    g, y = rng.standard_normal((3, 4)), np.tanh(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(bk.tanh_backward(g, y), g * (1 - y * y))
    np.testing.assert_allclose(bk.sigmoid_backward(g, y), g * y * (1 - y))
    x = rng.standard_normal((3, 5))
    ref = x - np.log(np.exp(x).sum(-1, keepdims=True))
    np.testing.assert_allclose(bk.log_softmax(x, -1), ref)
    np.testing.assert_allclose(bk.sum_to(rng.standard_normal((2, 3, 4)), (3, 1)).shape, (3, 1))


def _with_special_values(a):
    a = a.copy()
    a.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    return a


def _tanh(a):
    """The CPU's tanh: numpy's for float64, tanh32 for float32 (checked against float64 tanh in
    tests/autodiff/backend/test_tanh32.py)."""
    if a.dtype != np.float32:
        return np.tanh(a)
    out = np.empty(a.size, np.float32)
    tanh32.tanh_into(np.ascontiguousarray(a).reshape(-1), out)
    return out.reshape(a.shape)


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
@pytest.mark.parametrize("rows", [1, 5, 64])
def test_cpu_linear_equals_numpys_passes_bit_for_bit(dtype, activation, rows, rng):
    """The fused bias (+ activation) pass gives what y = x @ w.T; y += b; act(y) gives, NaN, inf
    and signed zeros included."""
    bk = get_backend("cpu")
    x, w = rng.standard_normal((rows, 7)).astype(dtype), rng.standard_normal((9, 7)).astype(dtype)
    b = _with_special_values(rng.standard_normal(9).astype(dtype))
    ref = x @ w.T + b
    ref = {None: ref, "relu": np.maximum(ref, 0), "tanh": _tanh(ref)}[activation]
    with np.errstate(invalid="ignore"):
        assert _same_bits(bk.linear(x, w, b, activation), ref)
        assert _same_bits(bk.linear(x[None], w, b, activation), ref[None])  # 3-D: numpy's passes
    with pytest.raises(ValueError):  # a bias of the wrong length is refused, not read past its end
        bk.linear(x, w, b[:5], activation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_relu_backward_equals_numpys_product_bit_for_bit(dtype, rng):
    """g * (y > 0) as numpy computes it: inf * 0 is NaN and a negative g times 0 is -0."""
    bk = get_backend("cpu")
    g = _with_special_values(rng.standard_normal((6, 5)).astype(dtype))
    y = _with_special_values(rng.standard_normal((6, 5)).astype(dtype))[::-1]  # NaN and inf in the last row
    y = np.ascontiguousarray(np.maximum(y, 0))
    with np.errstate(invalid="ignore"):
        ref = g * (y > 0).astype(dtype)
        assert _same_bits(bk.relu_backward(g, y), ref)
        assert _same_bits(bk.relu_backward(g[:, ::2], y[:, ::2]), ref[:, ::2])  # strided: numpy's way
        assert _same_bits(bk.relu_backward(g, y[:1]), g * (y[:1] > 0))  # broadcast


def test_cpu_scatter_add_along_axis_accumulates_repeats(rng):
    bk = get_backend("cpu")
    index = np.array([[0, 0, 2], [1, 1, 1]])
    values = np.ones((2, 3))
    out = bk.scatter_add_along_axis((2, 4), index, values, 1)
    np.testing.assert_array_equal(out, [[2, 0, 1, 0], [0, 3, 0, 0]])


@pytest.mark.parametrize("dtype, weight_decay", [(np.float32, 0.0), (np.float32, 0.01), (np.float64, 0.0)])
def test_cpu_adam_step_matches_numpy_bit_for_bit(dtype, weight_decay, rng):
    """The fused one-pass kernel against whole-array numpy passes, on gradients spanning 30 orders
    of magnitude, half of them stopping (moments decay into the subnormal range and are flushed)."""
    bk = get_backend("cpu")
    n = 4099  # not a multiple of any vector width: the kernel's remainder loop runs too
    p = rng.standard_normal(n).astype(dtype)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    ref_p, ref_m, ref_v = p.copy(), m.copy(), v.copy()
    for step in range(1, 1000):
        g = (rng.standard_normal(n) * (rng.random(n) < 0.5) * 10.0 ** rng.integers(-30, 2, n)).astype(dtype)
        if step > 100:
            g[: n // 2] = 0
        bk.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, step, weight_decay)
        numpy_adam(ref_p, g + weight_decay * ref_p if weight_decay else g, ref_m, ref_v, 1e-3, 0.9, 0.999, 1e-8,
                   step, flush=True)
    for ours, ref in ((p, ref_p), (m, ref_m), (v, ref_v)):
        np.testing.assert_array_equal(ours, ref)
    if dtype is np.float32 and not weight_decay:  # 0.9 ** 900 of a moment below 1e-30: below float32's normal numbers
        assert (m[: n // 2] == 0).all()
    # A non-finite gradient reaches moments and parameters as with numpy (the flush keeps NaN).
    g = np.zeros(n, dtype)
    g[:3] = [np.nan, np.inf, -np.inf]
    bk.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1000, weight_decay)
    with np.errstate(invalid="ignore"):  # inf / inf, as expected
        numpy_adam(ref_p, g + weight_decay * ref_p if weight_decay else g, ref_m, ref_v, 1e-3, 0.9, 0.999, 1e-8,
                   1000, flush=True)
    for ours, ref in ((p, ref_p), (m, ref_m), (v, ref_v)):
        np.testing.assert_array_equal(ours, ref)
    assert np.isnan(p[:3]).all()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cpu_reductions_over_a_short_last_axis_equal_numpys_bit_for_bit(dtype, rng):
    # Short last axes take a column-by-column path (autodiff/backend/cpu.py, _reduce).
    bk = get_backend("cpu")
    for k in range(1, 10):
        x = (rng.standard_normal((3, 50, k)) * 10.0 ** rng.integers(-3, 4, (3, 50, k))).astype(dtype)
        x[0, 0, 0] = np.nan
        x[1, 0] = -0.0  # a row of -0s: numpy's sum is +0
        for keepdims in (False, True):
            for ours, ufunc in ((bk.sum, np.add), (bk.max, np.maximum)):
                expected = ufunc.reduce(x, axis=-1, keepdims=keepdims)
                for axis in (-1, 2):
                    got = ours(x, axis, keepdims)
                    assert got.shape == expected.shape and got.dtype == expected.dtype
                    np.testing.assert_array_equal(got, expected)
                    np.testing.assert_array_equal(ours(x, (axis,), keepdims), expected)  # as Sum passes it
        np.testing.assert_array_equal(bk.log_softmax(x, -1), x - np.maximum.reduce(x, axis=-1, keepdims=True) - np.log(
            np.add.reduce(np.exp(x - np.maximum.reduce(x, axis=-1, keepdims=True)), axis=-1, keepdims=True)))


def test_cpu_adam_step_is_the_published_rule(rng):
    bk = get_backend("cpu")
    p, g = rng.standard_normal(5), rng.standard_normal(5)
    m, v = np.zeros(5), np.zeros(5)
    p0 = p.copy()
    bk.adam_step(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 1, 0.0)
    m_hat, v_hat = (0.1 * g) / 0.1, (0.001 * g * g) / 0.001
    np.testing.assert_allclose(p, p0 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cpu_sums_over_rows_equal_numpys_bit_for_bit(dtype, rng):
    # Sums over axis 0 of a C-order matrix take _sum_rows (the bias gradient of every layer).
    bk = get_backend("cpu")
    for rows, cols in [(1, 5), (2, 2), (7, 3), (64, 256), (1024, 2), (1024, 64), (5000, 9), (33, 1)]:
        x = (rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-3, 4, (rows, cols))).astype(dtype)
        x[:, 0] = -0.0  # numpy's sum starts from +0: a column of -0s sums to +0
        x[rows // 2, -1] = -0.0
        for keepdims in (False, True):
            # C order, strided, F order, and big-endian (numba compiles native byte order only)
            for view in (x, x[:, ::2], x.T.copy().T, x.astype(x.dtype.newbyteorder(">"))):
                expected = np.add.reduce(view, axis=0, keepdims=keepdims)
                for axis in (0, (0,), -2):
                    got = bk.sum(view, axis, keepdims)
                    assert got.shape == expected.shape and got.dtype == expected.dtype
                    assert got.tobytes() == expected.tobytes(), (rows, cols, keepdims)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_tanh_backward_equals_numpys_passes_bit_for_bit(dtype, rng):
    bk = get_backend("cpu")
    g = _with_special_values(rng.standard_normal((6, 5)).astype(dtype))
    y = _with_special_values(np.tanh(rng.standard_normal((6, 5))).astype(dtype))
    with np.errstate(invalid="ignore"):
        ref = (1 - y * y) * g
        assert _same_bits(bk.tanh_backward(g, y), ref)
        assert _same_bits(bk.tanh_backward(g[:, ::2], y[:, ::2]), ref[:, ::2])
        assert _same_bits(bk.tanh_backward(g, y[:1]), (1 - y[:1] * y[:1]) * g)


def test_cpu_reductions_refuse_invalid_axes_as_numpy_does():
    bk = get_backend("cpu")
    x = np.ones((2, 3), np.float32)
    for axis in (2, -3, (5,)):
        with pytest.raises(np.exceptions.AxisError):
            bk.sum(x, axis, False)
        with pytest.raises(np.exceptions.AxisError):
            bk.max(x, axis, False)


def test_cpu_fused_rules_take_big_endian_arrays(rng):
    bk = get_backend("cpu")
    g, y = rng.standard_normal((4, 3)), np.tanh(rng.standard_normal((4, 3)))
    big = np.dtype(">f4")
    assert _same_bits(bk.tanh_backward(g.astype(big), y.astype(big)), (1 - y.astype(big) ** 2) * g.astype(big))
    assert _same_bits(bk.relu_backward(g.astype(big), y.astype(big)), g.astype(big) * (y > 0).astype(big))


@pytest.mark.parametrize("shape", [(3, 64, 2), (1, 1024, 64), (4, 7, 1), (2, 1, 5)])
def test_sums_over_each_models_rows_are_numpys(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    x[0, :, 0] = -0.0
    got = get_backend("cpu").sum(x, (1,), False)
    np.testing.assert_array_equal(got, np.add.reduce(x, axis=1))
    assert not np.signbit(got[0, 0])
    for k in range(shape[0]):  # and each model's sum is the model's alone
        np.testing.assert_array_equal(got[k], get_backend("cpu").sum(x[k:k + 1], (1,), False)[0])


def test_k_streams_draw_each_row_as_the_single_stream_would():
    bk = get_backend("cpu")
    streams = bk.rngs([5, 6])
    got = bk.uniform(streams, (2, 3, 4), np.float32), bk.normal(streams, (2, 7), np.float64), \
        bk.permutations(streams, 9)
    single = bk.rng(6)
    want = single.random((3, 4), dtype=np.float32), single.standard_normal(7), single.permutation(9)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g[1], w)
    with pytest.raises(ValueError, match="leading axis of 2"):
        bk.uniform(streams, (3,), np.float32)
    state = bk.rng_state(streams)
    a = bk.uniform(streams, (2, 5), np.float64)
    bk.set_rng_state(streams, state)
    np.testing.assert_array_equal(bk.uniform(streams, (2, 5), np.float64), a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((16, 300, 1), (16, 1, 64)), ((300, 1), (1, 64)), ((3, 4, 1), (1, 6))])
def test_cpu_outer_products_are_numpys_matmul_bit_for_bit(dtype, shapes):
    """The outer-product path (k = 1) against np.matmul, zeros of both signs, inf and NaN included."""
    rng = np.random.default_rng(11)
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    a.flat[::7], a.flat[1::11], b.flat[::5], a.flat[2], b.flat[3] = 0.0, -0.0, -0.0, np.inf, np.nan
    with np.errstate(invalid="ignore"):
        assert _same_bits(get_backend("cpu").matmul(a, b), np.matmul(a, b))
