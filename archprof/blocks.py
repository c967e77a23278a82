"""The block kinds archprof knows, each one record in the registry: a row written as its paper prints it.

- ``Inception`` (GoogLeNet, Szegedy et al. 2014, Table 1): ``#1×1, #3×3 reduce, #3×3,
  #5×5 reduce, #5×5, pool proj`` — four branches (1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max
  pool → 1×1) concatenated.
- ``Fire`` (SqueezeNet, Iandola et al. 2016, Table 1): ``s1×1, e1×1, e3×3`` — a 1×1
  squeeze, then a 1×1 and a 3×3 expand concatenated.
- ``Bottleneck`` (MobileNetV2, Sandler et al. 2018, Table 2): ``t, c, n`` with the stride
  in the Type column — ``n`` inverted residuals (1×1 expansion to t·Cin, 3×3 depthwise,
  linear 1×1 projection to c), the stride on the first; a residual add where the stride
  is 1 and Cin = c; no expansion conv when t = 1.
- ``Residual`` (ResNet, He et al. 2015, Table 1): ``[3×3, 64; 3×3, 64] × 2`` (basic) or
  ``[1×1, 64; 3×3, 64; 1×1, 256] × 3`` (bottleneck) — the stride on the first conv
  wider than 1×1 (the 3×3 of a bottleneck, as in the widely used v1.5), a projection
  shortcut (1×1 conv + batch norm) where the shape changes, the activation after the add.

Each expansion returns a ``Block`` of layers (their costs and builders are the layer
kinds'); the convs take the options of the row (the header's conv defaults unless the
row's Options cell says otherwise), and the last conv before an add has no activation.
A row with a repeat count (``n``, ``× n``) becomes one node holding ``unit1`` … ``unitN``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import grammar
from .registry import BlockContext, BlockKind, RuleError, register_block
from .spec import Block, Layer, Options

MAX_UNITS = 1_000


def _conv(k: int, out: int | None, opts: Options, stride: int = 1, name: str = "", **extra) -> Layer:
    return Layer(
        kind="conv", kernel=(k, k), out_channels=out, stride=stride, options=opts, name=name, **extra
    )


def _linear(opts: Options) -> Options:
    return replace(opts, activation=None)


def _merge(how: str, activation: str | None = None) -> Layer:
    return Layer(kind=how, name=how, options=Options(bias=False, batch_norm=False, activation=activation))


def _units(kind: str, units: list[Block], ctx: BlockContext, describe: str) -> Block:
    if len(units) == 1:
        return replace(units[0], kind=kind, describe=describe, line=ctx.line)
    named = tuple(replace(u, name=f"unit{i}") for i, u in enumerate(units, 1))
    return Block("seq", named, kind=kind, describe=describe, line=ctx.line)


def _ints(args: dict, keys: tuple[str, ...], what: str) -> list[int]:
    return [grammar.whole_number(args[k], f"{what} {k}") for k in keys]


def _stride_one(ctx: BlockContext, what: str) -> None:
    if ctx.stride != 1:
        raise RuleError(f"{what} has stride 1 (its paper puts pools between them), got s{ctx.stride}")


# -- GoogLeNet's Inception ----------------------------------------------------------------

INCEPTION_ARGS = ("#1×1", "#3×3 reduce", "#3×3", "#5×5 reduce", "#5×5", "pool proj")


def _inception_parse(cell: str) -> dict:
    args = grammar.arguments(cell, INCEPTION_ARGS, "an Inception row")
    return dict(
        zip(
            ("c1", "c3r", "c3", "c5r", "c5", "pool"),
            _ints(args, tuple(grammar.arg_key(n) for n in INCEPTION_ARGS), "Inception"),
        )
    )


def _inception_expand(a: dict, ctx: BlockContext) -> Block:
    _stride_one(ctx, "an Inception module")
    o = ctx.conv

    def branch(name, *layers):
        return Block("seq", tuple(layers), name=name)

    return Block(
        "concat",
        (
            branch("b1", _conv(1, a["c1"], o)),
            branch("b2", _conv(1, a["c3r"], o), _conv(3, a["c3"], o)),
            branch("b3", _conv(1, a["c5r"], o), _conv(5, a["c5"], o)),
            branch("b4", Layer(kind="max_pool", kernel=(3, 3), stride=1, padding=1), _conv(1, a["pool"], o)),
            _merge("concat"),
        ),
        kind="inception",
        describe=_inception_describe(a),
        line=ctx.line,
    )


def _inception_describe(a: dict) -> str:
    return ", ".join(f"{n} {a[k]}" for n, k in zip(INCEPTION_ARGS, ("c1", "c3r", "c3", "c5r", "c5", "pool")))


register_block(
    BlockKind(
        key="inception",
        label="Inception",
        type_names=("inception",),
        filter_syntax=", ".join(INCEPTION_ARGS),
        parse=_inception_parse,
        expand=_inception_expand,
        describe=_inception_describe,
    )
)

# -- SqueezeNet's Fire ------------------------------------------------------------------

FIRE_ARGS = ("s1×1", "e1×1", "e3×3")


def _fire_parse(cell: str) -> dict:
    args = grammar.arguments(cell, FIRE_ARGS, "a Fire row")
    return dict(zip(("s", "e1", "e3"), _ints(args, tuple(grammar.arg_key(n) for n in FIRE_ARGS), "Fire")))


def _fire_describe(a: dict) -> str:
    return f"s1×1 {a['s']}, e1×1 {a['e1']}, e3×3 {a['e3']}"


def _fire_expand(a: dict, ctx: BlockContext) -> Block:
    _stride_one(ctx, "a Fire module")
    o = ctx.conv
    expand = Block(
        "concat",
        (_conv(1, a["e1"], o, name="expand1x1"), _conv(3, a["e3"], o, name="expand3x3"), _merge("concat")),
        kind="concat",
        name="expand",
    )
    return Block(
        "seq",
        (_conv(1, a["s"], o, name="squeeze1x1"), expand),
        kind="fire",
        describe=_fire_describe(a),
        line=ctx.line,
    )


register_block(
    BlockKind(
        key="fire",
        label="Fire",
        type_names=("fire",),
        filter_syntax=", ".join(FIRE_ARGS),
        parse=_fire_parse,
        expand=_fire_expand,
        describe=_fire_describe,
    )
)

# -- MobileNetV2's inverted residual bottleneck ------------------------------------------


def _bottleneck_parse(cell: str) -> dict:
    args = grammar.arguments(
        cell, ("t", "c", "n"), "a bottleneck row (t, c, n; the stride s in the Type column)", required=2
    )
    t = grammar.decimal(args["t"], "the expansion factor t")
    if not 1 <= t <= 1000:
        raise RuleError(
            f"the expansion factor t must be at least 1 (an expansion) and at most 1000, got {t:g}"
        )
    n = grammar.whole_number(args.get("n", "1"), "the repeat count n")
    if n > MAX_UNITS:
        raise RuleError(f"the repeat count n must be at most {MAX_UNITS:,}, got {n:,}")
    return {"t": t, "c": grammar.whole_number(args["c"], "the output channels c"), "n": n}


def _bottleneck_describe(a: dict) -> str:
    return f"t {a['t']:g}, c {a['c']}, n {a['n']}"


def _bottleneck_expand(a: dict, ctx: BlockContext) -> Block:
    o = ctx.conv
    units, cin = [], ctx.in_shape[0]
    for i in range(a["n"]):
        stride = ctx.stride if i == 0 else 1
        main = ([_conv(1, None, o, width_ratio=a["t"])] if a["t"] != 1 else []) + [
            Layer(kind="conv_dw", kernel=(3, 3), stride=stride, options=o),
            _conv(1, a["c"], _linear(o)),
        ]
        if stride == 1 and cin == a["c"]:
            units.append(
                Block(
                    "add",
                    (
                        Block("seq", tuple(main), name="main"),
                        Block("seq", (), name="shortcut"),
                        _merge("add"),
                    ),
                    kind="bottleneck",
                    fallback="drop",
                )
            )
        else:
            units.append(Block("seq", tuple(main), kind="bottleneck"))
        cin = a["c"]
    return _units("bottleneck", units, ctx, _bottleneck_describe(a))


register_block(
    BlockKind(
        key="bottleneck",
        label="Bottleneck",
        type_names=("bottleneck", "inverted residual"),
        filter_syntax="t, c, n",
        parse=_bottleneck_parse,
        expand=_bottleneck_expand,
        describe=_bottleneck_describe,
    )
)

# -- ResNet's residual blocks (basic and bottleneck) --------------------------------------

_BRACKETS = re.compile(r"^\s*\[([^\[\]]{1,400})\]\s*(?:[×xX]\s*([0-9]{1,20}))?\s*$")


def _residual_parse(cell: str) -> dict:
    m = _BRACKETS.match(cell)
    if not m:
        raise RuleError(
            "a residual row must read like [3 × 3, 64; 3 × 3, 64] × 2 (the convs of one block, "
            "then the repeat count)"
        )
    convs = []
    for entry in m.group(1).split(";"):
        kernel, sep, width = entry.partition(",")
        if not sep:
            raise RuleError(f"each conv of a residual block is 'K × K, C', got {entry.strip()!r}")
        kh, kw = grammar.dims(kernel, 2, "a residual conv's kernel", "K × K")
        if kh != kw:
            raise RuleError(f"a residual conv's kernel must be square, got {kh} × {kw}")
        convs.append((kh, grammar.whole_number(width, "a residual conv's channels")))
    n = grammar.whole_number(m.group(2) or "1", "the repeat count")
    if n > MAX_UNITS:
        raise RuleError(f"the repeat count must be at most {MAX_UNITS:,}, got {n:,}")
    return {"convs": tuple(convs), "n": n}


def _residual_describe(a: dict) -> str:
    inner = "; ".join(f"{k} × {k}, {c}" for k, c in a["convs"])
    return f"[{inner}] × {a['n']}"


def _residual_expand(a: dict, ctx: BlockContext) -> Block:
    o = ctx.conv
    convs = a["convs"]
    # the stride sits on the first conv wider than 1 × 1 (ResNet v1.5), else on the first
    at = next((i for i, (k, _) in enumerate(convs) if k > 1), 0)
    out = convs[-1][1]
    units, cin = [], ctx.in_shape[0]
    for u in range(a["n"]):
        stride = ctx.stride if u == 0 else 1
        main = tuple(
            _conv(k, c, o if i < len(convs) - 1 else _linear(o), stride if i == at else 1)
            for i, (k, c) in enumerate(convs)
        )
        shortcut = (_conv(1, out, _linear(o), stride),) if stride != 1 or cin != out else ()
        units.append(
            Block(
                "add",
                (
                    Block("seq", main, name="main"),
                    Block("seq", shortcut, name="shortcut"),
                    _merge("add", o.activation),
                ),
                kind="residual",
                fallback=None if shortcut else "project",
            )
        )
        cin = out
    return _units("residual", units, ctx, _residual_describe(a))


register_block(
    BlockKind(
        key="residual",
        label="Residual",
        type_names=("residual", "residual block"),
        filter_syntax="[K × K, C; K × K, C; …] × n",
        parse=_residual_parse,
        expand=_residual_expand,
        describe=_residual_describe,
    )
)
