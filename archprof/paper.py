"""The printed numbers of the MobileNetV1 paper (Howard et al. 2017, arXiv:1704.04861) and of
MobileNetV2's (Sandler et al. 2018, arXiv:1801.04381, Table 4, and its official release
table), as data.

``archprof validate`` holds archprof's counts against these. Mult-adds and params are in
millions as printed; a printed number is matched to its last printed digit (the paper
both rounds and truncates: 290,675,200 is printed 290). Where the paper is inconsistent
with itself, the entry says so and what it computes to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One printed number of one configuration: ``metric`` of ``ref`` at (α, resolution)."""

    table: str
    label: str
    ref: str  # built-in spec, with :standard for Conv MobileNet
    alpha: float
    resolution: int
    metric: str  # "mult_adds" or "paper_params" (millions)
    printed: str
    # Where the paper counts differently: the layer kinds it leaves out, and why.
    without_kinds: tuple[str, ...] = ()
    note: str = ""
    unit: float | None = None  # the printed precision when the digits do not show it ("15300": 100)
    classes: int | None = (
        None  # the configuration's classes when not the spec's (MobileNetV2's release: 1001)
    )
    erratum: str = ""  # why the printed number is not the network's, when it is not


_CONV_ONLY = "the printed number leaves the FC layers out (conv layers only); archprof's total includes them"


def _rows(table, label, ref, alpha, resolution, mult_adds, params, params_erratum="", classes=None, **kw):
    """A printed (mult-adds, params) pair; ``kw`` qualifies the mult-adds only."""
    return [
        Claim(table, label, ref, alpha, resolution, "mult_adds", mult_adds, classes=classes, **kw),
        Claim(
            table,
            label,
            ref,
            alpha,
            resolution,
            "paper_params",
            params,
            classes=classes,
            erratum=params_erratum,
        ),
    ]


_GOOGLENET_OPS = (
    "printed 1550 M; the network of GoogLeNet's Table 1 computes to 1,582.67 M conv + FC "
    "multiply-accumulates (2.1 % more). The GoogLeNet paper speaks of a budget of '1.5 billion "
    "multiply-adds'; 1550 M looks like that estimate, not a count"
)
_GOOGLENET_PARAMS = (
    "printed 6.8 M; the layers of GoogLeNet's Table 1 hold 6.99 M conv + FC weights (7.00 M with "
    "biases); 6.8 M looks like the sum of that table's own rounded params column"
)
SQUEEZENET_OPS = (
    "printed 1700 M 'mult-adds'; SqueezeNet 1.0 has 832.67 M multiply-accumulates at 227 × 227: "
    "1700 M is about twice that, i.e. FLOPs (2 per mult-add: 1,665 M). The prose's '22× less "
    "computation' than SqueezeNet (1700 / 76) is really 832.67 / 76.52 = 10.9×"
)
_V2_V1_OPS = (
    "printed 575 M; MobileNetV1 has 568.74 M conv + FC multiply-accumulates, as its own paper prints "
    "(569 M); the MobileNetV2 paper's figure is 1.1 % higher and does not say what it adds"
)
_V2_14_PARAMS = (
    "printed 6.9 M; MobileNetV2 1.4 has 6.06 M conv + FC weights (6.11 M with batch norm and bias), "
    "as the official release table says (6.06 M)"
)
_V2_14_OPS = (
    "printed 585 M; MobileNetV2 1.4 computes to 582.20 M multiply-accumulates (1000 classes; 582.2 M "
    "with 1001), as the official release table says (582 M)"
)


CLAIMS: list[Claim] = [
    *_rows(
        "Table 4",
        "Conv MobileNet",
        "mobilenet_v1:standard",
        1.0,
        224,
        "4866",
        "29.3",
        without_kinds=("fc",),
        note=_CONV_ONLY,
    ),
    *_rows("Table 4", "MobileNet", "mobilenet_v1", 1.0, 224, "569", "4.2"),
    *_rows("Table 5", "0.75 MobileNet", "mobilenet_v1", 0.75, 224, "325", "2.6"),
    *_rows("Table 5", "Shallow MobileNet", "mobilenet_v1_shallow", 1.0, 224, "307", "2.9"),
    *_rows("Table 6", "1.0 MobileNet-224", "mobilenet_v1", 1.0, 224, "569", "4.2"),
    *_rows("Table 6", "0.75 MobileNet-224", "mobilenet_v1", 0.75, 224, "325", "2.6"),
    *_rows("Table 6", "0.5 MobileNet-224", "mobilenet_v1", 0.5, 224, "149", "1.3"),
    *_rows("Table 6", "0.25 MobileNet-224", "mobilenet_v1", 0.25, 224, "41", "0.5"),
    *_rows("Table 7", "1.0 MobileNet-224", "mobilenet_v1", 1.0, 224, "569", "4.2"),
    *_rows("Table 7", "1.0 MobileNet-192", "mobilenet_v1", 1.0, 192, "418", "4.2"),
    *_rows("Table 7", "1.0 MobileNet-160", "mobilenet_v1", 1.0, 160, "290", "4.2"),
    *_rows("Table 7", "1.0 MobileNet-128", "mobilenet_v1", 1.0, 128, "186", "4.2"),
    *_rows("Table 8", "1.0 MobileNet-224", "mobilenet_v1", 1.0, 224, "569", "4.2"),
    *_rows(
        "Table 8",
        "VGG 16",
        "vgg16",
        1.0,
        224,
        "15300",
        "138",
        without_kinds=("fc",),
        unit=100,
        note=_CONV_ONLY + " (printed to 3 significant digits)",
    ),
    *_rows(
        "Table 8",
        "GoogleNet",
        "googlenet",
        1.0,
        224,
        "1550",
        "6.8",
        erratum=_GOOGLENET_OPS,
        params_erratum=_GOOGLENET_PARAMS,
    ),
    *_rows("Table 9", "0.50 MobileNet-160", "mobilenet_v1", 0.5, 160, "76", "1.32"),
    *_rows("Table 9", "Squeezenet", "squeezenet1_0", 1.0, 227, "1700", "1.25", erratum=SQUEEZENET_OPS),
    *_rows("Table 9", "AlexNet", "alexnet", 1.0, 227, "720", "60", unit=10),
    # The MobileNetV2 paper, Table 4 (its comparison with MobileNetV1), 1000 classes.
    *_rows("V2 Table 4", "MobileNetV1", "mobilenet_v1", 1.0, 224, "575", "4.2", erratum=_V2_V1_OPS),
    *_rows("V2 Table 4", "MobileNetV2", "mobilenet_v2", 1.0, 224, "300", "3.4"),
    *_rows(
        "V2 Table 4",
        "MobileNetV2 (1.4)",
        "mobilenet_v2",
        1.4,
        224,
        "585",
        "6.9",
        erratum=_V2_14_OPS,
        params_erratum=_V2_14_PARAMS,
    ),
]

# MobileNetV2's official release table (1001 classes): MACs truncated to whole millions, and
# "Parameters" (conv and FC weights) in millions, per (α, resolution).
V2_RELEASE_MACS = {
    (1.4, 224): "582",
    (1.3, 224): "509",
    (1.0, 224): "300",
    (1.0, 192): "221",
    (1.0, 160): "154",
    (1.0, 128): "99",
    (1.0, 96): "56",
    (0.75, 224): "209",
    (0.75, 192): "153",
    (0.75, 160): "107",
    (0.75, 128): "69",
    (0.75, 96): "39",
    (0.5, 224): "97",
    (0.5, 192): "71",
    (0.5, 160): "50",
    (0.5, 128): "32",
    (0.5, 96): "18",
    (0.35, 224): "59",
    (0.35, 192): "43",
    (0.35, 160): "30",
    (0.35, 128): "20",
    (0.35, 96): "11",
}
V2_RELEASE_PARAMS = {1.4: "6.06", 1.3: "5.34", 1.0: "3.47", 0.75: "2.61", 0.5: "1.95", 0.35: "1.66"}
CLAIMS += [
    Claim("V2 release", f"MobileNetV2 {a:g}-{r}", "mobilenet_v2", a, r, "mult_adds", v, classes=1001)
    for (a, r), v in V2_RELEASE_MACS.items()
]
CLAIMS += [
    Claim("V2 release", f"MobileNetV2 {a:g}-224", "mobilenet_v2", a, 224, "paper_params", v, classes=1001)
    for a, v in V2_RELEASE_PARAMS.items()
]

# Table 2: share of 1.0 MobileNet-224's mult-adds and (conv + FC weight) params by layer type, in %.
TABLE_2 = {
    "Conv 1×1": ("94.86", "74.59"),
    "Conv DW 3×3": ("3.06", "1.06"),
    "Conv 3×3": ("1.19", "0.02"),
    "FC": ("0.18", "24.33"),
}
TABLE_2_ERRATA = {
    ("Conv 3×3", "mult_adds"): "printed 1.19 %; 10,838,016 / 568,740,352 = 1.91 % (digits swapped)"
}

# Table 3: one 14 × 14 × 512 → 512 layer (mult-adds M, params M), each row on top of the one before.
TABLE_3 = [
    ("Conv 3×3", "standard", 1.0, 224, "462", "2.36"),
    ("Depthwise separable conv", "base", 1.0, 224, "52.3", "0.27"),
    ("α = 0.75", "base", 0.75, 224, "29.6", "0.15"),
    ("ρ = 0.714", "base", 0.75, 160, "15.1", "0.15"),
]

# Prose claims: (label, what it says, bounds on the computed ratio)
SEPARABLE_SAVING = (8.0, 9.0)  # "8 to 9 times less computation than standard convolutions"
VGG_SMALLER, VGG_CHEAPER = 32, 27  # "32 times smaller and 27 times less compute intensive"
GOOGLENET_CHEAPER = 2.5  # "more than 2.5 times less computation" than GoogLeNet (1.0 MobileNet-224)
ALEXNET_SMALLER, ALEXNET_CHEAPER = "45", "9.4"  # 0.50 MobileNet-160: "45× smaller and 9.4× less compute"
SQUEEZENET_CHEAPER = "22"  # 0.50 MobileNet-160: "22× less computation" than SqueezeNet

# Table 1's printed erratum: the second-to-last depthwise row.
TABLE_1_ERRATUM = (
    "Table 1 prints 'Conv dw / s2' at 7 × 7 × 1024, but the next row's input is still "
    "7 × 7 × 1024; s2 would give 4 × 4 × 1024. The built-in spec uses s1 "
    "(tensorflow/models issue 1997)."
)


def printed_unit(printed: str) -> float:
    """One unit of the last printed digit: "4.2" → 0.1, "569" → 1."""
    return 10.0 ** -len(printed.partition(".")[2])


def within_printed(computed: float, printed: str, unit: float | None = None) -> bool:
    """``computed`` agrees with ``printed`` to its last printed digit (rounded or truncated)."""
    return abs(computed - float(printed)) < (unit or printed_unit(printed))
