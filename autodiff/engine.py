"""Reverse-mode differentiation over the recorded graph: `backward` and `grad`.

One mechanism serves both: sort the graph's tensors topologically, then walk them from the outputs
back, calling each op's backward once with the sum of the gradients flowing into its output (so a
tensor used twice gets both contributions).
"""

from __future__ import annotations

from .function import _FREED, STATE, check_backward
from .ops import Cast
from .tensor import Tensor


def _key(t: Tensor) -> int:
    """A graph node: the op that made a tensor (aliases of one op's output share it), or the leaf."""
    return id(t._ctx) if t._ctx is not None else id(t)


def _topological_order(roots):
    """One tensor per graph node reachable from `roots` through tensors that require grad, each
    after the nodes it was made from; and the hooks registered on each node's tensors."""
    order, visited, hooks = [], set(), {}
    stack = [(r, False) for r in roots]
    while stack:  # iterative: recurrent graphs are thousands of ops deep
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        ctx = t._ctx
        k = id(ctx) if ctx is not None else id(t)  # _key(t), inlined: this loop is hot
        if t._hooks:
            bucket = hooks.setdefault(k, [])
            bucket.extend(h for h in t._hooks if h not in bucket)
        if k in visited:
            continue
        visited.add(k)
        stack.append((t, True))
        if ctx is not None:
            for p in ctx.inputs:
                if isinstance(p, Tensor) and p.requires_grad:
                    stack.append((p, False))
    return order, hooks


def _seed_gradients(outputs, grad_outputs):
    seeds = []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(
                f"output {i} does not require grad and has no grad_fn: nothing to differentiate "
                "(was it computed under no_grad(), or from tensors without requires_grad=True?)")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"backward needs a gradient for an output of shape {out.shape}; pass "
                    "gradient=<tensor of that shape>, or reduce the output to a scalar first (.sum())")
            g = Tensor._make(out._backend.full(out.shape, 1, out.dtype), out._backend)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=out.dtype, device=out.device)
        elif g.data.dtype != out.data.dtype:
            g = Cast.apply(g, out.data.dtype)
        if g.shape != out.shape:
            raise RuntimeError(f"gradient of shape {g.shape} given for an output of shape {out.shape}")
        seeds.append(g)
    return seeds


def _run(outputs, grad_outputs, retain_graph, create_graph, inputs):
    """The shared reverse walk. With `inputs` given, returns their gradients; otherwise
    accumulates into the `.grad` of every leaf."""
    seeds = _seed_gradients(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    wanted = None if inputs is None else {_key(t): i for i, t in enumerate(inputs)}
    results = None if inputs is None else [None] * len(inputs)
    pending: dict[int, Tensor] = {}
    for out, g in zip(outputs, seeds):
        k = _key(out)
        pending[k] = pending[k] + g if k in pending else g

    prev, STATE.enabled = STATE.enabled, create_graph
    anomaly = STATE.anomaly
    try:
        order, hooks = _topological_order(outputs)
        for t in reversed(order):
            ctx = t._ctx
            k = id(ctx) if ctx is not None else id(t)
            g = pending.pop(k, None)
            if g is None:
                continue
            if hooks and k in hooks:
                for hook in hooks[k]:
                    replaced = hook(g)
                    if replaced is not None:
                        g = replaced
            if wanted is not None and k in wanted:
                results[wanted[k]] = g
            if ctx is None:
                if wanted is None:
                    _accumulate_leaf(t, g, create_graph)
                continue
            if anomaly:
                STATE.backward_of = ctx
                try:
                    grads = ctx.fn.backward(ctx, g)
                finally:
                    STATE.backward_of = None
                check_backward(ctx, grads if isinstance(grads, tuple) else (grads,))
            else:
                grads = ctx.fn.backward(ctx, g)
            if type(grads) is not tuple:
                grads = (grads,)
            inputs_ = ctx.inputs
            if len(grads) != len(inputs_):
                raise RuntimeError(f"{ctx.fn.__name__}.backward returned {len(grads)} gradients for "
                                   f"{len(inputs_)} forward arguments")
            for p, gp, need in zip(inputs_, grads, ctx.needs_input_grad):
                if gp is None or not need:
                    continue
                if gp.data.shape != p.data.shape:
                    raise RuntimeError(f"{ctx.fn.__name__}.backward returned a gradient of shape "
                                       f"{gp.shape} for an input of shape {p.shape}")
                if gp.data.dtype != p.data.dtype:
                    # A gradient has its input's dtype, as in PyTorch (float32 @ float64 makes a
                    # float64 product; the float32 operand still gets a float32 gradient).
                    gp = Cast.apply(gp, p.data.dtype)
                pctx = p._ctx
                k = id(pctx) if pctx is not None else id(p)
                pending[k] = pending[k] + gp if k in pending else gp
            if not retain_graph:
                ctx._saved = _FREED
    finally:
        STATE.enabled = prev
    return results


def _accumulate_leaf(t: Tensor, g: Tensor, create_graph: bool):
    if create_graph:  # keep the gradient's own graph so it can be differentiated again
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        # A copy: `g` may be shared with other tensors' gradients or with the caller's seed.
        t.grad = Tensor._make(t._backend.copy(g.data), t._backend)
    else:
        t.grad._version[0] += 1
        t._backend.iadd(t.grad.data, g.data)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of `tensors` into the `.grad` of every leaf they depend on.

    `create_graph=True` records the backward pass itself, so the gradients can be differentiated
    again (Hessian-vector products); the graph is then kept as if `retain_graph=True`."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    _run(tensors, grad_tensors, retain_graph, create_graph, None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of `outputs` with respect to `inputs`, returned (not accumulated into .grad).

    Example, a Hessian-vector product:
        g, = grad(loss, [x], create_graph=True)
        hv, = grad((g * v).sum(), [x])
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is not None and not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} (shape {t.shape}) does not require grad")
    results = _run(outputs, grad_outputs, retain_graph, create_graph, inputs)
    for i, r in enumerate(results):
        if r is None and not allow_unused:
            raise RuntimeError(f"input {i} (shape {inputs[i].shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    return tuple(results)
