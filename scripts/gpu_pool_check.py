"""Does numbarl's caching allocator (numbarl/cuda_pool.py) stop device allocation after warm-up on a GPU?

    python scripts/gpu_pool_check.py [--iterations 50] [--num-envs 64] [--num-steps 32] [--warmup 2]
    python scripts/gpu_pool_check.py --compare   # the same run again with NUMBARL_CUDA_POOL=0, in a child

Trains PPO on CartPole with --device cuda and counts the driver's own cuMemAlloc and cuMemFree
calls per iteration (numba's driver functions wrapped, so the count does not trust the pool's
bookkeeping), beside the pool's counters. The goal is 0 cuMemAlloc per iteration after warm-up;
the exit status is 1 when it is missed. Seconds per iteration are the median after warm-up.

Under NUMBA_ENABLE_CUDASIM=1 the pool is not used (the simulator has no memory manager): the
script says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def count_driver_calls(counts):
    """Wrap numba's cuMemAlloc and cuMemFree so that every call, whoever makes it, adds to counts."""
    from numba.cuda.cudadrv.driver import driver

    for name in ("cuMemAlloc", "cuMemFree"):
        original = getattr(driver, name)  # numba binds driver functions lazily, as instance attributes

        def counted(*args, _original=original, _name=name):
            counts[_name] += 1
            return _original(*args)

        setattr(driver, name, counted)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2, help="iterations left out of the counts")
    parser.add_argument("--compare", action="store_true", help="also run with NUMBARL_CUDA_POOL=0 (a child process)")
    args = parser.parse_args()
    if args.warmup >= args.iterations:
        parser.error(f"--warmup {args.warmup} leaves no iteration to count of --iterations {args.iterations}")
    from numba import config

    if config.ENABLE_CUDASIM:
        print("the CUDA pool is inactive under numba's simulator (its arrays are numpy arrays, with no memory "
              "manager to replace): nothing to check here")
        return 0
    from numbarl.cuda import available, unavailable

    if not available():  # on a GPU, installs the pool before the first context
        sys.exit(f"error: {unavailable()}")
    from numbarl.cuda_pool import active_pool

    pool = active_pool()  # creates the context: the pool, unless NUMBARL_CUDA_POOL=0 or another manager
    counts = {"cuMemAlloc": 0, "cuMemFree": 0}
    count_driver_calls(counts)

    from algos import ppo

    marks = []  # (time, cuMemAlloc, cuMemFree, hits) after each iteration

    def after_iteration(step, snapshot):
        marks.append((time.perf_counter(), counts["cuMemAlloc"], counts["cuMemFree"], pool.hits if pool else 0))

    ppo_args = ppo.Args(env_id="CartPole", device="cuda", num_envs=args.num_envs, num_steps=args.num_steps,
                        total_timesteps=args.iterations * args.num_envs * args.num_steps)
    marks.append((time.perf_counter(), 0, 0, 0))
    ppo.train(ppo_args, callback=after_iteration)
    counted = marks[args.warmup:]
    allocs = counted[-1][1] - counted[0][1]
    frees = counted[-1][2] - counted[0][2]
    hits = counted[-1][3] - counted[0][3]
    n = len(counted) - 1
    seconds = statistics.median(b[0] - a[0] for a, b in zip(counted, counted[1:]))
    mode = "pool on" if pool else "pool off"
    print(f"PPO CartPole --device cuda, num_envs {args.num_envs}, num_steps {args.num_steps}, {mode}: "
          f"warm-up ({args.warmup} iterations) {marks[args.warmup][1]} cuMemAlloc; then over {n} iterations "
          f"{allocs} cuMemAlloc ({allocs / n:.1f} per iteration, goal 0), {frees} cuMemFree, "
          f"{seconds * 1e3:.1f} ms per iteration (median)")
    if pool:
        stats = pool.stats()
        print(f"pool: {hits} hits after warm-up ({hits / n:.0f} per iteration); driver_allocs "
              f"{stats['driver_allocs']}, held {stats['held_bytes'] / 2**20:.1f} MiB, of which "
              f"{stats['cached_bytes'] / 2**20:.1f} MiB free, {stats['blocks_in_use']} blocks in use")
    if pool and allocs:
        per_iteration = [b[1] - a[1] for a, b in zip(counted, counted[1:])]
        print(f"goal missed: cuMemAlloc calls in each iteration after warm-up: {per_iteration}")
    if args.compare:
        child = [sys.executable, __file__] + [a for a in sys.argv[1:] if a != "--compare"]
        subprocess.run(child, env={**os.environ, "NUMBARL_CUDA_POOL": "0"}, check=False)
    return 1 if pool and allocs else 0


if __name__ == "__main__":
    sys.exit(main())
