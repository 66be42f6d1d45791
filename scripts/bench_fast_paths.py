"""Each fast path of autodiff against the generic path it shortcuts, in the same process.

A fast path is code beside a generic one that gives the same bits sooner (tests/autodiff checks
the bits); it stays only while it pays. Each case times one call the algorithms make, at the sizes
they make it (PPO CartPole: minibatch rows 1024, obs 4, hidden 64, 2 actions; DQN CartPole: batch
128, hidden 120 and 84, ReLU; a rollout step's forward for 1 and 16 models of 8 envs), taking
turns with the generic path in blocks, and prints the median time of each and the gain
(1 - fast / generic). Every network is a stack of models (nn.stacked), as the algorithms' are.

    python scripts/bench_fast_paths.py [--blocks 30] [--calls 200]

The generic paths run by switching the fast ones off, so the timed code is the library's own:
- the CPU backend's fused kernels (`_fused_pair`, the bias+activation kernels, the short-axis and
  row-sum reductions) each sit behind a test that the dtype is one of `_NATIVE_FLOATS`; emptying
  that tuple sends every call down numpy's passes;
- `nn.MLP`'s no-grad forward against `Sequential.forward`, the op-by-op path it skips;
- `Function.apply`'s no-grad branch (taken under `no_grad()`, as by every backward rule) against
  the generic branch, which the same op on inputs that require no grad takes with grad enabled.
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy loads its BLAS

import argparse  # noqa: E402
import contextlib  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402
from autodiff import nn, ops  # noqa: E402
from autodiff.backend import cpu, get_backend  # noqa: E402

BK = get_backend("cpu")
RNG = np.random.default_rng(0)


def _array(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@contextlib.contextmanager
def _numpy_passes():
    saved, cpu._NATIVE_FLOATS = cpu._NATIVE_FLOATS, ()
    try:
        yield
    finally:
        cpu._NATIVE_FLOATS = saved


def _backend_cases():
    """(path, call, size, fn): the backend's fused kernels; generic = numpy's passes."""
    h_ppo, y_ppo = _array(1, 1024, 64), np.tanh(_array(1, 1024, 64))
    h_dqn, y_dqn = _array(1, 128, 120), np.maximum(_array(1, 128, 120), 0)
    x_ppo, w_head, b_head = _array(1, 1024, 64), _array(1, 2, 64), _array(1, 2)
    w_hidden, b_hidden = _array(1, 64, 64), _array(1, 64)
    x_dqn, w1, b1, w2, b2 = _array(1, 128, 4), _array(1, 120, 4), _array(1, 120), _array(1, 84, 120), _array(1, 84)
    h1 = np.maximum(_array(1, 128, 120), 0)
    x_one, w_one, b_one = _array(1024, 64), _array(2, 64), _array(2)
    x_roll, w_roll, b_roll = _array(16, 8, 64), _array(16, 2, 64), _array(16, 2)
    logits_ppo, q_dqn, logits_roll = _array(1, 1024, 2), _array(1, 128, 2), _array(16, 8, 2)
    return [
        ("_fused_pair", "tanh_backward (PPO hidden)", "1x1024x64", lambda: BK.tanh_backward(h_ppo, y_ppo)),
        ("_fused_pair", "relu_backward (DQN hidden)", "1x128x120", lambda: BK.relu_backward(h_dqn, y_dqn)),
        ("bias+activation", "linear, tanh (PPO hidden)", "1x1024x64 -> 64",
         lambda: BK.linear(x_ppo, w_hidden, b_hidden, "tanh")),
        ("bias+activation", "linear, no activation (PPO head)", "1x1024x64 -> 2",
         lambda: BK.linear(x_ppo, w_head, b_head, None)),
        ("bias+activation", "linear, relu (DQN layer 1)", "1x128x4 -> 120", lambda: BK.linear(x_dqn, w1, b1, "relu")),
        ("bias+activation", "linear, relu (DQN layer 2)", "1x128x120 -> 84", lambda: BK.linear(h1, w2, b2, "relu")),
        ("bias+activation", "linear, no activation (rollout head)", "16x8x64 -> 2",
         lambda: BK.linear(x_roll, w_roll, b_roll, None)),
        ("bias+activation", "linear 2-D, no activation (one model)", "1024x64 -> 2",
         lambda: BK.linear(x_one, w_one, b_one, None)),
        ("short-axis reduction", "log_softmax of PPO's logits", "1x1024x2",
         lambda: BK.log_softmax(logits_ppo, -1)),
        ("short-axis reduction", "max over DQN's actions", "1x128x2", lambda: BK.max(q_dqn, -1, False)),
        ("short-axis reduction", "log_softmax of a rollout's logits", "16x8x2",
         lambda: BK.log_softmax(logits_roll, -1)),
        ("row sums", "bias gradient (PPO hidden)", "1x1024x64 over rows", lambda: BK.sum(h_ppo, 1, False)),
        ("row sums", "bias gradient (DQN hidden)", "1x128x120 over rows", lambda: BK.sum(h_dqn, 1, False)),
        ("row sums", "bias gradient, 2-D (one model)", "1024x64 over rows", lambda: BK.sum(x_one, 0, False)),
    ]


def _module_cases():
    """nn.MLP's no-grad forward; generic = Sequential.forward, one Linear op per layer."""
    cases = []
    for label, sizes, act, shape in [("PPO actor, rollout step", [4, 64, 64, 2], "tanh", (1, 8, 4)),
                                     ("PPO actor, rollout step", [4, 64, 64, 2], "tanh", (16, 8, 4)),
                                     ("DQN Q-network, acting", [4, 120, 84, 2], "relu", (1, 1, 4))]:
        k = shape[0]
        mlp = nn.stacked(lambda: nn.MLP(sizes, act), list(range(k)))
        x = ad.tensor(_array(*shape))
        cases.append(("MLP no-grad forward", label, "x".join(map(str, shape)),
                      (lambda m=mlp, x=x: m(x)), (lambda m=mlp, x=x: nn.Sequential.forward(m, x))))
    return cases


def _apply_cases():
    """Function.apply under no_grad (fast) and with grad enabled on inputs needing none (generic)."""
    g, y = ad.tensor(_array(1, 1024, 64)), ad.tensor(np.tanh(_array(1, 1024, 64)))
    a, b = ad.tensor(_array(1, 1024, 64)), ad.tensor(_array(1, 64, 64))
    s, t = ad.tensor(_array(1, 8, 64)), ad.tensor(_array(1, 8, 64))
    return [
        ("Function.apply no-grad", "TanhBackward (PPO backward)", "1x1024x64", lambda: ops.TanhBackward.apply(g, y)),
        ("Function.apply no-grad", "MatMul (PPO backward)", "1x1024x64 @ 1x64x64",
         lambda: ops.MatMul.apply(a, b, False, False)),
        ("Function.apply no-grad", "Mul (rollout-sized)", "1x8x64", lambda: ops.Mul.apply(s, t)),
        ("Function.apply no-grad", "Sum over rows (PPO bias gradient)", "1x1024x64",
         lambda: ops.Sum.apply(g, 1, False)),
    ]


def _block(fn, calls, context):
    with context():
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls


def _compare(fast, generic, fast_context, generic_context, blocks, calls):
    """Median seconds per call of each, taking turns block by block."""
    fast_times, generic_times = [], []
    for _ in range(2):  # warm-up: numba's first calls, numpy's allocator
        _block(fast, calls, fast_context), _block(generic, calls, generic_context)
    for _ in range(blocks):
        fast_times.append(_block(fast, calls, fast_context))
        generic_times.append(_block(generic, calls, generic_context))
    return float(np.median(fast_times)), float(np.median(generic_times))


def _same_bits(fast, generic, fast_context, generic_context):
    def run(fn, context):
        with context():
            out = fn()
        return np.asarray(out.numpy() if isinstance(out, ad.Tensor) else out)

    a, b = run(fast, fast_context), run(generic, generic_context)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _apply_branches_per_update(batch=64):
    """How many ops of one PPO minibatch update (bench_autodiff.py's) take each branch of
    Function.apply: the no-grad branch's share of an update is its count times the saving."""
    import sys

    from autodiff import function

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_autodiff

    update = bench_autodiff.numbarl_update_fn(bench_autodiff.make_batch(batch))
    update()
    counts = {"no-grad": 0, "generic": 0}
    apply = function.Function.__dict__["apply"]

    def counting(cls, *args):
        s = function.STATE
        counts["no-grad" if cls._primitive and not s.enabled and not s.anomaly else "generic"] += 1
        return apply.__func__(cls, *args)

    function.Function.apply = classmethod(counting)
    try:
        update()
    finally:
        function.Function.apply = apply
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=30, help="timed blocks per side")
    parser.add_argument("--calls", type=int, default=200, help="calls per block")
    args = parser.parse_args(argv)

    rows = []
    for path, call, size, fn in _backend_cases():
        rows.append((path, call, size, fn, fn, contextlib.nullcontext, _numpy_passes))
    for path, call, size, fast, generic in _module_cases():
        rows.append((path, call, size, fast, generic, ad.no_grad, ad.no_grad))
    for path, call, size, fn in _apply_cases():
        rows.append((path, call, size, fn, fn, ad.no_grad, contextlib.nullcontext))

    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} cores; "
          f"median of {args.blocks} blocks of {args.calls} calls per side")
    print(f"{'fast path':<24}{'call':<40}{'size':<22}{'fast us':>9}{'generic us':>12}{'gain':>7}  bits")
    for path, call, size, fast, generic, fast_context, generic_context in rows:
        f, g = _compare(fast, generic, fast_context, generic_context, args.blocks, args.calls)
        same = "same" if _same_bits(fast, generic, fast_context, generic_context) else "DIFFER"
        print(f"{path:<24}{call:<40}{size:<22}{f * 1e6:>9.2f}{g * 1e6:>12.2f}{1 - f / g:>6.0%}  {same}")
    counts = _apply_branches_per_update()
    print(f"ops of one PPO minibatch update (batch 64): {counts['no-grad']} take Function.apply's "
          f"no-grad branch, {counts['generic']} the generic one")


if __name__ == "__main__":
    main()
