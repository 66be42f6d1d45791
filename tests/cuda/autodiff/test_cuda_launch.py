"""autodiff/backend/launch.py under the simulator (or a GPU): every launch configuration is checked
against the device's limits, and the matmul, whose rows lie on grid y (65,535 blocks at most),
strides past that limit. MAX_GRID is lowered here so the stride runs at simulator sizes."""

import numpy as np
import pytest

from autodiff.backend import cuda_kernels as K
from autodiff.backend import get_backend, launch

CPU, GPU = get_backend("cpu"), get_backend("cuda")


@pytest.mark.parametrize("grid, block, message", [
    ((2**31, 1, 1), 16, "grid axis x has 2,147,483,648 blocks, outside the device's 1..2,147,483,647"),
    ((1, 65_536), 16, "grid axis y has 65,536 blocks, outside the device's 1..65,535"),
    ((1, 1, 65_536), 16, "grid axis z has 65,536 blocks"),
    (0, 16, "grid axis x has 0 blocks"),
    (1, (32, 33), r"a block of \(32, 33\) is 1056 threads; valid: 1..1024"),
    (1, 0, "is 0 threads"),
    ((1, 1, 1, 1), 16, "at most 3 axes"),
])
def test_a_configuration_beyond_the_device_limits_is_refused_by_name(grid, block, message):
    with pytest.raises(ValueError, match="^fill_kernel: .*" + message):
        launch.configure(K.fill_kernel, grid, block)


def test_a_configuration_at_the_limits_is_accepted_and_runs():
    launch.configure(K.fill_kernel, (2**31 - 1, 65_535, 65_535), (8, 8, 16))  # configured, not launched
    out = GPU.zeros((5,), np.float32)
    launch.configure(K.fill_kernel, 1, 5)(out, 2.5)
    np.testing.assert_array_equal(GPU.to_numpy(out), np.full(5, 2.5, np.float32))


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
