"""The layers RL networks are built from: Linear, activations, Sequential, MLP, Embedding, and
(from `autodiff/recurrent.py`) GRU and LSTM. `Module` and `Parameter`, which they are built on,
are in `autodiff/module.py`; `nn.Module` and `nn.Parameter` name them too, as users expect."""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from . import ops
from .function import STATE
from .module import Module, Parameter, _host_rng, stacked, unstack  # noqa: F401
from .recurrent import GRU, LSTM, GRUCell, LSTMCell  # noqa: F401
from .tensor import DEFAULT_DTYPE, Tensor


# -- initialisation --------------------------------------------------------------------------------------------
def orthogonal(shape, gain=1.0, generator=None) -> np.ndarray:
    """A (rows, cols) matrix with orthonormal rows or columns, times `gain` (Saxe et al. 2014),
    the initialisation PPO implementations use."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = _host_rng(generator).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the result uniformly distributed over orthogonal matrices
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape)


# -- layers ---------------------------------------------------------------------------------------------------
class Linear(Module):
    """y = x W^T + b with W (out_features, in_features), orthogonally initialised with `gain`
    and a constant bias (CleanRL's layer_init); one op forward, one backward."""

    def __init__(self, in_features, out_features, bias=True, gain=1.0, bias_const=0.0,
                 activation=None, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        if activation not in F._LINEAR_ACTIVATIONS:
            raise ValueError(f"Linear: unknown activation {activation!r}; valid: None, 'tanh', 'relu'")
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        w = orthogonal((out_features, in_features), gain, generator).astype(dtype)
        self.weight = Parameter(Tensor(w, device=device))
        self.bias = Parameter(Tensor(np.full(out_features, bias_const, dtype), device=device)) if bias else None

    def forward(self, x):
        return ops.Linear.apply(x, self.weight, self.bias, self.activation)

    def extra_repr(self):
        act = f", activation={self.activation}" if self.activation else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}{act}"


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class Identity(Module):
    def forward(self, x):
        return x


_ACTIVATIONS = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "identity": Identity}


class Sequential(Module):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __getitem__(self, i):
        return self.children()[i]

    def __len__(self):
        return len(self._module_names)

    def forward(self, x):
        for name in self._module_names:
            x = getattr(self, name)(x)
        return x


class MLP(Sequential):
    """Linear layers of the given sizes with `activation` between them: MLP([4, 64, 64, 2]).

    Hidden layers get orthogonal gain `hidden_gain` (sqrt 2 for tanh/relu nets in PPO), the last
    layer `output_gain` (0.01 for a policy head, 1 for a value head)."""

    def __init__(self, sizes, activation="tanh", hidden_gain=math.sqrt(2), output_gain=1.0,
                 output_activation=None, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {list(sizes)}")
        act = _activation(activation)
        # tanh and relu run inside the Linear op (one op per layer); other activations follow it.
        fused = {Tanh: "tanh", ReLU: "relu"}.get(act)
        out_act = None if output_activation is None else _activation(output_activation)
        fused_out = {Tanh: "tanh", ReLU: "relu"}.get(out_act)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            layers.append(Linear(n_in, n_out, gain=output_gain if last else hidden_gain,
                                 activation=fused_out if last else fused,
                                 dtype=dtype, device=device, generator=generator))
            if not last and fused is None:
                layers.append(act())
            elif last and out_act is not None and fused_out is None:
                layers.append(out_act())
        super().__init__(*layers)
        self._linear_only = all(isinstance(layer, Linear) for layer in layers)

    def forward(self, x):
        if self._linear_only and not STATE.enabled and not STATE.anomaly and isinstance(x, Tensor):
            # Acting in a rollout (no graph, nothing to check): the backend's fused layers one after
            # another, without an op and a module call per layer (a third of a small MLP's time).
            data, bk = x.data, x._backend
            try:
                for layer in self.children():
                    data = bk.linear(data, layer.weight.data, None if layer.bias is None else layer.bias.data,
                                     layer.activation)
            except (ValueError, IndexError):
                return super().forward(x)  # the op-by-op path says which layer and shapes failed
            return Tensor._make(data, bk)
        return super().forward(x)


def _activation(act):
    if isinstance(act, str):
        if act not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}; valid: {', '.join(_ACTIVATIONS)}")
        return _ACTIVATIONS[act]
    return act


class Embedding(Module):
    """A lookup table: `embedding(indices)` is `weight[indices]`, weights drawn from N(0, 1)."""

    def __init__(self, num_embeddings, embedding_dim, dtype=DEFAULT_DTYPE, device="cpu", generator=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        w = _host_rng(generator).standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        self.weight = Parameter(Tensor(w, device=device))

    def forward(self, indices):
        dtype = indices.dtype if isinstance(indices, Tensor) else np.asarray(indices).dtype
        if dtype.kind not in "iu":
            raise TypeError(f"Embedding expects integer indices, got {dtype}")
        return self.weight[indices]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

