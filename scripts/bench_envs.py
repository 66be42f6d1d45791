"""Env steps per second with random actions: numbarl's compiled CartPole and Pendulum against,
in the same run, Gymnasium's numpy-vectorised CartPole, Gymnasium's SyncVectorEnv, and EnvPool
where it is installed (`pip install -e '.[bench]'`).

    python scripts/bench_envs.py [--sizes 64 1024 8192 65536] [--seconds 0.5]

Every env returns fresh arrays each step (numbarl's default, as Gymnasium and EnvPool do); the
actions come from a pool drawn beforehand, so drawing them is not timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import gymnasium as gym
import numpy as np

import envs

SYNC_MAX = 8192  # SyncVectorEnv steps one Python env at a time: larger batches take minutes


def steps_per_second(step, pool, seconds):
    for a in pool[:3]:  # warm-up: compiled code, caches, thread pools
        step(a)
    # The clock is read once per pass over the pool, not per step: at N = 64 a numbarl step takes
    # about 2.5 us, and reading the clock and indexing the pool each step would add 5 % to it.
    done, start = 0, time.perf_counter()
    while True:
        for a in pool:
            step(a)
        done += len(pool) * len(pool[0])
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:  # at least one pass: 16 steps
            return done / elapsed


def action_pool(space, n, rng, size=16):
    if isinstance(space, gym.spaces.Discrete):
        return [rng.integers(0, space.n, n) for _ in range(size)]
    return [rng.uniform(space.low, space.high, (n, *space.shape)).astype(np.float32) for _ in range(size)]


def candidates(name, gym_id, n):
    """(label, step function, action space) for every implementation that runs at this size."""
    ours = envs.make(name, num_envs=n, seed=0)
    ours.reset(seed=0)
    yield "numbarl", ours.step, ours.single_action_space
    if n >= 1024:  # the thread-count choice, measured: envs.base.PARALLEL_FROM
        other = envs.make(name, num_envs=n, seed=0)
        other.reset(seed=0)
        parallel = other._step_all is other._parallel
        other._step_all = other._serial if parallel else other._parallel
        other._adaptive = False  # pinned: the other driver, always
        yield f"numbarl ({'1 thread' if parallel else 'all threads'})", other.step, other.single_action_space
    if gym.spec(gym_id).vector_entry_point is not None:
        vec = gym.make_vec(gym_id, num_envs=n, vectorization_mode="vector_entry_point")
        vec.reset(seed=0)
        yield "gymnasium vector", vec.step, vec.single_action_space
    if n <= SYNC_MAX:
        sync = gym.make_vec(gym_id, num_envs=n, vectorization_mode="sync")
        sync.reset(seed=0)
        yield "gymnasium sync", sync.step, sync.single_action_space
    try:
        import envpool
    except ImportError:
        return
    pool = envpool.make(gym_id, env_type="gymnasium", num_envs=n, seed=0)
    pool.reset()
    space = pool.action_space
    yield "envpool", pool.step, space


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 1024, 8192, 65536])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    parser.add_argument("--envs", nargs="+", default=["CartPole", "Pendulum"])
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores; "
          f"steps/s, ratio = numbarl / that implementation")
    print(f"{'env':<10} {'N':>7} {'implementation':<22} {'steps/s':>14} {'numbarl x':>10}")
    rng = np.random.default_rng(0)
    for name in args.envs:
        gym_id = envs.gymnasium_id(name)
        for n in args.sizes:
            ours = None
            for label, step, space in candidates(name, gym_id, n):
                if label.startswith("envpool") and not isinstance(space, gym.spaces.Discrete):
                    space = gym.spaces.Box(space.low, space.high, space.shape[-1:] if len(space.shape) > 1 else space.shape,
                                           np.float32)
                sps = steps_per_second(step, action_pool(space, n, rng), args.seconds)
                ours = sps if ours is None else ours
                print(f"{name:<10} {n:>7} {label:<22} {sps:>14,.0f} {ours / sps:>9.1f}x", flush=True)


if __name__ == "__main__":
    main()
