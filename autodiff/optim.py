"""Optimizers over one flat parameter buffer, gradient-norm clipping, learning-rate schedules.

An optimizer copies its parameters into one contiguous buffer and makes each parameter's data
(and gradient) a view into it, so a step, a zero_grad and a global-norm clip are each one
vectorised operation however many layers the network has.
"""

from __future__ import annotations

import numpy as np

from .module import Parameter
from .tensor import Tensor


class Optimizer:
    """`models=K` optimizes a stack of K models (nn.stacked: every parameter has a leading axis
    of K): the flat buffer is then (K, P), row k holding model k's parameters in the order a
    single model's buffer holds them, so each step and each model's gradient-norm clip
    (clip_grad_norm_) treats every model as the single-model optimizer would."""

    def __init__(self, params, lr, models=None):
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
        if models is not None:
            bad = [tuple(p.shape) for p in unique if p.ndim == 0 or p.shape[0] != models]
            if isinstance(models, bool) or not isinstance(models, int) or models < 1 or bad:
                raise ValueError(f"{type(self).__name__}(models={models!r}) needs a positive count and "
                                 f"parameters with a leading axis of that size; got shapes {bad[:3]}")
        self.models = models
        self.params = unique
        self.lr = lr
        self.base_lr = lr
        self.step_count = 0
        self.model_steps = None if models is None else [0] * models
        self._flatten()

    def _flatten(self):
        bk, dtype = self.params[0]._backend, self.params[0].dtype
        rows = self.models or 1
        total = sum(p.data.size for p in self.params) // rows
        lead = () if self.models is None else (rows,)
        self.flat = bk.zeros(lead + (total,), dtype)
        self.flat_grad = bk.zeros(lead + (total,), dtype)
        self._views, offset = [], 0
        for p in self.params:
            if getattr(p, "_flat_owner", None) is not None:
                raise RuntimeError("a parameter is already managed by another optimizer; "
                                   "give each parameter to one optimizer")
            n, shape = p.data.size // rows, p.shape
            part = (Ellipsis, slice(offset, offset + n))
            bk.setitem(self.flat, part, bk.reshape(p.data, lead + (n,)))
            p.data = bk.reshape(bk.getitem(self.flat, part), shape)
            grad_view = bk.reshape(bk.getitem(self.flat_grad, part), shape)
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

    def step(self, models=None):
        """Update the parameters from their gradients. With a stack of models, `models` (a list of
        K bools) updates only the models marked True: the others' parameters, state and step
        counts stay as they are, as if they had not stepped (an agent that stopped early)."""
        self._collect_grads()
        if self.models is None:
            if models is not None:
                raise ValueError(f"{type(self).__name__}.step(models=...) needs an optimizer of models=K")
            self.step_count += 1
            self._update()
            return
        active = [True] * self.models if models is None else [bool(m) for m in models]
        if len(active) != self.models:
            raise ValueError(f"{type(self).__name__}.step: {len(active)} flags for {self.models} models")
        counts = [c + a for c, a in zip(self.model_steps, active)]
        if all(active) and len(set(counts)) == 1:
            self._update()  # the usual case: every model at one step count, one pass over all
        else:
            for k in range(self.models):
                if active[k]:
                    self._update(k, counts[k])
        self.model_steps = counts
        self.step_count = max(counts)

    def _update(self, row=None, count=None):
        """One step over the whole buffer, or (models) over model `row` at step `count`."""
        raise NotImplementedError

    def _rows(self, row, *buffers):
        bk = self.params[0]._backend
        return buffers if row is None else tuple(bk.getitem(b, row) for b in buffers)

    def state_dict(self) -> dict:
        steps = self.step_count if self.models is None else np.asarray(self.model_steps, np.int64)
        return {"lr": self.lr, "base_lr": self.base_lr, "step_count": steps,
                **{k: self.params[0]._backend.to_numpy(v).copy() for k, v in self._buffers().items()}}

    def load_state_dict(self, state: dict):
        bk = self.params[0]._backend
        self.lr, self.base_lr = state["lr"], state["base_lr"]
        steps = np.asarray(state["step_count"]).reshape(-1).tolist()
        if self.models is None:
            self.step_count = int(steps[0])
        else:
            if len(steps) != self.models:
                raise ValueError(f"{type(self).__name__}.load_state_dict: step counts for {len(steps)} models, "
                                 f"the optimizer holds {self.models}")
            self.model_steps = [int(c) for c in steps]
            self.step_count = max(self.model_steps)
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

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False, models=None):
        super().__init__(params, lr, models)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.momentum_buffer = self.params[0]._backend.zeros(self.flat.shape, self.flat.dtype)

    def _update(self, row=None, count=None):
        self.params[0]._backend.sgd_step(*self._rows(row, self.flat, self.flat_grad, self.momentum_buffer),
                                         self.lr, self.momentum, self.weight_decay, self.nesterov)

    def _buffers(self):
        return {"momentum_buffer": self.momentum_buffer}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; PPO uses eps=1e-5."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, models=None):
        super().__init__(params, lr, models)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        bk = self.params[0]._backend
        self.exp_avg = bk.zeros(self.flat.shape, self.flat.dtype)
        self.exp_avg_sq = bk.zeros(self.flat.shape, self.flat.dtype)

    def _update(self, row=None, count=None):
        count = (self.step_count if self.models is None else self.model_steps[0] + 1) if count is None else count
        self.params[0]._backend.adam_step(*self._rows(row, self.flat, self.flat_grad, self.exp_avg, self.exp_avg_sq),
                                          self.lr, self.betas[0], self.betas[1], self.eps,
                                          count, self.weight_decay)

    def _buffers(self):
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}


def clip_grad_norm_(parameters, max_norm: float) -> Tensor:
    """Scale all gradients together so their global L2 norm is at most `max_norm`; returns the norm
    before clipping. Parameters that are exactly one optimizer's take one vectorised pass; those of
    an optimizer of K models are clipped model by model, each by its own norm, and the K norms
    are returned."""
    if isinstance(parameters, Tensor):  # one tensor, as PyTorch takes it (iterating it gave its rows)
        parameters = [parameters]
    params = [p for p in parameters if p.grad is not None]
    if not params:
        raise ValueError("clip_grad_norm_: no parameter has a gradient (call backward() first)")
    bk = params[0]._backend
    owner = getattr(params[0], "_flat_owner", None)
    if owner is not None and len(params) == len(owner.params) and all(
            p is q and p.grad is not None and p.grad.data is v
            for p, q, v in zip(params, owner.params, owner._views)):
        if owner.models is not None:
            for p in params:
                p.grad._version[0] += 1
            return Tensor._make(bk.clip_by_model_norm(owner.flat_grad, max_norm), bk)
        grads = [owner.flat_grad]
    elif any(getattr(p, "_flat_owner", None) is not None and p._flat_owner.models is not None for p in params):
        raise ValueError("clip_grad_norm_: the parameters of a stack of models are clipped together, "
                         "per model: pass exactly their optimizer's parameters")
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
