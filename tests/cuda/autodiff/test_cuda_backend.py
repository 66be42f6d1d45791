"""autodiff/backend/cuda.py under the CUDA simulator (or a GPU): every backend method against the
CPU backend on fresh random inputs, and a small network's gradients and Adam step on both devices."""

import inspect

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.backend import Backend, get_backend

CPU, GPU = get_backend("cpu"), get_backend("cuda")


def host(x):
    return GPU.to_numpy(x)


def dev(x):
    return GPU.asarray(x)


def close(gpu_value, cpu_value, rtol=1e-5, atol=1e-6):
    got = host(gpu_value)
    assert got.shape == np.shape(cpu_value)
    assert got.dtype == np.asarray(cpu_value).dtype, (got.dtype, np.asarray(cpu_value).dtype)
    np.testing.assert_allclose(got, cpu_value, rtol=rtol, atol=atol)


def test_every_interface_method_is_implemented():
    missing = [name for name, fn in inspect.getmembers(Backend, inspect.isfunction)
               if not name.startswith("_") and getattr(type(GPU), name) is fn]
    assert not missing, missing


def test_creation_and_transfer(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    close(GPU.asarray(x), x)
    close(GPU.asarray(x, np.float64), x.astype(np.float64))
    close(GPU.full((2, 3), 2.5, np.float32), np.full((2, 3), 2.5, np.float32))
    close(GPU.zeros((4,), np.int64), np.zeros(4, np.int64))
    close(GPU.copy(dev(x)), x)
    close(GPU.astype(dev(x), np.float64), x.astype(np.float64))
    assert GPU.item(GPU.asarray(np.array([3.5]))) == 3.5


def test_tensor_copies_a_device_array_and_as_tensor_shares_it():
    """The GPU keeps the CPU's contract: an env's device array, rewritten by its next step, is
    copied by ad.tensor (on the device) and shared by ad.as_tensor."""
    from numba import cuda

    array = cuda.to_device(np.zeros(4, np.float32))
    copied, shared = ad.tensor(array, device="cuda"), ad.as_tensor(array, device="cuda")
    cast = ad.tensor(array, dtype="float64", device="cuda")
    array.copy_to_device(np.ones(4, np.float32))
    assert copied.numpy().tolist() == [0] * 4 and cast.numpy().tolist() == [0] * 4
    assert shared.numpy().tolist() == [1] * 4 and copied.dtype == np.float32


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum", "pow"])
def test_binary_ops_broadcast_and_take_scalars(name, rng):
    a = rng.uniform(0.5, 2.0, (3, 1, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (5, 1)).astype(np.float32)
    cpu_fn, gpu_fn = getattr(CPU, name), getattr(GPU, name)
    close(gpu_fn(dev(a), dev(b)), cpu_fn(a, b))
    s = CPU.scalar(1.5, np.float32)
    close(gpu_fn(dev(a), GPU.scalar(1.5, np.float32)), cpu_fn(a, s))
    close(gpu_fn(GPU.scalar(1.5, np.float32), dev(a)), cpu_fn(s, a))


@pytest.mark.parametrize("name", ["neg", "exp", "log", "sqrt", "abs", "sign", "tanh", "sigmoid", "relu"])
def test_unary_ops(name, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32) * 3
    if name in ("log", "sqrt"):
        x = np.abs(x) + 0.1
    close(getattr(GPU, name)(dev(x)), getattr(CPU, name)(x))


def test_where_clip_compare_logical(rng):
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4,)).astype(np.float32)
    c = a > 0
    close(GPU.where(dev(c), dev(a), dev(b)), CPU.where(c, a, b))
    close(GPU.clip(dev(a), -0.5, 0.5), CPU.clip(a, -0.5, 0.5))
    close(GPU.clip(dev(a), None, 0.1), CPU.clip(a, None, 0.1))
    for op in ("lt", "le", "gt", "ge", "eq", "ne"):
        close(GPU.compare(op, dev(a), dev(b)), CPU.compare(op, a, b))
    d = b > 0
    for op in ("and", "or", "xor"):
        close(GPU.logical(op, dev(c), dev(d)), CPU.logical(op, c, d))
    close(GPU.logical("not", dev(c)), CPU.logical("not", c))


def test_fused_rules(rng):
    g, y = rng.standard_normal((3, 4)).astype(np.float32), np.tanh(rng.standard_normal((3, 4))).astype(np.float32)
    close(GPU.tanh_backward(dev(g), dev(y)), CPU.tanh_backward(g, y))
    close(GPU.sigmoid_backward(dev(g), dev(y)), CPU.sigmoid_backward(g, y))
    close(GPU.relu_backward(dev(g), dev(y)), CPU.relu_backward(g, y))  # y has entries on both sides of 0
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    for axis in (-1, 1, 0):
        close(GPU.log_softmax(dev(x), axis), CPU.log_softmax(x, axis))
    m = CPU.max(x, 1, True)
    close(GPU.max_backward_mask(dev(x), dev(m), 1), CPU.max_backward_mask(x, m, 1))


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reductions(axis, keepdims, rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    close(GPU.sum(dev(x), axis, keepdims), CPU.sum(x, axis, keepdims), rtol=1e-5, atol=1e-5)
    close(GPU.max(dev(x), axis, keepdims), CPU.max(x, axis, keepdims))


def test_argmax_takes_the_first_of_ties_and_nans_as_numpy():
    x = np.array([[1, 3, 3, 0], [np.nan, 2, np.nan, 5], [4, np.nan, 9, 9], [-1, -1, -1, -1]], np.float32)
    for axis in (0, 1, None):
        np.testing.assert_array_equal(GPU.to_numpy(GPU.argmax(dev(x), axis)), np.argmax(x, axis))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_over_a_dim_match_the_cpu(name, rng):
    """(values, indices) and the gradient to each first extreme, as on the CPU."""
    x = rng.integers(-2, 3, (5, 6)).astype(np.float32)  # small integers: many ties
    for axis in (0, 1):
        results = []
        for device in ("cpu", "cuda"):
            t = ad.tensor(x, device=device, requires_grad=True)
            values, indices = getattr(t, name)(axis)
            (values * ad.arange(values.shape[0], device=device).float()).sum().backward()
            results.append((values.numpy(), indices.numpy(), t.grad.numpy()))
        for on_cpu, on_gpu in zip(*results):
            np.testing.assert_array_equal(on_gpu, on_cpu)


def test_argmax_sum_to_and_finiteness(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    close(GPU.argmax(dev(x), 1), CPU.argmax(x, 1))
    close(GPU.argmax(dev(x), None), CPU.argmax(x, None))
    y = rng.standard_normal((2, 3, 4)).astype(np.float32)
    close(GPU.sum_to(dev(y), (3, 1)), CPU.sum_to(y, (3, 1)), atol=1e-5)
    assert GPU.all_finite(dev(x))
    x[1, 2] = np.nan
    assert not GPU.all_finite(dev(x))


def test_shapes_and_indexing(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    close(GPU.reshape(dev(x), (4, 6)), CPU.reshape(x, (4, 6)))
    close(GPU.permute(dev(x), (2, 0, 1)), CPU.permute(x, (2, 0, 1)))
    close(GPU.broadcast_to(dev(x[:1]), (5, 4, 2)), CPU.broadcast_to(x[:1], (5, 4, 2)))
    close(GPU.concatenate([dev(x), dev(x[:, :1])], 1), CPU.concatenate([x, x[:, :1]], 1))
    for index in [(slice(1, 3),), (Ellipsis, 0), (1, slice(None, None, -1)), (None, 2),
                  np.array([2, 0, 2]), (slice(None), np.array([3, 1])), x[..., 0] > 0]:
        close(GPU.getitem(dev(x), index), CPU.getitem(x, index))
    rows = np.array([2, 0, 2, 1])
    close(GPU.getitem(dev(x), dev(rows)), CPU.getitem(x, rows))  # device rows stay on the device
    values = rng.standard_normal((4, 4, 2)).astype(np.float32)
    close(GPU.index_add((3, 4, 2), rows, dev(values)), CPU.index_add((3, 4, 2), rows, values))
    close(GPU.index_add((3, 4, 2), (slice(1, 2),), dev(values[:1])), CPU.index_add((3, 4, 2), (slice(1, 2),), values[:1]))
    idx = rng.integers(0, 4, (3, 2, 2))
    close(GPU.take_along_axis(dev(x), dev(idx), 1), CPU.take_along_axis(x, idx, 1))
    v = rng.standard_normal((3, 2, 2)).astype(np.float32)
    close(GPU.scatter_add_along_axis((3, 4, 2), dev(idx), dev(v), 1), CPU.scatter_add_along_axis((3, 4, 2), idx, v, 1))


def test_linear_algebra(rng):
    a, b = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    close(GPU.matmul(dev(a), dev(b)), CPU.matmul(a, b), rtol=1e-4, atol=1e-5)
    ba, bb = rng.standard_normal((2, 1, 3, 4)).astype(np.float32), rng.standard_normal((3, 4, 2)).astype(np.float32)
    close(GPU.matmul(dev(ba), dev(bb)), CPU.matmul(ba, bb), rtol=1e-4, atol=1e-5)
    x, w, bias = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 5), (4, 5), (4,)))
    for act in (None, "tanh", "relu"):
        close(GPU.linear(dev(x), dev(w), dev(bias), act), CPU.linear(x, w, bias, act), rtol=1e-4, atol=1e-5)
    close(GPU.linear(dev(x), dev(w), None), CPU.linear(x, w, None), rtol=1e-4, atol=1e-5)


def test_in_place_and_optimizer_steps(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    d, c = dev(x), x.copy()
    GPU.setitem(d, (slice(1, 3),), 0.5)
    CPU.setitem(c, (slice(1, 3),), 0.5)
    GPU.setitem(d, np.array([0, 3]), dev(np.ones((2, 3), np.float32)))
    CPU.setitem(c, np.array([0, 3]), np.ones((2, 3), np.float32))
    GPU.iadd(d, dev(x))
    CPU.iadd(c, x)
    GPU.imul(d, GPU.scalar(2.0, np.float32))
    CPU.imul(c, CPU.scalar(2.0, np.float32))
    close(d, c)
    p, g = rng.standard_normal(10).astype(np.float32), rng.standard_normal(10).astype(np.float32)
    state = [p.copy(), np.zeros(10, np.float32), np.zeros(10, np.float32)]
    gstate = [dev(v) for v in state]
    for step in (1, 2, 3):
        CPU.adam_step(state[0], g, state[1], state[2], 1e-2, 0.9, 0.999, 1e-5, step, 0.01)
        GPU.adam_step(gstate[0], dev(g), gstate[1], gstate[2], 1e-2, 0.9, 0.999, 1e-5, step, 0.01)
    close(gstate[0], state[0], rtol=1e-5)
    cp, cb, gp, gb = p.copy(), np.zeros(10, np.float32), dev(p), dev(np.zeros(10, np.float32))
    for _ in range(2):
        CPU.sgd_step(cp, g, cb, 0.1, 0.9, 0.0, True)
        GPU.sgd_step(gp, dev(g), gb, 0.1, 0.9, 0.0, True)
    close(gp, cp, rtol=1e-5)
    grads = [rng.standard_normal((3, 2)).astype(np.float32) * 5, rng.standard_normal(4).astype(np.float32) * 5]
    dgrads = [dev(v) for v in grads]
    norm_c, norm_g = CPU.clip_by_global_norm(grads, 1.0), GPU.clip_by_global_norm(dgrads, 1.0)
    assert abs(GPU.item(norm_g) - float(norm_c)) < 1e-4
    for a, b in zip(dgrads, grads):
        close(a, b, rtol=1e-5)


def test_random_numbers():
    r = GPU.rng(7)
    u = host(GPU.uniform(r, (4, 50), np.float32))
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1 and 0.3 < u.mean() < 0.7
    n = host(GPU.normal(r, (400,), np.float64))
    assert n.dtype == np.float64 and abs(n.mean()) < 0.3 and 0.7 < n.std() < 1.3
    saved = GPU.rng_state(r)
    first = host(GPU.uniform(r, (20,), np.float32))
    GPU.set_rng_state(r, saved)
    np.testing.assert_array_equal(host(GPU.uniform(r, (20,), np.float32)), first)
    assert sorted(host(GPU.permutation(r, 9)).tolist()) == list(range(9))


LOSSES = {"mse": lambda y, t: ((y - t) ** 2).mean(), "huber": ad.smooth_l1_loss}


@pytest.mark.parametrize("activation, loss_name", [("tanh", "mse"), ("relu", "huber")])
def test_a_small_network_trains_identically_on_both_devices(activation, loss_name, rng):
    # Targets spread over +-3, so the Huber loss has entries on both of its pieces.
    x, target = rng.standard_normal((8, 3)).astype(np.float32), 3 * rng.standard_normal((8, 2)).astype(np.float32)
    nets, opts = {}, {}
    for device in ("cpu", "cuda"):
        ad.manual_seed(0)
        net = nn.MLP([3, 5, 2], activation)
        nets[device] = net.to(device)
        opts[device] = optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):
        grads = {}
        for device, net in nets.items():
            loss = LOSSES[loss_name](net(ad.tensor(x, device=device)), ad.tensor(target, device=device))
            opts[device].zero_grad()
            loss.backward()
            grads[device] = [p.grad.numpy().copy() for p in net.parameters()]  # before the clip
            optim.clip_grad_norm_(net.parameters(), 0.5)
            opts[device].step()
        for a, b in zip(grads["cuda"], grads["cpu"]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(nets["cuda"].parameters(), nets["cpu"].parameters()):
        assert a.device == "cuda"
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
