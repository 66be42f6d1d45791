"""numbarl/launch.py under the simulator (or a GPU): a configuration beyond the device's limits is
refused in one sentence naming the kernel, one at the limits is accepted, and `grid_stride` under
a lowered cap covers every item (numpy's arange is the reference)."""

import numpy as np
import pytest
from numba import cuda

from numbarl import launch


@cuda.jit
def fill_index(out, n):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = i


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
    with pytest.raises(ValueError, match="^fill_index: .*" + message):
        launch.configure(fill_index, grid, block)


def test_a_configuration_at_the_limits_is_accepted_and_runs():
    launch.configure(fill_index, (2**31 - 1, 65_535, 65_535), (8, 8, 16))  # configured, not launched
    out = cuda.to_device(np.full(5, -1, np.int64))
    launch.configure(fill_index, 1, 5)(out, 5)
    np.testing.assert_array_equal(out.copy_to_host(), np.arange(5))


@pytest.mark.parametrize("n", [1, 7, 8, 9, 37])
def test_grid_stride_covers_every_item_past_the_cap(n, monkeypatch):
    monkeypatch.setattr(launch, "MAX_BLOCKS", 2)  # 8 threads for up to 37 items
    monkeypatch.setattr(launch, "THREADS", 4)
    out = cuda.to_device(np.full(n + 3, -1, np.int64))
    launch.grid_stride(fill_index, n)(out, n)
    np.testing.assert_array_equal(out.copy_to_host(), np.r_[np.arange(n), [-1, -1, -1]])
