"""``archprof lut build``: measure every row configuration of some specs' grids into a latency table.

Each configuration is run as a whole network: end-to-end passes, then passes with a
clock on every row (``measure.measure`` without the isolated timing or the memory
profile), so every entry is a row's time *in context*. A row configuration met in
several configurations (MobileNetV1 and its shallow variant share most rows) keeps
the median of its times. The table's environment records what the times are worth
elsewhere: CPU, threads, backend and library versions, the malloc tunables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from . import lut
from .measure import MeasureOptions, measure
from .spec import ModelSpec
from .stats import summarize


def options(opts: MeasureOptions, run_time: float) -> MeasureOptions:
    """``opts`` for one table configuration: ``run_time`` seconds, 40 % end to end and 60 % per row."""
    e2e = 0.4 * run_time
    return replace(
        opts,
        min_run_time=e2e,
        max_run_time=e2e,
        layer_run_time=run_time - e2e,
        isolated=False,
        memory=False,
    ).check()


def build(
    specs: list[ModelSpec],
    opts: MeasureOptions,
    backend: str = "torch",
    run_time: float = 1.0,
    advance: Callable[[str], None] | None = None,
) -> lut.Table:
    """Measure every configuration in ``specs`` and make the table of their rows."""
    tick = advance or (lambda label: None)
    opts = options(opts, run_time)
    records = []
    environment: dict = {}
    for spec in specs:
        m = measure(spec, opts, backend=backend)
        environment = m.environment
        rows = []
        for row in lut.spec_rows(spec, opts.batch, opts.dtype):
            times = m.layer_ms.get(row["path"])
            # a row a runtime fused into another (ONNX Runtime) has no time of its own: its time is its host's
            rows.append({**row, "ms": summarize(times)["median_ms"] if times else 0.0})
        records.append(
            {"label": spec.label, "rows": rows, "end_to_end_ms": summarize(m.end_to_end_ms)["median_ms"]}
        )
        tick(spec.label)
    environment = {**environment, "specs": sorted({s.ref for s in specs}), "run_time_s": run_time}
    return lut.from_measurements(records, environment)
