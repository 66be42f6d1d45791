"""`Tensor`: a backend array plus the graph node that made it (define-by-run).

Every op called on a Tensor that requires grad records a `Context` on its output; `backward()`
walks those records in reverse topological order (`autodiff.engine`). Method names are PyTorch's.

This module is the bottom of autodiff: the ops, `Function` and the engine are built on `Tensor`, so
it imports none of them at the top. The class lists every method it has; its maths are functions
of `autodiff/functional.py`, which sets them on the class as it loads (see `_functional`).
"""

from __future__ import annotations

import numpy as np

from .backend import get_backend

DEFAULT_DTYPE = np.float32
_NUMBER = (int, float, bool, np.number, np.bool_)


class _functional:
    """Marks a method of Tensor that is the function `name` of autodiff/functional.py (or the one
    named as the method, when `name` is None). functional builds on this module, so it cannot be
    imported here; it replaces every mark with its function as it loads, and fails to load if one
    names no function there."""

    __slots__ = ("name",)

    def __init__(self, name=None):
        self.name = name

    def __repr__(self):
        return f"<Tensor method: autodiff.functional.{self.name or '(its own name)'}>"


def _is_dtype(value) -> bool:
    """Whether `value` names a dtype (float32, "int64", np.float64...) rather than a device."""
    if isinstance(value, str) and value in ("cpu", "cuda", "auto"):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


class Tensor:
    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_backend", "_version", "_hooks",
                 "__weakref__")
    __array_priority__ = 100  # numpy array (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, dtype=None, device="cpu", requires_grad=False):
        backend = get_backend(device)
        if isinstance(data, Tensor):
            data = backend.asarray(data.numpy())
        elif dtype is None and not isinstance(data, np.ndarray) and not hasattr(data, "copy_to_host"):
            # Python numbers and lists: floats become float32 as in PyTorch; numpy arrays keep theirs.
            arr = np.asarray(data)
            dtype = DEFAULT_DTYPE if arr.dtype.kind == "f" else arr.dtype
            data = arr
        self.data = backend.asarray(data, dtype)
        self._backend = backend
        self.grad = None
        self._ctx = None
        self._version = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, backend, requires_grad=False):
        t = object.__new__(cls)
        t.data = data
        t._backend = backend
        t.requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        t._version = [0]
        t._hooks = None
        return t

    # -- properties -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)  # numpy's already is; the CUDA simulator's refuses [-1]

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return self._backend.name

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def grad_fn(self):
        return self._ctx.fn if self._ctx is not None else None

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self):
        return self.shape[0]

    def dim(self) -> int:
        return self.ndim

    # -- conversion -------------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a numpy array (a copy when the tensor lives on another device)."""
        return self._backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        return self._backend.item(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.item())

    def to(self, device=None, dtype=None) -> Tensor:
        """A copy on another device and/or with another dtype (the same tensor if nothing changes).
        Differentiable in dtype; a device move detaches, as moves happen outside training graphs.
        As in PyTorch, a dtype alone may come first: x.to(ad.float64), x.to("cuda", "float32")."""
        if dtype is None and device is not None and _is_dtype(device):
            device, dtype = None, device
        t = self
        if device is not None and get_backend(device) is not t._backend:
            t = Tensor._make(get_backend(device).asarray(t.numpy()), get_backend(device),
                             t.requires_grad and t.is_leaf)
        if dtype is not None and np.dtype(dtype) != t.dtype:
            t = t._cast(np.dtype(dtype))
        return t

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def long(self):
        return self.to(dtype=np.int64)

    # -- autograd ----------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True) -> Tensor:
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, not {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory, as in PyTorch)."""
        t = Tensor._make(self.data, self._backend)
        t._version = self._version
        return t

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into each leaf's `.grad` (see `autodiff.engine.backward`)."""
        from .engine import backward  # the engine is built on this module

        backward([self], None if gradient is None else [gradient], retain_graph, create_graph)

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces
        the gradient. Returns a handle whose `.remove()` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    # -- in place ------------------------------------------------------------------------------------
    def _check_inplace(self, op, other=None):
        if self.requires_grad:  # the import only here: it cost ~1 us of every rollout-buffer write
            from .function import is_grad_enabled  # autodiff.function is built on this module

            if is_grad_enabled():
                raise RuntimeError(
                    f"{op} on a tensor of shape {self.shape} that requires grad would change values "
                    "the graph depends on; do it under autodiff.no_grad() or use an out-of-place op")
        elif type(other) is not Tensor or not other.requires_grad:
            pass
        else:
            from .function import is_grad_enabled

            if is_grad_enabled():  # PyTorch would record the op; an in-place write here records nothing
                raise RuntimeError(
                    f"{op} of a tensor that requires grad into one that does not (shape {self.shape}) "
                    "would drop its gradient; use an out-of-place op (x = x + y), or do it under "
                    "autodiff.no_grad() if no gradient should flow")
        self._version[0] += 1

    def _records(self, other, op) -> bool:
        """Whether `x op= y` must go into the graph: PyTorch then records the op on x itself; we
        bind x to a new tensor of the same values and gradients (an alias of the old x keeps the
        old values). As in PyTorch it is refused on a leaf that requires grad; under no_grad() (a
        hand-written update) and for tensors outside the graph it is done in place."""
        if not (self.requires_grad or (type(other) is Tensor and other.requires_grad)):
            return False
        from .function import is_grad_enabled

        if not is_grad_enabled():
            return False
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"x {op} y on a leaf tensor that requires grad (shape {self.shape}) would change a value "
                f"the graph differentiates with respect to; write x = x {op[0]} y, or update it under "
                "autodiff.no_grad() (as an optimizer step does)")
        return True

    # x += y and the others work in place, as in PyTorch: a buffer, a view or a parameter updated
    # under no_grad() changes for every reference to it (without these, Python rebinds x alone).
    def __iadd__(self, other):
        return self + other if self._records(other, "+=") else self.add_(other)

    def __isub__(self, other):
        return self - other if self._records(other, "-=") else self.sub_(other)

    def __imul__(self, other):
        return self * other if self._records(other, "*=") else self.mul_(other)

    def __itruediv__(self, other):
        if self._records(other, "/="):
            return self / other
        if self.data.dtype.kind not in "fc":
            raise TypeError(f"x /= y on a tensor of {self.dtype}: the quotient is a float, which an "
                            "integer tensor cannot hold in place (as in PyTorch); write x = x / y")
        quotient = self / other  # no graph: neither side requires grad, or grad mode is off
        if quotient.shape != self.shape:
            raise ValueError(f"x /= y: the result's shape {quotient.shape} is not x's {self.shape}")
        return self.copy_(quotient)

    def _raw(self, other):
        return other.data if isinstance(other, Tensor) else other

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__", value)
        self._backend.setitem(self.data, _unwrap_index(index), self._raw(value))

    def add_(self, other):
        self._check_inplace("add_", other)
        self._backend.iadd(self.data, self._raw(other))
        return self

    def sub_(self, other):
        self._check_inplace("sub_", other)
        self._backend.iadd(self.data, self._raw(-other))
        return self

    def mul_(self, other):
        self._check_inplace("mul_", other)
        self._backend.imul(self.data, self._raw(other))
        return self

    def copy_(self, other):
        self._check_inplace("copy_", other)
        self._backend.setitem(self.data, Ellipsis, self._raw(other))
        return self

    def fill_(self, value):
        return self.copy_(value)

    def zero_(self):
        return self.copy_(0)

    # -- maths -----------------------------------------------------------------------------------------
    # Each a function of autodiff/functional.py: x.exp() is F.exp(x), x + y is F.add(x, y).
    exp = log = sqrt = tanh = relu = sigmoid = softplus = abs = neg = _functional()
    add = sub = mul = div = pow = matmul = minimum = maximum = clamp = _functional()
    sum = mean = var = std = max = min = amax = amin = logsumexp = softmax = log_softmax = _functional()
    argmax = argmin = _functional()
    reshape = permute = transpose = unsqueeze = squeeze = flatten = expand = gather = _functional()
    clip, view = _functional("clamp"), _functional("reshape")
    _cast = _functional("cast")  # to()'s dtype step (an import inside to() cost ~1 us a call)
    __add__, __sub__, __mul__ = _functional("add"), _functional("sub"), _functional("mul")
    __truediv__, __pow__, __matmul__ = _functional("div"), _functional("pow"), _functional("matmul")
    __radd__, __rsub__, __rmul__ = _functional("radd"), _functional("rsub"), _functional("rmul")
    __rtruediv__, __rpow__, __rmatmul__ = _functional("rdiv"), _functional("rpow"), _functional("rmatmul")
    __neg__, __abs__, __getitem__ = _functional("neg"), _functional("abs"), _functional("getitem")
    __eq__, __ne__, __lt__ = _functional("eq"), _functional("ne"), _functional("lt")
    __le__, __gt__, __ge__ = _functional("le"), _functional("gt"), _functional("ge")
    __and__, __or__ = _functional("logical_and"), _functional("logical_or")
    __xor__, __invert__ = _functional("logical_xor"), _functional("logical_not")

    # Composed from the methods above, looked up when called.
    def square(self) -> Tensor:
        return self * self

    @property
    def T(self) -> Tensor:
        return self.transpose(0, 1) if self.ndim == 2 else self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def any(self) -> bool:
        return bool(np.any(self.numpy()))

    def all(self) -> bool:
        return bool(np.all(self.numpy()))

    # -- repr ------------------------------------------------------------------------------------------
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", threshold=20)
        extra = f"shape={self.shape}, dtype={self.dtype}, device={self.device}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.fn.__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}, {extra})"

    __hash__ = object.__hash__


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


# -- creation -----------------------------------------------------------------------------------------
def tensor(data, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """A new tensor holding a copy of `data` (Python floats become float32; numpy keeps its dtype),
    as torch.tensor: a numpy array or a GPU device array is copied, never shared."""
    source = data.data if isinstance(data, Tensor) else data
    t = Tensor(data, dtype=dtype, device=device)
    shares = t.data is source or (isinstance(source, np.ndarray) and isinstance(t.data, np.ndarray)
                                  and np.may_share_memory(t.data, source))  # not on a device array: it would copy
    if shares:
        t.data = t._backend.copy(t.data)  # on the device it lives on: no host round trip
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data, dtype=None, device="cpu") -> Tensor:
    """A tensor over `data` itself where it can be, as torch.as_tensor: a numpy array on the CPU or
    a device array on the GPU, already of `dtype`, is shared, so writes to either show in the other;
    anything else is converted. For values used at once, such as an env step's outputs: an env
    rewrites its own arrays on its next step, so keep a `tensor` copy of what must outlive it."""
    if isinstance(data, Tensor) and data.device == device and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array, device="cpu") -> Tensor:
    """A tensor over `array` itself on the CPU (no copy), or a copy of it on another device."""
    return Tensor(np.asarray(array), device=device)


def number_dtype(value) -> np.dtype:
    """The dtype a Python (or numpy) number has beside tensors, as in PyTorch: bool, int64 for an
    integer, complex64, else the default float dtype (float32)."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, complex):
        return np.dtype(np.complex64)
    return np.dtype(DEFAULT_DTYPE)


def full(shape, value, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """`shape` filled with `value`; without a dtype, PyTorch's: bool for a bool, int64 for an
    integer, float32 for a float."""
    if dtype is None:
        dtype = number_dtype(value)
    b = get_backend(device)
    return Tensor._make(b.full(_shape(shape), value, np.dtype(dtype)), b).requires_grad_(requires_grad)


def zeros(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    return full(shape, 0, dtype, device, requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    return full(shape, 1, dtype, device, requires_grad)


def zeros_like(t: Tensor, dtype=None) -> Tensor:
    return full(t.shape, 0, dtype or t.dtype, t.device)


def ones_like(t: Tensor, dtype=None) -> Tensor:
    return full(t.shape, 1, dtype or t.dtype, t.device)


def arange(start, end=None, step=1, *, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """PyTorch's arange: arange(end), arange(start, end) or arange(start, end, step), end
    excluded; int64 when every bound is an integer, else float32 (PyTorch's default float)."""
    if end is None:
        start, end = 0, start
    bounds = (start, end, step)
    for name, value in zip(("start", "end", "step"), bounds):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {value!r} (dtype goes by name: dtype=...)")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        dtype = np.int64 if all(isinstance(v, (int, np.integer)) for v in bounds) else DEFAULT_DTYPE
    b = get_backend(device)
    values = np.arange(start, end, step, dtype=np.float64 if np.dtype(dtype).kind == "f" else None)
    return Tensor._make(b.asarray(values.astype(dtype, copy=False)), b).requires_grad_(requires_grad)


class Generator:
    """A random-number stream on a device (`sample(rng)`, `randn(..., generator=rng)`).

    Given a list of K seeds it is K streams, one per model of a stack (`nn.stack`): every draw
    then has a leading axis of K, and on the CPU row k is exactly what `Generator(seeds[k])`
    draws for the rest of the shape, so model k of a population sees the single run's numbers."""

    def __init__(self, seed=None, device="cpu"):
        self.device = device
        self.manual_seed(seed)

    def manual_seed(self, seed):
        bk = get_backend(self.device)
        if isinstance(seed, (list, tuple)):
            if not seed:
                raise ValueError("Generator: a list of seeds needs at least one seed")
            self.models = len(seed)
            self.state = bk.rngs([int(s) for s in seed])
        else:
            self.models = None
            self.state = bk.rng(seed)
        return self

    def get_state(self):
        """The stream's position, JSON-serialisable: a checkpoint resumes the same draws."""
        return get_backend(self.device).rng_state(self.state)

    def set_state(self, state):
        get_backend(self.device).set_rng_state(self.state, state)
        return self


default_generator = Generator(0)


def manual_seed(seed) -> Generator:
    """Seed the default generator (used by initialisers and by random ops given no generator)."""
    return default_generator.manual_seed(seed)


def _rng_state(generator, backend):
    g = default_generator if generator is None else generator
    if isinstance(g, Generator):
        return g.state
    if isinstance(g, np.random.Generator) and backend.name == "cpu":
        return g
    raise TypeError(f"expected an autodiff.Generator for device {backend.name}, got {type(g).__name__}")


def rand(*shape, generator=None, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    b = get_backend(device)
    data = b.uniform(_rng_state(generator, b), _shape(shape), np.dtype(dtype))
    return Tensor._make(data, b).requires_grad_(requires_grad)


def randn(*shape, generator=None, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    b = get_backend(device)
    data = b.normal(_rng_state(generator, b), _shape(shape), np.dtype(dtype))
    return Tensor._make(data, b).requires_grad_(requires_grad)


def randperm(n, generator=None, device="cpu") -> Tensor:
    """A random permutation of 0..n-1 (int64), e.g. to shuffle minibatches; (K, n), one
    permutation per stream, from a generator of K streams."""
    b = get_backend(device)
    if getattr(generator, "models", None) is not None:
        return Tensor._make(b.permutations(generator.state, int(n)), b)
    return Tensor._make(b.permutation(_rng_state(generator, b), int(n)), b)


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)

