"""The matmul's launches under the simulator (or a GPU): its rows lie on grid y (65,535 blocks at
most), and it strides past that limit. numbarl/launch.py's MAX_GRID is lowered here so the stride
runs at simulator sizes (what configure refuses: tests/cuda/numbarl/test_launch.py)."""

import numpy as np
import pytest

from autodiff.backend import cuda_kernels as K
from autodiff.backend import get_backend
from numbarl import launch

CPU, GPU = get_backend("cpu"), get_backend("cuda")


@pytest.fixture
def small_grid_y(monkeypatch):
    """Grid y capped at 2 blocks; yields the grids of every launch made meanwhile."""
    monkeypatch.setattr(launch, "MAX_GRID", (2**31 - 1, 2, 65_535))
    grids, configure = [], launch.configure

    def recording(kernel, grid, block):
        grids.append(launch._dims(grid))
        return configure(kernel, grid, block)

    monkeypatch.setattr(launch, "configure", recording)
    return grids


def test_matmul_strides_over_rows_past_the_grid_y_limit(small_grid_y, rng):
    n = 9 * K.TILE + 1  # 10 row tiles on 2 blocks of grid y
    a, b = rng.standard_normal((n, 5)), rng.standard_normal((5, 6))
    got = GPU.to_numpy(GPU.matmul(GPU.asarray(a), GPU.asarray(b)))
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    assert max(g[1] for g in small_grid_y if len(g) == 3) == 2


@pytest.mark.parametrize("activation", [None, "tanh", "relu"])
def test_linear_and_batched_matmul_stride_past_the_grid_y_limit(activation, small_grid_y, rng):
    x, w, bias = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4 * K.TILE + 3, 7), (5, 7), (5,)))
    got = GPU.to_numpy(GPU.linear(GPU.asarray(x), GPU.asarray(w), GPU.asarray(bias), activation))
    np.testing.assert_allclose(got, CPU.linear(x, w, bias, activation), rtol=1e-5, atol=1e-6)
    stack, w3 = rng.standard_normal((3, 3 * K.TILE + 2, 7)), rng.standard_normal((3, 7, 2))  # batch on grid z
    got = GPU.to_numpy(GPU.matmul(GPU.asarray(stack), GPU.asarray(w3)))
    np.testing.assert_allclose(got, stack @ w3, rtol=1e-12, atol=1e-12)
    assert small_grid_y and max(g[1] for g in small_grid_y if len(g) == 3) == 2
