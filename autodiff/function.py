"""`Function`: one differentiable operation, with PyTorch's contract; grad mode and anomaly mode.

A Function subclass defines

    @staticmethod
    def forward(ctx, *args):      # Tensors and plain values in; a Tensor or backend array out
    @staticmethod
    def backward(ctx, grad):      # Tensor in; one gradient (Tensor or None) per forward argument

and is used through `Fn.apply(*args)`. Forward runs with grad mode off, so it may use Tensor ops
or the backend directly (`ctx.backend`). Backward is written with Tensor ops, so the gradient it
returns is itself differentiable when `backward(create_graph=True)` asks for that; otherwise the
engine runs it with grad mode off and it records nothing.

Example, a custom op:

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x
        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x * x

    y = Cube.apply(x)
"""

from __future__ import annotations

import os
import sys
import threading

from .tensor import Tensor


class _GradState(threading.local):
    """Per-thread switches, read on every op: plain attributes, no locking."""

    def __init__(self):
        self.enabled = True
        self.anomaly = False
        self.backward_of = None  # the Context whose backward is running (for anomaly messages)


STATE = _GradState()


class no_grad:
    """Context manager and decorator: ops inside record no graph (inference, target computation)."""

    _enable = False

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._enable

    def __exit__(self, *exc):
        STATE.enabled = self._prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Turns recording back on inside a `no_grad` block."""

    _enable = True


def is_grad_enabled() -> bool:
    return STATE.enabled


class AnomalyError(RuntimeError):
    """A NaN or inf appeared in a forward or backward under `detect_anomaly()`."""


class detect_anomaly:
    """Context manager: the first op whose forward or backward produces a NaN or inf raises an
    `AnomalyError` naming the op and the line of user code that created it. Slower: every op
    records where it was called from and checks its outputs."""

    def __enter__(self):
        self._prev = STATE.anomaly
        STATE.anomaly = True

    def __exit__(self, *exc):
        STATE.anomaly = self._prev


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """'file:line: source' of the innermost caller outside this package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    import linecache

    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


class InPlaceError(RuntimeError):
    """A tensor saved for backward was modified in place before backward ran."""


_FREED = object()


class _SavedOutput:
    """An op's own output saved for its backward, held without a reference to the output tensor."""

    __slots__ = ("data", "backend", "version")

    def __init__(self, out):
        self.data, self.backend, self.version = out.data, out._backend, out._version

    def unpack(self, ctx):
        # A new tensor standing for the same graph node (same ctx), so higher-order gradients
        # flow through it exactly as through the original output.
        t = Tensor._make(self.data, self.backend, True)
        t._ctx, t._version = ctx, self.version
        return t


class Context:
    """What forward leaves for backward: saved tensors and any attribute forward sets."""

    __slots__ = ("backend", "needs_input_grad", "fn", "inputs", "trace", "_saved", "_versions",
                 "_record", "__dict__")

    def save_for_backward(self, *tensors):
        if not self._record:
            return
        self._saved = tensors
        self._versions = [t._version[0] if t is not None else 0 for t in tensors]

    @property
    def saved_tensors(self) -> tuple:
        saved = getattr(self, "_saved", ())
        if saved is _FREED:
            raise RuntimeError(
                f"backward through {self.fn.__name__} a second time: its saved tensors were freed "
                "after the first backward; pass retain_graph=True to the first backward to keep them")
        if any(type(t) is _SavedOutput for t in saved):
            saved = tuple(t.unpack(self) if type(t) is _SavedOutput else t for t in saved)
        for t, v in zip(saved, self._versions):
            if t is not None and t._version[0] != v:
                raise InPlaceError(
                    f"{self.fn.__name__} saved a tensor of shape {t.shape} for backward, and it was "
                    f"modified in place afterwards (version {t._version[0]}, expected {v}); "
                    "use an out-of-place op (x = x + y) instead of x += y or x[...] = y")
        return saved

    def mark_freed(self):
        self._saved = _FREED


class Function:
    """Base class of every differentiable op (see the module docstring for the contract)."""

    # True for ops whose output is a view of their first input: they share its version counter,
    # so an in-place write through either is seen by saved-tensor checks on both.
    _view = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    _primitive = False  # built-in ops set this: their forward never records, so skip the switch

    @classmethod
    def apply(cls, *args):
        backend = None
        for a in args:
            if isinstance(a, Tensor):
                backend = a._backend
                break
        state = STATE
        ctx = Context()
        ctx.backend = backend
        if cls._primitive and not state.enabled and not state.anomaly:
            # The path backward rules take when no graph is wanted: nothing to record or check, so
            # no needs_input_grad either (BENCHMARKS.md, "Fast paths", measures what this saves).
            record = ctx._record = False
        else:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            record = ctx._record = state.enabled and True in needs
            ctx.needs_input_grad = needs
            ctx._saved = ()
        try:
            if cls._primitive:
                out = cls.forward(ctx, *args)
            else:
                prev, state.enabled = state.enabled, False
                try:
                    out = cls.forward(ctx, *args)
                finally:
                    state.enabled = prev
        except (ValueError, IndexError) as e:
            raise _shape_error(cls, args, e) from None
        if not isinstance(out, Tensor):
            out = Tensor._make(out, backend)
        elif not cls._primitive and any([out is a for a in args]):
            out = Tensor._make(out.data, out._backend)  # a forward that returned an input: a new node
        if cls._view:
            out._version = args[0]._version
        if record:
            out.requires_grad = True
            out._ctx = ctx
            ctx.fn = cls
            ctx.inputs = args
            saved = ctx._saved
            for s in saved:
                if s is out:
                    # Holding the output itself would make a reference cycle (out -> ctx -> out)
                    # that only the cyclic GC frees; keep its data and rebuild a node on unpacking.
                    ctx._saved = tuple([_SavedOutput(out) if s is out else s for s in saved])
                    break
        if state.anomaly:
            ctx.fn = cls
            ctx.trace = _user_frame()
            _check_forward(cls, ctx, args, out)
        return out


def _shape_error(cls, args, error):
    """The same error, naming the op and its inputs' shapes."""
    shapes = ", ".join(str(a.shape) for a in args if isinstance(a, Tensor))
    message = f"{cls.__name__} failed on inputs of shapes {shapes}: {error}"
    try:
        return type(error)(message)
    except TypeError:  # an exception type whose constructor wants other arguments
        return ValueError(message)


def _check_forward(cls, ctx, args, out):
    if out._backend.all_finite(out.data):
        return
    node = STATE.backward_of
    if node is not None:  # an op run by a backward rule: blame that rule, where the user sees it
        raise AnomalyError(
            f"the backward of {node.fn.__name__} produced nan or inf (in its {cls.__name__}); "
            f"the op was created at {getattr(node, 'trace', '<unknown: created outside detect_anomaly()>')}")
    inputs_ok = all(a._backend.all_finite(a.data) for a in args if isinstance(a, Tensor))
    raise AnomalyError(
        f"{cls.__name__} produced nan or inf in its forward (its inputs were "
        f"{'finite' if inputs_ok else 'already non-finite'}); created at {ctx.trace}")


def check_backward(ctx, grads):
    """Under detect_anomaly(): raise if a backward rule returned a non-finite gradient."""
    for i, g in enumerate(grads):
        if isinstance(g, Tensor) and not g._backend.all_finite(g.data):
            raise AnomalyError(
                f"the backward of {ctx.fn.__name__} returned nan or inf for its input {i}; "
                f"the op was created at {getattr(ctx, 'trace', '<unknown: created outside detect_anomaly()>')}")
