"""`gradcheck`: compare backward against central finite differences, in float64."""

from __future__ import annotations

import numpy as np

from .engine import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Backward and finite differences disagree."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0) -> bool:
    """Check the gradients `fn(*inputs)` computes by backward against finite differences.

    Every input that requires grad is copied to float64; the output(s) are projected onto a random
    direction `v` (fixed by `seed`), and d(v . fn)/d(input) from one backward is compared with the
    central difference (f(x + eps) - f(x - eps)) / 2 eps at every element. Returns True or raises
    `GradcheckError` naming the input, the element and both values."""
    inputs = list(inputs)
    xs = [Tensor(t.numpy().astype(np.float64), device=t.device, requires_grad=True)
          if isinstance(t, Tensor) and t.requires_grad else t for t in inputs]
    checked = [i for i, t in enumerate(xs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    rng = np.random.default_rng(seed)

    def outputs(args):
        out = fn(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    outs = outputs(xs)
    directions = [rng.standard_normal(o.shape) for o in outs]

    def projected(args) -> float:
        return sum(float(np.sum(o.numpy().astype(np.float64) * v)) for o, v in zip(outputs(args), directions))

    # Outputs that do not depend on any checked input (constants) contribute zero analytically.
    live = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if live:
        analytic = grad([outs[k] for k in live], [xs[i] for i in checked],
                        grad_outputs=[Tensor(directions[k], dtype=outs[k].dtype, device=outs[k].device)
                                      for k in live], allow_unused=True)
    else:
        analytic = [None] * len(checked)
    for i, g in zip(checked, analytic):
        x = xs[i]
        base = x.numpy()
        ga = np.zeros(base.shape) if g is None else g.numpy()
        numeric = np.zeros(base.shape)
        for j in np.ndindex(base.shape):
            for sign in (1, -1):
                shifted = base.copy()
                shifted[j] += sign * eps
                args = list(xs)
                args[i] = Tensor(shifted, device=x.device)
                numeric[j] += sign * projected(args)
        numeric /= 2 * eps
        bad = ~np.isclose(ga, numeric, atol=atol, rtol=rtol)
        if bad.any():
            j = tuple(int(k) for k in np.argwhere(bad)[0])
            raise GradcheckError(
                f"gradcheck: input {i} (shape {base.shape}) at {j}: backward gives {ga[j]:.8g}, "
                f"finite differences give {numeric[j]:.8g} ({int(bad.sum())} of {bad.size} elements differ)")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0) -> bool:
    """Check second derivatives: gradcheck of x -> d(v . fn(x))/dx, computed with create_graph=True,
    so every backward rule on the way must itself be differentiable and right."""
    from .engine import grad as _grad

    inputs = list(inputs)
    rng = np.random.default_rng(seed + 1)
    probe = fn(*inputs)
    v = Tensor(rng.standard_normal(probe.shape), dtype=np.float64, device=probe.device)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_derivatives(*xs):
        # gradcheck calls this on perturbed copies that do not require grad: differentiate those too.
        xs = [x.detach().requires_grad_() if i in checked and not x.requires_grad else x
              for i, x in enumerate(xs)]
        out = fn(*xs)
        targets = [xs[i] for i in checked]
        grads = _grad([out], targets, grad_outputs=[v.to(dtype=out.dtype)], create_graph=True,
                      allow_unused=True)
        return tuple(g if g is not None else t * 0 for g, t in zip(grads, targets))

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, seed)
