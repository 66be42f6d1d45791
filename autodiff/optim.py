"""Optimizers over one flat parameter buffer, gradient-norm clipping, learning-rate schedules.

An optimizer copies its parameters into one contiguous buffer and makes each parameter's data
(and gradient) a view into it, so a step, a zero_grad and a global-norm clip are each one
vectorised operation however many layers the network has.
"""

from __future__ import annotations

import numpy as np

from .nn import Parameter
from .tensor import Tensor


class Optimizer:
    def __init__(self, params, lr):
        params = list(params)
        unique, seen = [], set()
        for p in params:
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(f"{type(self).__name__} optimizes leaf tensors that require grad; "
                                f"got {p!r:.80}")
            if id(p) not in seen:
                seen.add(id(p))
                unique.append(p)
        if not unique:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr}")
        dtypes, devices = {p.dtype for p in unique}, {p.device for p in unique}
        if len(dtypes) > 1 or len(devices) > 1:
            raise ValueError(f"{type(self).__name__} needs parameters of one dtype and device, got "
                             f"dtypes {sorted(map(str, dtypes))} on devices {sorted(devices)}")
        self.params = unique
        self.lr = lr
        self.base_lr = lr
        self.step_count = 0
        self._flatten()

    def _flatten(self):
        bk, dtype = self.params[0]._backend, self.params[0].dtype
        total = sum(p.data.size for p in self.params)
        self.flat = bk.zeros((total,), dtype)
        self.flat_grad = bk.zeros((total,), dtype)
        self._views, offset = [], 0
        for p in self.params:
            if getattr(p, "_flat_owner", None) is not None:
                raise RuntimeError("a parameter is already managed by another optimizer; "
                                   "give each parameter to one optimizer")
            n, shape = p.data.size, p.shape
            bk.setitem(self.flat, slice(offset, offset + n), bk.reshape(p.data, (n,)))
            p.data = bk.reshape(bk.getitem(self.flat, slice(offset, offset + n)), shape)
            grad_view = bk.reshape(bk.getitem(self.flat_grad, slice(offset, offset + n)), shape)
            self._views.append(grad_view)
            if isinstance(p, Parameter):
                p._flat_owner = self
            offset += n
        self.zero_grad()

    def zero_grad(self):
        """Zero the flat gradient buffer and point every parameter's .grad into it again."""
        bk = self.params[0]._backend
        bk.setitem(self.flat_grad, Ellipsis, 0)
        for p, view in zip(self.params, self._views):
            if p.grad is None or p.grad.data is not view:
                p.grad = Tensor._make(view, bk)

    def _collect_grads(self):
        """Gradients computed elsewhere (create_graph, a user's assignment) are copied into the buffer."""
        bk = self.params[0]._backend
        for p, view in zip(self.params, self._views):
            if p.grad is None:
                bk.setitem(view, Ellipsis, 0)
            elif p.grad.data is not view:
                bk.setitem(view, Ellipsis, p.grad.data)

    def step(self):
        self._collect_grads()
        self.step_count += 1
        self._update()

    def _update(self):
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"lr": self.lr, "base_lr": self.base_lr, "step_count": self.step_count,
                **{k: self.params[0]._backend.to_numpy(v).copy() for k, v in self._buffers().items()}}

    def load_state_dict(self, state: dict):
        bk = self.params[0]._backend
        self.lr, self.base_lr, self.step_count = state["lr"], state["base_lr"], int(state["step_count"])
        for name, buf in self._buffers().items():
            value = np.asarray(state[name])
            if value.shape != buf.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has {value.shape[0]} "
                                 f"entries in the state dict but the optimizer holds {buf.shape[0]}")
            bk.setitem(buf, Ellipsis, bk.asarray(value, buf.dtype))

    def _buffers(self) -> dict:
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.momentum_buffer = self.params[0]._backend.zeros(self.flat.shape, self.flat.dtype)

    def _update(self):
        self.params[0]._backend.sgd_step(self.flat, self.flat_grad, self.momentum_buffer, self.lr,
                                         self.momentum, self.weight_decay, self.nesterov)

    def _buffers(self):
        return {"momentum_buffer": self.momentum_buffer}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; PPO uses eps=1e-5."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        bk = self.params[0]._backend
        self.exp_avg = bk.zeros(self.flat.shape, self.flat.dtype)
        self.exp_avg_sq = bk.zeros(self.flat.shape, self.flat.dtype)

    def _update(self):
        self.params[0]._backend.adam_step(self.flat, self.flat_grad, self.exp_avg, self.exp_avg_sq,
                                          self.lr, self.betas[0], self.betas[1], self.eps,
                                          self.step_count, self.weight_decay)

    def _buffers(self):
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}


def clip_grad_norm_(parameters, max_norm: float) -> Tensor:
    """Scale all gradients together so their global L2 norm is at most `max_norm`; returns the norm
    before clipping. Parameters that are exactly one optimizer's take one vectorised pass."""
    params = [p for p in parameters if p.grad is not None]
    if not params:
        raise ValueError("clip_grad_norm_: no parameter has a gradient (call backward() first)")
    bk = params[0]._backend
    owner = getattr(params[0], "_flat_owner", None)
    if owner is not None and len(params) == len(owner.params) and all(
            p is q and p.grad is not None and p.grad.data is v
            for p, q, v in zip(params, owner.params, owner._views)):
        grads = [owner.flat_grad]
    else:
        grads = [p.grad.data for p in params]
    for p in params:
        p.grad._version[0] += 1
    return Tensor._make(bk.clip_by_global_norm(grads, max_norm), bk)


class LambdaLR:
    """Sets `optimizer.lr = base_lr * lr_lambda(step)` at each `step()` (step counts from 0)."""

    def __init__(self, optimizer: Optimizer, lr_lambda):
        self.optimizer, self.lr_lambda, self.last_step = optimizer, lr_lambda, 0
        optimizer.lr = optimizer.base_lr * lr_lambda(0)

    def step(self):
        self.last_step += 1
        self.optimizer.lr = self.optimizer.base_lr * self.lr_lambda(self.last_step)
        return self.optimizer.lr

    def state_dict(self):
        return {"last_step": self.last_step}

    def load_state_dict(self, state):
        self.last_step = int(state["last_step"])
        self.optimizer.lr = self.optimizer.base_lr * self.lr_lambda(self.last_step)


class LinearLR(LambdaLR):
    """Linear annealing from `start_factor` to `end_factor` of the base rate over `total_steps`
    calls of `step()` (PPO anneals to 0 over its updates), constant afterwards."""

    def __init__(self, optimizer: Optimizer, total_steps: int, start_factor=1.0, end_factor=0.0):
        if total_steps <= 0:
            raise ValueError(f"LinearLR: total_steps must be positive, got {total_steps}")

        def factor(step):
            frac = min(step, total_steps) / total_steps
            return start_factor + (end_factor - start_factor) * frac

        super().__init__(optimizer, factor)
