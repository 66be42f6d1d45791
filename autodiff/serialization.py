"""`save` / `load`: nested state (module and optimizer state dicts, counters) to one `.npz` file.

Arrays are stored as themselves, bit for bit; everything else (numbers, strings, lists, None) and
the nesting go into a JSON entry, so loading needs no pickle and runs no code from the file."""

from __future__ import annotations

import json
import os

import numpy as np

from .module import Module
from .optim import Optimizer
from .tensor import Tensor

_META = "__autodiff_meta__"


def save(obj, path):
    """Write a Module's state dict, or any nest of dicts holding tensors, arrays and plain values.
    The file is written next to `path` and renamed into place, so a crash never leaves half a file."""
    arrays = {}

    def encode(value, key):
        if isinstance(value, (Module, Optimizer)):
            value = value.state_dict()
        if isinstance(value, Tensor):
            value = value.numpy()
        if isinstance(value, np.ndarray):
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, dict):
            for k in value:
                if not isinstance(k, str):
                    raise TypeError(f"save: dictionary keys must be strings, got {k!r} under {key!r}")
            return {"__dict__": {k: encode(v, f"{key}/{k}") for k, v in value.items()}}
        if isinstance(value, (list, tuple)):
            return [encode(v, f"{key}/{i}") for i, v in enumerate(value)]
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"save: cannot store a {type(value).__name__} (at {key!r}); "
                        "use tensors, arrays, numbers, strings, lists and dicts")

    meta = encode(obj, "")
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **{_META: np.array(json.dumps(meta))}, **arrays)
    os.replace(tmp, path)


def load(path):
    """Read what `save` wrote: the same nesting, with numpy arrays where tensors were."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        meta = json.loads(str(data[_META]))
        arrays = {k: data[k] for k in data.files if k != _META}

    def decode(value):
        if isinstance(value, dict):
            if "__array__" in value:
                return arrays[value["__array__"]]
            return {k: decode(v) for k, v in value["__dict__"].items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(meta)
