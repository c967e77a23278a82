"""Size of the HTML report and how soon it shows, in headless Chromium.

Builds the report of `archprof compare mobilenet_v1 vgg16` (17 configurations) counted only
and, with --latency, measured (3 rounds: quicker than a careful run, the same amount of data),
then opens it a few times and prints: the file size and plotly.js's share of it, the time to
first contentful paint (the tables and text), the time plotly.js starts and the time every
chart is drawn — at full speed and with the CPU slowed 4× (Chrome's throttling), as issue 14
measured the old report (4.9 MB; blank for over a second, 7–13 s slowed). Targets (issue 14):
at most 2 MB; text before the charts.

    python benchmarks/html_report.py [--latency] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archprof.report.html import plotly_js_packed

MAX_BYTES = 2_000_000


def build(folder: Path, latency: bool) -> Path:
    out = folder / "report.html"
    extra = ["--max-rounds", "3"] if latency else ["--no-latency"]
    subprocess.run(
        [sys.executable, "-m", "archprof", "compare", "mobilenet_v1", "vgg16", "--html", str(out), *extra],
        capture_output=True,
        check=True,
    )
    return out


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def load(driver, page: Path, slowdown: int) -> dict:
    driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": slowdown})
    driver.get("about:blank")
    driver.get(page.as_uri())
    t0 = time.perf_counter()
    while driver.execute_script("return document.documentElement.dataset.charts") != "drawn":
        if time.perf_counter() - t0 > 120:
            raise SystemExit("the charts were not drawn within 120 s")
        time.sleep(0.02)
    return driver.execute_script(
        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
        "return {fcp: p.startTime, plotly: Number(document.documentElement.dataset.plotlyStart),"
        " drawn: performance.now()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", action="store_true", help="measure latency too (about a minute more)")
    ap.add_argument("--runs", type=int, default=5, help="page loads per setting (median shown)")
    args = ap.parse_args()
    if not shutil.which("chromedriver"):
        raise SystemExit("needs chromium and chromedriver (make browser)")
    with tempfile.TemporaryDirectory() as tmp:
        page = build(Path(tmp), args.latency)
        size = page.stat().st_size
        bundle = len(plotly_js_packed())
        what = "measured" if args.latency else "counted only (--no-latency)"
        print(f"report of mobilenet_v1 vs vgg16, 17 configurations, {what}:")
        print(
            f"  file size {size:,} bytes ({size / 2**20:.2f} MiB; plotly.js, gzipped, {bundle / size:.0%} of it); "
            f"target ≤ {MAX_BYTES:,}: {'met' if size <= MAX_BYTES else 'NOT MET'}"
        )
        driver = browser()
        try:
            for slowdown in (1, 4):
                runs = [load(driver, page, slowdown) for _ in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in ("fcp", "plotly", "drawn")}
                label = "full speed" if slowdown == 1 else f"CPU slowed {slowdown}×"
                fcps = ", ".join(f"{r['fcp']:.0f}" for r in runs)
                print(
                    f"  {label}: first contentful paint {med['fcp']:.0f} ms, plotly.js starts "
                    f"{med['plotly']:.0f} ms, every chart drawn {med['drawn']:.0f} ms "
                    f"(median of {args.runs}; FCP runs {fcps})"
                )
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
