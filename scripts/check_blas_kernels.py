"""Run the learning tests under other BLAS kernels: the check that learning results hold on other
machines of our kind, done on this one.

Two machines of one kind can run different OpenBLAS sgemm kernels (an AMD EPYC picks Haswell's
or Zen's where an Intel Xeon picks SkylakeX's), which round products differently, so the same
seed trains to another result. OpenBLAS takes its kernel from OPENBLAS_CORETYPE, so each run here
is a pytest subprocess with that variable set; threadpoolctl reports the kernel that actually
loaded (OpenBLAS maps some names onto others: Zen runs Haswell's kernels).

    pip install -e '.[test,bench]'
    python scripts/check_blas_kernels.py [--kernels Haswell SkylakeX Sandybridge] [-k EXPR]

prints, per kernel: the kernel OpenBLAS reports, pytest's summary line and the wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNING = "solves or learns"  # the learning tests of tests/rl/test_runs.py

PROBE = """
import numpy, threadpoolctl
print(next(i.get("architecture") for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"))
"""


def kernel(env) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)
    return result.stdout.strip() or f"unknown ({result.stderr.strip().splitlines()[-1:]})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", nargs="+", default=["Haswell", "SkylakeX", "Sandybridge"])
    parser.add_argument("-k", default=LEARNING, help=f"pytest's -k expression (default: {LEARNING!r})")
    args = parser.parse_args()
    print(f"{'OPENBLAS_CORETYPE':<18} {'kernel that ran':<16} {'seconds':>8}  result")
    for name in args.kernels:
        env = {**os.environ, "OPENBLAS_CORETYPE": name}
        t0 = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "tests/rl/test_runs.py", "-k", args.k, "-p",
                                 "no:cacheprovider"], capture_output=True, text=True, env=env, cwd=ROOT)
        seconds = time.perf_counter() - t0
        summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"{name:<18} {kernel(env):<16} {seconds:>8.0f}  {summary}", flush=True)
        if result.returncode:
            failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "E  "))]
            print("\n".join("    " + line for line in failed[:12]))


if __name__ == "__main__":
    main()
