"""The layer kinds archprof knows, each one record in the registry.

Every cost formula is a pure function of the layer and its input and output shapes, with
the paper's conventions: mult-adds count the multiply-accumulates of conv and FC layers
only (K·K·(Cin/groups)·Cout·Hout·Wout and in·out); bias, batch norm, ReLU, pooling and
softmax add no mult-adds. A conv pads ``K // 2`` on every side unless its row says
otherwise (``padding same`` for TF/Keras, ``valid``, or pixels); pools pad nothing unless
told. The merges of branches (``add``, ``concat``) are kinds too, with no Type column
name: block expansions create them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from . import grammar
from .registry import Cost, LayerKind, RuleError, register
from .spec import Layer, Options, Shape

# -- shared pieces -------------------------------------------------------------------


def _same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TF/Keras 'same': out = ceil(size / stride), the extra pixel of an odd total at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def _kernel(layer: Layer) -> tuple[int, int]:
    """The window of a row whose kind always has one (conv, depthwise, a local pool, LRN): its parse rule sets it."""
    if layer.kernel is None:
        raise RuleError(f"a {layer.kind} row needs a window (K × K), got none")
    return layer.kernel


def _options(layer: Layer) -> Options:
    """The options of a conv, depthwise or FC row: the parser fills them from the header for every kind with an options key."""
    if layer.options is None:
        raise RuleError(f"a {layer.kind} row needs its options (bias, batch norm, activation), got none")
    return layer.options


def _out_channels(layer: Layer) -> int:
    """The width of an FC row: its parse rule sets it (Cin × Cout)."""
    if layer.out_channels is None:
        raise RuleError(f"a {layer.kind} row needs its output width, got none")
    return layer.out_channels


def _zero_pads(layer: Layer) -> tuple[int, int, int, int]:
    """The (top, bottom, left, right) pixels of a zero-padding row: its parse rule sets them."""
    if layer.pads is None:
        raise RuleError(f"a {layer.kind} row needs its padding (Pad T, B, L, R), got none")
    return layer.pads


def _constant(value: str) -> Callable[[Layer], str]:
    """A name prefix or group that does not depend on the row (one per kind registered in a loop)."""
    return lambda layer: value


def pads_for(layer: Layer, s: Shape, default: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of a conv or pool on input ``s``; ``default`` is "half" (K // 2) or "valid"."""
    if layer.kernel is None:
        return (0, 0, 0, 0)
    kh, kw = layer.kernel
    mode = default if layer.padding is None else layer.padding
    if isinstance(mode, int):
        return (mode,) * 4
    if mode == "half":
        return (kh // 2, kh // 2, kw // 2, kw // 2)
    if mode == "same":
        return _same_pads(s[1], kh, layer.stride) + _same_pads(s[2], kw, layer.stride)
    return (0, 0, 0, 0)


def _conv_pads(layer: Layer, s: Shape) -> tuple[int, int, int, int]:
    return pads_for(layer, s, "half")


def _pool_pads(layer: Layer, s: Shape) -> tuple[int, int, int, int]:
    return pads_for(layer, s, "valid")


def _window_out(size: int, k: int, stride: int, before: int, after: int, ceil: bool = False) -> int:
    """Output size of a window sliding over ``size`` padded pixels, as torch computes it (ceil mode too)."""
    # Branch-free on the sizes, so that the sweep can pass a whole column of them as one array (sweep.py);
    # with ints every comparison below is a bool, i.e. 0 or 1.
    span = size + before + after - k
    out = (span + (stride - 1 if ceil else 0)) // stride + 1
    if ceil:  # torch: the last window must start inside the input or its leading padding
        out = out - ((out - 1) * stride >= size + before)
    return out * (span >= 0)  # a window wider than the padded input: nothing


def _spatial(layer: Layer, s: Shape, pads: tuple[int, int, int, int], ceil: bool = False) -> tuple[int, int]:
    kh, kw = _kernel(layer)
    t, b, l, r = pads
    return (_window_out(s[1], kh, layer.stride, t, b, ceil), _window_out(s[2], kw, layer.stride, l, r, ceil))


def _weighted_cost(weights: int, out_channels: int, opts: Options, mult_adds: int) -> Cost:
    """A conv or FC: its weights, then the bias and batch norm its options add."""
    bn = out_channels if opts.batch_norm else 0
    return Cost(
        params=weights + (out_channels if opts.bias else 0) + (2 if opts.bn_scale else 1) * bn,
        paper_params=weights,
        mult_adds=mult_adds,
        float_buffers=2 * bn,
        int64_buffers=1 if opts.batch_norm else 0,
    )


def _batch_norm(channels: int, flat: bool, scale: bool):
    from torch import nn

    bn = nn.BatchNorm1d(channels) if flat else nn.BatchNorm2d(channels)
    if not scale:
        # Keras BatchNormalization(scale=False): β only. torch's batch_norm takes weight=None.
        bn.register_parameter("weight", None)
    return bn


def activation_module(name: str | None):
    from torch import nn

    if name is None:  # a row without an activation
        return None
    return {"relu": nn.ReLU(inplace=True), "relu6": nn.ReLU6(inplace=True)}.get(name)


def _after(modules: list, opts: Options, channels: int, flat: bool = False):
    """Batch norm and activation after a conv or FC, as the spec header or the row says."""
    from torch import nn

    if opts.batch_norm:
        modules.append(_batch_norm(channels, flat, opts.bn_scale))
    act = activation_module(opts.activation)
    if act is not None:
        modules.append(act)
    return nn.Sequential(*modules)


def _padded(pads, value: float = 0.0):
    """The modules that pad asymmetrically before a conv or pool (none when torch's own symmetric padding does)."""
    from torch import nn

    t, b, l, r = pads
    if t == b and l == r:
        return [], (t, l)
    return [nn.ConstantPad2d((l, r, t, b), value)], (0, 0)


def _check_channels(layer: Layer, got: int, what: str, *fill: int) -> None:
    """``what`` is filled with ``fill`` only for the message: the sweep calls this on arrays, where formatting
    on every call would cost more than the rule."""
    if layer.declared_in is not None and layer.declared_in != got:
        raise RuleError(
            f"the filter expects {layer.declared_in} input {what.format(*fill)} but the previous rows give {got}"
        )


# -- standard convolution ------------------------------------------------------------


def _conv_parse(cell: str) -> dict:
    kh, kw, cin, cout = grammar.dims(cell, 4, "a conv filter", "K × K × Cin × Cout", wildcard=2)
    return {"kernel": (kh, kw), "declared_in": cin, "out_channels": cout}


def _conv_width(layer: Layer, s: Shape) -> int:
    if layer.out_channels is not None:
        return layer.out_channels
    if layer.width_ratio is None:
        raise RuleError("a conv needs its output channels or a width ratio, got neither")
    return round(s[0] * layer.width_ratio)  # torchvision's hidden_dim = int(round(inp * expand_ratio))


def _conv_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0], "channels")
    out = _conv_width(layer, s)
    g = layer.groups
    if s[0] % g or out % g:
        raise RuleError(
            f"a conv with groups = {g} needs input and output channels divisible by {g}, got {s[0]} and {out}"
        )
    return (out, *_spatial(layer, s, _conv_pads(layer, s)))


def _conv_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """K·K·(Cin/groups)·Cout weights; each of the Cout·Hout·Wout outputs takes K·K·Cin/groups mult-adds."""
    kh, kw = _kernel(layer)
    weights = kh * kw * (s[0] // layer.groups) * o[0]
    return _weighted_cost(weights, o[0], _options(layer), weights * o[1] * o[2])


def _conv_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    opts = _options(layer)
    pad, padding = _padded(_conv_pads(layer, s))
    conv = nn.Conv2d(s[0], o[0], _kernel(layer), layer.stride, padding, groups=layer.groups, bias=opts.bias)
    return _after(pad + [conv], opts, o[0])


def _conv_describe(layer: Layer, s: Shape) -> str:
    width = layer.out_channels if layer.out_channels is not None else _conv_width(layer, s)
    kh, kw = _kernel(layer)
    return f"{kh} × {kw} × {s[0]} × {width}"


register(
    LayerKind(
        key="conv",
        label="Conv",
        type_names=("conv",),
        filter_syntax="K × K × Cin × Cout",
        parse=_conv_parse,
        infer=_conv_infer,
        cost=_conv_cost,
        build=_conv_build,
        describe=_conv_describe,
        name_prefix=lambda l: "pw" if l.kernel == (1, 1) else "conv",
        options_key="conv",
        group=lambda l: "Conv {}×{}".format(*_kernel(l)),
        groups=lambda l, s: l.groups,
        pads=_conv_pads,
        row_options=frozenset({"padding", "groups"}),
        strided=True,
    )
)

# -- depthwise convolution (one filter per input channel, groups = C) ----------------


def _dw_parse(cell: str) -> dict:
    body = grammar.strip_word(cell, "dw", "suffix")
    if body is None:
        raise RuleError("a depthwise filter must be K × K × C dw (ending in 'dw')")
    kh, kw, c = grammar.dims(body, 3, "a depthwise filter", "K × K × C", wildcard=2)
    return {"kernel": (kh, kw), "declared_in": c}


def _dw_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0], "channels")
    return (s[0], *_spatial(layer, s, _conv_pads(layer, s)))


def _dw_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """K·K weights per channel; each output takes K·K mult-adds (groups = C)."""
    kh, kw = _kernel(layer)
    weights = kh * kw * s[0]
    return _weighted_cost(weights, o[0], _options(layer), weights * o[1] * o[2])


def _dw_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    opts = _options(layer)
    pad, padding = _padded(_conv_pads(layer, s))
    conv = nn.Conv2d(s[0], s[0], _kernel(layer), layer.stride, padding, groups=s[0], bias=opts.bias)
    return _after(pad + [conv], opts, o[0])


register(
    LayerKind(
        key="conv_dw",
        label="Conv dw",
        type_names=("conv dw",),
        filter_syntax="K × K × C dw",
        parse=_dw_parse,
        infer=_dw_infer,
        cost=_dw_cost,
        build=_dw_build,
        describe=lambda l, s: "{} × {} × {} dw".format(*_kernel(l), s[0]),
        name_prefix=lambda l: "dw",
        options_key="conv",
        group=lambda l: "Conv DW {}×{}".format(*_kernel(l)),
        groups=lambda l, s: s[0],
        pads=_conv_pads,
        row_options=frozenset({"padding"}),
        strided=True,
    )
)

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
    pads = _pool_pads(layer, s)
    if isinstance(layer.padding, int) and 2 * layer.padding > min(layer.kernel):
        raise RuleError(
            f"a pool's padding must be at most half its window, got {layer.padding} for "
            f"{layer.kernel[0]} × {layer.kernel[1]}"
        )
    return (s[0], *_spatial(layer, s, pads, layer.ceil))


def _pool_settle(layer: Layer, s: Shape) -> Layer:
    # A window as large as its input is the paper's global pool: it stays global when
    # the resolution changes (a 7 × 7 pool on MobileNet-128's 4 × 4 map would not fit).
    if layer.kernel == (s[1], s[2]) and layer.stride == 1 and _pool_pads(layer, s) == (0, 0, 0, 0):
        return replace(layer, kernel=None)
    return layer


def _no_cost(layer: Layer, s, o: Shape) -> Cost:
    """No weights and, by the paper's convention, no mult-adds."""
    return Cost()


def _pool_builder(local, adaptive, pad_value):
    def build(layer: Layer, s: Shape, o: Shape):
        from torch import nn

        if layer.kernel is None:
            return getattr(nn, adaptive)(1)
        # A max pool pads with -inf (padding never wins), as torch's own padding does;
        # an avg pool's asymmetric 'same' padding counts the zeros (shapes and costs are
        # exact; TF would average over the real pixels only).
        pad, padding = _padded(_pool_pads(layer, s), pad_value)
        pool = getattr(nn, local)(layer.kernel, layer.stride, padding, ceil_mode=layer.ceil)
        return nn.Sequential(*pad, pool) if pad else pool

    return build


def _pool_describe(layer: Layer, s: Shape) -> str:
    if layer.kernel is None:
        return f"Pool {s[1]} × {s[2]} (global)"
    return f"Pool {layer.kernel[0]} × {layer.kernel[1]}"


for _key, _label, _names, _local, _adaptive, _prefix, _pad in (
    (
        "max_pool",
        "Max Pool",
        ("max pool", "maxpool"),
        "MaxPool2d",
        "AdaptiveMaxPool2d",
        "maxpool",
        float("-inf"),
    ),
    (
        "avg_pool",
        "Avg Pool",
        ("avg pool", "avgpool", "average pool"),
        "AvgPool2d",
        "AdaptiveAvgPool2d",
        "avgpool",
        0.0,
    ),
):
    register(
        LayerKind(
            key=_key,
            label=_label,
            type_names=_names,
            filter_syntax="Pool K × K",
            parse=_pool_parse,
            infer=_pool_infer,
            cost=_no_cost,
            build=_pool_builder(_local, _adaptive, _pad),
            describe=_pool_describe,
            name_prefix=_constant(_prefix),
            settle=_pool_settle,
            group=lambda l: "Pooling",
            pads=_pool_pads,
            row_options=frozenset({"padding", "ceil mode"}),
            strided=True,
        )
    )

# -- fully connected (flattens its input, as VGG's first FC does) -------------------


def _fc_parse(cell: str) -> dict:
    fin, fout = grammar.dims(cell, 2, "an FC shape", "Cin × Cout", wildcard=0)
    return {"declared_in": fin, "out_channels": fout}


def _fc_infer(layer: Layer, s: Shape) -> Shape:
    _check_channels(layer, s[0] * s[1] * s[2], "features ({} × {} × {} flattened)", s[1], s[2], s[0])
    return (_out_channels(layer), 1, 1)


def _fc_cost(layer: Layer, s: Shape, o: Shape) -> Cost:
    """in·out weights and as many mult-adds; the input is flattened first."""
    weights = s[0] * s[1] * s[2] * o[0]
    return _weighted_cost(weights, o[0], _options(layer), weights)


def _fc_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    # Flatten in, unflatten out: every tensor between rows stays N×C×H×W, so any kind
    # may follow an FC and shapes match the spec's (C, H, W) exactly.
    opts = _options(layer)
    seq = _after(
        [nn.Flatten(), nn.Linear(s[0] * s[1] * s[2], o[0], bias=opts.bias)],
        opts,
        o[0],
        flat=True,
    )
    seq.append(nn.Unflatten(1, (o[0], 1, 1)))
    return seq


register(
    LayerKind(
        key="fc",
        label="FC",
        type_names=("fc", "fully connected"),
        filter_syntax="Cin × Cout",
        parse=_fc_parse,
        infer=_fc_infer,
        cost=_fc_cost,
        build=_fc_build,
        describe=lambda l, s: f"{s[0] * s[1] * s[2]} × {l.out_channels}",
        name_prefix=lambda l: "fc",
        options_key="fc",
        group=lambda l: "FC",
    )
)

# -- softmax and dropout: shape-preserving, free by the paper's convention -----------


def _softmax_parse(cell: str) -> dict:
    if cell.strip().lower() not in ("", "classifier"):
        raise RuleError("a softmax's filter shape must be 'Classifier' or empty")
    return {}


def _softmax_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    return nn.Softmax(dim=1)


register(
    LayerKind(
        key="softmax",
        label="Softmax",
        type_names=("softmax",),
        filter_syntax="Classifier",
        parse=_softmax_parse,
        infer=lambda l, s: s,
        cost=_no_cost,
        build=_softmax_build,
        describe=lambda l, s: "Classifier",
        name_prefix=lambda l: "softmax",
        group=lambda l: "Softmax",
    )
)

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

    if layer.p is None:
        raise RuleError("a dropout row needs its probability (p P), got none")
    return nn.Dropout(layer.p)


register(
    LayerKind(
        key="dropout",
        label="Dropout",
        type_names=("dropout",),
        filter_syntax="p P",
        parse=_dropout_parse,
        infer=lambda l, s: s,
        cost=_no_cost,
        build=_dropout_build,
        describe=lambda l, s: f"p {l.p:g}",
        name_prefix=lambda l: "dropout",
        group=lambda l: "Dropout",
    )
)


# -- explicit zero padding (Keras's ZeroPadding2D before a 'valid' stride-2 conv) -------

_COMMA = re.compile(r"\s*,\s*")


def _zeropad_parse(cell: str) -> dict:
    body = grammar.strip_word(cell, "pad", "prefix")
    if body is None or not body.strip():
        raise RuleError("a zero-padding row's filter shape must be 'Pad P' or 'Pad T, B, L, R' (pixels)")
    parts = _COMMA.split(body.strip())
    if len(parts) not in (1, 4):
        raise RuleError(f"a zero padding is 'Pad P' or 'Pad T, B, L, R' (1 or 4 numbers), got {len(parts)}")
    values = [grammar.count(p, "a padding") for p in parts]
    return {"pads": tuple(values * 4 if len(values) == 1 else values)}


def _zeropad_infer(layer: Layer, s: Shape) -> Shape:
    t, b, l, r = _zero_pads(layer)
    return (s[0], s[1] + t + b, s[2] + l + r)


def _zeropad_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    t, b, l, r = _zero_pads(layer)
    return nn.ZeroPad2d((l, r, t, b))


register(
    LayerKind(
        key="zero_pad",
        label="Zero Pad",
        type_names=("zero pad", "zeropad", "zero padding"),
        filter_syntax="Pad T, B, L, R",
        parse=_zeropad_parse,
        infer=_zeropad_infer,
        cost=_no_cost,
        build=_zeropad_build,
        describe=lambda l, s: "Pad " + ", ".join(map(str, _zero_pads(l))),
        name_prefix=lambda l: "pad",
        group=lambda l: "Padding",
        pads=lambda l, s: _zero_pads(l),
    )
)

# -- merges of branches: the last child of an add or concat block ---------------------


def _add_infer(layer: Layer, shapes) -> Shape:
    if len(set(shapes)) != 1:
        from .shapes import paper_shape

        raise RuleError(
            "an add needs branches of one shape, got " + ", ".join(paper_shape(x) for x in shapes)
        )
    return shapes[0]


def _concat_infer(layer: Layer, shapes) -> Shape:
    if len({x[1:] for x in shapes}) != 1:
        from .shapes import paper_shape

        raise RuleError(
            "a concat needs branches of one height and width, got "
            + ", ".join(paper_shape(x) for x in shapes)
        )
    return (sum(x[0] for x in shapes), *shapes[0][1:])


def _merge_builder(how: str):
    def build(layer: Layer, shapes, o: Shape):
        from .modules import Add, Concat

        act = activation_module(layer.options.activation if layer.options else None)
        return Add(act) if how == "add" else Concat(act)

    return build


def _merge_describe(how: str):
    def describe(layer: Layer, shapes) -> str:
        sym = " + " if how == "add" else " ‖ "
        return sym.join(str(x[0]) for x in shapes)

    return describe


for _how, _label, _group in (("add", "Add", "Add (residual)"), ("concat", "Concat", "Concat")):
    register(
        LayerKind(
            key=_how,
            label=_label,
            type_names=(),
            filter_syntax="",
            parse=lambda cell: {},
            infer=_add_infer if _how == "add" else _concat_infer,
            cost=_no_cost,
            build=_merge_builder(_how),
            describe=_merge_describe(_how),
            name_prefix=_constant(_how),
            group=_constant(_group),
            merge=True,
        )
    )

# -- local response normalisation (AlexNet, GoogLeNet): no weights, no mult-adds ---------

_LRN = re.compile(r"^\s*(?:size\s*)?([0-9]{1,4})\s*$", re.IGNORECASE)


def _lrn_parse(cell: str) -> dict:
    m = _LRN.match(cell)
    if not m:
        raise RuleError("an LRN's filter shape is its window across channels, 'size 5'")
    return {"kernel": (grammar.whole_number(m.group(1), "the LRN size"), 1)}


def _lrn_build(layer: Layer, s: Shape, o: Shape):
    from torch import nn

    # Caffe's defaults for AlexNet and GoogLeNet: α = 1e-4, β = 0.75, k = 1
    return nn.LocalResponseNorm(_kernel(layer)[0], alpha=1e-4, beta=0.75, k=1.0)


register(
    LayerKind(
        key="lrn",
        label="LRN",
        type_names=("lrn", "local response norm", "local response normalization"),
        filter_syntax="size N",
        parse=_lrn_parse,
        infer=lambda l, s: s,
        cost=_no_cost,
        build=_lrn_build,
        describe=lambda l, s: f"size {_kernel(l)[0]}",
        name_prefix=lambda l: "lrn",
        group=lambda l: "LRN",
    )
)
