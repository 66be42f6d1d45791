"""numbarl/cuda_pool.py without a GPU: the pool's bookkeeping over a fake driver that counts calls and
hands out fake addresses, and the plugin checked against numba-cuda's EMM interface."""

import bisect
import collections
import gc
import inspect

import numpy as np
import pytest
from numba import cuda
from numba.cuda.cudadrv import driver as numba_driver

from numbarl import cuda_pool
from numbarl.cuda_pool import MIN_BLOCK, CachingMemoryManager, size_class

TOTAL = 1 << 40  # the fake device's bytes


class FakeDriver:
    """Device memory as a counter: distinct fake addresses, a call count, and an out-of-memory error
    past `limit` bytes in use, the way cuMemAlloc reports it."""

    def __init__(self, limit=TOTAL):
        self.limit, self.used, self.sizes = limit, 0, {}
        self.allocs = self.frees = 0
        self._next = 1 << 20

    def alloc(self, nbytes):
        if self.used + nbytes > self.limit:
            raise numba_driver.CudaAPIError(numba_driver.binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY, "fake: full")
        address, self._next = self._next, self._next + nbytes
        self.sizes[address] = nbytes
        self.used += nbytes
        self.allocs += 1
        return address

    def free(self, address):
        self.used -= self.sizes.pop(address)
        self.frees += 1

    def memory_info(self):
        return TOTAL - self.used, TOTAL


class Context:
    """What a memory pointer needs of its context here: something to hold a weak reference to."""


@pytest.fixture
def pool():
    fake = FakeDriver()
    context = Context()
    manager = CachingMemoryManager(context=context, driver=fake)
    manager.fake, manager.keep_context = fake, context
    manager.initialize()
    return manager


def address(mem):
    return mem.device_pointer_value


def test_sizes_round_up_to_a_quarter_of_their_octave():
    # Reference: the classes listed out, 512 then 5, 6, 7 and 8 times each power of two from 128.
    classes = [MIN_BLOCK] + sorted(k << j for j in range(7, 42) for k in (5, 6, 7, 8))
    rng = np.random.default_rng(17)
    for n in map(int, np.concatenate([np.arange(1, 5000), rng.integers(1, 1 << 40, 2000)])):
        expected = classes[bisect.bisect_left(classes, n)]
        assert size_class(n) == expected, n
        assert n <= expected and (n <= MIN_BLOCK or expected - n < expected / 5)  # under a fifth wasted
    assert len({size_class(n) for n in range(1, 1 << 16)}) == 1 + 4 * 7  # 512, four per doubling to 64 KiB


def test_a_training_loop_takes_nothing_from_the_driver_after_warm_up(pool):
    """Every step runs the same program: each op allocates its output, and each array dies a few
    ops later, some in the next step (rollout buffers, the last observations), some only through a
    view (a slice outlives the array it was cut from); parameters live throughout. After warm-up
    the driver sees no call, and it was asked for exactly as many blocks of each class as were ever
    in use at once, counted here from the program itself."""
    rng = np.random.default_rng(3)
    ops = 80
    program = [(int(rng.choice([4, 8, 256, 4096, 4100, 65536, 300_000, 1 << 22])), int(rng.integers(1, ops)),
                bool(rng.random() < 0.2)) for _ in range(ops)]  # (bytes, ops it lives, held through a view)
    parameters = [pool.memalloc(n) for n in (4096, 16384, 260)]
    in_use = collections.Counter(size_class(n) for n in (4096, 16384, 260))
    peak = collections.Counter(in_use)
    dying = collections.defaultdict(list)  # op -> arrays that die just before it runs
    driver_calls = []
    for step in range(30):
        for i, (nbytes, lifetime, through_view) in enumerate(program):
            t = step * ops + i
            for n in [n for n, _ in dying[t]]:
                in_use[size_class(n)] -= 1
            del dying[t]
            mem = pool.memalloc(nbytes)
            dying[t + lifetime].append((nbytes, mem.view(0, nbytes // 2) if through_view else mem))
            del mem
            in_use[size_class(nbytes)] += 1
            peak[size_class(nbytes)] = max(peak[size_class(nbytes)], in_use[size_class(nbytes)])
        driver_calls.append(pool.fake.allocs)
        assert pool.stats()["blocks_in_use"] == sum(in_use.values())
    assert driver_calls[2:] == [driver_calls[1]] * 28
    assert pool.driver_allocs == pool.fake.allocs == sum(peak.values())
    assert pool.hits + pool.driver_allocs == len(parameters) + 30 * ops
    assert pool.fake.frees == 0


def test_a_block_is_reused_only_after_its_last_array_and_view_are_gone(pool):
    a = pool.memalloc(1000)
    view = a.view(100, 200)
    b = pool.memalloc(1000)
    assert address(b) != address(a)
    first = address(a)
    del a
    c = pool.memalloc(1000)
    assert address(c) not in (first, address(b))  # the view still holds the block
    del view
    d = pool.memalloc(1000)
    assert address(d) == first
    assert (pool.driver_allocs, pool.hits) == (3, 1)


def test_the_latest_freed_block_of_a_class_comes_back_first(pool):
    blocks = [pool.memalloc(2000) for _ in range(4)]
    addresses = [address(m) for m in blocks]
    order = [2, 0, 3, 1]
    for i in order:
        blocks[i] = None
    again = [pool.memalloc(1900) for _ in range(4)]  # 1900 and 2000 share the 2048 class
    assert [address(m) for m in again] == [addresses[i] for i in reversed(order)]
    assert pool.driver_allocs == 4


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # a finalizer that failed
def test_reset_frees_every_block_in_use_or_not(pool):
    kept = [pool.memalloc(n) for n in (10, 5000, 70000)]
    for n in (10, 600, 1 << 20):
        pool.memalloc(n)  # freed at once
    assert pool.fake.used == pool.held_bytes > 0
    pool.reset()
    assert pool.fake.used == 0 and pool.fake.frees == pool.fake.allocs == 6
    assert pool.held_bytes == 0 and pool.stats()["cached_bytes"] == 0
    del kept  # their blocks went with the reset: none comes back to a free list
    gc.collect()
    assert pool.stats()["cached_bytes"] == 0
    fresh = pool.memalloc(10)
    assert pool.fake.allocs == 7 and pool.hits == 0 and address(fresh) in pool.fake.sizes


def test_memory_info_counts_free_blocks_as_free(pool):
    rng = np.random.default_rng(5)
    sizes = [int(s) for s in rng.integers(1, 1 << 21, 50)]
    kept = [pool.memalloc(n) for n in sizes[:20]]
    for n in sizes[20:]:
        pool.memalloc(n)
    in_use = sum(size_class(n) for n in sizes[:20])
    free, total = pool.get_memory_info()
    assert total == TOTAL and free == TOTAL - in_use
    assert pool.held_bytes == pool.fake.used
    assert pool.stats()["cached_bytes"] == pool.held_bytes - in_use
    del kept


def test_out_of_memory_gives_the_free_blocks_back_and_retries(pool):
    pool.fake.limit = 3 * 4096
    for _ in range(2):
        pool.memalloc(4096)  # each freed at once: one cached 4 KiB block
    small = pool.memalloc(1024)
    big = pool.memalloc(8192)  # 4096 + 1024 held, 8192 more does not fit until the cached 4096 goes
    assert pool.fake.frees == 1 and pool.fake.used == 1024 + 8192
    with pool.defer_cleanup():
        del big
        with pytest.raises(numba_driver.CudaAPIError):
            pool.memalloc(12000)  # inside defer_cleanup nothing goes back to the driver
        again = pool.memalloc(8000)  # but a freed block is reused there at once
    assert pool.fake.frees == 1 and pool.hits == 2 and small and again


def test_the_plugin_implements_numbas_emm_interface(monkeypatch):
    assert not inspect.isabstract(CachingMemoryManager)
    assert issubclass(CachingMemoryManager, cuda.BaseCUDAMemoryManager)
    for name in cuda.BaseCUDAMemoryManager.__abstractmethods__:
        assert getattr(CachingMemoryManager, name) is not getattr(cuda.BaseCUDAMemoryManager, name), name
    # set_memory_manager builds one with context=None and checks its interface version, no GPU needed.
    monkeypatch.setattr(numba_driver, "_memory_manager", None)
    monkeypatch.delenv("NUMBARL_CUDA_POOL", raising=False)
    assert cuda_pool.install()
    assert numba_driver._memory_manager is CachingMemoryManager


def test_the_pool_stays_out_when_asked(monkeypatch):
    monkeypatch.setattr(numba_driver, "_memory_manager", None)
    monkeypatch.setenv("NUMBARL_CUDA_POOL", "0")
    assert not cuda_pool.install()
    monkeypatch.delenv("NUMBARL_CUDA_POOL")
    monkeypatch.setattr(cuda_pool.config, "CUDA_MEMORY_MANAGER", "rmm.allocators.numba")
    assert not cuda_pool.install()
    assert numba_driver._memory_manager is None


@pytest.mark.parametrize("ask", ["numbarl", "envs", "autodiff"])
def test_asking_whether_cuda_can_run_installs_the_pool_on_a_gpu_only(monkeypatch, ask):
    """Envs and autodiff ask numbarl.cuda.available() before their first CUDA call, which on a GPU
    installs the pool before numba creates the context; the simulator is left as it is."""
    import numba

    import autodiff.backend
    import envs.cuda_driver
    import numbarl.cuda

    available = {"numbarl": numbarl.cuda.available, "envs": envs.cuda_driver.cuda_available,
                 "autodiff": autodiff.backend._cuda_available}[ask]
    monkeypatch.setattr(numba_driver, "_memory_manager", None)
    monkeypatch.delenv("NUMBARL_CUDA_POOL", raising=False)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    assert not available() and numba_driver._memory_manager is None
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(numba.config, "ENABLE_CUDASIM", 1)
    assert available() and numba_driver._memory_manager is None
    monkeypatch.setattr(numba.config, "ENABLE_CUDASIM", 0)
    assert available() and numba_driver._memory_manager is CachingMemoryManager
