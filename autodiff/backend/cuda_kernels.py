"""The CUDA kernels behind autodiff/backend/cuda.py, a few general ones rather than one per op.

Device arrays are C-contiguous and passed flat (1-D); shapes and element strides travel as
tuples (a kernel is compiled once per number of dimensions), a stride of 0 broadcasts; operands
of the output's own shape skip all that and take the flat index. An `op`
argument picks the arithmetic inside one kernel, so the elementwise ops share one compiled
kernel per dtype combination. Every kernel here is compiled to PTX for sm_90 by
tests/autodiff/test_cuda_ptx.py.

Every kernel is `cache=True`: a process loads what an earlier one compiled (per signature and
compute capability) instead of compiling it again; the simulator ignores the flag. numba keys a
cached kernel on this file's timestamp, the kernel's bytecode and its closure (the factories'
dtype or index type), not on the modules it imports: after editing codes.py, which the kernels
read as constants, touch this file or clear NUMBA_CACHE_DIR, or a stale kernel loads.
"""

from __future__ import annotations

import math

from numba import config, cuda, float32, float64, int64, uint32
from numba.cuda.random import (xoroshiro128p_normal_float32, xoroshiro128p_normal_float64,
                               xoroshiro128p_uniform_float32, xoroshiro128p_uniform_float64)

from .codes import ACT_RELU, ACT_TANH, CLIP_EPS, REDUCE_MAX, REDUCE_SUMSQ, flush_subnormal

# op codes: binary
ADD, SUB, MUL, DIV, POW, MAX, MIN, LT, LE, GT, GE, EQ, NE, AND, OR, XOR, RSUB, RDIV, RPOW = range(19)
# op codes: unary
NEG, EXP, LOG, SQRT, ABS, SIGN, TANH, SIGMOID, RELU, NOT, COPY = range(11)


@cuda.jit(device=True)
def _binary(op, x, y):
    if op == ADD:
        return x + y
    if op == SUB:
        return x - y
    if op == MUL:
        return x * y
    if op == DIV:
        return x / y
    if op == POW:
        return x ** y
    if op == MAX:
        return x if x >= y or x != x else y  # NaN propagates, as numpy's maximum
    if op == MIN:
        return x if x <= y or x != x else y
    if op == LT:
        return x < y
    if op == LE:
        return x <= y
    if op == GT:
        return x > y
    if op == GE:
        return x >= y
    if op == EQ:
        return x == y
    if op == NE:
        return x != y
    if op == AND:
        return bool(x) and bool(y)
    if op == OR:
        return bool(x) or bool(y)
    if op == XOR:
        return bool(x) != bool(y)
    if op == RSUB:
        return y - x
    if op == RDIV:
        return y / x
    return y ** x  # RPOW


@cuda.jit(device=True)
def _unary(op, x):
    if op == NEG:
        return -x
    if op == EXP:
        return math.exp(x)
    if op == LOG:
        return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == SQRT:
        return math.sqrt(x) if x >= 0 else math.nan
    if op == ABS:
        return abs(x)
    if op == SIGN:
        return x * 0 + 1 if x > 0 else (x * 0 - 1 if x < 0 else x * 0)  # NaN stays NaN
    if op == TANH:
        return math.tanh(x)
    if op == SIGMOID:
        # exp of a non-positive number only: no overflow for large |x|
        e = math.exp(-abs(x))
        return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
    if op == RELU:
        return x if x > 0 else x * 0
    if op == NOT:
        return not x
    return x  # COPY (a cast when the output dtype differs)


# Same-shape contiguous operands (the common case: activations, their gradients, optimizer
# state) take a plain flat index; broadcast operands and strided views take the kernels below.
@cuda.jit(cache=True)
def binary_flat_kernel(op, a, b, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = _binary(op, a[i], b[i])


@cuda.jit(cache=True)
def scalar_kernel(op, a, s, out):
    """A binary op with one side a host scalar (RSUB etc. put the scalar first)."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = _binary(op, a[i], s)


@cuda.jit(cache=True)
def unary_kernel(op, x, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = _unary(op, x[i])


@cuda.jit(cache=True)
def where_flat_kernel(c, a, b, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = a[i] if c[i] else b[i]


def _make_broadcasting(ix):
    """The kernels whose operands broadcast or are strided views, their index arithmetic in ix:
    uint32 when the element count allows (NARROW_LIMIT), int64 beyond. A 64-bit division is a
    long instruction sequence on a GPU (PTX div.s64 / rem.s64); the unsigned 32-bit one is what
    the hardware does fast, and each dimension needs one per element."""

    @cuda.jit(device=True)
    def offsets(i, shape, s0, s1, s2):
        """Element offsets in three operands (element strides s0, s1, s2; 0 broadcasts) of flat
        output index i, C order over `shape`: the coordinates are worked out once for all three,
        so a kernel with fewer operands repeats one (a multiply-add, not a division)."""
        o0 = o1 = o2 = 0
        rest = ix(i)
        for d in range(len(shape) - 1, -1, -1):
            n = ix(shape[d])
            q = ix(rest // n)
            c = int64(ix(rest - q * n))  # the coordinate, widened: strides may be negative
            o0 += c * s0[d]
            o1 += c * s1[d]
            o2 += c * s2[d]
            rest = q
        return o0, o1, o2

    @cuda.jit(cache=True)
    def binary_kernel(op, a, a_strides, b, b_strides, out, shape):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            oa, ob, _ = offsets(i, shape, a_strides, b_strides, b_strides)
            out[i] = _binary(op, a[oa], b[ob])

    @cuda.jit(cache=True)
    def where_kernel(c, c_strides, a, a_strides, b, b_strides, out, shape):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            oc, oa, ob = offsets(i, shape, c_strides, a_strides, b_strides)
            out[i] = a[oa] if c[oc] else b[ob]

    @cuda.jit(cache=True)
    def strided_copy_kernel(src, src_offset, src_strides, dst, dst_offset, dst_strides, shape, count):
        """dst[view] = src[view] over `shape` (views given by offset and strides): permutes,
        broadcasts, slices, concatenation pieces and casts."""
        for i in range(cuda.grid(1), count, cuda.gridsize(1)):
            o_src, o_dst, _ = offsets(i, shape, src_strides, dst_strides, dst_strides)
            dst[dst_offset + o_dst] = src[src_offset + o_src]

    return binary_kernel, where_kernel, strided_copy_kernel


binary_kernel, where_kernel, strided_copy_kernel = _make_broadcasting(int64)
binary32_kernel, where32_kernel, strided_copy32_kernel = _make_broadcasting(uint32)
NARROW_LIMIT = 2**32 - 1  # element counts whose every flat index and coordinate fits a uint32


@cuda.jit(cache=True)
def fill_kernel(out, value):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = value


@cuda.jit(cache=True)
def gather_kernel(src, positions, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[i] = src[positions[i]]


@cuda.jit(cache=True)
def scatter_kernel(dst, positions, values, accumulate):
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        if accumulate:
            cuda.atomic.add(dst, positions[i], values[i])
        else:
            dst[positions[i]] = values[i]


@cuda.jit(cache=True)
def rows_kernel(src, rows, row_size, out):
    """out[r, :] = src[rows[r], :] with rows on the device (minibatch indices)."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        r, j = i // row_size, i % row_size
        out[i] = src[rows[r] * row_size + j]


@cuda.jit(cache=True)
def along_axis_kernel(x, x_strides, index, index_shape, axis, out, values, accumulate, scatter):
    """take_along_axis (scatter False: out[i] = x[pos]) and its transpose (scatter True:
    out[pos] += values[i]), pos being index element i's coordinates with index[i] on `axis`."""
    for i in range(cuda.grid(1), index.size, cuda.gridsize(1)):
        pos = 0
        rest = i
        for d in range(len(index_shape) - 1, -1, -1):
            coord = rest % index_shape[d]
            rest //= index_shape[d]
            if d == axis:
                coord = index[i]
            pos += coord * x_strides[d]
        if scatter:
            if accumulate:
                cuda.atomic.add(out, pos, values[i])
            else:
                out[pos] = values[i]
        else:
            out[i] = x[pos]


REDUCE_THREADS = 256


@cuda.jit(cache=True)
def reduce_rows_kernel(x, row_size, out, op, splits):
    """out[r * splits + s] = sum (op REDUCE_SUM), sum of squares (REDUCE_SUMSQ) or max
    (REDUCE_MAX) of piece s of row r of x (rows x row_size), in float64: `splits` blocks per row,
    block s's threads taking elements s * T + t, (s + splits) * T + t, ... (T threads a block),
    then a tree in shared memory. With splits > 1 this is the first of two passes; the second
    runs this kernel again over the partials (splits 1). Every element goes to a fixed thread and
    every partial sum has a fixed place in the tree, so the result is the same bits on every run,
    unlike atomics, whose order the scheduler picks."""
    partial = cuda.shared.array(REDUCE_THREADS, dtype=float64)
    r, s = cuda.blockIdx.x // splits, cuda.blockIdx.x % splits
    t = cuda.threadIdx.x
    n = cuda.blockDim.x
    base = r * row_size
    acc = float64(x[base]) if op == REDUCE_MAX else 0.0  # any element of the row is a max to start from
    for j in range(s * n + t, row_size, splits * n):
        v = float64(x[base + j])
        if op == REDUCE_MAX:
            acc = v if v > acc or v != v else acc  # NaN propagates, as numpy's max
        else:
            acc += v * v if op == REDUCE_SUMSQ else v
    partial[t] = acc
    cuda.syncthreads()  # every thread's partial is in shared memory
    step = n // 2
    while step > 0:
        if t < step:
            v = partial[t + step]
            partial[t] = (v if v > partial[t] or v != v else partial[t]) if op == REDUCE_MAX else partial[t] + v
        cuda.syncthreads()  # this level of the tree is written before the next reads it
        step //= 2
    if t == 0:
        out[cuda.blockIdx.x] = partial[0]


@cuda.jit(cache=True)
def argmax_rows_kernel(x, row_size, out):
    for r in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        best = 0
        for j in range(1, row_size):
            v, b = x[r * row_size + j], x[r * row_size + best]
            if v > b or (v != v and b == b):  # the first NaN wins, as numpy's argmax and max have it
                best = j
        out[r] = best


@cuda.jit(cache=True)
def log_softmax_rows_kernel(x, row_size, out):
    for r in range(cuda.grid(1), out.size // row_size, cuda.gridsize(1)):
        base = r * row_size
        m = x[base]
        for j in range(1, row_size):
            m = max(m, x[base + j])
        total = 0.0
        for j in range(row_size):
            total += math.exp(x[base + j] - m)
        shift = m + math.log(total)
        for j in range(row_size):
            out[base + j] = x[base + j] - shift


# The simulator runs every thread as a Python thread: small blocks keep its tests fast.
TILE = 16 if not config.ENABLE_CUDASIM else 4


def _make_matmul(dtype):
    @cuda.jit(cache=True)
    def matmul_kernel(a, b, out, n, k, m, a_batch, b_batch, ta, tb, bias, has_bias, activation, k_chunk, splits):
        """out[z] = act(op(a[i]) @ op(b[i]) + bias) over k in [s * k_chunk, (s + 1) * k_chunk),
        for grid z = i * splits + s: batch item i, k piece s; op transposes when ta / tb is set
        (a stored (k, n), b stored (m, k)); a_batch / b_batch are the element strides between
        batch items (0 broadcasts). Shared-memory tiles of TILE x TILE. With splits > 1 (split-K:
        a long k, such as the batch axis of a weight gradient, over many blocks) `out` holds the
        pieces' partial products, which split_k_sum_kernel adds in order, bias and act after.

        Columns lie on grid x; rows on grid y, whose limit (65,535 blocks) a batch of 2^20 rows
        passes, so each block strides over row tiles. The stride depends on the block only, so
        every thread of a block takes the same trips and reaches the same syncthreads."""
        sa = cuda.shared.array((TILE, TILE), dtype=dtype)
        sb = cuda.shared.array((TILE, TILE), dtype=dtype)
        z = cuda.blockIdx.z
        item = z // splits
        k_lo = (z % splits) * k_chunk
        k_hi = min(k, k_lo + k_chunk)
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        col = cuda.blockIdx.x * TILE + tx
        a0, b0 = item * a_batch, item * b_batch
        for row_tile in range(cuda.blockIdx.y, (n + TILE - 1) // TILE, cuda.gridDim.y):
            row = row_tile * TILE + ty
            acc = dtype(0)
            for t0 in range(k_lo, k_hi, TILE):
                ka, kb = t0 + tx, t0 + ty
                if row < n and ka < k_hi:
                    sa[ty, tx] = a[a0 + (ka * n + row if ta else row * k + ka)]
                else:
                    sa[ty, tx] = 0
                if col < m and kb < k_hi:
                    sb[ty, tx] = b[b0 + (col * k + kb if tb else kb * m + col)]
                else:
                    sb[ty, tx] = 0
                cuda.syncthreads()  # both tiles loaded
                for j in range(TILE):
                    acc += sa[ty, j] * sb[j, tx]
                cuda.syncthreads()  # every thread done with the tiles before the next load
            if row < n and col < m:
                if has_bias:
                    acc += bias[col]
                if activation == ACT_TANH:
                    acc = math.tanh(acc)
                elif activation == ACT_RELU:
                    acc = acc if acc > 0 else dtype(0)
                out[z * n * m + row * m + col] = acc

    return matmul_kernel


MATMUL = {"float32": _make_matmul(float32), "float64": _make_matmul(float64)}


@cuda.jit(cache=True)
def split_k_sum_kernel(partials, splits, nm, m, bias, has_bias, activation, out):
    """out[i] = act(sum over s of partials[i, s] + bias), partials (batch, splits, n, m) from a
    split-K matmul_kernel: added in float64, pieces in order, so the product is the same bits
    on every run (atomics would add in the order the scheduler picks)."""
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        item, e = i // nm, i % nm
        base = item * splits * nm + e
        acc = 0.0
        for s in range(splits):
            acc += float64(partials[base + s * nm])
        if has_bias:
            acc += float64(bias[e % m])
        if activation == ACT_TANH:
            acc = math.tanh(acc)
        elif activation == ACT_RELU:
            acc = acc if acc > 0 else 0.0
        out[i] = acc


_flush = cuda.jit(device=True)(flush_subnormal)


def _make_adam(dtype):
    @cuda.jit(cache=True)
    def adam_kernel(p, g, m, v, beta1, c1, beta2, c2, tiny, inv_sqrt_bias2, eps, step_size, weight_decay):
        """cpu.py's _adam element for element, with the same scalars (codes.adam_scalars): each
        operation in the arrays' dtype but the float64 product with inv_sqrt_bias2, rounded back
        by `dtype(...)` as the CPU rounds it, and moments flushed below the smallest normal."""
        for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            gi = g[i] + weight_decay * p[i] if weight_decay != 0 else g[i]
            mi = _flush(m[i] * beta1 + c1 * gi, tiny)
            vi = _flush(v[i] * beta2 + c2 * (gi * gi), tiny)
            m[i], v[i] = mi, vi
            # sqrt rounded to dtype first: the simulator's math.sqrt returns a float64
            p[i] -= mi / (dtype(dtype(math.sqrt(vi)) * inv_sqrt_bias2) + eps) * step_size

    return adam_kernel


ADAM = {"float32": _make_adam(float32), "float64": _make_adam(float64)}


@cuda.jit(cache=True)
def sgd_kernel(p, g, buf, lr, momentum, weight_decay, nesterov):
    for i in range(cuda.grid(1), p.size, cuda.gridsize(1)):
        grad = g[i] + weight_decay * p[i]
        if momentum != 0:
            buf[i] = momentum * buf[i] + grad
            grad = grad + momentum * buf[i] if nesterov else buf[i]
        p[i] -= lr * grad


@cuda.jit(cache=True)
def clip_scale_kernel(g, acc, max_norm):
    """Scale by min(1, max_norm / (norm + CLIP_EPS)) computed on the device: no host round trip."""
    scale = min(1.0, max_norm / (math.sqrt(acc[0]) + CLIP_EPS))
    for i in range(cuda.grid(1), g.size, cuda.gridsize(1)):
        g[i] *= scale


@cuda.jit(cache=True)
def sqrt_kernel(acc, out):
    if cuda.grid(1) == 0:
        out[0] = math.sqrt(acc[0])


@cuda.jit(cache=True)
def nonfinite_kernel(x, flag):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        if not math.isfinite(x[i]):
            flag[0] = 1


@cuda.jit(cache=True)
def random32_kernel(states, out, normal):
    """Uniform [0, 1) or standard normal float32s: state s fills positions s, s + S, s + 2S, ..."""
    s = cuda.grid(1)
    if s < states.size:
        for i in range(s, out.size, states.size):
            out[i] = xoroshiro128p_normal_float32(states, s) if normal else xoroshiro128p_uniform_float32(states, s)


@cuda.jit(cache=True)
def random64_kernel(states, out, normal):
    s = cuda.grid(1)
    if s < states.size:
        for i in range(s, out.size, states.size):
            out[i] = xoroshiro128p_normal_float64(states, s) if normal else xoroshiro128p_uniform_float64(states, s)
