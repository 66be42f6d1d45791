"""Reductions that use the whole GPU, under the simulator (or a GPU): the gradient norm in two
passes in a fixed order. launch.MAX_BLOCKS is raised above the simulator's 1 here, so the inputs (a few
hundred elements) run on several blocks and each thread strides over several elements."""

import numpy as np
import pytest

from autodiff.backend import cuda_kernels as K
from autodiff.backend import get_backend, launch

CPU, GPU = get_backend("cpu"), get_backend("cuda")


@pytest.fixture
def launches(monkeypatch):
    """A grid of at most 6 blocks where the sizes ask for more; yields (kernel name, grid) of
    every launch made meanwhile."""
    monkeypatch.setattr(launch, "MAX_BLOCKS", 6)
    made, configure = [], launch.configure

    def recording(kernel, grid, block):
        made.append((kernel.py_func.__name__ if hasattr(kernel, "py_func") else kernel.__name__, launch._dims(grid)))
        return configure(kernel, grid, block)

    monkeypatch.setattr(launch, "configure", recording)
    return made


def bits(x):
    return GPU.to_numpy(x).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_norm_is_the_same_bits_every_time_and_numpys_float64_sum(dtype, launches, rng):
    # 23 x 29 = 667 and 400 elements: each on 6 blocks of 8 (simulated) threads, 8 or more elements a thread
    grads = [rng.standard_normal(shape).astype(dtype) for shape in ((23, 29), (400,), (3,))]
    on_gpu = [GPU.asarray(g) for g in grads]
    norms = [bits(GPU.clip_by_global_norm(on_gpu, 1e30)) for _ in range(3)]  # 1e30: nothing is scaled
    assert norms[0] == norms[1] == norms[2]
    want = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads))
    got = np.frombuffer(norms[0], dtype)[0]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-15 if dtype == np.float64 else 6e-8)
    first_pass = [grid for name, grid in launches if name == "reduce_rows_kernel"][:3]
    assert first_pass == [(6,), (6,), (1,)]  # the two long gradients on 6 blocks, the short one on 1
    for got, want in zip(on_gpu, grads):
        np.testing.assert_array_equal(GPU.to_numpy(got), want)


def test_gradient_norm_clips_with_the_two_pass_norm(launches, rng):
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in ((700,), (0,), (5, 2))]
    on_gpu = [GPU.asarray(g) for g in grads]
    norm = GPU.item(GPU.clip_by_global_norm(on_gpu, 1.0))
    np.testing.assert_allclose(norm, float(CPU.clip_by_global_norm(grads, 1.0)), rtol=1e-6)
    for got, want in zip(on_gpu, grads):
        np.testing.assert_allclose(GPU.to_numpy(got), want, rtol=1e-6, atol=1e-7)
    assert GPU.item(GPU.clip_by_global_norm([GPU.asarray(np.zeros(0, np.float32))], 1.0)) == 0

