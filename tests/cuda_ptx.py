"""Compile a CUDA kernel to PTX for a real GPU on a machine that has none.

The simulator runs plain Python, so a kernel that types only there (a numpy allocation inside it, a
call into an undecorated helper) passes the simulator tests and fails on the GPU. Compiling every
kernel to PTX for sm_90 with NVVM (the nvidia-nvvm wheel) in the default CPU test run catches that.
"""
import types

from numba import cuda

SM_90 = (9, 0)


def compile_ptx(kernel, signature, cc=SM_90):
    """PTX text for `kernel` (a @cuda.jit dispatcher or a plain function) with `signature`."""
    import numba.cuda.dispatcher as dispatcher

    # Device functions called from the kernel compile for the current device's compute
    # capability; with no GPU there is no current device, so report the target instead.
    saved = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc)
    try:
        pyfunc = getattr(kernel, "py_func", kernel)
        ptx, _ = cuda.compile_ptx(pyfunc, signature, cc=cc)
    finally:
        dispatcher.get_current_device = saved
    return ptx
