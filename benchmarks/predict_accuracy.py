"""How well does a latency table predict configurations it was not built from? (issue 13, item 3)

1. Build a table (``lut_build.build``, as ``archprof lut build`` does) from the *training*
   configurations: MobileNetV1's and MobileNetV2's default α × resolution grids, and
   ResNet-18, SqueezeNet 1.0, GoogLeNet, AlexNet and VGG16 at their resolutions.
2. Measure the *held-out* configurations end to end, as ``profile`` does (median of
   passes): MobileNetV1 and MobileNetV2 at widths and resolutions absent from the table
   (α 0.35, 0.6, 0.9, 1.1 × 112–240 px; α 0.6, 0.9, 1.2 × 112, 176, 208 px), and three
   networks the table never saw: the shallow MobileNet, SqueezeNet 1.1 and ResNet-50.
3. Predict each held-out configuration from the table alone and print, per backend, the
   share within ±10 % of the measurement, the mean absolute percentage error and the
   worst case; and the same for the raw sum of the rows (no end-to-end fit).

Run it on a quiet machine: every figure is a wall-clock time. It re-executes itself with
the malloc tunables archprof's measuring commands use (without them torch's timings move
by ±30 % from one process to the next).

    python benchmarks/predict_accuracy.py [--backend torch,onnxruntime] [--save FILE | --load FILE]

``--save`` keeps the table and the measurements (JSON) so that ``--load`` can re-score
them without measuring again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from archprof.measure import GLIBC_TUNABLES

TRAIN = [
    ("mobilenet_v1", None, None),  # the spec's default grid
    ("mobilenet_v2", None, None),
    ("resnet18", None, None),
    ("squeezenet1_0", None, None),
    ("googlenet", None, None),
    ("alexnet", None, None),
    ("vgg16", None, None),
]
HELD_OUT = [
    ("mobilenet_v1", (0.35, 0.6, 0.9, 1.1), (112, 144, 176, 208, 240)),
    ("mobilenet_v2", (0.6, 0.9, 1.2), (112, 176, 208)),
    ("mobilenet_v1_shallow", (1.0, 0.5), (224, 160)),
    ("squeezenet1_1", None, None),
    ("resnet50", None, None),
]


def configurations(plan):
    from archprof.catalog import load
    from archprof.transforms import configure

    out = []
    for name, alphas, resolutions in plan:
        spec = load(name)
        for a in alphas or spec.alphas:
            for r in resolutions or spec.resolutions or (spec.resolution,):
                out.append(configure(spec, "base", a, r))
    return out


def measure_held_out(specs, backend: str) -> list[dict]:
    from archprof.measure import MeasureOptions, measure
    from archprof.stats import summarize

    opts = MeasureOptions(threads=1, min_run_time=0.6, max_run_time=1.5, isolated=False, memory=False)
    out = []
    for i, spec in enumerate(specs, 1):
        m = measure(spec, opts, backend=backend)
        e2e = summarize(m.end_to_end_ms)
        out.append(
            {
                "label": spec.label,
                "ref": spec.ref,
                "alpha": spec.alpha,
                "resolution": spec.resolution,
                "measured_ms": e2e["median_ms"],
                "iqr_ms": e2e["iqr_ms"],
            }
        )
        print(
            f"  measured {i}/{len(specs)} {spec.label}: {e2e['median_ms']:.2f} ms",
            file=sys.stderr,
            flush=True,
        )
    return out


def score(table, held: list[dict]) -> dict:
    from archprof import lut
    from archprof.catalog import load
    from archprof.transforms import configure

    rows = []
    for h in held:
        name = h["ref"]
        spec = configure(load(name), "base", h["alpha"], h["resolution"])
        p = lut.predict(table, spec)
        looked = sum(1 for s in p.per_row_source.values() if s == lut.LOOKED_UP)
        raw = sum(p.per_row_ms.values())
        rows.append(
            {
                **h,
                "predicted_ms": p.total_ms,
                "raw_sum_ms": raw,
                "looked_up": looked,
                "rows": len(p.per_row_source),
            }
        )
    return {"rows": rows}


def summary(errors: list[float]) -> str:
    a = [abs(e) for e in errors]
    within = sum(1 for e in a if e <= 0.10)
    return (
        f"{within}/{len(a)} = {within / len(a):.0%} within ±10 %, MAPE {sum(a) / len(a):.1%}, "
        f"worst {max(errors, key=abs):+.1%}"
    )


def report(backend: str, table, scored: dict) -> None:
    print(
        f"\n== backend {backend}: table of {len(table.entries)} row configurations from "
        f"{len(table.configurations)} configurations; {table.environment.get('cpu')}, 1 thread"
    )
    print(
        f"{'configuration':34} {'measured':>9} {'IQR':>7} {'predicted':>9} {'error':>7} {'raw sum':>8} "
        f"{'looked up':>10}"
    )
    groups: dict[str, list[float]] = {}
    raw: list[float] = []
    for r in scored["rows"]:
        err = r["predicted_ms"] / r["measured_ms"] - 1
        raw.append(r["raw_sum_ms"] / r["measured_ms"] - 1)
        group = "unseen α / resolution" if r["ref"] in ("mobilenet_v1", "mobilenet_v2") else "unseen network"
        groups.setdefault(group, []).append(err)
        print(
            f"{r['label']:34} {r['measured_ms']:8.2f}  {r['iqr_ms']:6.2f} {r['predicted_ms']:9.2f} "
            f"{err:+7.1%} {r['raw_sum_ms']:8.2f} {r['looked_up']:>4}/{r['rows']:<4}"
        )
    every = [e for errs in groups.values() for e in errs]
    for group, errs in groups.items():
        print(f"{backend} {group:22}: {summary(errs)}")
    print(f"{backend} {'all held out':22}: {summary(every)}")
    print(f"{backend} {'raw row sums (no fit)':22}: {summary(raw)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="torch", help="comma-separated: torch, onnxruntime")
    ap.add_argument("--run-time", type=float, default=1.0, help="seconds per training configuration")
    ap.add_argument("--save", help="keep tables and measurements here (JSON)")
    ap.add_argument("--load", help="re-score tables and measurements saved by --save")
    args = ap.parse_args()
    from archprof import lut

    if args.load:
        with open(args.load, encoding="utf-8") as f:
            saved = json.load(f)
        for backend, data in saved.items():
            table = lut.decode(json.dumps(data["table"]), args.load)
            report(backend, table, score(table, data["held_out"]))
        return
    from archprof import lut_build
    from archprof.measure import MeasureOptions

    train, held = configurations(TRAIN), configurations(HELD_OUT)
    saved = {}
    for backend in args.backend.split(","):
        t0 = time.perf_counter()
        print(f"{backend}: building a table from {len(train)} configurations", file=sys.stderr, flush=True)
        table = lut_build.build(
            train,
            MeasureOptions(threads=1),
            backend,
            args.run_time,
            lambda label: print(f"  built {label}", file=sys.stderr, flush=True),
        )
        built = time.perf_counter() - t0
        measured = measure_held_out(held, backend)
        table.path = f"(built in {built:.0f} s)"
        report(backend, table, score(table, measured))
        saved[backend] = {"table": json.loads(table.to_json()), "held_out": measured}
    print(f"\n{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {os.getloadavg()[0]:.2f} at the end")
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump(saved, f)


if __name__ == "__main__":
    if sys.platform.startswith("linux") and "GLIBC_TUNABLES" not in os.environ:
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": GLIBC_TUNABLES}
        )
    main()
