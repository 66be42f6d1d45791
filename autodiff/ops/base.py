"""The base class of built-in ops."""

from __future__ import annotations

from ..function import Function


class Primitive(Function):
    """A built-in op: its forward calls only the backend, so apply need not switch grad mode off."""

    _primitive = True
