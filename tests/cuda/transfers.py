"""Counts of what crosses between host and device, and of device allocations, while a block of
code runs under numba's CUDA simulator.

The simulator's arrays are numpy arrays, so nothing there copies for real; this counts the calls
that would copy on a GPU, as numba-cuda does them: `cuda.to_device`, `copy_to_host`,
`copy_to_device` from the host, reading a device array as numpy (`np.asarray` and friends reach
`__array__` on a GPU, which copies), indexing one element out, assigning from the host, and a
numpy array passed to a kernel (numba copies it over and back). Allocations are
`cuda.device_array` and `cuda.to_device` calls: each is a cuMemAlloc on a GPU.
"""

from __future__ import annotations

import collections
import contextlib

import numpy as np
from numba import cuda


def _in_kernel():
    from numba.cuda.simulator import kernel

    return kernel._kernel_context is not None


class Transfers:
    """`with Transfers() as t:` ... `t.counts` is a Counter of "h2d", "d2h" and "alloc";
    `t.mark()` returns the counts since the previous mark (or the start)."""

    def __init__(self):
        self.counts = collections.Counter()
        self._marked = collections.Counter()
        self._stack = contextlib.ExitStack()
        self._busy = 0  # inside one counted call: what it calls itself is not counted again
        self.where = None  # set to a Counter to count by (kind, the project's code that asked)

    def mark(self) -> collections.Counter:
        since = self.counts - self._marked
        self._marked = self.counts.copy()
        return since

    def _count(self, *kinds):
        if not self._busy and not _in_kernel():
            self.counts.update(kinds)
            if self.where is not None:
                self.where.update((kind, _caller()) for kind in kinds)

    def _wrap(self, owner, name, kinds_of):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            self._count(*kinds_of(*args, **kwargs))
            self._busy += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._busy -= 1

        self._stack.enter_context(_patched(owner, name, wrapper))

    def __enter__(self):
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
        from numba.cuda.simulator.kernel import FakeCUDAKernel

        from numba import config

        if not config.ENABLE_CUDASIM:
            raise RuntimeError("Transfers counts under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)")
        on_device = lambda a: isinstance(a, FakeCUDAArray)  # noqa: E731
        self._wrap(cuda, "to_device", lambda ary, *a, to=None, **k: ("h2d",) if to is not None else ("h2d", "alloc"))
        self._wrap(cuda, "device_array", lambda *a, **k: ("alloc",))
        self._wrap(cuda, "device_array_like", lambda *a, **k: ("alloc",))
        self._wrap(FakeCUDAArray, "copy_to_host", lambda *a, **k: ("d2h",))
        self._wrap(FakeCUDAArray, "copy_to_device", lambda s, ary, *a, **k: () if on_device(ary) else ("h2d",))
        self._wrap(FakeCUDAArray, "__setitem__", lambda s, i, v: () if on_device(v) else ("h2d",))

        # numpy reads the simulator's array through the numpy array behind it (attributes are
        # forwarded); a GPU array has no such attributes, and __array__ copies it to the host.
        getattr_ = FakeCUDAArray.__getattr__

        def getattr_counted(array, name):
            if name in ("__array__", "__array_interface__", "__array_struct__"):
                self._count("d2h")
            return getattr_(array, name)

        getitem = FakeCUDAArray.__getitem__

        def getitem_counted(array, index):
            out = getitem(array, index)
            if not isinstance(out, FakeCUDAArray):  # one element, read on the host
                self._count("d2h")
            return out

        launch = FakeCUDAKernel.__call__

        def launch_counted(kernel, *args):
            if not kernel._device:
                host = sum(isinstance(a, np.ndarray) and a.ndim > 0 for a in args)
                self._count(*("h2d", "d2h", "alloc") * host)
            return launch(kernel, *args)

        for name, fn in (("__getattr__", getattr_counted), ("__getitem__", getitem_counted)):
            self._stack.enter_context(_patched(FakeCUDAArray, name, fn))
        self._stack.enter_context(_patched(FakeCUDAKernel, "__call__", launch_counted))
        return self

    def __exit__(self, *exc):
        self._stack.close()


def _caller():
    """file:line of the innermost frames in the project's own code (outside tests)."""
    import traceback

    frames = [f for f in traceback.extract_stack() if "/site-packages/" not in f.filename
              and "/tests/" not in f.filename and "<" not in f.filename]
    return " < ".join(f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
                      for f in reversed(frames[-4:]))


@contextlib.contextmanager
def _patched(owner, name, value):
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
