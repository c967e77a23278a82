"""Exact counts against REFERENCE.md and the paper's Tables 2–9, from the spec alone (no torch)."""

import math

import pytest

from archprof import costs
from archprof.catalog import load
from archprof.registry import REGISTRY
from archprof.spec import Layer, Options
from archprof.transforms import configure, keras_round


def totals(ref, alpha=1.0, resolution=None):
    name, _, variant = ref.partition(":")
    spec = configure(load(name), variant or "base", alpha, resolution)
    return costs.totals(costs.count(spec))


# REFERENCE.md, "Exact counts": (ref, α, resolution, mult_adds, params, paper_params or None)
EXACT = [
    ("mobilenet_v1", 1.0, 224, 568_740_352, 4_231_976, 4_209_088),
    ("mobilenet_v1", 1.0, 192, 418_121_728, 4_231_976, 4_209_088),
    ("mobilenet_v1", 1.0, 160, 290_675_200, 4_231_976, 4_209_088),
    ("mobilenet_v1", 1.0, 128, 186_400_768, 4_231_976, 4_209_088),
    ("mobilenet_v1", 0.75, 224, 325_400_448, 2_585_560, 2_568_144),
    ("mobilenet_v1", 0.5, 224, 149_497_088, 1_331_592, 1_319_648),
    ("mobilenet_v1", 0.25, 224, 41_030_272, 470_072, 463_600),
    ("mobilenet_v1:standard", 1.0, 224, 4_867_293_184, 29_294_088, None),
    ("mobilenet_v1_shallow", 1.0, 224, 307_323_392, 2_887_976, None),
    ("vgg16", 1.0, 224, 15_470_264_320, 138_357_544, None),
]


@pytest.mark.parametrize("ref, alpha, resolution, mult_adds, params, paper_params", EXACT)
def test_reference_exact_counts(ref, alpha, resolution, mult_adds, params, paper_params):
    t = totals(ref, alpha, resolution)
    assert t["mult_adds"] == mult_adds
    assert t["params"] == params
    if paper_params is not None:
        assert t["paper_params"] == paper_params


def test_mobilenet_params_by_hand():
    # conv+FC weights 4,209,088; BN γ/β on 10,944 conv output channels: 2·10,944 = 21,888;
    # FC bias 1,000. 4,209,088 + 21,888 + 1,000 = 4,231,976.
    t = totals("mobilenet_v1")
    assert t["params"] - t["paper_params"] == 2 * 10_944 + 1_000
    # weight bytes: (params + BN running mean/var 21,888) · 4 B + 27 BN layers · 8 B (int64 counter)
    assert t["weight_bytes"] == (4_231_976 + 21_888) * 4 + 27 * 8


def test_mobilenet_memory_by_hand():
    t = totals("mobilenet_v1")
    # The largest input + output pair: pw3, 112·112·32 in and 112·112·64 out, float32.
    assert t["peak_activation_bytes"] == (112 * 112 * 32 + 112 * 112 * 64) * 4 == 4_816_896
    layers = costs.count(configure(load("mobilenet_v1")))
    assert layers.loc[0, "activation_bytes"] == 112 * 112 * 32 * 4
    assert layers["activation_bytes"].iloc[-1] == 1000 * 4  # softmax output


def test_dtype_and_batch_scale_bytes():
    spec = load("mobilenet_v1")
    f32 = costs.totals(costs.count(spec))
    f16 = costs.totals(costs.count(spec, dtype="float16", batch=8))
    assert f16["activation_bytes"] == f32["activation_bytes"] // 2 * 8
    assert f16["peak_activation_bytes"] == f32["peak_activation_bytes"] // 2 * 8
    # float buffers halve, BN's int64 counters (27 × 8 B) do not
    assert f16["weight_bytes"] == (f32["weight_bytes"] - 27 * 8) // 2 + 27 * 8


def within_printed(computed: float, printed: str) -> bool:
    """``computed`` matches ``printed`` to its last printed digit (rounded or truncated, as the paper does both)."""
    decimals = len(printed.partition(".")[2])
    unit = 10.0**-decimals
    return abs(computed - float(printed)) < unit


def millions(n):
    return n / 1e6


# The paper's Tables 4–9: (ref, α, resolution, printed mult-adds M, printed paper params M)
PAPER = [
    ("mobilenet_v1", 1.0, 224, "569", "4.2"),  # Tables 4, 6, 7, 8
    ("mobilenet_v1", 0.75, 224, "325", "2.6"),  # Tables 5, 6
    ("mobilenet_v1_shallow", 1.0, 224, "307", "2.9"),  # Table 5
    ("mobilenet_v1", 0.5, 224, "149", "1.3"),  # Table 6
    ("mobilenet_v1", 0.25, 224, "41", "0.5"),  # Table 6
    ("mobilenet_v1", 1.0, 192, "418", "4.2"),  # Table 7
    ("mobilenet_v1", 1.0, 160, "290", "4.2"),  # Table 7 (290.7, truncated)
    ("mobilenet_v1", 1.0, 128, "186", "4.2"),  # Table 7
    ("mobilenet_v1", 0.5, 160, "76", "1.32"),  # Table 9
    ("mobilenet_v1:standard", 1.0, 224, None, "29.3"),  # Table 4 (mult-adds: see below)
    ("vgg16", 1.0, 224, None, "138"),  # Table 8 (mult-adds: see below)
]


@pytest.mark.parametrize("ref, alpha, resolution, mult_adds, params", PAPER)
def test_paper_tables_4_to_9(ref, alpha, resolution, mult_adds, params):
    t = totals(ref, alpha, resolution)
    if mult_adds is not None:
        assert within_printed(millions(t["mult_adds"]), mult_adds)
    assert within_printed(millions(t["paper_params"]), params)


@pytest.mark.parametrize("ref, printed", [("mobilenet_v1:standard", "4866"), ("vgg16", "15300")])
def test_paper_prints_conv_only_mult_adds_for_table_4_and_8(ref, printed):
    # Table 4 prints 4866 M for Conv MobileNet, we count 4867.3 M; Table 8 prints 15300 M for
    # VGG16, we count 15470.3 M. Both printed numbers are the conv layers alone (FC left out):
    # 4867.3 − 1.0 (FC 1024·1000) = 4866.3; 15470.3 − 123.6 (FCs) = 15346.6 ≈ 15300 at 3 digits.
    name, _, variant = ref.partition(":")
    layers = costs.count(configure(load(name), variant or "base"))
    total = layers["mult_adds"].sum()
    conv_only = layers.loc[layers["kind"] != "fc", "mult_adds"].sum()
    assert not within_printed(millions(total), printed)
    sig = 3 if printed == "15300" else 4
    assert float(f"{millions(conv_only):.{sig}g}") == float(printed)


def test_paper_table_2_share_by_type():
    layers = costs.count(load("mobilenet_v1"))
    by = layers.groupby("group")[["mult_adds", "paper_params"]].sum()
    share = by / by.sum() * 100
    # printed: Conv 1×1 94.86 / 74.59, Conv DW 3×3 3.06 / 1.06, Conv 3×3 1.19 / 0.02, FC 0.18 / 24.33
    for group, ma, pp in [
        ("Conv 1×1", "94.86", "74.59"),
        ("Conv DW 3×3", "3.06", "1.06"),
        ("Conv 3×3", None, "0.02"),
        ("FC", "0.18", "24.33"),
    ]:
        if ma is not None:
            assert round(share.loc[group, "mult_adds"], 2) == float(ma)
        assert round(share.loc[group, "paper_params"], 2) == float(pp)
    # Paper erratum: Conv 3×3 is printed 1.19 %, it computes to 1.91 % (10,838,016 / 568,740,352).
    assert round(share.loc["Conv 3×3", "mult_adds"], 2) == 1.91
    # conv1: 3·3·3·32 weights × 112·112 outputs = 10,838,016 of the 568,740,352 mult-adds
    assert share.loc["Conv 3×3", "mult_adds"] == pytest.approx(10_838_016 / 568_740_352 * 100)


def _one_layer_costs(kind, layer, shape):
    k = REGISTRY[kind]
    out = k.infer(layer, shape)
    return k.cost(layer, shape, out)


@pytest.mark.parametrize(
    "alpha, side, printed_ma, printed_params",
    [(1.0, 14, "52.3", "0.27"), (0.75, 14, "29.6", "0.15"), (0.75, 10, "15.1", "0.15")],
)
def test_paper_table_3_separable_layer(alpha, side, printed_ma, printed_params):
    # Table 3: one 14×14×512 → 512 layer; α scales both channel counts, ρ = 0.714 gives 10×10.
    c = keras_round(512, alpha)
    opts = Options(bias=False, batch_norm=False, activation=None)
    dw = _one_layer_costs("conv_dw", Layer("conv_dw", kernel=(3, 3), options=opts), (c, side, side))
    pw = _one_layer_costs("conv", Layer("conv", kernel=(1, 1), out_channels=c, options=opts), (c, side, side))
    assert within_printed(millions(dw.mult_adds + pw.mult_adds), printed_ma)
    assert within_printed(millions(dw.paper_params + pw.paper_params), printed_params)
    assert round(224 * 0.714) == 160 and round(14 * 0.714) == 10


def test_paper_table_3_standard_layer():
    # 3·3·512·512 = 2,359,296 weights; × 14·14 = 462,422,016 mult-adds (printed 462 / 2.36)
    opts = Options(bias=False, batch_norm=False, activation=None)
    cost = _one_layer_costs(
        "conv", Layer("conv", kernel=(3, 3), out_channels=512, options=opts), (512, 14, 14)
    )
    assert cost.paper_params == 2_359_296
    assert cost.mult_adds == 462_422_016
    assert within_printed(millions(cost.mult_adds), "462") and within_printed(
        millions(cost.paper_params), "2.36"
    )


def test_separable_cuts_mult_adds_8_to_9_times():
    # Section 3.1: 3×3 depthwise separable convolutions use 8 to 9 times less computation.
    ratio = totals("mobilenet_v1:standard")["mult_adds"] / totals("mobilenet_v1")["mult_adds"]
    assert 8 < ratio < 9  # 4,867,293,184 / 568,740,352 = 8.558


def test_mobilenet_vs_vgg16_32x_smaller_27x_cheaper():
    mob, vgg = totals("mobilenet_v1"), totals("vgg16")
    assert math.floor(vgg["paper_params"] / mob["paper_params"]) == 32  # 138.3 / 4.21 = 32.9: "32× smaller"
    assert math.floor(vgg["mult_adds"] / mob["mult_adds"]) == 27  # 15,470 / 569 = 27.2: "27× less compute"
