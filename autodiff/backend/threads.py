"""Threads for a stack of models: a population's large stacked operations split along the model
axis, each thread computing whole models (numpy releases the GIL in matmul and in its ufunc
loops, numba's kernels here are compiled nogil). Each model's result is the same call on the
same slice whatever the split, so the bits do not depend on the number of threads.

    ad.set_num_threads(1)        # or NUMBARL_NUM_THREADS=1 in the environment

The default is every core this process may run on, as torch's is. Below MIN_WORK multiply-adds
(or element operations) per thread an operation stays on the calling thread: handing work to a
thread and waiting for it costs ~20-100 us on 2 cores, which a small product does not repay.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

# Per thread, ~250 us of work: a 16-agent PPO minibatch's (8, 1024, 64) x (64, 64) half-product is
# 34M, a rollout step's (16, 16, 64) x (64, 64) products are 1M and stay on one thread (split, a
# 16-agent CartPole rollout step's forward took 420 us instead of 215-320, on 2 cores).
MIN_WORK = 1 << 23

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_threads: int | None = None
_splitting = threading.local()  # .active: this thread runs a part of a split (which splits no further)


def _default() -> int:
    text = os.environ.get("NUMBARL_NUM_THREADS", "").strip()
    if text:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"NUMBARL_NUM_THREADS must be a positive integer, got {text!r}")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """Threads a stacked operation may use (NUMBARL_NUM_THREADS, else the usable cores)."""
    global _threads
    if _threads is None:
        _threads = _default()
    return _threads


def set_num_threads(n: int):
    """Use at most n threads for a stack of models' operations (1: the calling thread only)."""
    global _threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: the number of threads must be a positive integer, got {n!r}")
    with _lock:
        if _pool is not None and n != _threads:
            _pool.shutdown(wait=True)
            _pool = None
        _threads = n


def pays(models: int, work: int) -> bool:
    """Whether splitting this work over threads would use more than one (a check cheap enough for
    every op: most of a single-seed run's and of a rollout's are too small)."""
    return models > 1 and work >= 2 * MIN_WORK and (_threads or get_num_threads()) > 1


def parts(models: int, work: int) -> list[tuple[int, int]]:
    """[(lo, hi), ...]: contiguous ranges of the models, one per thread, as many threads as the
    work repays (each at least MIN_WORK), one range when the work is small."""
    n = min(get_num_threads(), models, max(1, work // MIN_WORK))
    bounds = [models * i // n for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def over_models(fn, models: int, work: int):
    """fn(lo, hi) for each range of `parts(models, work)`: the first on this thread, the others
    on the pool's, returning when all are done (an exception in any is raised here). Called from
    inside a part (an op whose part calls another split op), it runs whole on its thread: a
    worker waiting on the pool it occupies would wait for ever."""
    ranges = parts(models, work)  # one range for small work: the ops check pays() before their split setup
    if len(ranges) == 1 or getattr(_splitting, "active", False):
        fn(0, models)
        return
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=get_num_threads() - 1, thread_name_prefix="numbarl")
    futures = [_pool.submit(_part, fn, lo, hi) for lo, hi in ranges[1:]]
    try:
        _part(fn, *ranges[0])
    finally:
        for future in futures:
            future.result()


def _part(fn, lo, hi):
    _splitting.active = True
    try:
        fn(lo, hi)
    finally:
        _splitting.active = False
