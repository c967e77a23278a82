"""``archprof lut build``: measure every row configuration of some specs' grids into a latency table.

Each configuration is run as a whole network: end-to-end passes, then passes with a
clock on every row, in rounds interleaved over the configurations
(``measure.measure_rounds``), so every entry is a row's time *in context*, and a burst of
load on the host spoils a few passes of many configurations rather than one's all. A row configuration met in
several configurations (MobileNetV1 and its shallow variant share most rows) keeps
the median of its times. The table's environment records what the times are worth
elsewhere: CPU, threads, backend and library versions, the malloc tunables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import lut
from .measure import Measured, MeasureOptions, measure_rounds
from .spec import ModelSpec
from .stats import summarize

ROUNDS = 4  # interleaved rounds over the configurations (see measure.measure_rounds)
# Widths added to the grid of a spec whose rule truncates (Keras: int(c·α)) when no α are given. Its own α
# (1, 0.75, 0.5, 0.25) give channel counts that are all multiples of 8; most others do not (α 0.4: 12, 25,
# 51, 102, 204, 409) and run their tails slower (see lut.BLOCK), so a table without such rows
# predicts a sweep's odd widths too fast. 0.4, 0.8 and 1.3 span the sweep's range.
OFF_GRID_ALPHAS = (0.4, 0.8, 1.3)


def configurations(
    refs: list[str], alphas: Sequence[float] | None = None, resolutions: Sequence[int] | None = None
) -> list[ModelSpec]:
    """What ``lut build`` measures: each spec's grid (or the α and resolutions given) and, without α given,
    ``OFF_GRID_ALPHAS`` for a spec with a grid of widths and a truncating width rule."""
    from .catalog import load, split_ref
    from .grid import configurations as grid

    specs = grid(refs, alphas, resolutions)
    if alphas is None:
        for ref in dict.fromkeys(refs):  # a spec named twice still gets its widths once
            spec = load(split_ref(ref)[0])
            extra = [a for a in OFF_GRID_ALPHAS if a not in spec.alphas]
            if spec.width_rule.name == "keras" and len(spec.alphas) > 1 and extra:
                specs += grid([ref], extra, resolutions)
    return specs


def build(
    specs: list[ModelSpec],
    opts: MeasureOptions,
    backend: str = "torch",
    run_time: float = 1.0,
    advance: Callable[[str], None] | None = None,
    rounds: int = ROUNDS,
) -> lut.Table:
    """Measure every configuration in ``specs`` (``run_time`` seconds each, over ``rounds`` interleaved
    rounds) and make the table of their rows."""
    measured = measure_rounds(specs, opts, rounds, run_time / rounds, advance, backend)
    return table_of(specs, measured, opts, {"run_time_s": run_time, "rounds": rounds})


def table_of(
    specs: list[ModelSpec], measured: list[Measured], opts: MeasureOptions, extra: dict
) -> lut.Table:
    """The table of measured configurations: each row's median time in context, each configuration's
    end-to-end median, and the environment they were measured in (with ``extra``)."""
    records = []
    for spec, m in zip(specs, measured):
        rows = []
        for row in lut.spec_rows(spec, opts.batch, opts.dtype):
            times = m.layer_ms.get(row["path"])
            # a row a runtime fused into another (ONNX Runtime) has no time of its own: its time is its host's
            rows.append({**row, "ms": summarize(times)["median_ms"] if times else 0.0})
        records.append(
            {"label": spec.label, "rows": rows, "end_to_end_ms": summarize(m.end_to_end_ms)["median_ms"]}
        )
    environment = {**measured[0].environment, "specs": sorted({s.ref for s in specs}), **extra}
    return lut.from_measurements(records, environment)
