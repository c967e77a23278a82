"""archprof compare: grids, the summary, the HTML report, CSV/JSON export, safe writing."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from archprof import outputs
from archprof.report import html

SPECS = Path(__file__).parent / "specs"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_grids_summary_and_report(run, in_tmp):
    code, out, err = run("compare", "mobilenet_v1", "vgg16", "--no-latency")
    assert code == 0, err
    report = in_tmp / "reports" / "mobilenet_v1_vs_vgg16.html"
    assert report.is_file() and "wrote reports/mobilenet_v1_vs_vgg16.html" in out
    # 16 MobileNet configurations (α × resolution defaults) + VGG16 at 224
    for label in ("1.0 MobileNetV1-224", "0.25 MobileNetV1-128", "1.0 VGG16-224"):
        assert label in out
    # VGG16 vs 1.0 MobileNet-224: 15,470,264,320 / 568,740,352 = 27.2× mult-adds; params 138,357,544 / 4,231,976 = 32.7×
    assert "27.2" in out and "32.7" in out
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and html.unpack_plotly(page) == html.plotly_js()  # embedded
    outside = page.replace(html.plotly_js_packed(), "")
    assert "src=\"http" not in outside and "cdn.plot.ly" not in outside  # nothing fetched
    assert "multiply-accumulates of conv and FC layers" in page  # conventions stated
    assert "Validation" in page and "Table 6" in page
    assert (
        "Top-1 (reported) against mult-adds" in page and "Howard et al." in page
    )  # the source, from the header
    # trade-off, per layer, 2 MobileNet heatmaps (VGG16 has one configuration), by kind
    assert set(html.figure_ids(page)) == {
        "fig-tradeoff-mult-adds",
        "fig-layers",
        "fig-grid-0-mult_adds",
        "fig-grid-0-paper_params",
        "fig-kinds",
    }


def test_standard_variant_gives_table_4(run, in_tmp):
    _code, _out, _ = run(
        "compare",
        "mobilenet_v1:standard",
        "mobilenet_v1",
        "--alpha",
        "1",
        "--resolution",
        "224",
        "--no-latency",
        "--json",
        "t4.json",
    )
    data = json.loads((in_tmp / "t4.json").read_text())
    first, second = data["configurations"]
    assert first["ref"] == "mobilenet_v1:standard" and first["mult_adds"] == 4_867_293_184
    # Table 4: MobileNet 569 M vs Conv MobileNet 4866 M: 568,740,352 / 4,867,293,184 = 0.1168
    assert second["mult_adds_ratio"] == pytest.approx(568_740_352 / 4_867_293_184)
    assert second["params_ratio"] == pytest.approx(4_231_976 / 29_294_088)
    assert first["reported_top1"] == 71.7 and second["reported_top1"] == 70.6


def test_csv_and_json_export(run, in_tmp):
    code, _out, _ = run(
        "compare",
        "mobilenet_v1",
        "--alpha",
        "1,0.5",
        "--rho",
        "1,0.714",
        "--no-latency",
        "--csv",
        "out/grid.csv",
        "--json",
        "out/grid.json",
        "--html",
        "out/grid.html",
    )
    assert code == 0
    frame = pd.read_csv(in_tmp / "out" / "grid.csv")
    layers, totals = frame[frame["row"] == "layer"], frame[frame["row"] == "total"]
    assert len(totals) == 4 and len(layers) == 4 * 30
    assert sorted(set(totals["resolution"])) == [160, 224]
    for col in (
        "model",
        "variant",
        "alpha",
        "resolution",
        "params",
        "paper_params",
        "mult_adds",
        "weight_bytes",
        "activation_bytes",
        "peak_activation_bytes",
        "latency_ms",
    ):
        assert col in frame.columns, col
    for _, t in totals.iterrows():
        mine = layers[(layers["alpha"] == t["alpha"]) & (layers["resolution"] == t["resolution"])]
        assert mine["mult_adds"].sum() == t["mult_adds"] and mine["params"].sum() == t["params"]
    t = totals[(totals["alpha"] == 0.5) & (totals["resolution"] == 160)].iloc[0]
    assert abs(t["mult_adds"] / 1e6 - 76) < 1  # Table 9 prints 76 M for 0.50 MobileNet-160 (76.52 M here)
    data = json.loads((in_tmp / "out" / "grid.json").read_text())
    assert len(data["configurations"]) == 4 and len(data["layers"]) == 120
    assert data["validation"]["passed"] is True


def test_spec_text_is_escaped_in_html(run, in_tmp):
    code, out, err = run("compare", str(SPECS / "xss.md"), "--no-latency", "--html", "x.html")
    assert code == 0, err
    page = (in_tmp / "x.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "alert(1)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "<script>alert(1)</script>" in out  # the terminal shows the name as text too


def test_unwritable_report_path_is_refused_before_any_work(run, in_tmp):
    (in_tmp / "blocker").write_text("a file, not a folder")
    code, out, err = run("compare", "mobilenet_v1", "--html", "blocker/report.html")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "cannot write" in err


def test_failed_write_leaves_nothing(in_tmp, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(outputs.OutputError, match="No space left"):
        outputs.write_atomic(in_tmp / "r.html", "x" * 1000)
    assert list(in_tmp.iterdir()) == []


def test_interrupted_run_writes_no_report(run, in_tmp, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(html, "render", interrupted)
    code, _out, err = run("compare", "mobilenet_v1", "--no-latency", "--csv", "c.csv")
    assert code == 130 and "interrupted" in err
    assert not (in_tmp / "reports").exists() or not list((in_tmp / "reports").iterdir())
    assert not (in_tmp / "c.csv").exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--alpha", "1,x"], "--alpha must be a comma-separated list of numbers"),
        (["--resolution", "224,0"], "resolution must be a whole number of pixels"),
        (["--max-rounds", "1"], "--max-rounds: must be a whole number at least 3 and at most 1,000, got 1"),
    ],
)
def test_bad_grids(run, in_tmp, argv, words):
    code, _out, err = run("compare", "mobilenet_v1", "--no-latency", *argv)
    assert code == 2 and words in err and len(err.splitlines()) == 1


def test_measured_comparison(run, in_tmp):
    code, _out, err = run(
        "compare",
        "mobilenet_v1",
        "--alpha",
        "0.25",
        "--resolution",
        "64,32",
        "--max-rounds",
        "3",
        "--json",
        "m.json",
        "--html",
        "m.html",
    )
    assert code == 0, err
    data = json.loads((in_tmp / "m.json").read_text())
    configs = data["configurations"]
    assert all(c["latency_ms"] > 0 and c["latency_samples"] >= 3 for c in configs)
    assert configs[1]["latency_ms_ratio"] == pytest.approx(
        configs[1]["latency_ms"] / configs[0]["latency_ms"]
    )
    assert all(l["latency_ms"] is not None for l in data["layers"])
    assert data["environment"]["threads"] == 1 and data["roofline"]["peak_gflops"] > 0
    page = (in_tmp / "m.html").read_text(encoding="utf-8")
    assert "Roofline" in page and "Latency against mult-adds" in page
    assert {"fig-latency", "fig-roofline"} <= set(html.figure_ids(page))  # no top-1 reported at 64 or 32 px
