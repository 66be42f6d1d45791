"""Launch configurations for every CUDA kernel in numbarl (autodiff's backend, algos/gae_cuda.py,
the env drivers of envs/cuda_driver.py), each checked against the device's limits before the
launch. It lives below autodiff and envs because both launch kernels and neither imports the other.

The simulator checks no grid limits, so a configuration a GPU refuses would pass every simulator
test and fail on the first large run; `configure` makes the simulator refuse it too.
"""

from __future__ import annotations

from numba import config

_SIM = bool(config.ENABLE_CUDASIM)
THREADS = 256 if not _SIM else 16  # the simulator runs each thread as a Python thread
MAX_BLOCKS = 4096 if not _SIM else 1  # grid-stride loops cover the rest; also the split target
# The least work a block takes before a reduction's row (elements) or a matmul's k axis is split
# over more blocks: a split costs a second pass over the partials, which must stay small.
MIN_SPLIT_ELEMENTS = 2048 if not _SIM else 32
MIN_SPLIT_K = 512 if not _SIM else 8
# CUDA's limits for every compute capability numba-cuda supports: blocks per grid axis (x, y, z)
# and threads per block. Tests lower MAX_GRID to make the chunked paths run at simulator sizes.
MAX_GRID = (2**31 - 1, 65_535, 65_535)
MAX_BLOCK_THREADS = 1024


def _dims(shape) -> tuple:
    return tuple(int(n) for n in shape) if isinstance(shape, tuple) else (int(shape),)


def configure(kernel, grid, block):
    """kernel[grid, block], after checking the grid and the block against the device's limits."""
    grid, block = _dims(grid), _dims(block)
    name = getattr(kernel, "__name__", None) or getattr(getattr(kernel, "py_func", None), "__name__", "kernel")
    if len(grid) > 3 or len(block) > 3:
        raise ValueError(f"{name}: a grid and a block have at most 3 axes, got grid {grid} and block {block}")
    for axis, blocks, limit in zip("xyz", grid, MAX_GRID):
        if not 1 <= blocks <= limit:
            raise ValueError(f"{name}: grid axis {axis} has {blocks:,} blocks, outside the device's 1..{limit:,}; "
                             f"chunk the work or stride over it inside the kernel")
    threads = 1
    for n in block:
        threads *= n
    if min(block) < 1 or threads > MAX_BLOCK_THREADS:
        raise ValueError(f"{name}: a block of {block} is {threads} threads; valid: 1..{MAX_BLOCK_THREADS}")
    return kernel[grid, block]


def grid_stride(kernel, n):
    """kernel configured for n work items on at most MAX_BLOCKS blocks of THREADS: the kernel
    must loop `for i in range(cuda.grid(1), n, cuda.gridsize(1))` to cover the rest."""
    return configure(kernel, max(1, min(MAX_BLOCKS, (n + THREADS - 1) // THREADS)), THREADS)


def splits(outputs, work, min_work):
    """Into how many pieces to cut each of `outputs` independent results' `work` items, so that
    outputs * pieces blocks come near MAX_BLOCKS (a grid that fills the GPU) while each piece
    keeps at least `min_work` items: 1 when the outputs alone fill the grid or the work is short.
    The count depends on the sizes only, so a split result is the same bits on every run."""
    return max(1, min(MAX_BLOCKS // max(1, outputs), work // max(1, min_work)))
