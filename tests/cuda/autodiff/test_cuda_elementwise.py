"""Elementwise kernels under the simulator (or a GPU), against numpy: the flat path (operands of
the output's own shape), and the broadcasting path with 32-bit and 64-bit index arithmetic
(binary, where, and the strided copy behind permutes, slices and broadcasts). MAX_BLOCKS is 2
here and the sizes one past 2 blocks of threads, so every grid-stride loop takes a second trip."""

import numpy as np
import pytest

from autodiff.backend import cuda_kernels as K
from autodiff.backend import get_backend
from numbarl import launch

GPU = get_backend("cuda")


@pytest.fixture(params=["32-bit", "64-bit"])
def width(request, monkeypatch):
    """The broadcasting kernels' index width, 64-bit forced by a NARROW_LIMIT of 0; grids capped
    at 2 blocks. Yields (width, the kernels launched meanwhile)."""
    monkeypatch.setattr(launch, "MAX_BLOCKS", 2)
    if request.param == "64-bit":
        monkeypatch.setattr(K, "NARROW_LIMIT", 0)
    made, configure = [], launch.configure

    def recording(kernel, grid, block):
        made.append(kernel)
        return configure(kernel, grid, block)

    monkeypatch.setattr(launch, "configure", recording)
    return request.param, made


def over_the_cap():
    """One element more than the grid's threads (2 blocks)."""
    return 2 * launch.THREADS + 1


def host(x):
    return GPU.to_numpy(x)


def test_same_shape_operands_take_the_flat_kernels(width, rng):
    _, made = width
    n = over_the_cap()
    a, b = rng.uniform(0.5, 2.0, (n,)).astype(np.float32), rng.uniform(0.5, 2.0, (n,)).astype(np.float32)
    np.testing.assert_array_equal(host(GPU.add(GPU.asarray(a), GPU.asarray(b))), a + b)
    np.testing.assert_array_equal(host(GPU.compare("lt", GPU.asarray(a), GPU.asarray(b))), a < b)
    # (1, n) and (n,): the same elements in the same order, so flat too
    np.testing.assert_allclose(host(GPU.div(GPU.asarray(a[None]), GPU.asarray(b))), a[None] / b, rtol=1e-7)
    c = a > 1
    np.testing.assert_array_equal(host(GPU.where(GPU.asarray(c), GPU.asarray(a), GPU.asarray(b))), np.where(c, a, b))
    d = GPU.asarray(a)
    GPU.iadd(d, GPU.asarray(b))  # in place: out is an operand
    np.testing.assert_array_equal(host(d), a + b)
    np.testing.assert_array_equal(host(GPU.mul(GPU.asarray(a), GPU.scalar(3.0, np.float32))), a * np.float32(3))
    assert set(made) == {K.binary_flat_kernel, K.where_flat_kernel, K.scalar_kernel}


@pytest.mark.parametrize("name, fn", [("sub", np.subtract), ("maximum", np.maximum), ("pow", np.power)])
def test_broadcast_operands_take_the_broadcasting_kernels(name, fn, width, rng):
    bits, made = width
    a = rng.uniform(0.5, 2.0, (3, 1, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (over_the_cap() // 12 + 1, 1)).astype(np.float32)  # (3, 4 * k, 4) past the cap
    got = host(getattr(GPU, name)(GPU.asarray(a), GPU.asarray(b)))
    np.testing.assert_allclose(got, fn(a, b), rtol=1e-6)
    assert got.size > over_the_cap() - 1
    assert made == [K.binary32_kernel if bits == "32-bit" else K.binary_kernel]


def test_where_broadcasts(width, rng):
    bits, made = width
    c = rng.random((over_the_cap(), 1)) > 0.5
    a, b = rng.standard_normal((1, 2)), rng.standard_normal((over_the_cap(), 2))
    np.testing.assert_array_equal(host(GPU.where(GPU.asarray(c), GPU.asarray(a), GPU.asarray(b))), np.where(c, a, b))
    assert made == [K.where32_kernel if bits == "32-bit" else K.where_kernel]


def test_strided_views_permutes_and_broadcasts(width, rng):
    bits, made = width
    x = rng.standard_normal((3, over_the_cap() // 3 + 1, 2)).astype(np.float32)
    np.testing.assert_array_equal(host(GPU.permute(GPU.asarray(x), (2, 0, 1))), x.transpose(2, 0, 1))
    index = (slice(None, None, -1), slice(1, None, 3), 0)  # a negative stride and a step
    np.testing.assert_array_equal(host(GPU.getitem(GPU.asarray(x), index)), x[index])
    np.testing.assert_array_equal(host(GPU.broadcast_to(GPU.asarray(x[:1]), x.shape)), np.broadcast_to(x[:1], x.shape))
    out = GPU.zeros(x.shape, np.float32)
    GPU.setitem(out, (slice(None), slice(None, None, 2)), GPU.asarray(x[:, ::2]))
    want = np.zeros_like(x)
    want[:, ::2] = x[:, ::2]
    np.testing.assert_array_equal(host(out), want)
    copy = K.strided_copy32_kernel if bits == "32-bit" else K.strided_copy_kernel
    assert set(made) - {K.fill_kernel} == {copy}


def test_a_non_contiguous_device_view_as_an_operand(width, rng):
    x, y = rng.standard_normal((over_the_cap(), 4)), rng.standard_normal((over_the_cap(), 2))
    view = GPU.asarray(x)[:, ::2]  # a strided device array from outside the backend
    np.testing.assert_array_equal(host(GPU.add(view, GPU.asarray(y))), x[:, ::2] + y)
    np.testing.assert_array_equal(host(GPU.add(view, GPU.asarray(y[0]))), x[:, ::2] + y[0])
