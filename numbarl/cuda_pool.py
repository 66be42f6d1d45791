"""A caching allocator for numba-cuda: device memory is taken from the driver once and reused.

Every autodiff op and env step writes into a fresh `cuda.device_array`. With numba's own memory
manager each of those is a `cuMemAlloc`, and the freed ones are `cuMemFree`d in bursts, which may
synchronise the device. `CachingMemoryManager` is an External Memory Management (EMM) plugin
(numba-cuda's docs, "External Memory Management (EMM) Plugin interface"): a freed block goes back
on a free list for its size class, and the next request of that class gets it. A training loop asks
for the same sizes every step, so after the first iteration or two it takes nothing from the driver.

Reuse needs no synchronisation because all of numbarl's work runs on one stream (numba's default):
a block the host gives back while a queued kernel still reads it is handed to a later launch or
copy, which the stream orders after that kernel. Code that runs work on several streams at once
must not free an array another stream still uses (or should set NUMBARL_CUDA_POOL=0).

Under numba's CUDA simulator there is no memory manager to replace (its arrays are numpy arrays):
numbarl/cuda.py installs the pool only on a real GPU, and the simulator path is untouched.
"""

from __future__ import annotations

import os
import weakref

from numba import cuda
from numba.cuda.core import config
from numba.cuda.cudadrv.driver import (AutoFreePointer, CudaAPIError, GetIpcHandleMixin, HostOnlyCUDAMemoryManager,
                                       MemoryInfo, binding, set_memory_manager)
from numba.cuda.cudadrv.driver import driver as cuda_driver

MIN_BLOCK = 512  # bytes


def size_class(nbytes: int) -> int:
    """The block size a request of `nbytes` gets: at least MIN_BLOCK, else `nbytes` rounded up to
    a quarter of its power-of-two octave (512, 640, 768, 896, 1024, 1280, ...).

    Why these classes: the pool must stop growing after warm-up even where sizes vary from step to
    step (the last minibatch, recurrent PPO's sequence lengths), so there must be few classes: four
    per doubling. Rounding wastes under a fifth of a block, where powers of two waste up to half
    (128 steps of 6-float observations at 2^22 sub-envs: 12 GiB, not 16). Every tiny array
    (scalars, flags, small biases), the most frequent kind, shares the 512-byte class: a few hundred
    bytes wasted each, where the driver aligns every allocation to 256 bytes anyway."""
    if nbytes <= MIN_BLOCK:
        return MIN_BLOCK
    quarter = 1 << ((nbytes - 1).bit_length() - 3)
    return -(-nbytes // quarter) * quarter


class NumbaDriver:
    """Device memory straight from the CUDA driver, as numba's own manager takes it."""

    def alloc(self, nbytes):
        return cuda_driver.cuMemAlloc(nbytes)

    def free(self, handle):
        cuda_driver.cuMemFree(handle)

    def memory_info(self):
        return cuda_driver.cuMemGetInfo()  # (free, total) bytes


class CachingMemoryManager(GetIpcHandleMixin, HostOnlyCUDAMemoryManager):
    """numba's device memory for one context, through per-size-class free lists.

    `memalloc` hands out a free block of the request's class, or else takes a new one from the
    driver; the pointer's finalizer, which runs when the last array or view on the block is gone,
    puts the block back on its free list. Blocks go back to the driver only in `release_cached`
    (called when the driver is out of memory) and `reset`. Host memory (pinned, mapped) stays
    numba's, through HostOnlyCUDAMemoryManager.

    `defer_cleanup` (numba's, inherited): inside it, freed blocks still return to the pool at once,
    which costs nothing, but no block goes back to the driver, even to retry an allocation that
    ran out of memory, just as numba's own manager frees nothing there.

    Counters: `driver_allocs` and `driver_frees` (cuMemAlloc and cuMemFree calls), `hits`
    (requests served from the pool), `held_bytes` (taken from the driver and not given back);
    `stats()` adds `cached_bytes`, the part of those now free in the pool, and `blocks_in_use`."""

    def __init__(self, *args, driver=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._driver = NumbaDriver() if driver is None else driver
        self._blocks = {}  # address -> (driver handle, size class): every block held from the driver
        self._free = {}  # size class -> addresses of the blocks free for reuse, the latest freed last
        self._live = {}  # address -> its pointer: views hold the pointer weakly, so the pool holds it
        self.driver_allocs = self.driver_frees = self.hits = self.held_bytes = 0

    def initialize(self):
        pass  # nothing to prepare: blocks come from the context's own cuMemAlloc

    @property
    def interface_version(self):
        return 1  # the EMM interface numba-cuda 0.30 implements (it refuses any other)

    def memalloc(self, size):
        cls = size_class(size)
        free = self._free.get(cls)
        if free:
            address = free.pop()
            self.hits += 1
        else:
            address = self._new_block(cls)
        # An AutoFreePointer runs its finalizer when its reference count (the array and every view
        # of it, through `own()`) drops to zero, as numba's own manager relies on.
        mem = AutoFreePointer(weakref.proxy(self.context), self._blocks[address][0], size,
                              finalizer=lambda: self._give_back(address))
        self._live[address] = mem
        return mem.own()

    def _new_block(self, cls):
        try:
            handle = self._driver.alloc(cls)
        except CudaAPIError as e:
            # The free lists may hold what this request needs, in other classes: give them back and
            # try once more, as numba retries after flushing its pending frees.
            if e.code != binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY or self.deallocations.is_disabled:
                raise
            self.release_cached()
            handle = self._driver.alloc(cls)
        address = int(handle)
        self._blocks[address] = (handle, cls)
        self.driver_allocs += 1
        self.held_bytes += cls
        return address

    def _give_back(self, address):
        self._live.pop(address, None)
        self._free.setdefault(self._blocks[address][1], []).append(address)

    def release_cached(self):
        """Give every free block back to the driver (blocks in use stay)."""
        for addresses in self._free.values():
            for address in addresses:
                self._free_block(address)
        self._free.clear()

    def _free_block(self, address):
        handle, cls = self._blocks.pop(address)
        self._driver.free(handle)
        self.driver_frees += 1
        self.held_bytes -= cls

    def reset(self):
        """Free every block, in use or not: numba calls this when the context itself goes (cuda.close),
        which invalidates every array of it anyway."""
        super().reset()
        for mem in self._live.values():
            mem._finalizer.detach()  # a block freed here must never come back to a free list
        self._live.clear()
        self._free.clear()
        for address in list(self._blocks):
            self._free_block(address)

    def get_memory_info(self):
        """The driver's (free, total), with the pool's free blocks counted as free: the pool gives
        them back before an allocation would fail."""
        free, total = self._driver.memory_info()
        return MemoryInfo(free=free + self.stats()["cached_bytes"], total=total)

    def stats(self) -> dict:
        cached = sum(cls * len(addresses) for cls, addresses in self._free.items())
        return {"driver_allocs": self.driver_allocs, "driver_frees": self.driver_frees, "hits": self.hits,
                "held_bytes": self.held_bytes, "cached_bytes": cached, "blocks_in_use": len(self._live)}


def install() -> bool:
    """Make numba take device memory through the pool; True where it does. Call it before the first
    CUDA context: numba binds each context to the manager set when the context is created.
    NUMBARL_CUDA_POOL=0 leaves numba's own manager, and so does a manager the user chose with
    NUMBA_CUDA_MEMORY_MANAGER (RMM's, say)."""
    if os.environ.get("NUMBARL_CUDA_POOL", "1") == "0" or config.CUDA_MEMORY_MANAGER != "default":
        return False
    set_memory_manager(CachingMemoryManager)
    return True


def active_pool() -> CachingMemoryManager | None:
    """The current context's pool (creating the context), or None where numba manages memory itself."""
    manager = cuda.current_context().memory_manager
    return manager if isinstance(manager, CachingMemoryManager) else None
