"""The MobileNetV1 paper's printed numbers (Howard et al. 2017, arXiv:1704.04861), as data.

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
    ref: str                 # built-in spec, with :standard for Conv MobileNet
    alpha: float
    resolution: int
    metric: str              # "mult_adds" or "paper_params" (millions)
    printed: str
    # Where the paper counts differently: the layer kinds it leaves out, and why.
    without_kinds: tuple[str, ...] = ()
    note: str = ""
    unit: float | None = None  # the printed precision when the digits do not show it ("15300": 100)


_CONV_ONLY = ("the printed number leaves the FC layers out (conv layers only); "
              "archprof's total includes them")


def _rows(table, label, ref, alpha, resolution, mult_adds, params, **kw):
    """A printed (mult-adds, params) pair; ``kw`` qualifies the mult-adds only."""
    return [Claim(table, label, ref, alpha, resolution, "mult_adds", mult_adds, **kw),
            Claim(table, label, ref, alpha, resolution, "paper_params", params)]


CLAIMS: list[Claim] = [
    *_rows("Table 4", "Conv MobileNet", "mobilenet_v1:standard", 1.0, 224, "4866", "29.3",
           without_kinds=("fc",), note=_CONV_ONLY),
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
    *_rows("Table 8", "VGG 16", "vgg16", 1.0, 224, "15300", "138", without_kinds=("fc",), unit=100,
           note=_CONV_ONLY + " (printed to 3 significant digits)"),
    *_rows("Table 9", "0.50 MobileNet-160", "mobilenet_v1", 0.5, 160, "76", "1.32"),
]

# Table 2: share of 1.0 MobileNet-224's mult-adds and (conv + FC weight) params by layer type, in %.
TABLE_2 = {
    "Conv 1×1": ("94.86", "74.59"),
    "Conv DW 3×3": ("3.06", "1.06"),
    "Conv 3×3": ("1.19", "0.02"),
    "FC": ("0.18", "24.33"),
}
TABLE_2_ERRATA = {("Conv 3×3", "mult_adds"): "printed 1.19 %; 10,838,016 / 568,740,352 = 1.91 % (digits swapped)"}

# Table 3: one 14 × 14 × 512 → 512 layer (mult-adds M, params M), each row on top of the one before.
TABLE_3 = [
    ("Conv 3×3", "standard", 1.0, 224, "462", "2.36"),
    ("Depthwise separable conv", "base", 1.0, 224, "52.3", "0.27"),
    ("α = 0.75", "base", 0.75, 224, "29.6", "0.15"),
    ("ρ = 0.714", "base", 0.75, 160, "15.1", "0.15"),
]

# Prose claims: (label, what it says, bounds on the computed ratio)
SEPARABLE_SAVING = (8.0, 9.0)          # "8 to 9 times less computation than standard convolutions"
VGG_SMALLER, VGG_CHEAPER = 32, 27      # "32 times smaller and 27 times less compute intensive"

# Table 1's printed erratum: the second-to-last depthwise row.
TABLE_1_ERRATUM = ("Table 1 prints 'Conv dw / s2' at 7 × 7 × 1024, but the next row's input is still "
                   "7 × 7 × 1024; s2 would give 4 × 4 × 1024. The built-in spec uses s1 "
                   "(tensorflow/models issue 1997).")


def printed_unit(printed: str) -> float:
    """One unit of the last printed digit: "4.2" → 0.1, "569" → 1."""
    return 10.0 ** -len(printed.partition(".")[2])


def within_printed(computed: float, printed: str, unit: float | None = None) -> bool:
    """``computed`` agrees with ``printed`` to its last printed digit (rounded or truncated)."""
    return abs(computed - float(printed)) < (unit or printed_unit(printed))
