"""The layer kinds archprof knows, each one record in the registry.

Every cost formula is a pure function of the layer and its input and output shapes, with
the paper's conventions: mult-adds count the multiply-accumulates of conv and FC layers
only (K·K·(Cin/groups)·Cout·Hout·Wout and in·out); bias, batch norm, ReLU, pooling and
softmax add no mult-adds. Padding is "same" for odd kernels (``K // 2``), as in the
paper's networks; pools have none.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import grammar
from .registry import Cost, LayerKind, RuleError, register
from .spec import Layer, Options, Shape

# -- shared pieces -------------------------------------------------------------------


def _conv_out(size: int, k: int, stride: int) -> int:
    return (size + 2 * (k // 2) - k) // stride + 1


def _pool_out(size: int, k: int, stride: int) -> int:
    return (size - k) // stride + 1


def _weighted_cost(weights: int, out_channels: int, opts: Options, mult_adds: int) -> Cost:
    """A conv or FC: its weights, then the bias and batch norm its options add."""
    bn = out_channels if opts.batch_norm else 0
    return Cost(params=weights + (out_channels if opts.bias else 0) + 2 * bn,
                paper_params=weights, mult_adds=mult_adds,
                float_buffers=2 * bn, int64_buffers=1 if opts.batch_norm else 0)


def _after(modules: list, opts: Options, channels: int, flat: bool = False):
    """Batch norm and activation after a conv or FC, as the spec header says."""
    from torch import nn

    if opts.batch_norm:
        modules.append(nn.BatchNorm1d(channels) if flat else nn.BatchNorm2d(channels))
    if opts.activation == "relu":
        modules.append(nn.ReLU(inplace=True))
    elif opts.activation == "relu6":
        modules.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*modules)


def _check_channels(layer: Layer, got: int, what: str) -> None:
    if layer.declared_in is not None and layer.declared_in != got:
        raise RuleError(f"the filter expects {layer.declared_in} input {what} but the previous rows give {got}")


# -- standard convolution ------------------------------------------------------------


def _conv_parse(cell: str) -> dict:
    kh, kw, cin, cout = grammar.dims(cell, 4, "a conv filter", "K × K × Cin × Cout")
    return {"kernel": (kh, kw), "declared_in": cin, "out_channels": cout}


def _conv_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0], "channels")
    kh, kw = layer.kernel
    return (layer.out_channels, _conv_out(s[1], kh, layer.stride), _conv_out(s[2], kw, layer.stride))


def _conv_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """K·K·Cin·Cout weights; each of the Cout·Hout·Wout outputs takes K·K·Cin mult-adds."""
    kh, kw = layer.kernel
    weights = kh * kw * s[0] * o[0]
    return _weighted_cost(weights, o[0], layer.options, weights * o[1] * o[2])


def _conv_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    kh, kw = layer.kernel
    conv = nn.Conv2d(s[0], o[0], (kh, kw), layer.stride, (kh // 2, kw // 2), bias=layer.options.bias)
    return _after([conv], layer.options, o[0])


register(LayerKind(
    key="conv", label="Conv", type_names=("conv",), filter_syntax="K × K × Cin × Cout",
    parse=_conv_parse, infer=_conv_infer, cost=_conv_cost, build=_conv_build,
    describe=lambda l, s: f"{l.kernel[0]} × {l.kernel[1]} × {s[0]} × {l.out_channels}",
    name_prefix=lambda l: "pw" if l.kernel == (1, 1) else "conv", options_key="conv",
    group=lambda l: f"Conv {l.kernel[0]}×{l.kernel[1]}"))

# -- depthwise convolution (one filter per input channel, groups = C) ----------------


def _dw_parse(cell: str) -> dict:
    body = grammar.strip_word(cell, "dw", "suffix")
    if body is None:
        raise RuleError("a depthwise filter must be K × K × C dw (ending in 'dw')")
    kh, kw, c = grammar.dims(body, 3, "a depthwise filter", "K × K × C")
    return {"kernel": (kh, kw), "declared_in": c}


def _dw_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0], "channels")
    kh, kw = layer.kernel
    return (s[0], _conv_out(s[1], kh, layer.stride), _conv_out(s[2], kw, layer.stride))


def _dw_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """K·K weights per channel; each output takes K·K mult-adds (groups = C)."""
    kh, kw = layer.kernel
    weights = kh * kw * s[0]
    return _weighted_cost(weights, o[0], layer.options, weights * o[1] * o[2])


def _dw_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    kh, kw = layer.kernel
    conv = nn.Conv2d(s[0], s[0], (kh, kw), layer.stride, (kh // 2, kw // 2), groups=s[0], bias=layer.options.bias)
    return _after([conv], layer.options, o[0])


register(LayerKind(
    key="conv_dw", label="Conv dw", type_names=("conv dw",), filter_syntax="K × K × C dw",
    parse=_dw_parse, infer=_dw_infer, cost=_dw_cost, build=_dw_build,
    describe=lambda l, s: f"{l.kernel[0]} × {l.kernel[1]} × {s[0]} dw",
    name_prefix=lambda l: "dw", options_key="conv", group=lambda l: f"Conv DW {l.kernel[0]}×{l.kernel[1]}"))

# -- pooling (global when the window equals the input it was written for) -------------


def _pool_parse(cell: str) -> dict:
    body = grammar.strip_word(cell, "pool", "prefix")
    if body is None:
        raise RuleError("a pool window must be Pool K × K (starting with 'Pool')")
    kh, kw = grammar.dims(body, 2, "a pool window", "K × K")
    return {"kernel": (kh, kw)}


def _pool_infer(layer: Layer, s: Shape) -> Shape:
    if layer.kernel is None:
        return (s[0], 1, 1)
    kh, kw = layer.kernel
    return (s[0], _pool_out(s[1], kh, layer.stride), _pool_out(s[2], kw, layer.stride))


def _pool_settle(layer: Layer, s: Shape) -> Layer:
    # A window as large as its input is the paper's global pool: it stays global when
    # the resolution changes (a 7 × 7 pool on MobileNet-128's 4 × 4 map would not fit).
    if layer.kernel == (s[1], s[2]) and layer.stride == 1:
        return replace(layer, kernel=None)
    return layer


def _no_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """No weights and, by the paper's convention, no mult-adds."""
    return Cost()


def _pool_builder(local, adaptive):
    def build(layer: Layer, s: Shape, o: Shape):
        from torch import nn

        if layer.kernel is None:
            return getattr(nn, adaptive)(1)
        return getattr(nn, local)(layer.kernel, layer.stride)
    return build


def _pool_describe(layer: Layer, s: Shape) -> str:
    if layer.kernel is None:
        return f"Pool {s[1]} × {s[2]} (global)"
    return f"Pool {layer.kernel[0]} × {layer.kernel[1]}"


for _key, _label, _names, _local, _adaptive, _prefix in (
        ("max_pool", "Max Pool", ("max pool", "maxpool"), "MaxPool2d", "AdaptiveMaxPool2d", "maxpool"),
        ("avg_pool", "Avg Pool", ("avg pool", "avgpool", "average pool"), "AvgPool2d", "AdaptiveAvgPool2d", "avgpool")):
    register(LayerKind(
        key=_key, label=_label, type_names=_names, filter_syntax="Pool K × K",
        parse=_pool_parse, infer=_pool_infer, cost=_no_cost, build=_pool_builder(_local, _adaptive),
        describe=_pool_describe, name_prefix=lambda l, p=_prefix: p, settle=_pool_settle,
        group=lambda l: "Pooling"))

# -- fully connected (flattens its input, as VGG's first FC does) -------------------


def _fc_parse(cell: str) -> dict:
    fin, fout = grammar.dims(cell, 2, "an FC shape", "Cin × Cout")
    return {"declared_in": fin, "out_channels": fout}


def _fc_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0] * s[1] * s[2], f"features ({s[1]} × {s[2]} × {s[0]} flattened)")
    return (layer.out_channels, 1, 1)


def _fc_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """in·out weights and as many mult-adds; the input is flattened first."""
    weights = s[0] * s[1] * s[2] * o[0]
    return _weighted_cost(weights, o[0], layer.options, weights)


def _fc_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    # Flatten in, unflatten out: every tensor between rows stays N×C×H×W, so any kind
    # may follow an FC and shapes match the spec's (C, H, W) exactly.
    seq = _after([nn.Flatten(), nn.Linear(s[0] * s[1] * s[2], o[0], bias=layer.options.bias)],
                 layer.options, o[0], flat=True)
    seq.append(nn.Unflatten(1, (o[0], 1, 1)))
    return seq


register(LayerKind(
    key="fc", label="FC", type_names=("fc", "fully connected"), filter_syntax="Cin × Cout",
    parse=_fc_parse, infer=_fc_infer, cost=_fc_cost, build=_fc_build,
    describe=lambda l, s: f"{s[0] * s[1] * s[2]} × {l.out_channels}",
    name_prefix=lambda l: "fc", options_key="fc", group=lambda l: "FC"))

# -- softmax and dropout: shape-preserving, free by the paper's convention -----------


def _softmax_parse(cell: str) -> dict:
    if cell.strip().lower() not in ("", "classifier"):
        raise RuleError("a softmax's filter shape must be 'Classifier' or empty")
    return {}


def _softmax_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    return nn.Softmax(dim=1)


register(LayerKind(
    key="softmax", label="Softmax", type_names=("softmax",), filter_syntax="Classifier",
    parse=_softmax_parse, infer=lambda l, s: s, cost=_no_cost, build=_softmax_build,
    describe=lambda l, s: "Classifier", name_prefix=lambda l: "softmax", group=lambda l: "Softmax"))

_P = re.compile(r"^\s*p\s*=?\s*(\S+)\s*$", re.IGNORECASE)


def _dropout_parse(cell: str) -> dict:
    m = _P.match(cell)
    if not m:
        raise RuleError("a dropout's filter shape must be 'p 0.5' (the drop probability)")
    p = grammar.decimal(m.group(1), "the dropout probability")
    if not 0 <= p < 1:
        raise RuleError(f"the dropout probability must be in [0, 1), got {p:g}")
    return {"p": p}


def _dropout_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    return nn.Dropout(layer.p)


register(LayerKind(
    key="dropout", label="Dropout", type_names=("dropout",), filter_syntax="p P",
    parse=_dropout_parse, infer=lambda l, s: s, cost=_no_cost, build=_dropout_build,
    describe=lambda l, s: f"p {l.p:g}", name_prefix=lambda l: "dropout", group=lambda l: "Dropout"))
