"""autodiff/backend/codes.py: both backends compute the same numbers from the same constants.

Under the simulator the CUDA Adam step is the CPU's bit for bit, moments flushed below the smallest
normal number included. A GPU contracts a multiply and an add into one FMA (one rounding instead of
two), so there the two agree to a few units in the last place: rtol 1e-6 (float32) and 1e-14
(float64) after five steps, and the flushed moments are exactly 0 on both.
"""

import numpy as np
import pytest

from autodiff.backend import codes, get_backend

from ..conftest import SIMULATOR

CPU, GPU = get_backend("cpu"), get_backend("cuda")


def same(gpu_value, cpu_value, rtol):
    got = GPU.to_numpy(gpu_value)
    if SIMULATOR:
        np.testing.assert_array_equal(got.view(np.uint8), cpu_value.view(np.uint8))  # every bit, -0 too
    else:
        np.testing.assert_allclose(got, cpu_value, rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_is_the_same_on_both_devices_subnormal_moments_included(dtype, rtol, weight_decay, rng):
    n, tiny = 24, np.finfo(dtype).tiny
    p = rng.standard_normal(n).astype(dtype)
    m = (rng.standard_normal(n) * 1e-2).astype(dtype)
    v = (rng.random(n) * 1e-3).astype(dtype)
    # Entries 0-7 get no gradient (nor weight decay: they sit at 0) and start with moments just
    # below / around the smallest normal number: each step multiplies them by beta, so they turn
    # subnormal and must be flushed.
    dead = np.arange(8)
    p[dead] = 0
    m[dead] = (tiny * np.array([0.5, 0.9, 1.05, 1.5, -0.5, -1.05, 3.0, 0.0])).astype(dtype)
    v[dead] = (tiny * np.array([0.5, 1.05, 2.0, 0.9, 1.5, 0.2, 1.1, 4.0])).astype(dtype)
    cpu_state = [p.copy(), m.copy(), v.copy()]
    gpu_state = [GPU.asarray(x) for x in (p, m, v)]
    for step in range(1, 6):
        g = rng.standard_normal(n).astype(dtype)
        g[dead] = 0
        CPU.adam_step(cpu_state[0], g, cpu_state[1], cpu_state[2], 3e-3, 0.9, 0.999, 1e-5, step, weight_decay)
        GPU.adam_step(gpu_state[0], GPU.asarray(g), gpu_state[1], gpu_state[2], 3e-3, 0.9, 0.999, 1e-5, step,
                      weight_decay)
    for got, want in zip(gpu_state, cpu_state):
        same(got, want, rtol)
    flushed = np.abs(cpu_state[1][dead]) < tiny
    assert flushed.sum() >= 4  # the case under test happened, and no moment is left subnormal:
    for moments in (cpu_state[1], cpu_state[2], GPU.to_numpy(gpu_state[1]), GPU.to_numpy(gpu_state[2])):
        assert not ((moments != 0) & (np.abs(moments) < tiny)).any()


def test_adam_scalars_keep_the_dtype_but_for_the_bias_correction():
    scalars = codes.adam_scalars(np.float32, 1e-3, 0.9, 0.999, 1e-5, 3, 0.0)
    assert [type(s) for s in scalars] == [np.float32] * 5 + [np.float64] + [np.float32] * 3
    assert scalars[4] == np.finfo(np.float32).tiny


@pytest.mark.parametrize("scale, max_norm", [(0.0, 1.0), (1e-9, 1e-9), (1.0, 1.0), (100.0, 1.0)])
def test_gradient_clipping_uses_one_epsilon_on_both_devices(scale, max_norm, rng):
    """Norms 0 (no division by zero), ~4e-9 clipped to 1e-9 (CLIP_EPS sets the scale: ~1e-3
    instead of 0.25), ~4 and ~400 clipped to 1."""
    grads = [(rng.standard_normal(shape) * scale).astype(np.float32) for shape in ((3, 4), (5,))]
    on_gpu = [GPU.asarray(g) for g in grads]
    norm_cpu, norm_gpu = CPU.clip_by_global_norm(grads, max_norm), GPU.clip_by_global_norm(on_gpu, max_norm)
    np.testing.assert_allclose(GPU.item(norm_gpu), float(norm_cpu), rtol=1e-6)
    for got, want in zip(on_gpu, grads):
        assert np.isfinite(GPU.to_numpy(got)).all()
        np.testing.assert_allclose(GPU.to_numpy(got), want, rtol=1e-6, atol=1e-24)


@pytest.mark.parametrize("activation", sorted(codes.ACTIVATIONS, key=str))
def test_every_activation_code_means_the_same_on_both_devices(activation, rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    w, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    got = GPU.to_numpy(GPU.linear(GPU.asarray(x), GPU.asarray(w), GPU.asarray(b), activation))
    np.testing.assert_allclose(got, CPU.linear(x, w, b, activation), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, method", [(codes.REDUCE_SUM, "sum"), (codes.REDUCE_MAX, "max")])
def test_reduction_kinds(kind, method, rng):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    np.testing.assert_allclose(GPU.to_numpy(getattr(GPU, method)(GPU.asarray(x), 1, False)),
                               getattr(CPU, method)(x, 1, False), rtol=1e-6)
    np.testing.assert_allclose(GPU.to_numpy(GPU._reduce(GPU.asarray(x), 1, False, kind)),
                               getattr(CPU, method)(x, 1, False), rtol=1e-6)
