"""One device buffer holding every array a CUDA env step reads and writes, so that the step kernel
takes two array arguments (the actions and this arena) instead of fourteen: numba-cuda spends
~3.5-4 us of host time on each array argument of a launch, on top of ~6.6 us (NVIDIA/numba-cuda
PR #288), which at RL sizes is more than the step itself.

The arena begins with a header of int64 words that describes each (C-contiguous) array: where its
bytes begin and end, and its shape. The env's arrays (env.state, env._obs, ...) are views of the
arena made from that description on the host, and the kernels make the same views from the header
on the device (`view_lines`), so neither side writes an offset down.

A view with more than one axis is a reshape, which numba-cuda compiles to a call into a helper
it links in (numba_attempt_nocopy_reshape): once per thread, not per sub-env. numpy's as_strided
would be free, but numba-cuda refuses to compile it in a kernel (a device function may return only
an array it was given).
"""

from __future__ import annotations

import numpy as np

ALIGN = 256  # bytes: each array starts where an allocation of its own would, for coalesced access


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


def spec_of(arrays: dict) -> tuple:
    """(name, dtype, ndim) of each array: what the kernels' code depends on (not the sizes)."""
    return tuple((name, np.dtype(a.dtype).str, np.ndim(a)) for name, a in arrays.items())


def _slots(spec) -> tuple[dict, int]:
    """name -> the index of its first header word (begin, end, shape...), and the header's length
    in words."""
    slots, word = {}, 0
    for name, _, ndim in spec:
        slots[name] = word
        word += 2 + ndim
    return slots, word


class Arena:
    """The arrays of `arrays` (name -> host array, copied in) in one device buffer: `device` is the
    buffer, `views[name]` each array as a device array of its own shape and dtype."""

    def __init__(self, arrays: dict):
        from numba import cuda

        self.spec = spec_of(arrays)
        slots, words = _slots(self.spec)
        header, offset, spans = np.zeros(words, np.int64), _align(8 * words), {}
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            w = slots[name]
            header[w:w + 2 + a.ndim] = [offset, offset + a.nbytes, *a.shape]
            spans[name] = (offset, a)
            offset = _align(offset + a.nbytes)
        host = np.zeros(offset, np.uint8)
        host[:header.nbytes] = header.view(np.uint8)
        for start, a in spans.values():
            host[start:start + a.nbytes] = a.reshape(-1).view(np.uint8)
        self.device = cuda.to_device(host)
        self.views = {name: self.device[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
                      for name, (start, a) in spans.items()}


def view_lines(spec, names, arena: str = "arena") -> str:
    """Kernel code binding each of `names` to its view of the arena, from the header (one
    statement per array: a dtype view of its bytes, reshaped if it has more than one axis)."""
    slots, words = _slots(spec)
    lines = [f"_h = {arena}[:{8 * words}].view(np.int64)  # the header (envs/cuda_arena.py)"]
    for name, dtype, ndim in spec:
        if name in names:
            w = slots[name]
            kind = "bool_" if np.dtype(dtype).kind == "b" else np.dtype(dtype).name  # np.bool_ in numpy 1 and 2
            flat = f"{arena}[_h[{w}]:_h[{w + 1}]].view(np.{kind})"
            shape = ", ".join(f"_h[{w + 2 + k}]" for k in range(ndim))
            lines.append(f"{name} = {flat}" + (f".reshape(({shape}))" if ndim > 1 else ""))
    return "".join(line + "\n" for line in lines)
