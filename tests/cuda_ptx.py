"""Compile a CUDA kernel for a real GPU on a machine that has none, and link it as the GPU would.

The simulator runs plain Python, so a kernel that types only there (a numpy allocation inside it, a
call into an undecorated helper) passes the simulator tests and fails on the GPU. Compiling every
kernel to PTX for sm_90 with NVVM (the nvidia-nvvm wheel) in the default CPU test run catches that.

Compiling is not all a GPU does before a launch: numba-cuda then links the PTX with the helpers it
calls (a reshape inside a kernel calls `numba_attempt_nocopy_reshape`, C++ in numba-cuda's
reshape_funcs.cu that NVRTC compiles) and turns it into machine code with ptxas. nvJitLink (the
nvidia-nvjitlink wheel) does both without a driver, so `compile_ptx` links too: an undefined
symbol or PTX that ptxas refuses fails here, not in the first minute on a GPU.
"""
import functools
import os
import types

from numba import cuda

SM_90 = (9, 0)


def compile_ptx(kernel, signature, cc=SM_90):
    """PTX text for `kernel` (a @cuda.jit dispatcher or a plain function) with `signature`, after
    checking that it links into sm_90 machine code with the helpers numba-cuda would link."""
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
    link(ptx, cc)
    return ptx


def link(ptx, cc=SM_90):
    """The cubin (machine code) of `ptx` linked as numba-cuda's _Kernel links it: with
    reshape_funcs.cu when the PTX calls one of its functions (dispatcher.reshape_funcs). Raises
    nvJitLinkError, whose message has nvJitLink's log, when a symbol is undefined."""
    from numba.cuda import dispatcher
    from numba.cuda.cudadrv.driver import _Linker

    assert "NRT_" not in ptx, "the kernel uses numba's reference-counting runtime (an allocation?)"
    linker = _Linker(cc=cc)
    linker.add_ptx(ptx.encode())
    if any(name in ptx for name in dispatcher.reshape_funcs):
        linker.add_ptx(_reshape_funcs_ptx(cc))
    return bytes(linker.complete().code)


@functools.cache
def _reshape_funcs_ptx(cc):
    """numba-cuda's reshape_funcs.cu through NVRTC as relocatable PTX. (numba-cuda compiles it
    through cuda.core's Program, which asks the driver its version first: with no driver, call
    NVRTC directly.)"""
    from cuda.bindings import nvrtc
    from numba.cuda import dispatcher

    path = os.path.join(os.path.dirname(dispatcher.__file__), "reshape_funcs.cu")
    with open(path, "rb") as f:
        source = f.read()
    err, program = nvrtc.nvrtcCreateProgram(source, b"reshape_funcs.cu", 0, [], [])
    options = [f"-arch=compute_{cc[0]}{cc[1]}".encode(), b"-rdc=true"]
    try:
        (err,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            _, size = nvrtc.nvrtcGetProgramLogSize(program)
            log = b" " * size
            nvrtc.nvrtcGetProgramLog(program, log)
            raise RuntimeError(f"NVRTC could not compile {path}: {log.decode(errors='replace')}")
        _, size = nvrtc.nvrtcGetPTXSize(program)
        ptx = b" " * size
        nvrtc.nvrtcGetPTX(program, ptx)
    finally:
        nvrtc.nvrtcDestroyProgram(program)
    return ptx
