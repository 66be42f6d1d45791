import os

# The CUDA tests need the CUDA simulator (or a real GPU), which numba reads once at its first import:
# they run in their own process, `NUMBA_ENABLE_CUDASIM=1 pytest tests/cuda` (or NUMBARL_TEST_CUDA=1
# on a machine with a GPU), and the default CPU run leaves them out.
if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" and os.environ.get("NUMBARL_TEST_CUDA") != "1":
    collect_ignore = ["cuda"]
