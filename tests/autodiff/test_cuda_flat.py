"""autodiff/backend/cuda.py's `_flat`, on this GPU-less machine: for numba-cuda's own device array
class (its memory a stand-in, which neither view reads), the view it builds directly is the one
DeviceNDArray.reshape returns: same memory, shape, strides, dtype and numba type. The simulator
runs the reshape path, so only here is the direct one checked."""

import numpy as np
import pytest
from numba import config
from numba.cuda.cudadrv.devicearray import DeviceNDArray

from autodiff.backend import cuda as backend

pytestmark = pytest.mark.skipif(bool(config.ENABLE_CUDASIM), reason="the simulator replaces DeviceNDArray")


class Memory:
    """Stands in for a device allocation (or the part of one a view covers)."""

    def __init__(self, offset=0):
        self.offset = offset  # what tells two stand-ins apart


def as_device(shape, dtype, memory):
    """A C-contiguous device array of `shape` over `memory`, as cuda.device_array makes one."""
    strides = tuple(int(s) for s in np.empty(shape, dtype).strides)
    return DeviceNDArray(shape, strides, dtype, gpu_data=memory)


@pytest.mark.parametrize("shape, dtype", [((3, 5), np.float32), ((2, 3, 4), np.float64), ((7, 1), np.int64),
                                          ((1, 1, 9), np.bool_), ((4096, 64), np.float32)])
def test_the_direct_flat_view_is_numbas_reshape(shape, dtype):
    memory = Memory()
    x = as_device(shape, dtype, memory)
    flat, reference = backend._flat(x), x.reshape(x.size)
    assert type(flat) is DeviceNDArray and flat.gpu_data is memory and reference.gpu_data is memory
    assert (flat.shape, flat.strides, flat.dtype, flat.size, flat.ndim) == \
        (reference.shape, reference.strides, reference.dtype, reference.size, reference.ndim)
    assert flat._numba_type_ == reference._numba_type_
    assert (flat.alloc_size, flat.stream) == (reference.alloc_size, reference.stream)


def test_one_dimensional_arrays_pass_and_strided_ones_reshape():
    x = as_device((10,), np.float32, Memory())
    assert backend._flat(x) is x
    columns = DeviceNDArray((6, 2), (16, 4), np.float32, gpu_data=Memory(4))  # [:, 1:3] of a (6, 4) array
    assert not columns.is_c_contiguous()
    with pytest.raises(NotImplementedError):  # numba refuses to flatten it without a copy, as before
        backend._flat(columns)
