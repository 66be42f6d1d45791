"""autodiff/tensor.py: creation, dtypes, properties, conversions, repr."""

import numpy as np
import pytest

import autodiff as ad


def test_creation_and_dtypes():
    assert ad.tensor([[1.0, 2.0]]).shape == (1, 2)
    assert ad.tensor(np.zeros(3, np.float64)).dtype == np.float64  # numpy keeps its dtype
    assert ad.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert ad.zeros(2, 3).shape == (2, 3) and ad.ones((2,)).numpy().tolist() == [1, 1]
    assert ad.full((2,), 3.0).numpy().tolist() == [3, 3]
    assert ad.arange(4).numpy().tolist() == [0, 1, 2, 3]
    t = ad.tensor([1.0])
    assert ad.zeros_like(t).dtype == t.dtype and ad.ones_like(t).numpy()[0] == 1


def test_tensor_copies_but_from_numpy_and_as_tensor_share():
    """As torch.tensor, torch.from_numpy and torch.as_tensor: only a tensor of the array's own
    dtype can share it; a view of an array is shared as the array is."""
    a = np.zeros((2, 3), np.float32)
    t, s, v = ad.tensor(a), ad.from_numpy(a), ad.as_tensor(a)
    view, cast = ad.as_tensor(a[1]), ad.as_tensor(a, dtype="float64")
    copied_view, same = ad.tensor(a[1]), ad.tensor(t)
    a[1, 0] = 1
    assert t.numpy()[1, 0] == 0 and copied_view.numpy()[0] == 0 and cast.numpy()[1, 0] == 0
    assert s.numpy()[1, 0] == 1 and v.numpy()[1, 0] == 1 and view.numpy()[0] == 1
    assert ad.as_tensor(t) is t and ad.as_tensor(t, dtype="float32") is t and ad.as_tensor(t, dtype="int64") is not t
    t.numpy()[0, 0] = 5
    assert same.numpy()[0, 0] == 0 and same.dtype == t.dtype
    assert ad.tensor(a, requires_grad=True).requires_grad and not ad.as_tensor(a).requires_grad


def test_properties():
    x = ad.tensor(np.ones((2, 3)), requires_grad=True)
    assert x.ndim == 2 and x.numel() == 6 and len(x) == 2 and x.size(1) == 3 and x.device == "cpu"
    assert x.is_leaf and (x * 2).grad_fn.__name__ == "Mul" and not (x * 2).is_leaf
    assert float(ad.tensor(2.5)) == 2.5 and int(ad.tensor(3)) == 3
    assert np.asarray(x).shape == (2, 3)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)


def test_repr_shows_shape_dtype_device_and_grad_fn():
    x = ad.tensor([[1.0, 2.0]], requires_grad=True)
    r = repr(x * 2)
    assert "shape=(1, 2)" in r and "dtype=float32" in r and "device=cpu" in r and "grad_fn=<Mul>" in r
    assert "requires_grad=True" in repr(x)


def test_random_creation_is_reproducible():
    a = ad.randn(3, 4, generator=ad.Generator(7))
    b = ad.randn(3, 4, generator=ad.Generator(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    ad.manual_seed(3)
    c = ad.rand(5)
    ad.manual_seed(3)
    np.testing.assert_array_equal(c.numpy(), ad.rand(5).numpy())
    assert ((c.numpy() >= 0) & (c.numpy() < 1)).all() and c.dtype == np.float32


def test_to_changes_dtype_and_rejects_unknown_devices():
    x = ad.tensor([1.0, 2.0])
    assert x.to(dtype=np.float64).dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="unknown device 'tpu'; valid: cpu, cuda, auto"):
        x.to("tpu")


def test_scalars_and_numpy_operands_mix_in():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = 2 * x + np.array([1.0, 1.0], np.float32) - 1 / x
    np.testing.assert_allclose(y.numpy(), [2.0, 4.5])
    z = np.array([1.0, 1.0], np.float32) * x  # numpy on the left defers to Tensor
    assert isinstance(z, ad.Tensor) and z.requires_grad


def test_indexing_with_tensors_and_lists():
    x = ad.tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(x[ad.tensor([0, 2])].numpy(), x.numpy()[[0, 2]])
    np.testing.assert_array_equal(x[[1, 1]].numpy(), x.numpy()[[1, 1]])
    np.testing.assert_array_equal(x[x > 5].numpy(), x.numpy()[x.numpy() > 5])


def test_every_method_the_class_lists_is_the_function_it_names():
    from autodiff import functional as F
    from autodiff.tensor import _functional

    assert [n for n, v in vars(ad.Tensor).items() if isinstance(v, _functional)] == []
    assert (ad.Tensor.exp, ad.Tensor.__radd__, ad.Tensor.clip, ad.Tensor.__invert__) == (
        F.exp, F.radd, F.clamp, F.logical_not)
    x = ad.tensor([[0.5, -2.0]])
    np.testing.assert_array_equal((3 - x.exp()).numpy(), 3 - np.exp(x.numpy()))
    np.testing.assert_array_equal((~(x > 0)).numpy(), ~(x.numpy() > 0))


def test_a_listed_method_that_names_no_function_is_an_import_error():
    from autodiff.functional import _set_methods
    from autodiff.tensor import _functional

    class Listed:
        exp = _functional()
        cube = _functional("cube")

    with pytest.raises(ImportError, match="Listed.cube names autodiff.functional.cube"):
        _set_methods(Listed)


def test_augmented_assignment_works_in_place_as_in_pytorch(rng):
    """`x += y` rebound x to a new tensor: a hand-written SGD step (`p -= lr * p.grad` under no_grad)
    left the parameters unchanged, and aliases of a buffer never saw the update."""
    from autodiff import nn

    layer = nn.Linear(3, 2)
    w0 = layer.weight.numpy().copy()
    layer(ad.tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    with ad.no_grad():
        for p in layer.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(layer.weight.numpy(), w0 - np.float32(0.1) * layer.weight.grad.numpy(), rtol=1e-6)
    x = ad.ones(2, 3)
    alias, before = x.numpy(), x
    x += ad.tensor([1.0, 2.0, 3.0])
    x *= 2
    x -= 1
    x /= 4
    assert x is before
    np.testing.assert_allclose(alias, (np.array([[2.0, 3.0, 4.0]] * 2) * 2 - 1) / 4)
    with pytest.raises(TypeError, match="integer tensor"):
        i = ad.arange(3)
        i /= 2
    with pytest.raises(ValueError):  # the result would not fit x's shape
        y = ad.ones(3)
        y += ad.ones(2, 3)


def test_augmented_assignment_and_gradients(rng):
    """As in PyTorch: refused on a leaf that requires grad; on a non-leaf, or with a right side that
    requires grad, recorded (the gradients are those of x = x + y). add_/copy_/setitem of a tensor
    that requires grad into one that does not are refused instead of silently dropping its gradient."""
    w = ad.tensor(rng.standard_normal(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    h = w * 2
    h += w * w
    z = ad.zeros(3)
    z -= w
    (h.sum() + 3 * z.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 + 2 * w.numpy() - 3)
    for write in (lambda t: t.add_(w), lambda t: t.copy_(w), lambda t: t.__setitem__(0, w[1])):
        with pytest.raises(RuntimeError, match="drop its gradient"):
            write(ad.zeros(3, dtype=np.float64))
        with ad.no_grad():
            write(ad.zeros(3, dtype=np.float64))  # no gradient wanted: fine
    torch = pytest.importorskip("torch")
    tw = torch.tensor(w.numpy(), requires_grad=True)
    th = tw * 2
    th += tw * tw
    tz = torch.zeros(3, dtype=torch.float64)
    tz -= tw
    (th.sum() + 3 * tz.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("args", [(5,), (2, 5), (0, 1, 0.25), (5, 0, -2), (1.5,), (-3, 3, 2), (0.5, 2)])
def test_arange_takes_pytorchs_bounds_and_dtypes(args):
    """arange(end), arange(start, end[, step]): int64 for integer bounds, else float32."""
    t = ad.arange(*args)
    expected = np.arange(*args)
    assert t.dtype == (np.int64 if expected.dtype.kind == "i" else np.float32)
    np.testing.assert_array_equal(t.numpy(), expected.astype(t.dtype))
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(t.numpy(), torch.arange(*args).numpy())


def test_arange_names_what_is_wrong():
    assert ad.arange(3, dtype="float64").dtype == np.float64 and ad.arange(2, requires_grad=True, dtype="float32").requires_grad
    with pytest.raises(TypeError, match=r"arange: end must be a number, got .*dtype goes by name"):
        ad.arange(3, np.float32)
    with pytest.raises(ValueError, match="step must not be 0"):
        ad.arange(0, 3, 0)


@pytest.mark.parametrize("value, dtype", [(7, np.int64), (2.5, np.float32), (True, np.bool_), (np.int32(3), np.int64)])
def test_full_infers_its_dtype_from_the_value_as_pytorch(value, dtype):
    t = ad.full((2, 3), value)
    assert t.dtype == dtype and (t.numpy() == value).all()
    assert ad.full((2,), 7, dtype="float64").dtype == np.float64 and ad.zeros(2).dtype == np.float32
    torch = pytest.importorskip("torch")
    assert str(torch.full((2,), value).dtype).replace("torch.", "") == np.dtype(dtype).name
