"""End-to-end latency of torch eager against ONNX Runtime, 1 thread, fresh processes, as a user runs them.

Each spec is profiled by ``archprof profile SPEC --backend B --format json --no-isolated``
(the measuring process re-executes itself with GLIBC_TUNABLES, as always), alternating
backends, three rounds; the medians and IQRs of each run are printed with the ORT/torch
ratio of the best run of each. The per-row sum against the end-to-end median says how
much of ORT's run its per-node profile accounts for. Then, less sensitive to a busy
host: both runtimes in one process, one forward pass of each in turn (interleaved, so
that load hits both alike), min and median of each.

    python benchmarks/ort_vs_torch.py [SPEC ...]
"""

from __future__ import annotations

import json
import subprocess
import sys

SPECS = ["mobilenet_v1", "mobilenet_v1@0.25,128", "resnet50", "vgg16"]


def run(spec: str, backend: str) -> dict:
    name, _, config = spec.partition("@")
    extra = []
    if config:
        alpha, resolution = config.split(",")
        extra = ["--alpha", alpha, "--resolution", resolution]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "archprof",
            "profile",
            name,
            *extra,
            "--backend",
            backend,
            "--format",
            "json",
            "--no-isolated",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    lat = json.loads(out)["latency"]
    return {
        "median": lat["end_to_end"]["median_ms"],
        "iqr": lat["end_to_end"]["iqr_ms"],
        "rows": lat["per_layer_sum_ratio"],
    }


def interleaved(spec: str, passes: int) -> tuple[list[float], list[float]]:
    import time

    import torch

    from archprof.backends import onnxruntime_cpu as ortb
    from archprof.catalog import load
    from archprof.transforms import configure

    name, _, config = spec.partition("@")
    alpha, resolution = (float(config.split(",")[0]), int(config.split(",")[1])) if config else (1.0, None)
    model, x, rows = ortb._built(configure(load(name), "base", alpha, resolution), 1)
    runner = ortb.OrtRunner(ortb._export(model, x), x.numpy(), rows, 1)
    torch_ms, ort_ms = [], []
    torch.set_num_threads(1)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
            runner.forward()
        for _ in range(passes):
            t0 = time.perf_counter()
            model(x)
            torch_ms.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            runner.forward()
            ort_ms.append((time.perf_counter() - t0) * 1e3)
    return torch_ms, ort_ms


def main() -> None:
    specs = sys.argv[1:] or SPECS
    print(
        f"{'spec':<24} {'torch ms (IQR)':>30} {'onnxruntime ms (IQR)':>30} {'ORT/torch':>10} {'ORT rows/e2e':>13}"
    )
    for spec in specs:
        results: dict[str, list[dict]] = {"torch": [], "onnxruntime": []}
        for _ in range(3):
            for backend in results:
                results[backend].append(run(spec, backend))
        shown = {b: ", ".join(f"{r['median']:.2f} ({r['iqr']:.2f})" for r in rs) for b, rs in results.items()}
        best = {b: min(r["median"] for r in rs) for b, rs in results.items()}
        rows = max(r["rows"] for r in results["onnxruntime"])
        print(
            f"{spec:<24} {shown['torch']:>30} {shown['onnxruntime']:>30} "
            f"{best['onnxruntime'] / best['torch']:>9.2f}× {rows:>12.2f}"
        )
    import statistics

    print("\ninterleaved in one process, 1 thread:")
    print(f"{'spec':<24} {'torch min / median':>22} {'onnxruntime min / median':>26} {'ORT/torch (min)':>16}")
    for spec in specs:
        t, o = interleaved(spec, 8 if "vgg" in spec or "resnet" in spec else 60)
        print(
            f"{spec:<24} {min(t):>9.2f} / {statistics.median(t):<9.2f} {min(o):>12.2f} / {statistics.median(o):<9.2f}"
            f" {min(o) / min(t):>12.2f}×"
        )


if __name__ == "__main__":
    main()
