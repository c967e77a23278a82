"""How well does a latency table predict configurations it was not built from? (issue 13, item 3)

1. *Training* configurations, what the table is built from — what ``archprof lut build``
   measures of these specs: MobileNetV1's and MobileNetV2's default α × resolution grids
   (MobileNetV1's with the off-grid widths 0.4, 0.8 and 1.3, ``lut_build.OFF_GRID_ALPHAS``),
   and ResNet-18, SqueezeNet 1.0, GoogLeNet, AlexNet and VGG16 at their resolutions.
2. *Held-out* configurations, never in the table: MobileNetV1 and MobileNetV2 at widths and
   resolutions absent from it (α 0.35, 0.6, 0.9, 1.1 × 112–240 px; α 0.6, 0.9, 1.2 × 112,
   176, 208 px), and three networks the table never saw: the shallow MobileNet,
   SqueezeNet 1.1 and ResNet-50.
3. Both are measured in the same interleaved, shuffled rounds (``measure.measure_rounds``,
   what ``archprof lut build`` runs): end to end and per row, ``--run-time`` seconds per
   configuration over ``--rounds`` rounds. The table is made from the training
   configurations' rows alone (``lut.from_measurements``); each held-out configuration is
   predicted from it and compared with the median of its measured passes. Measuring
   both in the same rounds is deliberate: this host's speed drifts by tens of percent
   over minutes (other tenants), and a table built at one speed and checked at another
   would measure the host, not the predictor. ``--sequential`` builds first and
   measures afterwards, as a user would, for comparison.
4. Printed per backend: the share within ±10 %, the mean absolute percentage error and
   the worst case, for unseen α / resolution and unseen networks; the same for the raw
   sum of the rows (no end-to-end fit); the estimated rows against their own in-context
   medians, by family and by channel alignment; and two *noise floors*: the held-out
   configurations' first half of passes against their second half (the host's drift
   over the run) and their odd rounds' passes against their even rounds' (two
   measurements of one window) — no predictor can agree with a measurement better than
   the measurement agrees with itself.

It re-executes itself with the malloc tunables archprof's measuring commands use (without
them torch's timings move by ±30 % from one process to the next).

    python benchmarks/predict_accuracy.py [--backend torch,onnxruntime] [--sequential] [--save FILE | --load FILE]

``--save`` keeps the table and the measurements (JSON) so that ``--load`` can re-score
them without measuring again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from archprof.measure import GLIBC_TUNABLES

# each with what ``archprof lut build SPEC`` measures: its grid and, for MobileNetV1, the off-grid widths
# (lut_build.OFF_GRID_ALPHAS: 0.4, 0.8, 1.3, whose channel counts none of the held-out widths share)
TRAIN = ["mobilenet_v1", "mobilenet_v2", "resnet18", "squeezenet1_0", "googlenet", "alexnet", "vgg16"]
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
    """End to end as ``compare`` measures a grid: interleaved, shuffled rounds, the median of every pass."""
    from archprof.measure import GridOptions, MeasureOptions, measure_grid
    from archprof.stats import summarize

    grid = GridOptions(min_rounds=6, max_rounds=10, round_time=0.15)
    done = [0]

    def tick(label):
        done[0] += 1
        if done[0] % 20 == 0:
            print(f"  measuring held-out configurations: {done[0]} blocks timed", file=sys.stderr, flush=True)

    measured = measure_grid(specs, MeasureOptions(threads=1), grid, tick, backend)
    out = []
    for spec, m in zip(specs, measured):
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
        estimated = []  # (family, channels a multiple of 8, predicted / measured) of each estimated row
        by_path = {row["path"]: row for row in lut.spec_rows(spec)}
        for path, ms in (h.get("rows_ms") or {}).items():
            if p.per_row_source.get(path) == lut.ESTIMATED and ms > 0:
                aligned = not lut.misaligned(by_path[path]["features"])[0]
                estimated.append((by_path[path]["family"], aligned, p.per_row_ms[path] / ms))
        rows.append(
            {
                **h,
                "predicted_ms": p.total_ms,
                "raw_sum_ms": raw,
                "looked_up": looked,
                "rows": len(p.per_row_source),
                "estimated": estimated,
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
    rows_report(backend, scored)
    halves = [r["halves_ms"][1] / r["halves_ms"][0] - 1 for r in scored["rows"] if r.get("halves_ms")]
    if halves:
        print(
            f"{backend} {'noise floor':22}: {summary(halves)} (first half of the passes against the second)"
        )
    alternate = [
        r["alternate_rounds_ms"][1] / r["alternate_rounds_ms"][0] - 1
        for r in scored["rows"]
        if r.get("alternate_rounds_ms")
    ]
    if alternate:
        print(
            f"{backend} {'noise floor, rounds':22}: {summary(alternate)} (odd rounds' passes against even rounds')"
        )


def rows_report(backend: str, scored: dict) -> None:
    """The estimated rows of the held-out configurations against their own in-context medians: by family,
    and by whether their channels are multiples of 8 (oneDNN's vector width; other widths take its slower
    tail paths, which a fit on work alone cannot know)."""
    groups: dict[str, list[float]] = {}
    for r in scored["rows"]:
        for fam, aligned, ratio in r.get("estimated", []):
            groups.setdefault(fam, []).append(ratio)
            groups.setdefault("channels % 8 == 0" if aligned else "channels % 8 != 0", []).append(ratio)
    if not groups:
        return
    print(f"{backend} estimated rows, predicted / measured (median, within ±20 %):")
    for name, ratios in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        within = sum(1 for x in ratios if abs(x - 1) <= 0.2)
        print(
            f"  {name:24} {len(ratios):5} rows  median {float(np.median(ratios)):.3f}  {within / len(ratios):.0%}"
        )


def interleaved(train, held, backend: str, run_time: float, rounds: int):
    """Training and held-out configurations measured in the same rounds; the table from the training rows."""
    from archprof import lut_build
    from archprof.measure import MeasureOptions, measure_rounds
    from archprof.stats import summarize

    done = [0]
    total = (len(train) + len(held)) * rounds

    def tick(label):
        done[0] += 1
        if done[0] % 25 == 0 or done[0] == total:
            print(f"  {done[0]}/{total} configuration-rounds timed", file=sys.stderr, flush=True)

    opts = MeasureOptions(threads=1)
    measured = measure_rounds(train + held, opts, rounds, run_time / rounds, tick, backend)
    table = lut_build.table_of(
        train, measured[: len(train)], opts, {"run_time_s": run_time, "rounds": rounds}
    )
    out = []
    for spec, m in zip(held, measured[len(train) :]):
        e2e = summarize(m.end_to_end_ms)
        half = len(m.end_to_end_ms) // 2
        first, second = (
            summarize(part)["median_ms"] for part in (m.end_to_end_ms[:half], m.end_to_end_ms[half:])
        )
        # the passes of odd rounds against those of even rounds: two measurements of one window
        rounds, at = [], 0
        for n in m.round_passes:
            rounds.append(m.end_to_end_ms[at : at + n])
            at += n
        odd, even = (summarize([t for r in rounds[k::2] for t in r])["median_ms"] for k in (0, 1))
        out.append(
            {
                "label": spec.label,
                "ref": spec.ref,
                "alpha": spec.alpha,
                "resolution": spec.resolution,
                "measured_ms": e2e["median_ms"],
                "iqr_ms": e2e["iqr_ms"],
                "halves_ms": [first, second],
                "alternate_rounds_ms": [odd, even],
                # each row's median in context, to see which estimates miss (``rows_report``)
                "rows_ms": {path: summarize(t)["median_ms"] for path, t in m.layer_ms.items() if t},
            }
        )
    return table, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="torch", help="comma-separated: torch, onnxruntime")
    ap.add_argument("--run-time", type=float, default=4.0, help="seconds per configuration")
    ap.add_argument(
        "--rounds", type=int, default=32, help="interleaved rounds (more rounds sample more of a busy host)"
    )
    ap.add_argument(
        "--sequential", action="store_true", help="build the table first, then measure the held-out"
    )
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

    train, held = lut_build.configurations(TRAIN), configurations(HELD_OUT)
    saved = {}
    for backend in args.backend.split(","):
        t0 = time.perf_counter()
        if args.sequential:
            print(
                f"{backend}: building a table from {len(train)} configurations", file=sys.stderr, flush=True
            )
            table = lut_build.build(train, MeasureOptions(threads=1), backend, args.run_time)
            measured = measure_held_out(held, backend)
        else:
            print(
                f"{backend}: {len(train)} training and {len(held)} held-out configurations, interleaved",
                file=sys.stderr,
                flush=True,
            )
            table, measured = interleaved(train, held, backend, args.run_time, args.rounds)
        table.path = (
            f"({'sequential' if args.sequential else 'interleaved'}, {time.perf_counter() - t0:.0f} s)"
        )
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
