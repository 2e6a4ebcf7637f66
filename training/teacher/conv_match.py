"""Pair every conv of the TFLite graph with one conv of the ultralytics YOLOv8n model.

A conv's signature is (out channels, in channels, kernel, stride, output size). Convs with the same
signature are paired in execution order (the TFLite op order is a topological order of the same
network; its head is emitted P5, P4, P3, which the output size tells apart). The pairing is checked
structurally too: equivalent padding, and a SiLU (LOGISTIC + MUL) after every conv that has one in
PyTorch and after no other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.errors import ModelError
from streetwatch.training.teacher.tflite_graph import Operator, TfliteGraph

_SAME, _VALID = 0, 1

Signature = tuple[int, int, int, int, int, int, int]  # out, in, kh, kw, stride, out_h, out_w


@dataclass(frozen=True)
class TfliteConv:
    op_index: int
    weight: npt.NDArray[np.float32]  # (O, I, kh, kw) dequantised, PyTorch layout
    bias: npt.NDArray[np.float32] | None  # (O,) BatchNorm folded in
    weight_tensor: int
    bias_tensor: int | None
    quantised: bool  # weights stored as int8
    stride: int
    output_hw: tuple[int, int]
    followed_by_silu: bool

    @property
    def signature(self) -> Signature:
        o, i, kh, kw = self.weight.shape
        return (o, i, kh, kw, self.stride, *self.output_hw)


@dataclass(frozen=True)
class TorchConv:
    name: str  # module path of the nn.Conv2d, e.g. "model.2.m.0.cv1.conv"
    out_channels: int
    in_channels: int
    kernel: tuple[int, int]
    stride: int
    padding: int
    output_hw: tuple[int, int]
    has_silu: bool  # wrapped in an ultralytics Conv (conv + BN + SiLU)

    @property
    def signature(self) -> Signature:
        return (self.out_channels, self.in_channels, *self.kernel, self.stride, *self.output_hw)


def _consumers(graph: TfliteGraph) -> dict[int, list[Operator]]:
    table: dict[int, list[Operator]] = defaultdict(list)
    for op in graph.operators:
        for t in op.inputs:
            table[t].append(op)
    return table


def _is_silu(graph: TfliteGraph, tensor: int, consumers: dict[int, list[Operator]]) -> bool:
    """x -> LOGISTIC(x) -> MUL(x, LOGISTIC(x)) is SiLU."""
    users = consumers.get(tensor, [])
    for op in users:
        if op.kind != "LOGISTIC":
            continue
        sig = op.outputs[0]
        if any(m.kind == "MUL" and set(m.inputs) == {tensor, sig} for m in consumers.get(sig, [])):
            return True
    return False


def _explicit_pad(graph: TfliteGraph, op: Operator, producers: dict[int, Operator]) -> int:
    """Symmetric spatial padding applied by a PAD op feeding this conv (0 if none)."""
    src = producers.get(op.inputs[0])
    if src is None or src.kind != "PAD":
        return 0
    pads = graph.tensor(src.inputs[1]).data
    if pads is None or pads.shape != (4, 2):
        raise ModelError(f"PAD op {src.index}: expected constant paddings of shape (4, 2)")
    (n0, n1), (h0, h1), (w0, w1), (c0, c1) = pads.tolist()
    if n0 or n1 or c0 or c1 or not (h0 == h1 == w0 == w1):
        raise ModelError(f"PAD op {src.index}: expected symmetric spatial padding, got {pads.tolist()}")
    return int(h0)


def tflite_convs(graph: TfliteGraph) -> list[TfliteConv]:
    producers = graph.producer()
    consumers = _consumers(graph)
    convs = []
    for op in graph.operators:
        if op.kind == "DEPTHWISE_CONV_2D":
            raise ModelError(f"op {op.index}: depthwise conv found; expected a YOLOv8n graph (no depthwise convs)")
        if op.kind != "CONV_2D":
            continue
        w_t = graph.tensor(op.inputs[1])
        if w_t.data is None or len(w_t.shape) != 4:
            raise ModelError(f"conv op {op.index}: weights are not a constant OHWI tensor")
        weight = np.ascontiguousarray(w_t.dequantised().transpose(0, 3, 1, 2))  # OHWI -> OIHW
        bias_index = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        bias = graph.tensor(bias_index).dequantised() if bias_index is not None else None
        opts = op.options
        if getattr(opts, "dilationHFactor", 1) != 1 or getattr(opts, "dilationWFactor", 1) != 1:
            raise ModelError(f"conv op {op.index}: dilated conv; expected none")
        if getattr(opts, "fusedActivationFunction", 0) != 0:
            raise ModelError(f"conv op {op.index}: fused activation; expected SiLU as LOGISTIC + MUL")
        stride = int(opts.strideH)
        if stride != int(opts.strideW):
            raise ModelError(f"conv op {op.index}: unequal strides {opts.strideH}x{opts.strideW}")
        kh = weight.shape[2]
        pad = _explicit_pad(graph, op, producers)
        effective = pad if opts.padding == _VALID else (kh // 2 if pad == 0 else -1)
        if effective != kh // 2:
            raise ModelError(
                f"conv op {op.index}: padding {effective} (explicit {pad}, mode {opts.padding}); "
                f"expected {kh // 2} as ultralytics' autopad"
            )
        out = graph.tensor(op.outputs[0]).shape
        convs.append(
            TfliteConv(
                op_index=op.index,
                weight=weight,
                bias=bias,
                weight_tensor=op.inputs[1],
                bias_tensor=bias_index,
                quantised=w_t.dtype == "int8",
                stride=stride,
                output_hw=(int(out[1]), int(out[2])),
                followed_by_silu=_is_silu(graph, op.outputs[0], consumers),
            )
        )
    return convs


def torch_convs(model, imgsz: int) -> list[TorchConv]:
    """The model's nn.Conv2d modules in execution order, with the output size each produces at imgsz."""
    import torch
    from torch import nn
    from ultralytics.nn.modules import Conv

    silu_convs = {id(m.conv) for m in model.modules() if isinstance(m, Conv) and isinstance(m.act, nn.SiLU)}
    order: list[TorchConv] = []
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):

            def hook(mod: nn.Conv2d, _inp: object, out: torch.Tensor, name: str = name) -> None:
                order.append(
                    TorchConv(
                        name=name,
                        out_channels=mod.out_channels,
                        in_channels=mod.in_channels,
                        kernel=(int(mod.kernel_size[0]), int(mod.kernel_size[1])),
                        stride=int(mod.stride[0]),
                        padding=int(mod.padding[0]),
                        output_hw=(int(out.shape[2]), int(out.shape[3])),
                        has_silu=id(mod) in silu_convs,
                    )
                )

            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, imgsz, imgsz))
    finally:
        for h in hooks:
            h.remove()
    return order


def match_convs(tfl: list[TfliteConv], tch: list[TorchConv]) -> list[tuple[TfliteConv, TorchConv]]:
    """One-to-one pairs; every conv on both sides is used exactly once, or a ModelError says which is not."""
    if len(tfl) != len(tch):
        raise ModelError(f"the TFLite graph has {len(tfl)} convs; YOLOv8n has {len(tch)}: not a YOLOv8n model")
    by_sig: dict[Signature, list[TfliteConv]] = defaultdict(list)
    for conv in tfl:
        by_sig[conv.signature].append(conv)
    pairs = []
    for conv in tch:
        queue = by_sig.get(conv.signature)
        if not queue:
            raise ModelError(f"no TFLite conv matches {conv.name} (out, in, kh, kw, stride, h, w) = {conv.signature}")
        source = queue.pop(0)
        if source.followed_by_silu != conv.has_silu:
            raise ModelError(
                f"conv op {source.op_index} -> {conv.name}: SiLU after it is {source.followed_by_silu} in TFLite, "
                f"{conv.has_silu} in YOLOv8n"
            )
        pairs.append((source, conv))
    left = [c.op_index for q in by_sig.values() for c in q]
    if left:  # pragma: no cover - equal counts and one pop per torch conv make this unreachable
        raise ModelError(f"TFLite conv ops {left} were not used")
    used = [p[0].weight_tensor for p in pairs] + [p[0].bias_tensor for p in pairs if p[0].bias_tensor is not None]
    if len(set(used)) != len(used):
        raise ModelError("a TFLite weight or bias tensor is shared by two convs; expected each used once")
    return pairs
