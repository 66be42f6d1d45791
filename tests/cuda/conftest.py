import numpy as np
import pytest
from numba import config, cuda

# A CUDA test that silently skipped would hide a broken GPU path: with neither the simulator nor a
# GPU, the whole CUDA run fails here instead.
if not cuda.is_available():
    raise pytest.UsageError(
        "the CUDA tests need Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) or a CUDA GPU; neither is available"
    )

SIMULATOR = bool(config.ENABLE_CUDASIM)


@pytest.fixture
def rng():
    """Fresh random inputs, fixed seed: every test draws its own."""
    return np.random.default_rng(4321)


def pytest_configure(config):
    # Under the simulator, xoroshiro128+ runs as numpy uint64 arithmetic, whose wrap-around
    # numpy reports as overflow; on a GPU it is the intended modular arithmetic.
    config.addinivalue_line("filterwarnings", "ignore:overflow encountered in scalar:RuntimeWarning")
