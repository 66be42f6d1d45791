"""numbarl/cuda.py: what device="cuda" says on a machine that cannot run it, for each reason."""

import sys
import types

import pytest

from numbarl import cuda as numbarl_cuda


class FakeCuda(types.ModuleType):
    def __init__(self, available, gpus):
        super().__init__("numba.cuda")
        self._available, self._gpus = available, gpus

    def is_available(self):
        return self._available

    @property
    def gpus(self):
        if isinstance(self._gpus, Exception):
            raise self._gpus
        return self._gpus


@pytest.fixture
def fake(monkeypatch):
    import numba

    def install(available, gpus=(), numba_cuda_installed=True):
        module = FakeCuda(available, gpus)
        monkeypatch.setitem(sys.modules, "numba.cuda", module)
        monkeypatch.setattr(numba, "cuda", module, raising=False)
        found = numbarl_cuda.importlib.util.find_spec
        monkeypatch.setattr(numbarl_cuda.importlib.util, "find_spec",
                            lambda name, *a: (object() if numba_cuda_installed else None) if name == "numba_cuda"
                            else found(name, *a))
    return install


def test_a_gpu_or_the_simulator_can_run(fake):
    fake(available=True)
    assert numbarl_cuda.unavailable() is None


def test_without_numba_cuda_it_says_what_to_install(fake):
    fake(available=False, numba_cuda_installed=False)
    message = numbarl_cuda.unavailable()
    assert "needs numba-cuda (pip install -e '.[cuda]')" in message and "valid here: cpu, auto" in message


def test_with_numba_cuda_and_no_driver_it_says_what_is_really_missing(fake):
    fake(available=False, gpus=RuntimeError("Error at driver init: \n\nCUDA driver library cannot be found.\n"
                                            "Ensure that a compatible NVIDIA driver is installed.\n:"))
    message = numbarl_cuda.unavailable()
    assert message.startswith("device 'cuda' cannot run here: numba-cuda is installed, but numba's CUDA driver "
                              "check says: CUDA driver library cannot be found; Ensure")
    assert "simulator, which is for tests only: far too slow to train" in message
    assert "neither" not in message and "\n" not in message


def test_with_a_driver_and_no_gpu(fake):
    fake(available=False, gpus=[])
    assert "numba-cuda is installed, but it finds no NVIDIA GPU" in numbarl_cuda.unavailable()
