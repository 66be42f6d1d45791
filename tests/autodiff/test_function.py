"""autodiff/function.py: the Function contract, custom ops, anomaly mode, in-place checks."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import Function

from .conftest import leaf


class Cube(Function):
    """The docstring's example: a user's own op."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x * x


class ScaledAdd(Function):
    """Non-tensor arguments get None; needs_input_grad tells which inputs want a gradient."""

    seen_needs = None

    @staticmethod
    def forward(ctx, a, b, alpha):
        ScaledAdd.seen_needs = ctx.needs_input_grad
        ctx.alpha = alpha
        return ctx.backend.add(a.data, ctx.backend.mul(b.data, alpha))  # a raw backend array

    @staticmethod
    def backward(ctx, grad):
        na, nb, _ = ctx.needs_input_grad
        return (grad if na else None), (grad * ctx.alpha if nb else None), None


def test_custom_op_values_and_gradients(rng):
    x = leaf(rng, 4)
    np.testing.assert_allclose(Cube.apply(x).numpy(), x.numpy() ** 3)
    assert Cube.apply(x).grad_fn is Cube
    assert ad.gradcheck(Cube.apply, [x])
    assert ad.gradgradcheck(Cube.apply, [x])  # its backward is written in Tensor ops


def test_custom_op_with_plain_arguments(rng):
    a, b = leaf(rng, 3), ad.tensor(rng.standard_normal(3))
    out = ScaledAdd.apply(a, b, 2.5)
    assert ScaledAdd.seen_needs == (True, False, False)
    np.testing.assert_allclose(out.numpy(), a.numpy() + 2.5 * b.numpy())
    assert ad.gradcheck(lambda a, b: ScaledAdd.apply(a, b, 2.5), [a, leaf(rng, 3)])


def test_forward_records_nothing_inside(rng):
    x = leaf(rng, 3)
    y = Cube.apply(x)
    # The graph has one node (Cube), not the two Muls its forward ran.
    assert y.grad_fn is Cube and all(not getattr(t, "_ctx", None) for t in y._ctx.inputs)


def test_backward_returning_wrong_shape_is_caught(rng):
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()

    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\) for an input of shape \(3,\)"):
        Broken.apply(leaf(rng, 3)).sum().backward()


def test_shape_mismatch_names_the_op_and_shapes(rng):
    with pytest.raises(ValueError, match=r"Add failed on inputs of shapes \(3, 4\), \(5,\)"):
        leaf(rng, 3, 4) + leaf(rng, 5)
    with pytest.raises(ValueError, match=r"MatMul failed on inputs of shapes \(3, 4\), \(5, 2\)"):
        leaf(rng, 3, 4) @ leaf(rng, 5, 2)


def test_anomaly_names_the_op_and_the_line_for_log_of_zero():
    x = ad.tensor([1.0, 0.0], requires_grad=True)
    with ad.detect_anomaly():
        with pytest.raises(ad.AnomalyError) as info:
            y = x.log()  # the planted log(0)
            y.sum().backward()
    message = str(info.value)
    assert "Log produced nan or inf in its forward" in message
    assert "test_function.py" in message and "y = x.log()  # the planted log(0)" in message


def test_anomaly_in_backward_names_the_op():
    x = ad.tensor([0.0, 1.0], requires_grad=True)
    with ad.detect_anomaly():
        y = x.sqrt()  # finite forward, infinite gradient at 0
        with pytest.raises(ad.AnomalyError) as info:
            y.sum().backward()
    assert "backward of Sqrt" in str(info.value) and "y = x.sqrt()" in str(info.value)


def test_without_anomaly_mode_nan_passes_silently():
    x = ad.tensor([0.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        y = x.log()
    assert np.isneginf(y.numpy()).all()


def test_in_place_change_of_a_saved_tensor_is_caught(rng):
    w = leaf(rng, 3)
    x = ad.tensor(rng.standard_normal(3))
    y = (w * x).sum()
    x.mul_(2)  # Mul saved x for its backward
    with pytest.raises(ad.InPlaceError, match=r"Mul saved a tensor of shape \(3,\).*modified in place"):
        y.backward()


def test_in_place_through_a_view_is_caught(rng):
    w = leaf(rng, 6)
    x = ad.tensor(rng.standard_normal(6))
    y = (w * x).sum()
    x.reshape(2, 3)[0, 0] = 5.0  # writes x's memory through a view
    with pytest.raises(ad.InPlaceError):
        y.backward()


def test_in_place_change_of_a_relu_output_is_caught(rng):
    # ReLU's backward reads its output (as PyTorch's does), so changing that output is an error.
    y = leaf(rng, 3, 4).relu()
    with ad.no_grad():
        y.mul_(2.0)
    with pytest.raises(ad.InPlaceError, match="Relu saved a tensor"):
        y.sum().backward()


def test_in_place_on_a_tensor_requiring_grad_is_refused(rng):
    w = leaf(rng, 3)
    with pytest.raises(RuntimeError, match="requires grad"):
        w.add_(1.0)
    with ad.no_grad():
        w.add_(1.0)  # the optimizer's way


def test_in_place_ops_values(rng):
    x = ad.tensor(rng.standard_normal(4))
    ref = x.numpy().copy()
    x.add_(1.0).mul_(2.0)
    x[0] = 7.0
    np.testing.assert_allclose(x.numpy(), np.r_[7.0, ((ref + 1) * 2)[1:]].astype(np.float32))
    x.zero_()
    assert (x.numpy() == 0).all()


def test_shape_errors_are_named_without_grad_too(rng):
    with ad.no_grad():
        with pytest.raises(ValueError, match=r"Mul failed on inputs of shapes \(2,\), \(3,\)"):
            ad.tensor([1.0, 2.0]) * ad.tensor([1.0, 2.0, 3.0])


def test_in_place_through_a_view_made_without_grad_is_caught(rng):
    w = leaf(rng, 6)
    x = ad.tensor(rng.standard_normal(6))
    y = (w * x).sum()
    with ad.no_grad():
        view = x.reshape(2, 3)
    view[0, 0] = 5.0
    with pytest.raises(ad.InPlaceError):
        y.backward()
