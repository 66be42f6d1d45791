"""Derives the rational function autodiff/backend/tanh32.py computes float32 tanh with, and checks
it against the correctly rounded tanh on every float32 in [0, 9.6] (the function is odd; above
9.02 tanh rounds to 1 in float32).

tanh(x) ~ x P(x^2) / Q(x^2) on [0, CLAMP], P and Q of degree 5, Q(0) = 1: a linearised
least-squares fit of the relative error, reweighted by Lawson's rule towards the minimax fit.
Evaluated in float64 and rounded once to float32, its relative error (~7e-11) is far below half a
float32 ulp (3e-8), so the result is the correctly rounded tanh or its neighbour.

    python scripts/fit_tanh.py [--check]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads its BLAS

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

CLAMP, DEGREE = 9.5, 5


def fit(degree=DEGREE, clamp=CLAMP, iterations=100):
    x = np.linspace(1e-6, clamp, 200_001)
    t, s = np.tanh(x), x * x
    powers = np.arange(degree + 1)
    # unknowns p0..pd, q1..qd: x P(s) - t (Q(s) - 1) = t, weighted to measure relative error
    a = np.concatenate([x[:, None] * s[:, None] ** powers, -t[:, None] * s[:, None] ** powers[1:]], 1)
    weight, lawson = 1 / t, np.ones_like(x)
    for _ in range(iterations):
        w = weight * np.sqrt(lawson)
        scale = np.abs(a * w[:, None]).max(0)
        sol = np.linalg.lstsq(a * w[:, None] / scale, t * w, rcond=None)[0] / scale
        p, q = sol[:degree + 1], np.concatenate([[1.0], sol[degree + 1:]])
        qs = np.polyval(q[::-1], s)
        rel = (x * np.polyval(p[::-1], s) / qs - t) / t
        weight = 1 / (t * qs)
        lawson = lawson * np.abs(rel)
        lawson /= lawson.sum()
    return p, q, np.abs(rel).max()


def check(tanh_into):
    """Worst ulp distance and the share of inputs off by any, for `tanh_into(x, out)` and for
    numpy's own float32 tanh, against float64 tanh rounded to float32, over every float32 in
    [0, 9.6]."""
    top = int(np.array([9.6], np.float32).view(np.int32)[0])
    ours, numpys, n = [0, 0], [0, 0], 0
    for lo in range(0, top, 1 << 24):
        x = np.arange(lo, min(lo + (1 << 24), top), dtype=np.int32).view(np.float32)
        ref = np.tanh(x.astype(np.float64)).astype(np.float32).view(np.int32)
        out = np.empty_like(x)
        tanh_into(x, out)
        for tally, y in ((ours, out), (numpys, np.tanh(x))):
            d = np.abs(y.view(np.int32) - ref)
            tally[0], tally[1] = max(tally[0], int(d.max())), tally[1] + int((d > 0).sum())
        n += x.size
    return n, ours, numpys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="check tanh32 on every float32 (~1 min) and time it against numpy's")
    args = parser.parse_args(argv)
    p, q, err = fit()
    print(f"degree {DEGREE}/{DEGREE} on [0, {CLAMP}]: max relative error {err:.3g} "
          f"({err / 2 ** -25:.4f} of float32's smallest relative half-ulp)")
    print("P =", tuple(float(v) for v in p))
    print("Q =", tuple(float(v) for v in q))
    if args.check:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from autodiff.backend import tanh32
        start = time.perf_counter()
        n, ours, numpys = check(tanh32.tanh_into)
        print(f"{n:,} float32 in [0, 9.6], against tanh rounded once ({time.perf_counter() - start:.0f} s):")
        print(f"  tanh32:         worst {ours[0]} ulp, {ours[1] / n:.3%} off by any")
        print(f"  numpy float32:  worst {numpys[0]} ulp, {numpys[1] / n:.3%} off by any")
        ours, numpys = speed(tanh32.tanh_into)
        print(f"1M float32 (standard normal x 2), median of alternating blocks: tanh32 {ours * 1e3:.2f} ms, "
              f"numpy {numpys * 1e3:.2f} ms ({numpys / ours:.1f}x)")


def speed(tanh_into, blocks=20, calls=10):
    x = (2 * np.random.default_rng(0).standard_normal(1 << 20)).astype(np.float32)
    out = np.empty_like(x)
    times = ([], [])
    for _ in range(blocks + 1):  # the first block of each warms up
        for fn, seen in ((lambda: tanh_into(x, out), times[0]), (lambda: np.tanh(x, out=out), times[1])):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            seen.append((time.perf_counter() - start) / calls)
    return float(np.median(times[0][1:])), float(np.median(times[1][1:]))


if __name__ == "__main__":
    main()
