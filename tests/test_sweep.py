"""archprof sweep: ranges, exact counts at sweep speed (against the per-configuration path), the front, the CLI."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

import archprof
from archprof.errors import ConfigError
from archprof.grid import pareto_front
from archprof.predict import Prediction
from archprof.sweep import (
    count_grid,
    front_2d,
    pareto,
    parse_count,
    parse_range,
    plan_for,
    run_sweep,
)

# -- ranges -------------------------------------------------------------------------------


def test_alpha_range_includes_both_ends_exactly():
    alphas = parse_range("0.25:1.4:0.05", float, "--alpha")
    assert len(alphas) == 24  # (1.4 − 0.25) / 0.05 = 23 steps, 24 values
    assert alphas[0] == 0.25 and alphas[-1] == 1.4  # exactly 1.4, not 1.4000000000000001
    assert alphas[3] == 0.4  # 0.25 + 3 × 0.05, decimal arithmetic
    assert parse_range("96:256:16", int, "--resolution") == tuple(range(96, 257, 16))  # 11 values
    assert parse_range("1, 0.75,0.5", float, "--alpha") == (1.0, 0.75, 0.5)
    assert parse_range("160", int, "--resolution") == (160,)


@pytest.mark.parametrize(
    "text, kind, words",
    [
        ("0.25:1.4:0", float, "STEP must be greater than 0"),
        ("0.25:1.4:-0.05", float, "STEP must be greater than 0"),
        ("1.4:0.25:0.05", float, "START must be at most STOP"),
        ("0.25:1.4:0.03", float, "not a whole number of STEPs"),
        ("nan:1:0.1", float, "finite numbers"),
        ("0.25:inf:0.1", float, "finite numbers"),
        ("96:256:1.5", int, "whole numbers"),
        ("96:256", int, "START:STOP:STEP"),
        ("a:b:c", float, "finite numbers"),
        ("1:2000001:1", int, "at most 1,000,000"),
    ],
)
def test_bad_ranges_are_one_clear_error(text, kind, words):
    with pytest.raises(ConfigError, match=words):
        parse_range(text, kind, "--alpha")


def test_budget_counts_take_si_suffixes():
    assert parse_count("300M", "b") == 300_000_000
    assert parse_count("1.5G", "b") == 1_500_000_000
    assert parse_count("41,030,272", "b") == 41_030_272
    assert parse_count("2k", "b") == 2_000
    assert parse_count("1e24", "b") == 10**24
    # 1e999999999 overflowed Decimal (a traceback); 1e999999 would have taken minutes in int()
    for bad in ("3X", "", "-1M", "M", "1e999999999", "1e999999", "1.0000001e24", "nan", "inf"):
        with pytest.raises(ConfigError, match="300M"):
            parse_count(bad, "--budget-mult-adds")


@pytest.mark.parametrize("text", ["0.25:1e999999999:0.05", "0.25:1.4:1e-999999999", "1e13", "1e-13:1:1"])
def test_range_ends_are_bounded_before_any_arithmetic(text):
    # these overflowed decimal's context in STOP − START or its division by STEP: a traceback
    with pytest.raises(ConfigError, match="at most 10\\^12"):
        parse_range(text, float, "--alpha")


def test_too_large_a_grid_is_refused():
    with pytest.raises(ConfigError, match="1,001,000 configurations"):
        run_sweep("mobilenet_v1", parse_range("0.001:1:0.001", float, "a"), tuple(range(1, 1002)))


# -- exactness: the fast path against the per-configuration path -----------------------------

SPECS = [
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet50",
    "googlenet",
    "squeezenet1_0",
    "vgg16",
    "alexnet",
    "mobilenet_v1:standard",
]


@pytest.mark.parametrize("ref", SPECS)
def test_random_swept_configurations_equal_full_counting(ref):
    # A grid with odd widths and sizes (small ones that collapse, too); 50 of its configurations, drawn at
    # random, counted again by archprof.profile one by one: every column equal to the unit.
    rng = random.Random(f"sweep-{ref}")
    alphas = sorted({round(rng.uniform(0.05, 1.6), 3) for _ in range(12)} | {1.0, 0.5})
    resolutions = sorted({rng.randint(4, 320) for _ in range(12)} | {224})
    sweep = run_sweep(ref, alphas, resolutions)
    rows = {(r.alpha, r.resolution): r for r in sweep.frame.itertuples()}
    grid = [(a, r) for a in alphas for r in resolutions]
    sample = rng.sample(grid, 50)
    fitted = 0
    for a, r in sample:
        try:
            p = archprof.profile(ref, alpha=a, resolution=r, latency=False)
        except ConfigError:
            assert (a, r) not in rows, f"{ref} α={a} r={r} does not fit but was swept"
            continue
        fitted += 1
        t, row = p.totals, rows[(a, r)]
        got = (row.params, row.paper_params, row.mult_adds, row.peak_activation_bytes)
        assert got == (t["params"], t["paper_params"], t["mult_adds"], t["peak_activation_bytes"]), (
            ref,
            a,
            r,
        )
    assert fitted >= 5  # the sample is not all skipped configurations (AlexNet skips most α: odd channels)
    assert len(sweep.frame) + sum(sweep.skipped.values()) == len(grid)
    assert sweep.exact_path == 0  # the built-ins never need the per-configuration path on these grids


def test_reference_counts_to_the_unit():
    f = run_sweep("mobilenet_v1", (1.0, 0.75, 0.5, 0.25), (224, 192, 160, 128)).frame.set_index(
        ["alpha", "resolution"]
    )
    # REFERENCE.md
    assert f.loc[(1.0, 224), "mult_adds"] == 568_740_352
    assert f.loc[(1.0, 128), "mult_adds"] == 186_400_768
    assert f.loc[(0.75, 224), "mult_adds"] == 325_400_448
    assert f.loc[(0.25, 224), "mult_adds"] == 41_030_272
    assert f.loc[(0.5, 160), "mult_adds"] == 76_524_800
    assert f.loc[(1.0, 160), "params"] == 4_231_976 and f.loc[(1.0, 160), "paper_params"] == 4_209_088
    assert f.loc[(0.25, 128), "params"] == 470_072


def test_peak_activation_bytes_by_hand():
    # 0.25 MobileNet-96: conv1 3 × 3 × 3 × 8 /2 → 8 × 48 × 48; dw1 keeps it; pw1 → 16 × 48 × 48. The largest
    # live set is pw1's input and output: (8 + 16) × 48 × 48 = 55,296 floats = 221,184 bytes.
    f = run_sweep("mobilenet_v1", (0.25,), (96,)).frame
    assert f["peak_activation_bytes"].iloc[0] == (8 + 16) * 48 * 48 * 4 == 221_184
    assert (
        run_sweep("mobilenet_v1", (0.25,), (96,), dtype="float16").frame["peak_activation_bytes"].iloc[0]
        == (8 + 16) * 48 * 48 * 2
    )


def test_counts_beyond_int64_stay_exact():
    # VGG16 at α = 100 and 100,000 pixels: conv2's 3 × 3 × 6,400 × 6,400 weights at 100,000² outputs are
    # 3.7e18 mult-adds, and all rows 3.1e19, more than int64 holds (9.2e18). The sweep must count them as
    # Python ints, not wrap (and so must the per-configuration path's totals).
    f = run_sweep("vgg16", (100.0, 1.0), (100_000, 224)).frame.set_index(["alpha", "resolution"])
    exact = archprof.profile("vgg16", alpha=100.0, resolution=100_000).totals
    big = f.loc[(100.0, 100_000)]
    assert big["mult_adds"] == exact["mult_adds"] > 2**63
    assert big["params"] == exact["params"]
    assert big["peak_activation_bytes"] == exact["peak_activation_bytes"]
    assert f.loc[(1.0, 224), "mult_adds"] == 15_470_264_320  # REFERENCE.md, in the same sweep


RESIDUAL = """\
# Res
- input: 8 × 8 × 16
- classes: 10
- conv: batch norm, relu, no bias
- fc: bias, relu

| Type / Stride   | Filter Shape                 |
|-----------------|------------------------------|
| Residual / s1   | [3 × 3, 16; 3 × 3, 16] × 2   |
| Bottleneck / s1 | t 6, c 16, n 2               |
| Avg Pool / s1   | Pool 8 × 8                   |
| FC / s1         | 16 × 10                      |
"""


def test_shortcuts_that_change_structure_use_the_exact_path(tmp_path):
    # The network's 16 input channels do not scale: at α ≠ 1 the first residual unit's identity shortcut
    # no longer matches (ResNet projects it, MobileNetV2 drops the add). The plan cannot express that; those
    # α go through the per-configuration path, say so, and still agree with it.
    path = tmp_path / "res.md"
    path.write_text(RESIDUAL, encoding="utf-8")
    alphas, resolutions = (1.0, 0.5, 1.5), (8, 16, 4)
    sweep = run_sweep(str(path), alphas, resolutions)
    assert sweep.exact_path == 6  # α 0.5 and 1.5, three resolutions each
    assert "per-configuration path" in sweep.notes[0] and "0.5, 1.5" in sweep.notes[0]
    assert list(zip(sweep.frame["alpha"], sweep.frame["resolution"])) == [
        (a, r) for a in alphas for r in resolutions
    ]  # the grid's order, though counted in two passes
    assert sweep.frame["mult_adds"].dtype == np.int64  # both paths' counts, one column type
    for row in sweep.frame.itertuples():
        t = archprof.profile(str(path), alpha=row.alpha, resolution=row.resolution).totals
        assert (row.params, row.mult_adds, row.peak_activation_bytes) == (
            t["params"],
            t["mult_adds"],
            t["peak_activation_bytes"],
        )


def test_collapsing_configurations_are_skipped_and_counted():
    # SqueezeNet 1.0's conv1 is 7 × 7 /2 unpadded, then three 3 × 3 /2 max pools: below 32 pixels a map
    # collapses. 8, 16, 24 (×2 α) are skipped; 32 … 64 fit.
    sweep = run_sweep("squeezenet1_0", (1.0, 0.5), tuple(range(8, 65, 8)))
    assert sweep.skipped == {"collapse": 6}
    assert sorted(set(sweep.frame["resolution"])) == [32, 40, 48, 56, 64]
    with pytest.raises(ConfigError, match="collapses"):
        archprof.profile("squeezenet1_0", resolution=24)
    assert sweep.skipped_lines() == [
        "skipped 6 configurations whose feature maps collapse (a row's output would be smaller than 1 × 1)"
    ]


def test_widths_that_break_a_grouped_conv_are_skipped():
    # AlexNet's two towers (groups = 2) need even channels: int(96 × 0.3) = 28 is even but int(256 × 0.3) = 76
    # … α = 0.35 gives int(96 × 0.35) = 33, odd: skipped at every resolution.
    sweep = run_sweep("alexnet", (1.0, 0.35), (227, 255))
    assert sweep.skipped == {"channels": 2}
    assert set(sweep.frame["alpha"]) == {1.0}


def test_plan_is_compiled_once_per_spec():
    assert plan_for("mobilenet_v1") is plan_for("mobilenet_v1")
    plan = plan_for("mobilenet_v1")
    assert len(plan.steps) == 30  # Table 1's 30 rows with a cost or a shape (with the pool and softmax)
    counted = count_grid(plan, (1.0,), (224,))
    assert counted.mult_adds.tolist() == [568_740_352]


# -- the front ----------------------------------------------------------------------------------


def test_front_2d_is_grid_pareto_front_of_cost_against_params():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        cost = rng.integers(0, 8, n).astype(float)  # small ranges: many ties
        params = rng.integers(0, 8, n).astype(float)
        cost[rng.random(n) < 0.1] = np.nan
        expected = pareto_front(
            cost.tolist(), (-params).tolist()
        )  # the accuracy side: fewer params is better
        assert front_2d(cost, params).tolist() == expected


def test_front_compares_only_what_is_known():
    nan = math.nan
    # costs 1, 2, 3, 4; params 1, 1, 1, 5; top-1 unknown, 60, 59, unknown.
    # The unreported #0 and #3 are compared with each other (cost and params): #0 beats #3.
    # The reported #1 and #2 with each other (cost, params, top-1): #1 beats #2 (cheaper, as small, more accurate).
    # #0 does not beat #1 although it is cheaper: its top-1 is not known.
    on = pareto(np.array([1.0, 2, 3, 4]), np.array([1.0, 1, 1, 5]), np.array([nan, 60, 59, nan]))
    assert on.tolist() == [True, True, False, False]


def test_mobilenet_front_on_its_own_grid():
    f = run_sweep("mobilenet_v1").frame  # the header's 4 α × 4 resolutions; 8 of them with a reported top-1
    assert len(f) == 16 and f["reported_top1"].notna().sum() == 8
    on = set(zip(f.loc[f["pareto"], "alpha"], f.loc[f["pareto"], "resolution"]))
    # every reported one trades mult-adds, params and top-1 against the others (Tables 6-7); of the rest,
    # the smallest, 0.25 MobileNet-128, beats every other unreported configuration
    reported = set(
        zip(f.loc[f["reported_top1"].notna(), "alpha"], f.loc[f["reported_top1"].notna(), "resolution"])
    )
    assert on == reported | {(0.25, 128)}
    assert f.set_index(["alpha", "resolution"]).loc[(0.5, 160), "reported_top1"] == 60.2


def test_budget_filters_and_says_how_many():
    sweep = run_sweep(
        "mobilenet_v1",
        parse_range("0.25:1.4:0.05", float, "a"),
        parse_range("96:256:16", int, "r"),
        budget_mult_adds=300_000_000,
    )
    assert (sweep.frame["mult_adds"] <= 300_000_000).all()
    assert len(sweep.frame) + sweep.over_budget == 24 * 11
    assert sweep.over_budget > 0 and 290_675_200 in set(sweep.frame["mult_adds"])  # 1.0-160 (REFERENCE.md)


class _Fake:
    """A stand-in predictor: 1 ms per 100 M mult-adds (the LUT work will plug in the same way)."""

    name = "fake"

    def predict(self, spec):
        t = archprof.profile(spec).totals
        return Prediction(t["mult_adds"] / 1e8, {}, "fake table")


def test_a_predictor_plugs_in():
    sweep = run_sweep("mobilenet_v1", (1.0, 0.5), (224, 160), budget_ms=3.0, predictor=_Fake())
    f = sweep.frame
    assert sweep.cost == "latency_ms" and sweep.latency_source == "fake table"
    assert f["latency_ms"].tolist() == pytest.approx([m / 1e8 for m in f["mult_adds"]])
    # 1.0-224 is 5.69 ms, over; 1.0-160 2.91, 0.5-224 1.49, 0.5-160 0.77 are kept
    assert (f["latency_ms"] <= 3.0).all() and sweep.over_budget == 1


# -- the command line ------------------------------------------------------------------------


def test_cli_table_csv_json(run, tmp_path):
    code, out, err = run("sweep", "mobilenet_v1", "--alpha", "0.25:1.4:0.05", "--resolution", "96:256:16")
    assert code == 0 and "264 configurations; shown: 9" in out and "568.7 M" in out
    code, out, err = run(
        "sweep", "mobilenet_v1", "--alpha", "1,0.5", "--resolution", "224", "--format", "csv"
    )
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("model,variant,alpha,resolution,params,paper_params,mult_adds,")
    assert lines[1] == "mobilenet_v1,base,1.0,224,4231976,4209088,568740352,4816896,70.6,,,True"
    # peak 4,816,896 = (32 + 64) × 112 × 112 × 4 bytes... pw1's input and output: 1,204,224 floats
    assert 4_816_896 == (32 + 64) * 112 * 112 * 4
    code, out, err = run(
        "sweep", "squeezenet1_0", "--resolution", "8:64:8", "--alpha", "1", "--format", "json"
    )
    doc = json.loads(out)
    assert code == 0 and doc["skipped"] == {"collapse": 3} and doc["grid"]["configurations"] == 8
    assert doc["configurations"][0]["latency_ms"] is None and doc["configurations"][0]["resolution"] == 32
    assert "skipped 3 configurations whose feature maps collapse" in err


def test_cli_writes_html_and_output(run, tmp_path):
    page, table = tmp_path / "s.html", tmp_path / "s.txt"
    code, out, _err = run("sweep", "mobilenet_v2", "--html", str(page), "--output", str(table))
    assert code == 0 and out == ""
    text = page.read_text(encoding="utf-8")
    assert text.count('class="plotly-graph-div"') == 2 and "sweep mobilenet_v2" in table.read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["--latency", "predicted"], "archprof lut build"),
        (["--budget-ms", "10"], "archprof lut build"),
        (["--budget-ms", "-1"], "greater than 0"),
        (["--alpha", "0.25:1.4:0"], "STEP must be greater than 0"),
        (["--alpha", "0:1:0.5"], "greater than 0"),
        (["--resolution", "0:10:5"], "from 1 to"),
        (["--budget-mult-adds", "lots"], "300M"),
    ],
)
def test_cli_errors_are_one_line_and_write_nothing(run, tmp_path, args, words):
    target = tmp_path / "out.csv"
    code, _out, err = run("sweep", "mobilenet_v1", *args, "--output", str(target), "--format", "csv")
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not target.exists()


def test_cli_refuses_model_files(run):
    code, _out, err = run("sweep", "tests/models/basic.py:Net")
    assert code == 2 and "model file" in err
