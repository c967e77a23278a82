"""The HTML report, read as a file: its numbers against the results computed independently, its size,
its charts' data (heatmap orientation, trade-off points, roofline notes), its provenance and its chrome.

The browser test (test_browser.py) checks what a reader sees and does; here the page is parsed.
A fake measurement (deterministic times shaped like real ones) stands in for timing where only the
report's handling of measured data is under test, so these tests take seconds.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import archprof
from archprof import measure, units
from archprof.api import run_compare
from archprof.measure import Measured, Roof
from archprof.report import html as report

SPECS = Path(__file__).parent / "specs"
MAX_BYTES = 2_000_000  # issue 14: at most 2 MB, with 2 models × 16 configurations of data


# -- helpers -------------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table id=…> of a page as rows of (text, data-v) cells, header row first."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "id" in a:
            self._table = self.tables.setdefault(a["id"], [])
        elif self._table is not None and tag == "tr":
            self._table.append([])
        elif self._table is not None and tag in ("td", "th"):
            self._cell = ["", a.get("data-v")]

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append((self._cell[0], self._cell[1]))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def tables(page: str) -> dict:
    p = _Tables()
    p.feed(page)
    return p.tables


def as_dicts(table) -> list[dict[str, tuple[str, str | None]]]:
    head = [text for text, _ in table[0]]
    return [dict(zip(head, row)) for row in table[1:]]


def fake_grid(specs, opts, grid=None, advance=None, backend="torch"):
    """Times shaped like a real run: each row's time follows its mult-adds, with a spread; 30 samples."""
    from archprof import costs

    out = []
    for k, spec in enumerate(specs):
        rows = costs.count(spec)
        layer_ms = {}
        for r in rows.itertuples():
            base = 2 * r.mult_adds / 40e9 * 1e3 + 0.004  # 40 GFLOP/s and 4 µs of overhead per row
            layer_ms[r.path] = [base * (1 + 0.01 * (j % 5)) for j in range(12)]
        total = sum(v[0] for v in layer_ms.values())
        e2e = [total * (1 + 0.02 * (j % 7)) for j in range(30 + k % 3)]
        out.append(
            Measured(
                end_to_end_ms=e2e,
                hooked_end_to_end_ms=[t * 1.03 for t in e2e],
                layer_ms=layer_ms,
                passes=len(e2e),
                environment={**measure.environment(opts), "backend": backend},
            )
        )
    return out


ROOF = Roof(peak_gflops=50.0, bandwidth_gbs=10.0, matmul_gflops=50.0, conv1x1_gflops=45.0)


@pytest.fixture
def fake_measure(monkeypatch):
    monkeypatch.setattr(measure, "measure_grid", fake_grid)
    monkeypatch.setattr(measure, "roofline", lambda *a, **k: ROOF)


@pytest.fixture(scope="module")
def counted():
    """mobilenet_v1 (16 configurations) and vgg16, counted: the issue's example comparison."""
    result = run_compare(["mobilenet_v1", "vgg16"])
    return result, result.to_html(command="archprof compare mobilenet_v1 vgg16", generated="2026-01-01")


# -- numbers against the results ---------------------------------------------------------------------


def test_summary_table_holds_the_comparisons_numbers(counted):
    result, page = counted
    rows = as_dicts(tables(page)["summary-table"])
    configs = result.configs
    assert len(rows) == len(configs) == 17
    for row, c in zip(rows, configs.itertuples()):
        assert row["configuration"][0] == c.label
        assert int(row["mult-adds"][1]) == c.mult_adds and row["mult-adds"][0] == units.si(c.mult_adds)
        assert int(row["params"][1]) == c.params and row["params"][0] == f"{c.params:,}"
        assert int(row["conv + FC weights"][1]) == c.paper_params
    first = rows[0]
    # 1.0 MobileNet-224: 568,740,352 mult-adds → "569 M"; 4,231,976 params with separators
    assert first["mult-adds"][0] == "569 M" and first["params"][0] == "4,231,976"
    vgg = rows[-1]
    assert vgg["mult-adds"][0] == "15.5 G"  # 15,470,264,320
    # the Pareto marks, against a dominance check done here: nothing reported is as cheap and as accurate
    reported = [c for c in configs.itertuples() if not units.missing(c.reported_top1)]
    for row, c in zip(rows, configs.itertuples()):
        dominated = any(
            o.mult_adds <= c.mult_adds
            and o.reported_top1 >= c.reported_top1
            and (o.mult_adds, o.reported_top1) != (c.mult_adds, c.reported_top1)
            for o in reported
        )
        on_front = not units.missing(c.reported_top1) and not dominated
        assert (row["Pareto: mult-adds"][0] != "") == on_front, c.label


def test_per_layer_data_matches_profile(counted):
    _result, page = counted
    data = report.page_data(page)["per_layer"]
    assert len(data["configs"]) == 17  # every configuration, not only 1.0-224
    i = next(k for k, c in enumerate(data["configs"]) if c["label"] == "0.5 MobileNetV1-160")
    p = archprof.profile("mobilenet_v1", alpha=0.5, resolution=160)  # the single-profile path, independently
    rows = data["configs"][i]["rows"]
    assert [r["p"] for r in rows] == list(p.layers["path"])
    cols = data["columns"]
    for r, l in zip(rows, p.layers.itertuples()):
        assert r["v"][:3] == [l.mult_adds, l.params, l.activation_bytes]
        cells = dict(zip(cols, [r["p"], r["k"], *r["c"]]))
        assert cells["params"] == f"{l.params:,}" and cells["mult-adds"] == units.si(l.mult_adds)
    # pw3 at α 0.5, 160 px: 1×1 conv 16 → 32 on 80 × 80: 80·80·16·32 = 3,276,800 mult-adds
    pw3 = dict(zip(cols, [rows[2]["p"], rows[2]["k"], *rows[2]["c"]]))
    assert rows[2]["v"][0] == 3_276_800 and pw3["mult-adds"] == "3.28 M"
    assert pw3["input → output (H × W × C)"] == "80 × 80 × 16 → 80 × 80 × 32"
    assert (pw3["kernel"], pw3["stride"], pw3["groups"]) == ("1 × 1", "1", "1")
    dw2 = dict(zip(cols, [rows[1]["p"], rows[1]["k"], *rows[1]["c"]]))
    assert dw2["groups"] == "16" and dw2["kernel"] == "3 × 3"
    # the static table is the default configuration's (1.0-224), from the same cells
    static = tables(page)["pl-table"]
    default = next(c for c in data["configs"] if c["label"] == "1.0 MobileNetV1-224")
    first = default["rows"][0]
    assert [text for text, _ in static[1]] == [first["p"], first["k"], *first["c"]]
    # raw values for sorting and CSV: conv1's params (3·3·3·32 weights + 2·32 BN = 928) and mult-adds
    by_name = dict(zip(cols, static[1]))
    assert by_name["params"] == ("928", "928") and by_name["mult-adds"] == ("10.8 M", "10838016")
    assert by_name["kernel"] == ("3 × 3", None)


def test_block_rows_nest_and_carry_subtotals():
    result = run_compare(["resnet18"], alphas=(1.0,), resolutions=(224,))
    data = report.page_data(result.to_html())["per_layer"]
    rows = data["configs"][0]["rows"]
    unit = next(r for r in rows if r["p"] == "conv2_x/unit1")
    under = [r for r in rows if r["p"].startswith("conv2_x/unit1/") and not r["b"]]
    assert unit["b"] == 1 and under and all(r["d"] > unit["d"] for r in under)
    assert unit["v"][0] == sum(r["v"][0] for r in under)  # a block's bar is its rows' subtotal
    assert {r["u"] for r in under} <= {r["p"] for r in rows if r["b"]}
    assert "u" not in rows[0]  # conv1 is at the top: no parent


# -- the page: size, order, offline, chrome ---------------------------------------------------------


def test_report_is_small_static_first_and_offline(fake_measure):
    # measured (fake times): the largest the example comparison gets, with every latency column and chart
    result = run_compare(["mobilenet_v1", "vgg16"], latency=True)
    page = result.to_html(command="archprof compare mobilenet_v1 vgg16")
    size = len(page.encode("utf-8"))
    assert size <= MAX_BYTES, f"{size:,} bytes"
    main_end = page.index("</main>")
    # plotly.js and the chart data come after every table and note, plotly.js as inert text
    assert page.index('<script type="application/json" id="report-data">') > main_end
    assert page.index(report.PLOTLY_TAG) > main_end
    assert "<script" not in page[:main_end]
    assert report.unpack_plotly(page) == report.plotly_js()  # the whole bundle, embedded (gzip, base64)
    outside = page.replace(report.plotly_js_packed(), "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", outside)  # nothing loads from a network
    assert "cdn.plot.ly" not in outside
    # every table can be downloaded as CSV from the page
    # summary, per layer, by kind (× 2 specs), validation
    assert page.count("<table ") == page.count('<button class="csv"') == len(tables(page)) == 5
    config = report.page_data(page)["plotly_config"]
    assert config["displaylogo"] is False and config["showLink"] is False and config["responsive"] is True
    assert "sendDataToCloud" in config["modeBarButtonsToRemove"]


def test_vendored_bundle_has_the_traces_used_and_its_licence():
    js = report.plotly_js()
    assert js.startswith("/**\n* plotly.js (cartesian - minified) v" + report.PLOTLY_JS_VERSION)
    for trace in ("scatter", "bar", "heatmap"):
        assert f'"{trace}"' in js
    assert "MIT License" in (report.HERE / "vendor" / "plotly-LICENSE.txt").read_text()
    # it sits inside a <script> element as base64: nothing there can end the element
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", report.plotly_js_packed())
    assert len(report.plotly_js_packed()) < 0.5 * len(js.encode("utf-8"))


def test_no_entities_or_unformatted_numbers_as_text(counted):
    _result, page = counted
    data = report.page_data(page)
    blob = str(data)
    assert "&quot;" not in blob and "&#" not in blob  # plotly would show these as written
    text = re.sub(r"<[^>]+>", " ", page[: page.index("</main>")])
    assert "0.0 M" not in text and "µs" not in text.replace(" µs", "")  # a space before every unit
    assert not re.search(r"\d(ms|µs|MiB|KiB|GiB)\b", text)


def test_heatmap_alpha_increases_upward_on_a_log_colour_scale(counted):
    result, page = counted
    figures = report.page_data(page)["figures"]
    grid = figures["fig-grid-0-mult_adds"]["data"][0]
    assert grid["type"] == "heatmap"
    # plotly draws a heatmap's first row at the bottom: α must go up from there
    assert grid["y"] == ["α = 0.25", "α = 0.5", "α = 0.75", "α = 1"]
    assert grid["x"] == ["128 px", "160 px", "192 px", "224 px"]
    configs = result.configs[result.configs["ref"] == "mobilenet_v1"].set_index(["alpha", "resolution"])
    for i, a in enumerate((0.25, 0.5, 0.75, 1.0)):
        for j, r in enumerate((128, 160, 192, 224)):
            ma = configs.loc[(a, r), "mult_adds"]
            assert grid["z"][i][j] == pytest.approx(math.log10(ma))  # log colour scale
            assert grid["text"][i][j] == units.si(ma)  # the value in the cell
    assert grid["text"][3][3] == "569 M" and grid["text"][0][0] == "13.6 M"  # 13,585,088 at 0.25-128


def test_tradeoff_chart_points_sources_and_front(counted):
    result, page = counted
    fig = report.page_data(page)["figures"]["fig-tradeoff-mult-adds"]
    points = [t for t in fig["data"] if t["name"] != "Pareto front"]
    front = next(t for t in fig["data"] if t["name"] == "Pareto front")
    reported = result.configs[result.configs["reported_top1"].notna()]
    xs = sorted(x for t in points for x in t["x"])
    assert xs == sorted(reported["mult_adds"])  # one point per reported configuration, of every model
    assert sum(len(t["x"]) for t in points) == 9  # 8 MobileNet (Table 6/7) + VGG16
    hover = " ".join(h for t in points for h in t["customdata"])
    assert "Howard et al." in hover and "Simonyan" in hover  # each source, from its spec's header
    on_front = reported[reported["pareto"]].sort_values("mult_adds")
    assert front["x"] == list(on_front["mult_adds"]) and front["line"]["shape"] == "hv"
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert "50.0 M" in fig["layout"]["xaxis"]["ticktext"]  # ticks from the report's formatter


def test_no_paper_is_hard_coded():
    result = run_compare(["vgg16"])
    page = result.to_html(command="archprof compare vgg16")
    # the validation section lists the claims made about VGG16 (the MobileNet paper's Table 8 compares it);
    # everything else on the page comes from the compared specs alone
    start = page.index('<section id="validation">')
    rest = page[:start] + page[page.index("</section>", start) :]
    for word in ("Howard", "1704.04861", "MobileNet", "Table 2", "Table 8"):
        assert word not in rest.replace(report.plotly_js_packed(), ""), word
    assert "Simonyan &amp; Zisserman" in page  # VGG16's own citation, from its header


def test_provenance_says_how_the_figures_were_made(fake_measure):
    result = run_compare(["mobilenet_v1"], alphas=(0.25,), resolutions=(128, 96), latency=True, threads=1)
    items = dict(report.provenance(result, "archprof compare mobilenet_v1 --alpha 0.25", "2026-01-01 10:00"))
    import torch

    assert items["archprof"] == archprof.__version__
    assert items["command"] == "archprof compare mobilenet_v1 --alpha 0.25"
    assert items["torch"] == torch.__version__ and items["threads used"] == "1"
    assert items["cores"] == str(__import__("os").cpu_count()) and items["CPU"] == measure.cpu_model()
    assert items["backend"] == "torch on cpu"
    n = result.configs["latency_samples"]
    assert f"{n.min()}–{n.max()}" in items["samples"] or f"{n.min()} end-to-end" in items["samples"]
    assert "multiply-accumulates" in items["counting conventions"]
    page = result.to_html(command="archprof compare mobilenet_v1 --alpha 0.25")
    assert "Howard et al., &quot;MobileNets" in page  # the citation as its spec's header gives it
    result.warnings = ["0.25 MobileNetV1-96: noisy timing: IQR is 12% of the median"]
    assert dict(report.provenance(result, "", ""))["measurement warnings"] == result.warnings[0]


def test_roofline_notes_every_point_above_the_roof(fake_measure):
    result = run_compare(["mobilenet_v1"], alphas=(1.0,), resolutions=(224,), latency=True)
    page = result.to_html()
    layers = result.layers
    above = layers[(layers["mult_adds"] > 0) & (layers["roofline_fraction"] > 1)]
    # the fake times run at 40 GFLOP/s: depthwise rows (≈ 2 FLOP/B × 10 GB/s = 20 GFLOP/s roof) beat it
    assert len(above) > 0
    notes = re.findall(r"<li>1\.0 MobileNetV1-224, ([^:]+): [^<]* of the roof — ([^<]*)</li>", page)
    assert sorted(p for p, _ in notes) == sorted(above["path"])
    fig = report.page_data(page)["figures"]["fig-roofline"]
    hovers = " ".join(h for t in fig["data"] if "customdata" in t for h in t["customdata"])
    assert hovers.count("above the roof:") == len(above)


@pytest.mark.parametrize(
    "row, words",
    [
        (dict(latency_ms=0.005, kernel=[3, 3], groups=1, arithmetic_intensity=100.0), "timing resolution"),
        (dict(latency_ms=2.0, kernel=[3, 3], groups=1, arithmetic_intensity=100.0), "Winograd"),
        (dict(latency_ms=2.0, kernel=[3, 3], groups=64, arithmetic_intensity=2.0), "cache"),
        (dict(latency_ms=2.0, kernel=[1, 1], groups=1, arithmetic_intensity=100.0), "lower bound"),
    ],
)
def test_above_roof_reasons(row, words):
    from types import SimpleNamespace

    r = SimpleNamespace(input_bytes=1000, weight_bytes=1000, activation_bytes=1000, **row)
    # roof: 50 GFLOP/s peak, 10 GB/s: compute-bound from 5 FLOP/B
    assert words in report.above_roof_reason(r, {"peak_gflops": 50.0, "bandwidth_gbs": 10.0})


def test_latency_whiskers_are_the_quartiles(fake_measure):
    result = run_compare(["mobilenet_v1"], alphas=(0.25,), resolutions=(128, 96), latency=True)
    fig = report.page_data(result.to_html())["figures"]["fig-latency"]
    trace = fig["data"][0]
    c = result.configs
    assert trace["y"] == list(c["latency_ms"])
    assert trace["error_y"]["array"] == pytest.approx(list(c["latency_q75_ms"] - c["latency_ms"]))
    assert trace["error_y"]["arrayminus"] == pytest.approx(list(c["latency_ms"] - c["latency_q25_ms"]))
    assert all(f"{n} samples" in h for n, h in zip(c["latency_samples"], trace["customdata"]))


# -- the formatter -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (568_740_352, "569 M"),
        (4_231_976, "4.23 M"),
        (15_470_264_320, "15.5 G"),
        (76_524_800, "76.5 M"),
        (999_600, "1.00 M"),  # not "1,000 k"
        (45_000, "45.0 k"),
        (928, "928"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_si(value, shown):
    assert units.si(value) == shown


@pytest.mark.parametrize(
    "ms, shown",
    [(17.234, "17.2 ms"), (0.412, "412 µs"), (0.000412, "412 ns"), (1234.0, "1.23 s"), (0.99996, "1.00 ms")],
)
def test_duration(ms, shown):
    assert units.duration(ms) == shown
    assert "µ" not in shown or "\u00b5" in shown  # the micro sign, not a Greek mu or "u"


def test_size_and_percent():
    assert units.size(12_845_056) == "12.3 MiB"  # 12,845,056 / 2^20 = 12.25: halves round up
    assert units.sig3(1.005) == "1.00"  # the float 1.005 is 1.00499999…: rounded on its exact value
    assert units.size(512) == "512 B" and units.size(401_408) == "392 KiB"
    assert units.percent(0.02) == "< 0.1 %" and units.percent(12.345) == "12.3 %"


# -- the command line ------------------------------------------------------------------------------------


def test_no_html_writes_the_rest_and_says_so(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        "compare",
        "mobilenet_v1",
        "--alpha",
        "1",
        "--no-latency",
        "--no-html",
        "--csv",
        "a.csv",
        "--json",
        "a.json",
    )
    assert code == 0, err
    assert not (tmp_path / "reports").exists() and not list(tmp_path.glob("*.html"))
    assert "wrote a.csv" in out and "wrote a.json" in out and ".html" not in out


def test_every_output_is_printed_and_the_command_recorded(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["compare", "mobilenet_v1", "--alpha", "0.25", "--resolution", "128", "--no-latency"]
    code, out, err = run(*argv, "--html", "r.html", "--csv", "r.csv", "--json", "r.json")
    assert code == 0, err
    assert [l for l in out.splitlines() if l.startswith("wrote ")] == [
        "wrote r.html",
        "wrote r.csv",
        "wrote r.json",
    ]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    command = "archprof compare mobilenet_v1 --alpha 0.25 --resolution 128 --no-latency --html r.html --csv r.csv --json r.json"
    assert f"<code>{command}</code>" in page


def test_no_html_with_html_is_one_line(run, tmp_path):
    code, out, err = run("compare", "mobilenet_v1", "--no-html", "--html", str(tmp_path / "x.html"))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "--no-html" in err
