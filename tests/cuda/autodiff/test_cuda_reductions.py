"""Reductions that use the whole GPU, under the simulator (or a GPU): the gradient norm, full and
long-axis sums and maxima, and the split-K matmul behind a weight gradient, each in two passes in
a fixed order. launch.MAX_BLOCKS is raised above the simulator's 1 here, so the inputs (a few
hundred elements) run on several blocks and each thread strides over several elements."""

import numpy as np
import pytest

from autodiff.backend import get_backend
from numbarl import launch

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


@pytest.mark.parametrize("shape, axis", [((23, 29), None), ((2, 300), 1), ((300, 2), 0), ((4, 3, 60), (0, 2))])
def test_long_sums_and_maxima_run_on_several_blocks(shape, axis, launches, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    for method in ("sum", "max"):
        got = getattr(GPU, method)(GPU.asarray(x), axis, False)
        # float64 partials: the float64 result rounded once (numpy's float32 sum rounds at every level)
        want = getattr(np, method)(x.astype(np.float64), axis=axis).astype(np.float32)
        np.testing.assert_allclose(GPU.to_numpy(got), want, rtol=1e-7, atol=1e-7)
        assert bits(got) == bits(getattr(GPU, method)(GPU.asarray(x), axis, False))
    rows = int(np.prod([n for d, n in enumerate(shape) if d not in np.atleast_1d(axis)])) if axis is not None else 1
    grids = [grid[0] for name, grid in launches if name == "reduce_rows_kernel"]
    assert max(grids) > rows  # a first pass with several blocks per row, then one per row
    assert grids[1] == rows


def test_two_pass_reductions_keep_nan_and_integer_sums(launches, rng):
    x = rng.standard_normal(500)
    x[333] = np.nan
    assert np.isnan(GPU.item(GPU.max(GPU.asarray(x), None, False)))
    ints = rng.integers(-50, 50, (7, 90))
    got = GPU.sum(GPU.asarray(ints), None, False)
    assert GPU.to_numpy(got).dtype == np.int64 and GPU.item(got) == int(ints.sum())


@pytest.mark.parametrize("batch, n_in, n_out", [(200, 5, 3), (97, 2, 6)])
def test_weight_gradient_is_split_over_the_batch_and_the_same_bits_every_time(batch, n_in, n_out, launches, rng):
    g, x = rng.standard_normal((batch, n_out)).astype(np.float32), rng.standard_normal((batch, n_in)).astype(np.float32)
    gt = GPU.permute(GPU.asarray(g), (1, 0))  # as ops/linalg.py's MatMul backward hands it over
    dw = GPU.matmul(gt, GPU.asarray(x))
    np.testing.assert_allclose(GPU.to_numpy(dw), g.astype(np.float64).T @ x.astype(np.float64), rtol=1e-5, atol=1e-5)
    assert bits(dw) == bits(GPU.matmul(gt, GPU.asarray(x)))
    z = [grid[2] for name, grid in launches if name == "matmul_kernel"]
    assert max(z) > 1  # pieces of the batch on grid z
    assert any(name == "split_k_sum_kernel" for name, _ in launches)


@pytest.mark.parametrize("activation", [None, "tanh", "relu"])
def test_split_k_adds_bias_and_activation_after_the_sum(activation, launches, rng):
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((6, 150), (3, 150), (3,)))
    got = GPU.linear(GPU.asarray(x), GPU.asarray(w), GPU.asarray(b), activation)
    np.testing.assert_allclose(GPU.to_numpy(got), CPU.linear(x, w, b, activation), rtol=1e-5, atol=1e-5)
    stack, w3 = rng.standard_normal((2, 3, 130)), rng.standard_normal((2, 130, 5))  # batch on grid z too
    np.testing.assert_allclose(GPU.to_numpy(GPU.matmul(GPU.asarray(stack), GPU.asarray(w3))), stack @ w3,
                               rtol=1e-12, atol=1e-12)
    assert any(name == "split_k_sum_kernel" for name, _ in launches)


def test_a_weight_gradient_through_autodiff_matches_the_cpu(launches, rng):
    import autodiff as ad

    x, w, target = (rng.standard_normal(s).astype(np.float32) for s in ((120, 4), (3, 4), (120, 3)))
    grads = {}
    for device in ("cpu", "cuda"):
        xt, wt = ad.tensor(x, device=device), ad.tensor(w, device=device, requires_grad=True)
        ((ad.linear(xt, wt, None, "tanh") - ad.tensor(target, device=device)) ** 2).mean().backward()
        grads[device] = wt.grad.numpy()
    np.testing.assert_allclose(grads["cuda"], grads["cpu"], rtol=1e-4, atol=1e-6)
    assert any(name == "split_k_sum_kernel" for name, _ in launches)
