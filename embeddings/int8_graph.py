"""An ONNX transformer's weight MatMuls rewritten to run in int8, with each token's
activations scaled on their own.

ONNX Runtime's dynamic quantization (`quantize_dynamic`) picks one activation scale for a
whole input tensor, so a text's vector depends on the texts batched with it: the longest or
loudest text in a batch sets everyone's scale. Here each MatMul `x @ W` with constant
weights becomes

    s   = max(|x|, over the hidden axis) / 127        one scale per token    (B, T, 1)
    x_q = QuantizeLinear(x / s) + 128                 symmetric, stored as uint8
    y   = MatMulInteger(x_q, W_q, 128) * w_scale * s  W_q: int8, one scale per output column

so a token's int8 values, and therefore its text's vector, are the same alone or in any batch
(up to float summation order), and the error is smaller too: a token is no longer quantized
on the range of the tensor's loudest one (README, "How it works"). The activations are held
as uint8 around a zero point of 128 because ONNX Runtime's fast int8 kernels take unsigned
activations and signed weights; signed activations run on a kernel several times slower.

The rewrite works on the graph with the `onnx` package alone. ONNX Runtime's extended graph
optimizations would fuse `MatMulInteger → Cast → Mul` into MatMulIntegerToFloat with one
activation scale for the run, which is wrong for per-token scales, so the sessions that run
this graph use `SESSION_OPTIMIZATION` (tests/test_embeddings.py holds its vectors to the
unoptimized graph's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The session graph optimization level (onnxruntime.GraphOptimizationLevel) this graph runs
# at: measured against the unoptimized graph (tests/test_embeddings.py).
SESSION_OPTIMIZATION = "ORT_ENABLE_BASIC"
QMAX = 127  # symmetric: -127..127, so that -x quantizes to -q
ZERO_POINT = 128  # activations as uint8: 1..255 stand for -127..127
TINY = 1e-12  # an all-zero token row gets this scale rather than a division by zero


def quantize_per_token(source: Path, target: Path) -> int:
    """Write `source` (a float32 ONNX model) to `target` with every MatMul by a constant
    2-D weight rewritten as above; the number of MatMuls rewritten."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    consumers = _consumer_counts(graph)
    shared = [
        numpy_helper.from_array(np.array(QMAX, dtype=np.float32), "pt_qmax"),
        numpy_helper.from_array(np.array(TINY, dtype=np.float32), "pt_tiny"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "pt_one"),
        numpy_helper.from_array(np.array(ZERO_POINT, dtype=np.uint8), "pt_zero"),
    ]
    if _opset(model) >= 18:
        shared.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "pt_last_axis"))
    nodes, rewritten, dropped = [], 0, set()
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        rewritten += 1
        prefix = f"pt{rewritten}"
        quantized, scales = quantize_columns(numpy_helper.to_array(weight))
        graph.initializer.extend([numpy_helper.from_array(quantized, f"{prefix}_w"),
                                  numpy_helper.from_array(scales, f"{prefix}_w_scale")])
        if consumers[weight.name] == 1:
            dropped.add(weight.name)
        nodes.extend(_per_token_matmul(helper, TensorProto, prefix, node.input[0],
                                       node.output[0], opset=_opset(model)))
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + shared)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return rewritten


def quantize_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (K, N) float weight as int8 with one symmetric scale per output column."""
    scales = np.abs(weight).max(axis=0) / QMAX
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    quantized = np.clip(np.rint(weight / scales), -QMAX, QMAX).astype(np.int8)
    return quantized, scales


def _per_token_matmul(helper, TensorProto, prefix: str, x: str, out: str, *, opset: int):
    """The nodes computing `out = x @ W` from the int8 weight `{prefix}_w`."""
    name = lambda step: f"{prefix}_{step}"  # noqa: E731 - the subgraph's value names
    if opset >= 18:  # ReduceMax takes its axes as an input from opset 18 on
        reduce = helper.make_node("ReduceMax", [name("abs"), "pt_last_axis"], [name("max")],
                                  keepdims=1)
    else:
        reduce = helper.make_node("ReduceMax", [name("abs")], [name("max")], axes=[-1],
                                  keepdims=1)
    return [
        helper.make_node("Abs", [x], [name("abs")]),
        reduce,
        helper.make_node("Max", [name("max"), "pt_tiny"], [name("max_safe")]),
        helper.make_node("Div", [name("max_safe"), "pt_qmax"], [name("scale")]),
        helper.make_node("Div", [x, name("scale")], [name("scaled")]),
        helper.make_node("QuantizeLinear", [name("scaled"), "pt_one", "pt_zero"], [name("q")]),
        helper.make_node("MatMulInteger", [name("q"), name("w"), "pt_zero"], [name("int32")]),
        helper.make_node("Cast", [name("int32")], [name("float")], to=TensorProto.FLOAT),
        # The column scales first, then the token scales: a fusion of the first Mul into the
        # MatMul (one scale for the run) cannot take the per-token one with it.
        helper.make_node("Mul", [name("float"), name("w_scale")], [name("by_column")]),
        helper.make_node("Mul", [name("by_column"), name("scale")], [out]),
    ]


def _consumer_counts(graph) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _opset(model) -> int:
    return next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")),
                17)
