"""The HTML report in a real browser: headless Chromium (Debian's) driven by Selenium.

One measured comparison (two models, one with blocks, four configurations) is opened and
used as a reader would: every chart must render, the console must stay clean and nothing
may load from a network; at phone, laptop and desktop widths the page must not scroll
sideways, no table may be wider than its card, and a heading jumped to must not hide under
the navigation; the text must paint before plotly.js runs; the selectors, the sorting, the
filter, the folds and the CSV download must do what they say. Screenshots of each width
and the paint timings are written to reports/ for review (git-ignores them). A spec's
hostile name must appear as text, not run. In CI (CI=true) a missing browser is a failure,
not a skip: `make test` installs it there.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archprof import units
from archprof.report.html import figure_ids, page_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SPECS = Path(__file__).parent / "specs"
REPORTS = Path(__file__).parent.parent / "reports"
WIDTHS = (390, 1280, 1400, 1920)

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        pytest.fail(
            "CI needs chromium and chromedriver for the browser test (make test installs them)", pytrace=False
        )
    pytest.skip("chromium / chromedriver not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    yield driver
    driver.quit()


def _report(tmp_path, *argv) -> Path:
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "archprof", "compare", *argv, "--html", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    # measured, so that the latency, trade-off and roofline charts exist (top-1 is reported at 0.25-224);
    # ResNet-18's residual units are blocks to fold
    return _report(
        tmp_path_factory.mktemp("measured"),
        "mobilenet_v1",
        "resnet18",
        "--alpha",
        "0.25",
        "--resolution",
        "224,160",
        "--max-rounds",
        "3",
    )


def _open(browser, path: Path, width: int = 1400) -> dict:
    """Load ``path`` at ``width`` px and wait for the charts; returns the paint timings (ms)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(width, 900)
    browser.get(path.as_uri())
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("return document.documentElement.dataset.charts") == "drawn"
    )
    return browser.execute_script(
        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
        "return {fcp: p ? p.startTime : null, plotly: Number(document.documentElement.dataset.plotlyStart),"
        " drawn: performance.now()}"
    )


RENDERED = "return [...document.querySelectorAll('.chart')].filter(d => d.querySelector('svg.main-svg')).map(d => d.id)"


def test_every_chart_renders_offline_without_console_errors(browser, measured):
    page = measured.read_text(encoding="utf-8")
    ids = figure_ids(page)
    # 2 trade-offs, per layer, 2 specs × 3 heatmaps (mult-adds, weights, latency), by kind, latency, roofline
    assert len(ids) == 12, ids
    _open(browser, measured)
    assert sorted(browser.execute_script(RENDERED)) == sorted(ids)
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith(("file:", "blob:", "data:"))] == []
    text = browser.execute_script("return document.body.innerText")
    assert "Roofline" in text and "Validation" in text and "0.25 MobileNetV1-160" in text
    assert "Provenance" in text and "archprof compare mobilenet_v1 resnet18" in text
    # no plotly cloud or logo links in any modebar
    assert (
        browser.execute_script(
            "return document.querySelectorAll('a.modebar-btn[href], .js-plotly-plot a[href*=plot]').length"
        )
        == 0
    )


def test_layout_and_navigation_at_every_width(browser, measured):
    REPORTS.mkdir(exist_ok=True)
    timings = {}
    for width in WIDTHS:
        timings[width] = _open(browser, measured, width)
        time.sleep(0.3)  # plotly's responsive resize is debounced
        got = browser.execute_script(
            """
            const de = document.documentElement;
            const boxes = [...document.querySelectorAll('.tablewrap')].map(w => {
              const card = w.closest('section').getBoundingClientRect(), r = w.getBoundingClientRect();
              return {id: w.querySelector('table').id, left: r.left - card.left, right: card.right - r.right};
            });
            const charts = [...document.querySelectorAll('.chart')].map(c => {
              const svg = c.querySelector('svg.main-svg');
              return {id: c.id, over: svg ? svg.getBoundingClientRect().width - c.getBoundingClientRect().width : 0};
            });
            return {scroll: de.scrollWidth, client: de.clientWidth, inner: window.innerWidth, boxes, charts,
                    hidden: [getComputedStyle(de).overflowX, getComputedStyle(document.body).overflowX]};
            """
        )
        assert got["inner"] == width
        assert got["scroll"] <= got["client"], f"{width} px: the page scrolls sideways"
        assert "hidden" not in got["hidden"] and "clip" not in got["hidden"]  # not merely clipped
        assert got["boxes"] and all(b["left"] >= 0 and b["right"] >= 0 for b in got["boxes"]), (
            width,
            got["boxes"],
        )
        assert all(c["over"] <= 1 for c in got["charts"]), (width, got["charts"])
        shot = browser.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        import base64

        (REPORTS / f"browser-report-{width}px.png").write_bytes(base64.b64decode(shot["data"]))
        _headings_clear_the_navigation(browser)
    # the text paints before plotly.js is even parsed (speed figures: benchmarks/html_report.py)
    for width, t in timings.items():
        assert t["fcp"] is not None and t["fcp"] <= t["plotly"], (width, t)
    (REPORTS / "browser-paint-timings.json").write_text(json.dumps(timings, indent=2) + "\n")


def _headings_clear_the_navigation(browser) -> None:
    """Every link of the navigation, followed: the section's heading stops below the sticky bar."""
    ids = browser.execute_script("return [...document.querySelectorAll('nav a')].map(a => a.hash.slice(1))")
    assert len(ids) >= 8
    for sid in ids:
        browser.execute_script(f"document.querySelector('nav a[href=\"#{sid}\"]').click()")
        time.sleep(0.05)
        nav_bottom, top, scrolled = browser.execute_script(
            f"return [document.querySelector('nav').getBoundingClientRect().bottom,"
            f" document.querySelector('#{sid} h2').getBoundingClientRect().top, window.scrollY]"
        )
        assert top >= nav_bottom, (sid, top, nav_bottom)
        assert scrolled > 0 or sid == ids[0]


def _layers_chart(browser) -> dict:
    return browser.execute_script(
        "const d = document.getElementById('fig-layers');"
        "return {x: d.data.flatMap(t => t.x), y: d.data.flatMap(t => t.y), names: d.data.map(t => t.name),"
        " rows: document.querySelectorAll('#pl-table tbody tr').length}"
    )


def _select(browser, element_id: str, value: str) -> None:
    browser.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = arguments[1];"
        "s.dispatchEvent(new Event('change'))",
        element_id,
        value,
    )


def test_per_layer_selectors_change_what_is_shown(browser, measured):
    data = page_data(measured.read_text(encoding="utf-8"))["per_layer"]
    _open(browser, measured)
    first = _layers_chart(browser)
    default = next(c for c in data["configs"] if c["label"] == "0.25 MobileNetV1-224")
    leaves = [r for r in default["rows"] if not r["b"]]
    assert sorted(first["x"]) == sorted(r["p"] for r in leaves)
    assert sorted(first["names"]) == sorted({r["k"] for r in leaves})  # one legend entry per layer kind
    tip = browser.execute_script(
        "const d = document.getElementById('fig-layers'); const t = d.data.find(t => t.x.includes('pw3'));"
        "return t.customdata[t.x.indexOf('pw3')]"
    )
    row = next(r for r in default["rows"] if r["p"] == "pw3")
    pw3 = dict(zip(data["columns"], [row["p"], row["k"], *row["c"]]))
    # 0.25 MobileNet-224's pw3: a 1×1 conv 8 → 16 on 112 × 112: 112·112·8·16 = 1,605,632 mult-adds
    assert (
        pw3["mult-adds"] == "1.61 M" and pw3["input → output (H × W × C)"] == "112 × 112 × 8 → 112 × 112 × 16"
    )
    for name in ("input → output (H × W × C)", "kernel", "stride", "groups", "params", "mult-adds"):
        assert f"{name}: {pw3[name]}" in tip, name
    for name in ("latency (median)", "latency IQR", "share of mult-adds", "share of latency"):
        assert f"{name}: " in tip, name
    # another configuration of the same model: the same rows, other numbers
    _select(
        browser,
        "pl-config",
        str(data["configs"].index(next(c for c in data["configs"] if c["label"] == "0.25 MobileNetV1-160"))),
    )
    other = _layers_chart(browser)
    assert sorted(other["x"]) == sorted(first["x"]) and sorted(other["y"]) != sorted(first["y"])
    # the other model: its rows, with blocks that fold
    _select(browser, "pl-model", "1")
    resnet = _layers_chart(browser)
    config = data["configs"][data["models"][1]["configs"][0]]
    assert sorted(resnet["x"]) == sorted(r["p"] for r in config["rows"] if not r["b"])
    assert resnet["rows"] == len(config["rows"])
    browser.find_element("id", "pl-collapse").click()
    folded = _layers_chart(browser)
    top = [r for r in config["rows"] if r["d"] == 0]
    assert sorted(folded["x"]) == sorted(r["p"] for r in top) and folded["rows"] == len(top)
    # unfold one block: its children come back, the rest stay folded
    browser.find_element("css selector", "#pl-table button.fold").click()
    one = _layers_chart(browser)
    assert folded["rows"] < one["rows"] < resnet["rows"]
    browser.find_element("id", "pl-expand").click()
    # the metric selector: latency bars are the measured medians
    _select(
        browser, "pl-metric", str(next(i for i, m in enumerate(data["metrics"]) if m["label"] == "latency"))
    )
    latency = _layers_chart(browser)
    by_path = {r["p"]: r["v"][3] for r in config["rows"]}
    assert latency["y"] == pytest.approx([by_path[p] for p in latency["x"]])


def test_summary_sorts_filters_and_downloads(browser, measured, downloads):
    from selenium.webdriver.common.by import By

    _open(browser, measured)
    values = "return [...document.querySelectorAll('#summary-table tbody tr')].filter(r => !r.hidden).map(r => r.cells[arguments[0]].dataset.v ?? r.cells[arguments[0]].textContent)"
    heads = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#summary-table th")]
    col = heads.index("mult-adds")
    button = browser.find_elements(By.CSS_SELECTOR, "#summary-table th button.sort")[col]
    button.click()
    up = [float(v) for v in browser.execute_script(values, col)]
    assert up == sorted(up) and len(up) == 4
    button.click()
    assert [float(v) for v in browser.execute_script(values, col)] == sorted(up, reverse=True)
    search = browser.find_element(By.CSS_SELECTOR, "#summary .tools input[type=search]")
    search.send_keys("resnet 224")
    shown = browser.execute_script(values, 0)
    assert shown == ["0.25 ResNet-18-224"]
    search.clear()
    search.send_keys(" ")  # an input event with nothing to match: every row again
    assert len(browser.execute_script(values, 0)) == 4
    browser.find_element(By.CSS_SELECTOR, "#summary input[data-only]").click()
    front = browser.execute_script(values, 0)
    marked = browser.execute_script(
        "return [...document.querySelectorAll('#summary-table tbody tr[data-pareto=\"1\"]')].map(r => r.cells[0].textContent)"
    )
    assert sorted(front) == sorted(marked) == ["0.25 MobileNetV1-224"]  # the one with a reported top-1
    # the CSV holds the rows shown, with raw numbers (not the formatted text)
    browser.find_element(By.CSS_SELECTOR, "#summary button.csv").click()
    target = downloads / "summary.csv"
    for _ in range(50):
        if target.exists():
            break
        time.sleep(0.1)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert sorted(r["configuration"] for r in rows) == sorted(front)
    assert all(int(r["mult-adds"]) > 0 and "M" not in r["mult-adds"] for r in rows)


def test_the_pages_formatter_twin_agrees_with_python(browser, measured):
    _open(browser, measured)
    values = [0, 12, 928, 45_000, 999_400, 999_600, 4_231_976, 568_740_352, 15_470_264_320]
    assert browser.execute_script("return arguments[0].map(window.archprofFormat.si)", values) == [
        units.si(v) for v in values
    ]
    sizes = [512, 1023.9, 401_408, 12_845_056, 3 * 2**30]
    assert browser.execute_script("return arguments[0].map(window.archprofFormat.size)", sizes) == [
        units.size(v) for v in sizes
    ]
    times = [0.000412, 0.0412, 0.412, 0.99996, 1.005, 12.25, 17.234, 999.7, 1234.0]
    assert browser.execute_script("return arguments[0].map(window.archprofFormat.duration)", times) == [
        units.duration(v) for v in times
    ]


def test_a_browser_that_cannot_unpack_says_so(browser, measured):
    from selenium.webdriver.support.ui import WebDriverWait

    added = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.DecompressionStream"}
    )
    try:
        browser.get(measured.as_uri())
        WebDriverWait(browser, 30).until(
            lambda d: d.execute_script("return document.documentElement.dataset.charts") == "unavailable"
        )
        notes = browser.execute_script(
            "return [...document.querySelectorAll('.chart')].map(d => d.textContent)"
        )
        assert notes and all("cannot unpack the charts" in n for n in notes)
        assert (
            browser.execute_script("return document.querySelectorAll('#summary-table tbody tr').length") == 4
        )
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def test_hostile_spec_name_shows_as_text(browser, tmp_path):
    page = _report(tmp_path, str(SPECS / "xss.md"), "--no-latency")
    _open(browser, page)
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text  # no script ran
    text = browser.execute_script("return document.body.innerText")
    assert "<script>alert(1)</script>" in text
    assert sorted(browser.execute_script(RENDERED)) == sorted(figure_ids(page.read_text(encoding="utf-8")))
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
