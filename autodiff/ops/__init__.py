"""The primitive ops: each is one `Function` with one backward rule, calling only the backend.

Backward rules are written with Tensor ops, so they are differentiable themselves (higher-order
gradients); the engine runs them with grad mode off unless `create_graph=True`. Every other op
(softmax, logsumexp, losses, ...) is composed from these in `autodiff/functional.py`.

    elementwise.py  arithmetic with numpy broadcasting, unary math, where, clamp, casts, Huber
    reduce.py       sum, mean, max, log_softmax, and Unreduce (their shared backward)
    shape.py        reshape, permute, expand / sum-to, cat, indexing, gather
    linalg.py       matmul (with transposed operands) and Linear (+ fused activation)
    recurrent.py    the gates of a GRU and an LSTM step, and a whole recurrent sequence
"""

from .base import Primitive
from .elementwise import (Abs, Add, Cast, Clamp, Div, Exp, Huber, Log, Maximum, Minimum, Mul, Neg,
                          Pow, PowScalar, Relu, ReluBackward, Sigmoid, SigmoidBackward, Softplus, Sqrt, Sub, Tanh,
                          TanhBackward, Where)
from .linalg import Linear, MatMul
from .recurrent import GRUGates, LSTMGates, RecurrentScan
from .reduce import LogSoftmax, Max, Mean, Sum, Unreduce
from .shape import (Cat, Expand, Gather, GetItem, IndexAdd, Permute, Reshape, ScatterAdd, SumTo,
                    AxisError, axes_of, axis_of, unbroadcast)

__all__ = [
    "Primitive", "Abs", "Add", "Cast", "Clamp", "Div", "Exp", "Huber", "Log", "Maximum", "Minimum", "Mul",
    "Neg", "Pow", "PowScalar", "Relu", "ReluBackward", "Sigmoid", "Softplus", "SigmoidBackward", "Sqrt", "Sub", "Tanh",
    "TanhBackward", "Where", "Linear", "MatMul", "LogSoftmax", "Max", "Mean", "Sum", "Unreduce",
    "GRUGates", "LSTMGates", "RecurrentScan", "Cat", "Expand", "Gather", "GetItem", "IndexAdd", "Permute", "Reshape", "ScatterAdd", "SumTo",
    "AxisError", "axes_of", "axis_of", "unbroadcast",
]
