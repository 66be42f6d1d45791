"""autodiff/backend/cuda_kernels.py: every kernel compiles to PTX for an H100 (sm_90) with the
argument types the backend launches it with, on this GPU-less machine: typing errors the
simulator (which runs Python) lets through fail here."""

import re

import numpy as np
import pytest
from numba import from_dtype, types
from numba.cuda.random import xoroshiro128p_dtype

from autodiff.backend import cuda_kernels as K

from ..cuda_ptx import compile_ptx

f32, f64, i64, b1 = types.float32[::1], types.float64[::1], types.int64[::1], types.boolean[::1]
dims = types.UniTuple(types.int64, 2)
I, F, B = types.int64, types.float64, types.boolean
STATES = from_dtype(xoroshiro128p_dtype)[::1]

SIGNATURES = {
    "binary_flat_kernel": [(I, f32, f32, f32), (I, f64, f64, b1), (I, i64, i64, i64)],
    "binary_kernel": [(I, f32, dims, f32, dims, f32, dims), (I, f64, dims, f64, dims, b1, dims),
                      (I, i64, dims, i64, dims, i64, dims)],
    "binary32_kernel": [(I, f32, dims, f32, dims, f32, dims), (I, f64, dims, f64, dims, b1, dims)],
    "scalar_kernel": [(I, f32, types.float32, f32), (I, f32, types.float32, b1)],
    "unary_kernel": [(I, f32, f32), (I, f64, f64), (I, b1, b1), (I, f32, f64)],
    "where_flat_kernel": [(b1, f32, f32, f32)],
    "where_kernel": [(b1, dims, f32, dims, f32, dims, f32, dims)],
    "where32_kernel": [(b1, dims, f32, dims, f32, dims, f32, dims)],
    "strided_copy_kernel": [(f32, I, dims, f32, I, dims, dims, I), (i64, I, dims, i64, I, dims, dims, I)],
    "strided_copy32_kernel": [(f32, I, dims, f32, I, dims, dims, I), (i64, I, dims, i64, I, dims, dims, I)],
    "fill_kernel": [(f32, I), (f64, F), (b1, I)],
    "gather_kernel": [(f32, i64, f32)],
    "scatter_kernel": [(f32, i64, f32, B), (f64, i64, f64, B)],
    "rows_kernel": [(f32, i64, I, f32)],
    "along_axis_kernel": [(f32, dims, i64, dims, I, f32, f32, B, B)],
    "reduce_rows_kernel": [(f32, I, f32, I, I), (f64, I, f64, I, I), (f32, I, f64, I, I), (f64, I, f32, I, I)],
    "argmax_rows_kernel": [(f32, I, i64)],
    "log_softmax_rows_kernel": [(f32, I, f32)],
    "split_k_sum_kernel": [(f64, I, I, I, f32, B, I, f32), (f64, I, I, I, f64, B, I, f64)],
    "sgd_kernel": [(f32, f32, f32, F, F, F, B)],
    "clip_scale_kernel": [(f32, f64, F)],
    "sqrt_kernel": [(f64, f32)],
    "nonfinite_kernel": [(f32, types.int32[::1])],
    "random32_kernel": [(STATES, f32, B)],
    "random64_kernel": [(STATES, f64, B)],
}


def test_every_kernel_has_signatures_here():
    kernels = {name for name in dir(K) if name.endswith("_kernel")}
    assert kernels == set(SIGNATURES)


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_kernel_compiles_for_sm90(name):
    for signature in SIGNATURES[name]:
        ptx = compile_ptx(getattr(K, name), signature)
        assert ".target sm_90" in ptx and ".entry" in ptx


@pytest.mark.parametrize("dtype, array", [("float32", f32), ("float64", f64)])
def test_matmul_compiles_for_sm90(dtype, array):
    for out in (array, f64):  # the product, or split-K's float64 partial products
        signature = (array, array, out, I, I, I, I, I, B, B, array, B, I, I, I)
        ptx = compile_ptx(K.MATMUL[dtype], signature)
        assert ".shared" in ptx and ".entry" in ptx


@pytest.mark.parametrize("dtype, array, scalar", [("float32", f32, types.float32), ("float64", f64, types.float64)])
def test_adam_compiles_for_sm90(dtype, array, scalar):
    S = scalar  # codes.adam_scalars: every scalar in the parameters' dtype but 1 / sqrt(bias2)
    signature = (array, array, array, array, S, S, S, S, S, types.float64, S, S, S)
    ptx = compile_ptx(K.ADAM[dtype], signature)
    assert ".target sm_90" in ptx and ".entry" in ptx


def _wide_divisions(ptx):
    return len(re.findall(r"\b(?:div|rem)\.[su]64\b", ptx))


def test_the_32_bit_broadcasting_kernels_divide_in_32_bits():
    """The 64-bit kernels divide once per dimension in 64 bits (for all operands together); the
    32-bit ones no more than the flat kernel, whose one is the grid-stride loop's trip count."""
    dims3 = types.UniTuple(types.int64, 3)
    flat = _wide_divisions(compile_ptx(K.binary_flat_kernel, (I, f32, f32, f32)))
    for wide, narrow, signature in [
            (K.binary_kernel, K.binary32_kernel, (I, f32, dims3, f32, dims3, f32, dims3)),
            (K.where_kernel, K.where32_kernel, (b1, dims3, f32, dims3, f32, dims3, f32, dims3)),
            (K.strided_copy_kernel, K.strided_copy32_kernel, (f32, I, dims3, f32, I, dims3, dims3, I))]:
        assert _wide_divisions(compile_ptx(narrow, signature)) <= flat
        assert _wide_divisions(compile_ptx(wide, signature)) >= flat + 3


def test_every_kernel_is_cached_on_disk():
    """cache=True on each (numba-cuda keeps CUDACache on the dispatcher; a NullCache otherwise),
    so a second process loads the kernels instead of compiling them again."""
    kernels = [getattr(K, name) for name in SIGNATURES] + list(K.MATMUL.values()) + list(K.ADAM.values())
    uncached = [k.py_func.__name__ for k in kernels if type(k._cache).__name__ != "CUDACache"]
    assert not uncached, uncached
