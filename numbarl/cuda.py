"""Whether device="cuda" can run here and, where it cannot, what is missing, in one sentence that
envs and autodiff both give (neither imports the other). Asking also puts numbarl's GPU memory
pool in place before either creates the CUDA context."""

from __future__ import annotations

import importlib.util


def available() -> bool:
    """Whether CUDA kernels can run here (a GPU, or numba's simulator). Envs and autodiff both ask
    this before their first CUDA call, so on a GPU it also puts numbarl's caching allocator
    (numbarl/cuda_pool.py) in place, which must come before numba creates the CUDA context."""
    try:
        from numba import config, cuda
    except ImportError:
        return False
    if not cuda.is_available():  # initialises the driver, creates no context
        return False
    if not config.ENABLE_CUDASIM:  # the simulator's arrays are numpy arrays: it has no memory manager
        from .cuda_pool import install

        install()
    return True


def unavailable() -> str | None:
    """None where CUDA kernels can run (a GPU, or numba's simulator); else why not, and what to do."""
    try:
        from numba import cuda
    except ImportError:
        return "device 'cuda' needs numba with numba-cuda (pip install -e '.[cuda]'); valid here: cpu, auto"
    if cuda.is_available():
        return None
    if importlib.util.find_spec("numba_cuda") is None:
        return ("device 'cuda' needs numba-cuda (pip install -e '.[cuda]') and an NVIDIA GPU with its driver; "
                "valid here: cpu, auto")
    try:
        count = len(cuda.gpus)  # initialises the driver, and raises saying what failed
        reason = "it finds no NVIDIA GPU" if not count else "numba cannot use the GPU it finds"
    except Exception as e:  # CudaSupportError: no driver library, no device, a driver too old
        detail = " ".join(str(e).replace("Error at driver init:", "").split()).rstrip(": .") or type(e).__name__
        reason = "numba's CUDA driver check says: " + detail.replace(". ", "; ")
    return (f"device 'cuda' cannot run here: numba-cuda is installed, but {reason} (nvidia-smi shows what the "
            "machine has); valid here: cpu, auto (NUMBA_ENABLE_CUDASIM=1 runs CUDA kernels in numba's simulator, "
            "which is for tests only: far too slow to train)")
