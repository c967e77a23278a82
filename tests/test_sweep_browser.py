"""The sweep's HTML page in a real browser: headless Chromium (Debian's) driven by Selenium.

Both figures render (an SVG in each graph div), the console shows no errors, and a spec
with a hostile name shows it as text. As for the compare report (test_browser.py), a
missing browser is a failure in CI and a skip elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
        "--disable-dev-shm-usage",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _page(tmp_path: Path, *argv: str) -> Path:
    out = tmp_path / "sweep.html"
    done = subprocess.run(
        [sys.executable, "-m", "archprof", "sweep", *argv, "--html", str(out), "--format", "csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def _rendered(browser, path: Path, figures: int) -> int:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(path.as_uri())
    script = (
        "return [...document.querySelectorAll('.plotly-graph-div')]"
        ".filter(d => d.querySelector('svg.main-svg')).length"
    )
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(script) >= figures)
    return browser.execute_script(script)


def test_sweep_page_renders(browser, tmp_path):
    page = _page(tmp_path, "mobilenet_v1", "--alpha", "0.25:1.4:0.05", "--resolution", "96:256:16")
    assert _rendered(browser, page, 2) == 2  # cost against params; reported top-1
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    text = browser.execute_script("return document.body.innerText")
    assert "264 configurations" in text and "On the front, or with a reported top-1" in text
    assert "568.7 M" in text and "70.6" in text  # 1.0 MobileNet-224 in the table, with its top-1


def test_hostile_spec_name_shows_as_text(browser, tmp_path):
    page = _page(tmp_path, str(SPECS / "xss.md"), "--alpha", "1,0.5", "--resolution", "32")
    _rendered(browser, page, 1)
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text  # no script ran
    text = browser.execute_script("return document.body.innerText")
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
