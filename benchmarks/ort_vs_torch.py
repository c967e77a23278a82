"""End-to-end latency of torch eager against ONNX Runtime, 1 thread, fresh processes, as a user runs them.

Each spec is profiled by ``archprof profile SPEC --backend B --format json --no-isolated``
(the measuring process re-executes itself with GLIBC_TUNABLES, as always), alternating
backends, three rounds; the medians and IQRs of each run are printed with the ORT/torch
ratio of the best run of each. The per-row sum against the end-to-end median says how
much of ORT's run its per-node profile accounts for.

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


if __name__ == "__main__":
    main()
