"""The CUDA backend: every buffer operation of `Backend` on numba.cuda device arrays.

Arrays are C-contiguous device arrays; every op returns a new one (or writes in place where the
interface says so). Constants from `scalar()` stay on the host and reach kernels as arguments.
Only `item`, `all_finite`, `to_numpy` and `rng_state` copy to the host (they are the sync points);
the rest queue kernels. Indices built on the host (boolean masks, mixed fancy indices) are turned
into flat positions there and copied over; index arrays already on the device (minibatch orders)
stay there. `permutation` draws on the host, from a generator kept beside the device states, as
the device has no sort.
"""

from __future__ import annotations

import numpy as np
from numba import config, cuda

from numbarl import launch
from numbarl.launch import grid_stride as _launch

from . import Backend
from . import cuda_kernels as K
from .codes import ACT_NONE, ACTIVATIONS, REDUCE_MAX, REDUCE_SUM, REDUCE_SUMSQ, adam_scalars

_SIM = bool(config.ENABLE_CUDASIM)
RNG_STATES = 4096 if not _SIM else 8
REDUCE_THREADS = K.REDUCE_THREADS if not _SIM else 8
_BINARY = {"add": K.ADD, "sub": K.SUB, "mul": K.MUL, "div": K.DIV, "pow": K.POW, "maximum": K.MAX,
           "minimum": K.MIN, "lt": K.LT, "le": K.LE, "gt": K.GT, "ge": K.GE, "eq": K.EQ, "ne": K.NE,
           "and": K.AND, "or": K.OR, "xor": K.XOR}
_REVERSED = {K.SUB: K.RSUB, K.DIV: K.RDIV, K.POW: K.RPOW, K.LT: K.GT, K.LE: K.GE, K.GT: K.LT, K.GE: K.LE}
_BOOL_OPS = {K.LT, K.LE, K.GT, K.GE, K.EQ, K.NE, K.AND, K.OR, K.XOR}


def _on_device(x) -> bool:
    return cuda.is_cuda_array(x) if hasattr(cuda, "is_cuda_array") else hasattr(x, "copy_to_host")


def _s(x) -> tuple:
    """x's shape as a plain tuple (the simulator's shape object refuses negative indices)."""
    return tuple(x.shape)


if not _SIM:
    from numba.cuda.cudadrv.devicearray import DeviceNDArray as _DeviceNDArray
else:  # the simulator's arrays are its own class: they reshape as before
    _DeviceNDArray = None


def _flat(x):
    """x as a 1-D array over the same memory, as the kernels index elements (nearly every array
    argument of every launch). A C-contiguous numba device array's flat view is made directly:
    DeviceNDArray.reshape works the new strides out through numba's dummy array, 8.7 us a call on
    this project's CPU, against 2.2 us for the constructor it ends in (tests/autodiff/test_cuda_flat.py
    checks the two views agree). Anything else (the simulator's arrays, other libraries', empty
    ones, whose constructor needs a CUDA context) reshapes."""
    if x.ndim == 1:
        return x
    if type(x) is _DeviceNDArray and x.size and x.is_c_contiguous():
        return _DeviceNDArray((x.size,), (x.dtype.itemsize,), x.dtype, gpu_data=x.gpu_data)
    return x.reshape(x.size)


def _by_width(count, narrow, wide):
    """`narrow` (a broadcasting kernel with 32-bit index arithmetic) when `count` elements allow
    it, else `wide` (64-bit)."""
    return narrow if count <= K.NARROW_LIMIT else wide


def _k_pieces(tiles, k, batch):
    """(pieces, k per piece) for a matmul whose `batch` x `tiles` output tiles leave the grid
    short of launch.MAX_BLOCKS while k is long (a weight gradient: a few tiles, k the batch
    axis): k is cut into pieces of whole tiles, one block each, on grid z with the batch."""
    pieces = max(1, min(launch.splits(tiles, k, launch.MIN_SPLIT_K), launch.MAX_GRID[2] // batch))
    chunk = max(1, -(-k // pieces))
    chunk = -(-chunk // K.TILE) * K.TILE  # whole tiles: no tile straddles two pieces
    return -(-k // chunk) if k else 1, chunk


def _c_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _broadcast_strides(shape, out_shape):
    """Element strides that read an array of `shape` as if broadcast to `out_shape`."""
    strides = (0,) * (len(out_shape) - len(shape)) + _c_strides(shape)
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    return tuple(0 if n == 1 and m != 1 else s for n, m, s in zip(shape, out_shape, strides))


def _padded(shape, *strides):
    """Kernels take at least one dimension: a 0-d shape runs as (1,)."""
    if shape:
        return (tuple(shape),) + tuple(tuple(s) for s in strides)
    return ((1,),) + tuple((0,) for _ in strides)


def _view(shape, index):
    """(offset, shape, element strides) of x[index] for a basic index into a C-contiguous array of
    `shape`, worked out by numpy on a zero-size stand-in."""
    shape = tuple(shape)
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=shape, strides=_c_strides(shape))
    view = stand_in[index]
    offset = view.__array_interface__["data"][0] - stand_in.__array_interface__["data"][0]
    return offset, view.shape, view.strides


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class CUDABackend(Backend):
    name = "cuda"

    # -- creation and transfer ------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        if _on_device(data):
            if not data.is_c_contiguous():  # a strided view from outside: rare, so the simple way
                data = cuda.to_device(np.ascontiguousarray(data.copy_to_host()))
            return data if dtype is None or np.dtype(dtype) == data.dtype else self.astype(data, dtype)
        data = np.ascontiguousarray(np.asarray(data, dtype=dtype))
        if data.size == 1:  # a constant (a Python number lifted to a tensor): filled, not copied
            return self.full(data.shape, data.reshape(1)[0], data.dtype)
        return cuda.to_device(data)

    def to_numpy(self, x):
        return x.copy_to_host() if _on_device(x) else np.asarray(x)

    def full(self, shape, value, dtype):
        out = cuda.device_array(shape, dtype)
        if out.size:
            _launch(K.fill_kernel, out.size)(_flat(out), value)
        return out

    def scalar(self, value, dtype):
        return np.array(value, dtype=dtype)  # a host constant: passed to kernels by value

    def zeros(self, shape, dtype):
        return self.full(shape, 0, dtype)

    def copy(self, x):
        return self.astype(x, x.dtype)

    def astype(self, x, dtype):
        x = self.asarray(x)
        out = cuda.device_array(x.shape, dtype)
        if out.size:
            _launch(K.unary_kernel, out.size)(K.COPY, _flat(x), _flat(out))
        return out

    # -- elementwise ----------------------------------------------------------------------------
    def _binary(self, op, a, b, dtype=None, out=None):
        a_dev, b_dev = _on_device(a), _on_device(b)
        if not a_dev and not b_dev:
            raise TypeError("the CUDA backend needs at least one device array operand")
        if not b_dev and np.size(b) == 1:
            return self._with_scalar(op, a, np.asarray(b).reshape(()), dtype, out)
        if not a_dev and np.size(a) == 1:
            return self._with_scalar(_REVERSED.get(op, op), b, np.asarray(a).reshape(()), dtype, out)
        a, b = self.asarray(a), self.asarray(b)
        shape = np.broadcast_shapes(a.shape, b.shape)
        if dtype is None:
            dtype = np.bool_ if op in _BOOL_OPS else np.result_type(a.dtype, b.dtype)
            if op == K.DIV and np.dtype(dtype).kind in "biu":
                dtype = np.float64
        out = cuda.device_array(shape, dtype) if out is None else out
        if out.size == a.size == b.size:  # nothing broadcast: element i of each is element i
            _launch(K.binary_flat_kernel, out.size)(op, _flat(a), _flat(b), _flat(out))
        elif out.size:
            shp, sa, sb = _padded(shape, _broadcast_strides(a.shape, shape), _broadcast_strides(b.shape, shape))
            kernel = _by_width(out.size, K.binary32_kernel, K.binary_kernel)
            _launch(kernel, out.size)(op, _flat(a), sa, _flat(b), sb, _flat(out), shp)
        return out

    def _with_scalar(self, op, a, s, dtype, out):
        if dtype is None:
            # numpy's rule for a Python-like scalar: the array's dtype wins within a kind
            kind_a, kind_s = a.dtype.kind, s.dtype.kind
            dtype = a.dtype if kind_a == "f" or kind_s in "bui" or kind_a == kind_s else np.float32
            if op in _BOOL_OPS:
                dtype = np.bool_
            elif op in (K.DIV, K.RDIV) and np.dtype(dtype).kind in "biu":
                dtype = np.float64
        out = cuda.device_array(a.shape, dtype) if out is None else out
        if out.size:
            s = s.astype(dtype if np.dtype(dtype) != np.bool_ else a.dtype)[()]
            _launch(K.scalar_kernel, out.size)(op, _flat(a), s, _flat(out))
        return out

    def _unary(self, op, x, dtype=None):
        x = self.asarray(x)
        out = cuda.device_array(x.shape, dtype or x.dtype)
        if out.size:
            _launch(K.unary_kernel, out.size)(op, _flat(x), _flat(out))
        return out

    def add(self, a, b): return self._binary(K.ADD, a, b)  # noqa: E704
    def sub(self, a, b): return self._binary(K.SUB, a, b)  # noqa: E704
    def mul(self, a, b): return self._binary(K.MUL, a, b)  # noqa: E704
    def div(self, a, b): return self._binary(K.DIV, a, b)  # noqa: E704
    def pow(self, a, b): return self._binary(K.POW, a, b)  # noqa: E704
    def maximum(self, a, b): return self._binary(K.MAX, a, b)  # noqa: E704
    def minimum(self, a, b): return self._binary(K.MIN, a, b)  # noqa: E704
    def neg(self, x): return self._unary(K.NEG, x)  # noqa: E704
    def exp(self, x): return self._unary(K.EXP, x)  # noqa: E704
    def log(self, x): return self._unary(K.LOG, x)  # noqa: E704
    def sqrt(self, x): return self._unary(K.SQRT, x)  # noqa: E704
    def abs(self, x): return self._unary(K.ABS, x)  # noqa: E704
    def sign(self, x): return self._unary(K.SIGN, x)  # noqa: E704
    def tanh(self, x): return self._unary(K.TANH, x)  # noqa: E704
    def sigmoid(self, x): return self._unary(K.SIGMOID, x)  # noqa: E704
    def relu(self, x): return self._unary(K.RELU, x)  # noqa: E704

    def where(self, cond, a, b):
        cond, a, b = (self.asarray(v) for v in (cond, a, b))
        shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
        out = cuda.device_array(shape, np.result_type(a.dtype, b.dtype))
        if out.size == cond.size == a.size == b.size:
            _launch(K.where_flat_kernel, out.size)(_flat(cond), _flat(a), _flat(b), _flat(out))
        elif out.size:
            shp, sc, sa, sb = _padded(shape, *(_broadcast_strides(v.shape, shape) for v in (cond, a, b)))
            kernel = _by_width(out.size, K.where32_kernel, K.where_kernel)
            _launch(kernel, out.size)(_flat(cond), sc, _flat(a), sa, _flat(b), sb, _flat(out), shp)
        return out

    def clip(self, x, lo, hi):
        if lo is None and hi is None:
            return self.copy(x)
        if lo is not None:
            x = self._binary(K.MAX, x, np.asarray(lo, dtype=x.dtype), dtype=x.dtype)
        if hi is not None:
            x = self._binary(K.MIN, x, np.asarray(hi, dtype=x.dtype), dtype=x.dtype)
        return x

    def compare(self, op, a, b):
        return self._binary(_BINARY[op], a, b)

    def logical(self, op, a, b=None):
        return self._unary(K.NOT, a, np.bool_) if op == "not" else self._binary(_BINARY[op], a, b)

    # -- fused elementwise rules --------------------------------------------------------------------
    def tanh_backward(self, g, y):
        return self.mul(g, self._with_scalar(K.RSUB, self.mul(y, y), np.array(1, y.dtype), y.dtype, None))

    def relu_backward(self, g, y):
        return self.mul(g, self.astype(self.compare("gt", y, 0), g.dtype))

    def sigmoid_backward(self, g, y):
        return self.mul(g, self.mul(y, self._with_scalar(K.RSUB, y, np.array(1, y.dtype), y.dtype, None)))

    def log_softmax(self, x, axis):
        x, axis = self.asarray(x), axis % x.ndim
        moved = self._move_last(x, (axis,))
        out = cuda.device_array(moved.shape, x.dtype)
        rows = max(1, moved.size // _s(moved)[-1]) if moved.size else 0
        if rows:
            _launch(K.log_softmax_rows_kernel, rows)(_flat(moved), _s(moved)[-1], _flat(out))
        return self._move_back(out, x.ndim, (axis,))

    def max_backward_mask(self, x, m, axis):
        mask = self.astype(self.compare("eq", x, m), x.dtype)
        return self.div(mask, self.sum(mask, axis, True))

    # -- reductions -------------------------------------------------------------------------------------
    def _reduce(self, x, axis, keepdims, op):
        x = self.asarray(x)
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis))
        kept = tuple(n for d, n in enumerate(x.shape) if d not in axes)
        moved = self._move_last(x, axes)
        row = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        rows = int(np.prod(kept)) if kept else 1
        dtype = x.dtype if op == REDUCE_MAX or x.dtype.kind == "f" else np.int64
        out = cuda.device_array(max(rows, 1), dtype)
        if rows and row:
            self._reduce_rows(_flat(moved), rows, row, out, op)
        elif rows:
            _launch(K.fill_kernel, rows)(out, 0)
        shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape)) if keepdims else kept
        return out.reshape(shape) if shape else out.reshape(())

    def _reduce_rows(self, x, rows, row, out, op):
        """out[r] = op over row r of flat x (rows x row): a block per row, or, when the rows
        alone would leave most of the GPU idle (a full reduction is one row), several blocks per
        row and a second pass over their float64 partials. Both passes add in a fixed order."""
        parts = launch.splits(rows, row, launch.MIN_SPLIT_ELEMENTS)
        if parts > 1:
            partials = cuda.device_array(rows * parts, np.float64)
            launch.configure(K.reduce_rows_kernel, rows * parts, REDUCE_THREADS)(x, row, partials, op, parts)
            x, row, op = partials, parts, REDUCE_MAX if op == REDUCE_MAX else REDUCE_SUM
        launch.configure(K.reduce_rows_kernel, rows, REDUCE_THREADS)(x, row, out, op, 1)

    def sum(self, x, axis, keepdims):
        return self._reduce(x, axis, keepdims, REDUCE_SUM)

    def max(self, x, axis, keepdims):
        return self._reduce(x, axis, keepdims, REDUCE_MAX)

    def argmax(self, x, axis):
        x = self.asarray(x)
        if axis is None:
            x, axis = x.reshape(x.size), 0
        axis = axis % x.ndim
        moved = self._move_last(x, (axis,))
        rows = moved.size // _s(moved)[-1]
        out = cuda.device_array(rows, np.int64)
        _launch(K.argmax_rows_kernel, rows)(_flat(moved), _s(moved)[-1], out)
        shape = _s(moved)[:-1]
        return out.reshape(shape) if shape else out.reshape(())

    def sum_to(self, x, shape):
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
        out = self.sum(x, axes, True) if axes else x
        return out.reshape(shape) if tuple(shape) != out.shape else out

    def all_finite(self, x):
        if x.dtype.kind not in "fc" or x.size == 0:
            return True
        flag = self.zeros(1, np.int32)
        _launch(K.nonfinite_kernel, x.size)(_flat(self.asarray(x)), flag)
        return not bool(flag.copy_to_host()[0])

    def item(self, x):
        return self.to_numpy(x).reshape(-1)[0].item() if np.size(x) == 1 else self.to_numpy(x).item()

    # -- shape and indexing ------------------------------------------------------------------------
    def reshape(self, x, shape):
        return self.asarray(x).reshape(tuple(shape))

    def _strided(self, src, src_offset, src_strides, shape):
        """A new contiguous array from the view (offset, element strides, shape) of contiguous `src`."""
        shape = tuple(shape)
        out = cuda.device_array(shape, src.dtype)
        count = int(np.prod(shape)) if shape else 1
        if count:
            shp, ss, ds = _padded(shape, src_strides, _c_strides(shape))
            kernel = _by_width(count, K.strided_copy32_kernel, K.strided_copy_kernel)
            _launch(kernel, count)(_flat(src), src_offset, ss, _flat(out), 0, ds, shp, count)
        return out

    def permute(self, x, axes):
        x = self.asarray(x)
        strides = _c_strides(x.shape)
        return self._strided(x, 0, tuple(strides[a] for a in axes), tuple(x.shape[a] for a in axes))

    def _move_last(self, x, axes):
        order = tuple(d for d in range(x.ndim) if d not in axes) + tuple(axes)
        return x if order == tuple(range(x.ndim)) else self.permute(x, order)

    def _move_back(self, x, ndim, axes):
        order = tuple(d for d in range(ndim) if d not in axes) + tuple(axes)
        if order == tuple(range(ndim)):
            return x
        return self.permute(x, tuple(int(i) for i in np.argsort(order)))

    def broadcast_to(self, x, shape):
        x = self.asarray(x)
        return self._strided(x, 0, _broadcast_strides(x.shape, tuple(shape)), tuple(shape))

    def concatenate(self, xs, axis):
        xs = [self.asarray(x) for x in xs]
        axis = axis % xs[0].ndim
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        out = cuda.device_array(tuple(shape), np.result_type(*[x.dtype for x in xs]))
        start = 0
        for x in xs:
            if x.size:
                index = (slice(None),) * axis + (slice(start, start + x.shape[axis]),)
                self._write_view(out, index, x)
            start += x.shape[axis]
        return out

    def _write_view(self, out, index, value):
        """out[index] = value for a basic index (value broadcast to the view)."""
        offset, shape, strides = _view(out.shape, index)
        count = int(np.prod(shape)) if shape else 1
        if not count:
            return
        if not _on_device(value) and np.size(value) == 1:
            # A host constant goes to a kernel by value: no copy to the device (zero_grad's 0).
            value = np.asarray(value, dtype=out.dtype).reshape(())[()]
            if strides == _c_strides(shape):
                _launch(K.fill_kernel, count)(_flat(out)[offset:offset + count], value)
                return
            value, vstrides = self.full((1,), value, out.dtype), (0,) * len(shape)
        else:
            value = self.asarray(value)
            vstrides = _broadcast_strides(value.shape, shape)
        shp, ss, ds = _padded(shape, vstrides, strides)
        kernel = _by_width(count, K.strided_copy32_kernel, K.strided_copy_kernel)
        _launch(kernel, count)(_flat(value), 0, ss, _flat(out), offset, ds, shp, count)

    def _positions(self, shape, index):
        """Flat positions selected by an advanced index, on the device."""
        shape = tuple(shape)
        return cuda.to_device(np.ascontiguousarray(np.arange(int(np.prod(shape))).reshape(shape)[index]))

    def getitem(self, x, index):
        x = self.asarray(x)
        if isinstance(index, tuple) and index and all(_on_device(p) and p.dtype.kind in "iu" for p in index):
            return self._device_rows(x, index)
        if _on_device(index):  # minibatch rows chosen on the device
            row = x.size // x.shape[0] if x.shape[0] else 0
            out = cuda.device_array((index.shape[0],) + x.shape[1:], x.dtype)
            if out.size:
                _launch(K.rows_kernel, out.size)(_flat(x), _flat(index), row, _flat(out))
            return out
        index = _host_index(index)
        if _is_basic(index):
            # A contiguous view where numba makes one (as numpy's getitem would; the optimizer's
            # flat buffer relies on it), else a copy of the strided view.
            try:
                view = x[index]
            except (IndexError, TypeError, ValueError, NotImplementedError):
                view = None
            if view is not None and _on_device(view) and view.is_c_contiguous():
                return view
            offset, shape, strides = _view(x.shape, index)
            return self._strided(x, offset, strides, shape)
        positions = self._positions(x.shape, index)
        out = cuda.device_array(positions.shape, x.dtype)
        if out.size:
            _launch(K.gather_kernel, out.size)(_flat(x), _flat(positions), _flat(out))
        return out

    def _device_rows(self, x, index):
        """x[i0, i1, ...] for integer device arrays over x's leading axes (a population's
        (agents, minibatch rows)): the flat row numbers are worked out on the device, so nothing
        crosses to the host. Indices must be in range and non-negative."""
        lead = _s(x)[:len(index)]
        rows, stride = None, 1
        for i, n in reversed(list(zip(index, lead))):
            term = i if stride == 1 else self._with_scalar(K.MUL, i, np.array(stride, np.int64), np.int64, None)
            rows = term if rows is None else self.add(rows, term)
            stride *= n
        shape = np.broadcast_shapes(*(_s(i) for i in index))
        if _s(rows) != shape:
            rows = self.broadcast_to(rows, shape)
        out = cuda.device_array(shape + _s(x)[len(index):], x.dtype)
        if out.size:
            row = int(np.prod(_s(x)[len(index):])) if x.ndim > len(index) else 1
            _launch(K.rows_kernel, out.size)(_flat(x), _flat(rows), row, _flat(out))
        return out

    def index_add(self, shape, index, values):
        out = self.zeros(shape, values.dtype)
        self._scatter(out, index, values, accumulate=True)
        return out

    def _scatter(self, out, index, values, accumulate):
        if _on_device(index):
            index = index.copy_to_host()  # scattering by device rows: positions built on the host
        index = _host_index(index)
        if _is_basic(index):
            self._write_view(out, index, values)
            return
        positions = self._positions(out.shape, index)
        values = self.broadcast_to(values, positions.shape) if np.shape(values) != positions.shape else self.asarray(values)
        if positions.size:
            _launch(K.scatter_kernel, positions.size)(_flat(out), _flat(positions), _flat(values), accumulate)

    def take_along_axis(self, x, index, axis):
        x, index = self.asarray(x), self.asarray(index)
        out = cuda.device_array(index.shape, x.dtype)
        self._along(x, index, axis, out, out, False, False)
        return out

    def scatter_add_along_axis(self, shape, index, values, axis):
        index, values = self.asarray(index), self.asarray(values)
        out = self.zeros(shape, values.dtype)
        self._along(out, index, axis, out, values, True, True)
        return out

    def _along(self, x, index, axis, out, values, accumulate, scatter):
        if index.size:
            shp, xs = _padded(index.shape, _c_strides(x.shape))
            _launch(K.along_axis_kernel, index.size)(_flat(x), xs, _flat(index), shp, axis % index.ndim,
                                                     _flat(out), _flat(values), accumulate, scatter)

    # -- linear algebra -----------------------------------------------------------------------------
    def _matmul(self, a, b, ta, tb, bias=None, activation=None):
        a, b = self.asarray(a), self.asarray(b)
        squeeze_a, squeeze_b = a.ndim == 1, b.ndim == 1
        if squeeze_a:
            a = a.reshape((1, a.shape[0]))
        if squeeze_b:
            b = b.reshape((b.shape[0], 1))
        n, k = (_s(a)[-1], _s(a)[-2]) if ta else (_s(a)[-2], _s(a)[-1])
        k2, m = (_s(b)[-1], _s(b)[-2]) if tb else (_s(b)[-2], _s(b)[-1])
        if k != k2:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not fit")
        batch = np.broadcast_shapes(_s(a)[:-2], _s(b)[:-2])
        nb = int(np.prod(batch)) if batch else 1
        a_b = a if _s(a)[:-2] == batch or a.ndim == 2 else self.broadcast_to(a, batch + _s(a)[-2:])
        b_b = b if _s(b)[:-2] == batch or b.ndim == 2 else self.broadcast_to(b, batch + _s(b)[-2:])
        dtype = np.result_type(a.dtype, b.dtype)
        a_b, b_b = (v if v.dtype == dtype else self.astype(v, dtype) for v in (a_b, b_b))
        out = cuda.device_array(batch + (n, m), dtype)
        if out.size:
            has_bias = bias is not None
            bias_arr = _flat(self.asarray(bias) if has_bias else out)
            # rows beyond grid y's limit are covered by the kernel's stride over row tiles
            grid = ((m + K.TILE - 1) // K.TILE, min((n + K.TILE - 1) // K.TILE, launch.MAX_GRID[1]), nb)
            pieces, chunk = _k_pieces(grid[0] * grid[1] * nb, k, nb)
            kernel = launch.configure(K.MATMUL[np.dtype(dtype).name], grid[:2] + (nb * pieces,), (K.TILE, K.TILE))
            a_step, b_step = 0 if a_b.ndim == 2 else n * k, 0 if b_b.ndim == 2 else k * m
            if pieces == 1:
                kernel(_flat(a_b), _flat(b_b), _flat(out), n, k, m, a_step, b_step, ta, tb, bias_arr, has_bias,
                       ACTIVATIONS[activation], chunk, 1)
            else:  # split-K: each piece's product apart, then the pieces added in order
                partials = cuda.device_array(nb * pieces * n * m, np.float64)
                kernel(_flat(a_b), _flat(b_b), partials, n, k, m, a_step, b_step, ta, tb, bias_arr, False,
                       ACT_NONE, chunk, pieces)
                _launch(K.split_k_sum_kernel, out.size)(partials, pieces, n * m, m, bias_arr, has_bias,
                                                        ACTIVATIONS[activation], _flat(out))
        if squeeze_a:
            out = out.reshape(_s(out)[:-2] + (m,))
        if squeeze_b:
            out = out.reshape(_s(out)[:-1])
        return out

    def matmul(self, a, b):
        return self._matmul(a, b, False, False)

    def linear(self, x, w, b, activation=None):
        x = self.asarray(x)
        if len(_s(w)) == 3:  # a stack of K layers: x (K, ..., in), w (K, out, in), b (K, out)
            k = _s(w)[0]
            y = self._matmul(x.reshape((k, -1, _s(x)[-1])), w, False, True)
            if b is not None:
                y = self.add(y, self.reshape(b, (k, 1, _s(b)[-1])))
            if activation == "tanh":
                y = self.tanh(y)
            elif activation == "relu":
                y = self.relu(y)
            return y.reshape(_s(x)[:-1] + (_s(w)[1],))
        lead = _s(x)[:-1]
        y = self._matmul(x.reshape((int(np.prod(lead)) if lead else 1, _s(x)[-1])), w, False, True, b, activation)
        return y.reshape(lead + (w.shape[0],))

    # -- in place -------------------------------------------------------------------------------------
    def setitem(self, x, index, value):
        self._scatter(x, index, value, accumulate=False)

    def iadd(self, x, y):
        self._binary(K.ADD, x, y, dtype=x.dtype, out=x)

    def imul(self, x, y):
        self._binary(K.MUL, x, y, dtype=x.dtype, out=x)

    def adam_step(self, p, g, m, v, lr, beta1, beta2, eps, step, weight_decay):
        _launch(K.ADAM[p.dtype.name], p.size)(_flat(p), _flat(g), _flat(m), _flat(v),
                                              *adam_scalars(p.dtype, lr, beta1, beta2, eps, step, weight_decay or 0.0))

    def sgd_step(self, p, g, buf, lr, momentum, weight_decay, nesterov):
        _launch(K.sgd_kernel, p.size)(_flat(p), _flat(g), _flat(buf), lr, momentum or 0.0,
                                      weight_decay or 0.0, bool(nesterov))

    def clip_by_global_norm(self, grads, max_norm):
        # Each gradient's squares summed by blocks into a slice of `partials`, then one block
        # sums those: a fixed order, so the norm is the same bits on every run.
        live = [g for g in grads if g.size]
        parts = [launch.splits(1, g.size, launch.MIN_SPLIT_ELEMENTS) for g in live]
        partials = cuda.device_array(max(1, sum(parts)), np.float64)
        start = 0
        for g, p in zip(live, parts):
            launch.configure(K.reduce_rows_kernel, p, REDUCE_THREADS)(_flat(g), g.size, partials[start:start + p],
                                                                     REDUCE_SUMSQ, p)
            start += p
        acc = cuda.device_array(1, np.float64)
        if start:
            launch.configure(K.reduce_rows_kernel, 1, REDUCE_THREADS)(partials, start, acc, REDUCE_SUM, 1)
        else:
            _launch(K.fill_kernel, 1)(acc, 0.0)
        for g in grads:
            if g.size:
                _launch(K.clip_scale_kernel, g.size)(_flat(g), acc, float(max_norm))
        norm = cuda.device_array(1, grads[0].dtype if grads else np.float32)
        launch.configure(K.sqrt_kernel, 1, 1)(acc, norm)
        return norm.reshape(())

    def clip_by_model_norm(self, grads, max_norm):
        # One pass pair per model: a population's K is small next to its parameter count.
        return self.concatenate([self.clip_by_global_norm([grads[k]], max_norm).reshape((1,))
                                 for k in range(grads.shape[0])], 0)

    # -- random numbers ---------------------------------------------------------------------------------
    def rng(self, seed):
        """xoroshiro128+ states on the device (one per thread of the sampling kernels, seeded
        from numpy's SeedSequence) and a host generator for permutations."""
        words = np.random.SeedSequence(seed).generate_state(2 * RNG_STATES, np.uint64)
        from numba.cuda.random import xoroshiro128p_dtype

        states = words.view(xoroshiro128p_dtype)
        return {"states": cuda.to_device(states), "host": np.random.default_rng(seed)}

    def rng_state(self, rng):
        words = rng["states"].copy_to_host().view(np.uint64)
        state = {"states": [int(w) for w in words], "host": rng["host"].bit_generator.state}
        if "hosts" in rng:
            state["hosts"] = [r.bit_generator.state for r in rng["hosts"]]
        return state

    def set_rng_state(self, rng, state):
        from numba.cuda.random import xoroshiro128p_dtype

        rng["states"] = cuda.to_device(np.array(state["states"], np.uint64).view(xoroshiro128p_dtype))
        rng["host"].bit_generator.state = state["host"]
        for r, saved in zip(rng.get("hosts", ()), state.get("hosts", ())):
            r.bit_generator.state = saved

    def _random(self, rng, shape, dtype, normal):
        out = cuda.device_array(shape, dtype)
        kernel = K.random32_kernel if np.dtype(dtype) == np.float32 else K.random64_kernel
        if out.size:
            states = rng["states"]
            blocks = (states.size + launch.THREADS - 1) // launch.THREADS  # one thread per state
            launch.configure(kernel, blocks, launch.THREADS)(states, _flat(out), normal)
        return out

    def uniform(self, rng, shape, dtype):
        return self._random(rng, shape, dtype, False)

    def normal(self, rng, shape, dtype):
        return self._random(rng, shape, dtype, True)

    def permutation(self, rng, n):
        return cuda.to_device(rng["host"].permutation(n))

    # K streams on the GPU are one set of device states seeded from all K seeds (SeedSequence
    # takes a list): draws are independent per model but not the CPU's numbers, which no GPU
    # generator could reproduce anyway. Permutations come from the host, one per model.
    def rngs(self, seeds):
        rng = self.rng(list(seeds))
        rng["hosts"] = [np.random.default_rng(s) for s in seeds]
        return rng

    def permutations(self, rngs, n):
        return cuda.to_device(np.stack([r.permutation(n) for r in rngs["hosts"]]))


def _host_index(index):
    """An index with every array part on the host (device parts copied over)."""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(_on_device(p) for p in parts):
        return index
    parts = tuple(p.copy_to_host() if _on_device(p) else p for p in parts)
    return parts if isinstance(index, tuple) else parts[0]
