"""The HTML report in a real browser: headless Chromium (Debian's) driven by Selenium.

Every plotly figure must render (an SVG inside each graph div), the console must show no
errors, and a spec's hostile name must appear as text, not run. In CI (CI=true) a missing
browser is a failure, not a skip: `make test` installs it there.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archprof.report.html import figure_count

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SPECS = Path(__file__).parent / "specs"

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        pytest.fail(
            "CI needs chromium and chromedriver for the browser test (make test installs them)", pytrace=False
        )
    pytest.skip("chromium / chromedriver not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
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
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
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


def _open(browser, path: Path, figures: int):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(path.as_uri())
    rendered = "return [...document.querySelectorAll('.plotly-graph-div')].filter(d => d.querySelector('svg.main-svg')).length"
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(rendered) >= figures)
    return browser.execute_script(rendered)


def test_every_figure_renders_without_console_errors(browser, tmp_path):
    # measured, so that the latency, tradeoff and roofline figures exist too
    page = _report(
        tmp_path,
        "mobilenet_v1",
        "mobilenet_v1:standard",
        "vgg16",
        "--alpha",
        "0.25",
        "--resolution",
        "64,48",
        "--max-rounds",
        "3",
    )
    figures = figure_count(page.read_text(encoding="utf-8"))
    assert figures >= 8  # 2 grids, 3 per-layer, by type, latency, accuracy, roofline
    assert _open(browser, page, figures) == figures
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    text = browser.execute_script("return document.body.innerText")
    assert "Roofline" in text and "Validation" in text and "0.25 MobileNetV1-64" in text


def test_hostile_spec_name_shows_as_text(browser, tmp_path):
    page = _report(tmp_path, str(SPECS / "xss.md"), "--no-latency")
    figures = figure_count(page.read_text(encoding="utf-8"))
    _open(browser, page, figures)
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text  # no script ran
    text = browser.execute_script("return document.body.innerText")
    assert "<script>alert(1)</script>" in text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
