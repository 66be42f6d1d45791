"""`Module` and `Parameter`: what every layer is built on (registration, traversal, devices,
state dicts), and `stacked`, which makes K models one. The layers are in `autodiff/nn.py` and
`autodiff/recurrent.py`."""

from __future__ import annotations

import numpy as np

from .backend import get_backend
from .tensor import Tensor, _rng_state, manual_seed


class Parameter(Tensor):
    """A tensor that a Module owns and an optimizer updates (requires grad by default)."""

    __slots__ = ("_flat_owner",)

    def __init__(self, data, requires_grad=True):
        t = data if isinstance(data, Tensor) else Tensor(data)
        self.data, self._backend = t.data, t._backend
        self.grad, self._ctx, self._version, self._hooks = None, None, [0], None
        self._flat_owner = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and networks. Assigning a Parameter or Module to an attribute
    registers it; `forward` is called by `module(x)`."""

    def __init__(self):
        object.__setattr__(self, "_param_names", [])
        object.__setattr__(self, "_buffer_names", [])
        object.__setattr__(self, "_module_names", [])
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_param_names" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                               "before assigning attributes")
        for registry in (self._param_names, self._module_names):
            if name in registry:
                registry.remove(name)
        if isinstance(value, Parameter):
            self._param_names.append(name)
        elif isinstance(value, Module):
            self._module_names.append(name)
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, tensor: Tensor):
        """State saved with the module that is not trained (e.g. running normalisation statistics)."""
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        object.__setattr__(self, name, tensor)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal -----------------------------------------------------------------------------------
    def named_children(self):
        for name in self._module_names:
            yield name, getattr(self, name)

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_parameters(self, prefix=""):
        seen = set()
        for path, module in self.named_modules(prefix):
            for name in module._param_names:
                p = getattr(module, name)
                if id(p) not in seen:  # a parameter shared between layers is listed once
                    seen.add(id(p))
                    yield (f"{path}.{name}" if path else name), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for path, module in self.named_modules():
            for name in module._buffer_names:
                yield (f"{path}.{name}" if path else name), getattr(module, name)

    # -- modes and devices ---------------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, device):
        """Move every parameter and buffer to `device` in place; returns self."""
        backend = get_backend(device)
        for _, t in list(self.named_parameters()) + list(self.named_buffers()):
            if t._backend is not backend:
                if getattr(t, "_flat_owner", None) is not None:
                    raise RuntimeError("move a module to its device before creating its optimizer")
                t.data, t._backend, t.grad = backend.asarray(t.numpy()), backend, None
        return self

    # -- state ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """name -> tensor (sharing memory) for every parameter and buffer."""
        out = {name: p.detach() for name, p in self.named_parameters()}
        out.update((name, b.detach()) for name, b in self.named_buffers())
        return out

    def load_state_dict(self, state: dict, strict=True):
        """Copy values in place (so optimizers' views of the parameters stay valid)."""
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, t in own.items():
            if name not in state:
                continue
            value = state[name]
            value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != t.shape:
                raise ValueError(f"load_state_dict for {type(self).__name__}: {name} has shape "
                                 f"{t.shape} in the module but {value.shape} in the state dict")
            t._version[0] += 1
            t._backend.setitem(t.data, Ellipsis, t._backend.asarray(value, t.dtype))

    # -- repr ------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def stacked(build, seeds):
    """K models as one: `build()` is called once per seed, right after `manual_seed(seed)` (so
    model k starts exactly as a single model built after `manual_seed(seeds[k])` would), and every
    parameter and buffer of the K results is stacked along a new leading axis into the first.

    The stacked module takes inputs with a leading axis of K and runs each model on its own slice
    (Linear and MLP; other layers see the stacked tensors through ordinary broadcasting). Its
    `models` attribute is K. Give its parameters to an optimizer with `models=K`."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("stacked: needs at least one seed")
    built = []
    for seed in seeds:
        manual_seed(seed)
        built.append(build())
    first = built[0]
    for path, module in first.named_modules():
        others = [_submodule(m, path) for m in built]
        for name in list(module._param_names):
            data = np.stack([getattr(m, name).numpy() for m in others])
            p = getattr(module, name)
            setattr(module, name, Parameter(Tensor(data, device=p.device), requires_grad=p.requires_grad))
        for name in module._buffer_names:
            data = np.stack([getattr(m, name).numpy() for m in others])
            module.register_buffer(name, Tensor(data, device=getattr(module, name).device))
    object.__setattr__(first, "models", len(seeds))
    return first


def _submodule(module, path):
    for part in path.split(".") if path else ():
        module = getattr(module, part)
    return module


def unstack(module, k: int) -> dict:
    """Model k's state dict (parameters and buffers) from a stacked module's."""
    return {name: t.detach()[k] for name, t in module.state_dict().items()}


def _host_rng(generator) -> np.random.Generator:
    """Initial weights are drawn on the host (then moved), from `generator` or the default one."""
    return _rng_state(generator, get_backend("cpu"))
