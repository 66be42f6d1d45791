"""glibc's allocator tuned for numpy's short-lived large temporaries, shared by autodiff (the
CPU backend) and envs (the arrays a batched step returns), so that neither imports the other."""

from __future__ import annotations

import ctypes
import ctypes.util
import os


def keep_freed_memory_in_the_heap():
    """glibc hands freed blocks over 128 KiB back to the OS and page-faults them in again on the
    next allocation, about 250 us per MB: at batch 4,096 that doubled a PPO update (measured in
    scripts/bench_autodiff.py), and it made the copies a batched env step returns at N = 65,536 cost
    more than the physics. Raising the thresholds lets numpy's temporaries reuse heap memory.
    Process-wide and idempotent; set NUMBARL_MALLOC_TUNING=0 to leave malloc as it is."""
    if os.environ.get("NUMBARL_MALLOC_TUNING", "1") == "0":
        return
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to tune
        return
    if mallopt is not None:
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed value on 64-bit
        mallopt(M_TRIM_THRESHOLD, 1 << 30)
