#!/usr/bin/env python3
"""Checks a model `sparsec export --onnx` wrote, with Debian's python3-onnx.

    onnx_check.py MODEL.onnx INPUTS PREDICTIONS

INPUTS is what `PROG predict --input` read (an IDX file, or a CSV file with
a header, whose column "label" is not a feature); PREDICTIONS is what it
printed (a class and the probabilities per line). The model must pass
onnx.checker.check_model, import an opset from 13 to 17, and, evaluated by
the small numpy interpreter below (its graph read node by node, no runtime),
give the same probabilities within 1e-5.
"""
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TOLERANCE = 1e-5


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    x = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return x.reshape(dims[0], -1).astype(np.float32)


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    keep = [i for i, name in enumerate(header) if name != "label"]
    return np.array([[float(r[i]) for i in keep] for r in rows], dtype=np.float32)


def read_predictions(path):
    with open(path) as f:
        return np.array([[float(v) for v in line.split()[1:]] for line in f if line.strip()],
                        dtype=np.float32)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def gemm(n, a, b, c=None):
    a = a.T if n.get("transA", 0) else a
    b = b.T if n.get("transB", 0) else b
    y = n.get("alpha", 1.0) * (a @ b)
    return y if c is None else y + n.get("beta", 1.0) * c


# Every op sparsec emits, in float32 as the model's tensors are.
OPS = {
    "MatMul": lambda n, a, b: a @ b,
    "Gemm": gemm,
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "Relu": lambda n, x: np.maximum(x, 0),
    "LeakyRelu": lambda n, x: np.where(x < 0, np.float32(n.get("alpha", 0.01)) * x, x),
    "Abs": lambda n, x: np.abs(x),
    "Tanh": lambda n, x: np.tanh(x),
    "Sigmoid": lambda n, x: 1 / (1 + np.exp(-x)),
    "Softplus": lambda n, x: np.logaddexp(np.float32(0), x),
    "Identity": lambda n, x: x,
    "Softmax": lambda n, x: softmax(x, n.get("axis", -1)),
}


def evaluate(model, x):
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x
    for node in model.graph.node:
        if node.op_type not in OPS:
            sys.exit("onnx_check: op %s is not one sparsec emits" % node.op_type)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        out = OPS[node.op_type](attrs, *(values[i] for i in node.input))
        values[node.output[0]] = out.astype(np.float32)
    return values[model.graph.output[0].name]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1])
    onnx.checker.check_model(model, full_check=True)
    opsets = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not opsets or not 13 <= opsets[0] <= 17:
        sys.exit("onnx_check: opset %s, not 13 to 17" % opsets)
    path = sys.argv[2]
    x = read_idx(path) if path.endswith(".idx") else read_csv(path)
    want = read_predictions(sys.argv[3])
    got = evaluate(model, x)
    if got.shape != want.shape:
        sys.exit("onnx_check: the model gives %s, predict printed %s" % (got.shape, want.shape))
    diff = float(np.abs(got - want).max())
    ops = sorted({n.op_type for n in model.graph.node})
    print("onnx_check: check_model passed; %d rows, ops %s; max |onnx - predict| = %.3g"
          % (len(x), " ".join(ops), diff))
    if not diff <= TOLERANCE:
        sys.exit("onnx_check: differs from predict by %.3g > %g" % (diff, TOLERANCE))


if __name__ == "__main__":
    main()
