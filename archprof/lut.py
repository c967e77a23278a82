"""Latency lookup tables: per-row times measured once, looked up or estimated for any configuration.

A table maps a *row configuration* — everything a runtime sees of a row: kind, input
shape(s), output shape, kernel, stride, groups, padding, pooling mode and the fused bias,
batch norm and activation (``row_key``) — to the time that row took **inside full
forward passes** (per-row hooks over many passes, as ``profile`` reports per-layer
latency). In-context times, not times of a layer run alone: a trial here found a row
alone 1.05–1.5× faster on a warm cache (the FC 4×), so that the sum of isolated times
undershot the network by 9–27 %.

Predicting a configuration (``TablePredictor.predict``):

1. every leaf row is **looked up** by its key, or else **estimated** by the model of its
   family (``Model``): a linear model of the row's work fitted on the table's rows of
   that family, times its error on the most similar measured rows (``_correction``);
2. the end to end is ``scale × Σ rows`` (``Calibration``), the median ratio of the
   configurations the table was built from: what a network spends between its rows
   (Python dispatch, the allocator), less the hooks' own cost inside them.

Each prediction says which rows were looked up and which estimated. Everything here is
pure but ``load`` (reads the table file; ``cli.py`` writes it) and ``data_dir`` (the
per-user data directory); measuring is ``measure.py``'s, driven by ``lut_build.py``.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .predict import Prediction
from .registry import REGISTRY
from .spec import Layer, ModelSpec, ResolvedLayer

FORMAT = "archprof-latency-table/1"
FEATURES = ("mult_adds", "moved_bytes", "one")  # the linear model's columns (see ``features``)
MIN_FAMILY = 6  # rows a (kind, kernel, stride) family needs for a model of its own, else the kind's
NEIGHBOURS = 4  # measured rows whose residual corrects an estimate
NEIGHBOUR_SCALE = 0.35  # distance (in log channels and log pixels) at which a neighbour's weight halves
PRIOR_WEIGHT = 0.25  # the weight of "no correction" beside the neighbours' (1 each at distance 0)
# oneDNN blocks channels by 8 (AVX2) and a 1×1 conv's output pixels too (its GEMM's other side): a row whose
# channels, or whose output pixels, are not multiples of 8 runs the blocks' tails on slower paths. Estimated
# from aligned rows alone, 590 held-out rows with misaligned channels came out 8 % fast (median; aligned ones
# 1 %); a 512-channel 1×1 conv here takes 29 ps per mult-add on 12 × 12 and 16 × 16 pixels, 33 ps on 13 × 13,
# 14 × 14 and 15 × 15. So a misaligned row is far from an aligned one, in channels and in pixels.
BLOCK = 8
MISALIGNED_DISTANCE = 1.0  # what a mismatch adds to the distance: an aligned neighbour's weight ÷ 9
LOOKED_UP, ESTIMATED = "lookup", "estimated"


# -- row configurations ---------------------------------------------------------------------


def row_key(r: ResolvedLayer) -> str:
    """What a runtime sees of one leaf row, as a stable string: equal keys time alike."""
    layer = r.leaf
    kind = REGISTRY[layer.kind]
    shapes = r.in_shapes or (r.in_shape,)
    o = layer.options
    parts = [
        layer.kind,
        "in=" + "+".join("x".join(map(str, s)) for s in shapes),
        "out=" + "x".join(map(str, r.out_shape)),
        "k=" + ("x".join(map(str, layer.kernel)) if layer.kernel else "-"),
        f"s={layer.stride}",
        f"g={kind.groups(layer, r.in_shape)}",
        "p=" + ",".join(map(str, kind.pads(layer, r.in_shape))),
    ]
    if o is not None:
        parts.append(
            "opt="
            + ",".join(
                [
                    "bias" if o.bias else "nobias",
                    ("bn" if o.bn_scale else "bn-noscale") if o.batch_norm else "nobn",
                    o.activation or "noact",
                ]
            )
        )
    if layer.ceil:
        parts.append("ceil")
    return "|".join(parts)


def family(r: ResolvedLayer) -> str:
    """The rows one estimation model covers: a kind, and for kernels its size and stride."""
    layer = r.leaf
    if layer.kernel and layer.kind != "fc":
        return f"{layer.kind}/{layer.kernel[0]}x{layer.kernel[1]}/s{layer.stride}"
    return layer.kind


def features(row: dict) -> dict:
    """The numbers a row's estimate rests on, from its counted row (``costs.count``, batch included)."""
    return {
        "mult_adds": int(row["mult_adds"]) * int(row["batch"]),
        "moved_bytes": int(row["input_bytes"]) + int(row["activation_bytes"]) + int(row["weight_bytes"]),
        "in_c": int(row["in_c"]),
        "out_c": int(row["out_c"]),
        "out_hw": int(row["out_h"]) * int(row["out_w"]),
    }


def _design(feats: Iterable[dict]) -> np.ndarray:
    return np.array([[f["mult_adds"], f["moved_bytes"], 1.0] for f in feats], dtype=float)


# -- the fitted models ----------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """``ms = a·mult_adds + b·moved_bytes + c`` for one family, fitted for relative error, a, b, c ≥ 0."""

    family: str
    coef: tuple[float, float, float]
    rows: int  # table rows it was fitted on

    def __call__(self, feats: dict) -> float:
        return float(_design([feats])[0] @ np.array(self.coef))


def fit_model(name: str, feats: list[dict], ms: list[float]) -> Model:
    """Least squares on relative error (each row weighted 1/ms) with every coefficient ≥ 0.

    Relative error, because a prediction is judged relative to the time it predicts: a
    fit on absolute error would serve the few largest rows and miss small ones by 2×.
    Non-negative, because no row gets faster with more work; with three columns the
    exact non-negative solution is the best of the 7 subsets' unconstrained fits whose
    coefficients are all ≥ 0.
    """
    x = _design(feats)
    y = np.asarray(ms, dtype=float)
    w = 1.0 / np.maximum(y, 1e-6)
    best: tuple[float, np.ndarray] | None = None
    for subset in ((0, 1, 2), (0, 1), (0, 2), (1, 2), (0,), (1,), (2,)):
        cols = list(subset)
        sol, *_ = np.linalg.lstsq(x[:, cols] * w[:, None], y * w, rcond=None)
        if (sol < 0).any():
            continue
        coef = np.zeros(3)
        coef[cols] = sol
        loss = float(np.sum(((x @ coef - y) * w) ** 2))
        if best is None or loss < best[0]:
            best = (loss, coef)
    coef = best[1] if best is not None else np.array([0.0, 0.0, float(np.median(y))])
    return Model(name, (float(coef[0]), float(coef[1]), float(coef[2])), len(ms))


@dataclass(frozen=True)
class Calibration:
    """End to end from the rows: ``scale × Σ row ms``.

    The hooks' per-row medians leave out what a network spends between its rows (the module
    calls' dispatch) and count the hooks' own cost in; on a quiet machine the two nearly cancel
    (a scale of 0.99 here). A fit with a separate per-row term was tried and dropped: on a busy
    host it took up the preemption the end-to-end passes suffer and the rows' medians shed
    (368 µs "per row"), and predicted MobileNet 50 % high.
    """

    scale: float = 1.0

    def __call__(self, rows_ms: float) -> float:
        return self.scale * rows_ms


def _ratios(configs: list[dict]) -> list[float]:
    """Each built configuration's measured end to end over the sum of its rows."""
    return [c["end_to_end_ms"] / c["rows_ms"] for c in configs if c["rows_ms"] > 0]


def fit_calibration(configs: list[dict]) -> Calibration:
    """The median over the built configurations of measured end to end / Σ rows: one busy moment
    (a configuration timed while the host was loaded) moves a median little, and a least-squares fit much."""
    ratios = _ratios(configs)
    return Calibration(float(np.median(ratios))) if ratios else Calibration()


BUSY_SPREAD = 1.5  # largest / smallest end-to-end-to-rows ratio of a table's configurations that says "busy"


def busy_warning(table: Table) -> str | None:
    """What to say when the table's configurations disagree on how rows add up to a network: the host
    was busy (the end-to-end passes were preempted, the rows' medians were not), and the table is poor."""
    ratios = _ratios(table.configurations)
    if len(ratios) < 2 or max(ratios) / min(ratios) <= BUSY_SPREAD:
        return None
    return (
        f"the machine was busy while measuring: a network's end to end took {min(ratios):.2f}–"
        f"{max(ratios):.2f}× the sum of its rows; a table built on a quiet machine predicts better "
        "(close other programs and run archprof lut build again)"
    )


# -- the table ------------------------------------------------------------------------------


@dataclass
class Table:
    """Measured rows by key, the configurations they came from, and where and how they were measured."""

    entries: dict[str, dict]  # key -> {"family", "ms", "samples", "features"}
    configurations: list[dict]  # {"label", "rows", "rows_ms", "end_to_end_ms"}
    environment: dict
    path: str = ""
    models: dict[str, Model] = field(default_factory=dict)
    calibration: Calibration = Calibration()
    families: dict = field(default_factory=dict, repr=False)  # family -> _Family, made on first use
    # (key, batch, dtype) -> ms of a row not in the table
    estimates: dict[tuple, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.models:
            self.models = fit_models(self.entries)
        if self.calibration == Calibration() and self.configurations:
            self.calibration = fit_calibration(self.configurations)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "environment": self.environment,
                "configurations": self.configurations,
                "entries": self.entries,
                # derived (refitted on load), kept so the file documents what predicts
                "models": {
                    k: {"coef_ms": list(m.coef), "features": FEATURES, "rows": m.rows}
                    for k, m in self.models.items()
                },
                "calibration": vars(self.calibration),
            },
            indent=1,
            sort_keys=True,
        )


def fit_models(entries: dict[str, dict]) -> dict[str, Model]:
    """A model per family with at least ``MIN_FAMILY`` rows, and one per kind from all its rows."""
    by: dict[str, tuple[list[dict], list[float]]] = {}
    for _, e in sorted(entries.items()):  # in key order: the same fit, to the last bit, after a round trip
        kind = e["family"].split("/")[0]
        for name in {e["family"], kind}:
            f, m = by.setdefault(name, ([], []))
            f.append(e["features"])
            m.append(e["ms"])
    return {
        name: fit_model(name, f, m) for name, (f, m) in by.items() if "/" not in name or len(m) >= MIN_FAMILY
    }


def from_measurements(records: list[dict], environment: dict) -> Table:
    """A table from measured configurations: each ``{"label", "rows": [{"key", "family", "features", "ms"}],
    "end_to_end_ms"}``. A key seen in several configurations keeps the median of its times."""
    seen: dict[str, dict] = {}
    times: dict[str, list[float]] = {}
    configs = []
    for rec in records:
        for row in rec["rows"]:
            times.setdefault(row["key"], []).append(row["ms"])
            seen.setdefault(row["key"], row)
        configs.append(
            {
                "label": rec["label"],
                "rows": len(rec["rows"]),
                "rows_ms": sum(row["ms"] for row in rec["rows"]),
                "end_to_end_ms": rec["end_to_end_ms"],
            }
        )
    entries = {
        key: {
            "family": seen[key]["family"],
            "ms": float(np.median(ms)),
            "samples": len(ms),
            "features": seen[key]["features"],
        }
        for key, ms in times.items()
    }
    return Table(entries, configs, environment)


def spec_rows(spec: ModelSpec, batch: int = 1, dtype: str = "float32") -> list[dict]:
    """Every leaf row of a configuration: its path, key, family and features.

    From the counted rows (``costs._row_dict``, the one cost path) without the DataFrame: a
    sweep predicts hundreds of configurations, and pandas would be most of the time.
    """
    from .costs import _row_dict
    from .shapes import resolve

    out = []
    for r in resolve(spec):
        if not isinstance(r.layer, Layer):
            continue
        counted = _row_dict(spec, r, dtype, batch)
        out.append({"path": r.path, "key": row_key(r), "family": family(r), "features": features(counted)})
    return out


# -- estimating -----------------------------------------------------------------------------


def misaligned(feats: dict) -> tuple[bool, bool]:
    """Whether a row's channels (in or out), and whether its output pixels, are not multiples of ``BLOCK``."""
    return (feats["in_c"] % BLOCK != 0 or feats["out_c"] % BLOCK != 0, feats["out_hw"] % BLOCK != 0)


def _position(feats: dict) -> np.ndarray:
    """Where a row sits among its family's rows: log channels in and out, log output pixels, and whether its
    channels and its output pixels fill oneDNN's blocks (``misaligned``)."""
    channels_off, pixels_off = misaligned(feats)
    return np.array(
        [
            math.log(max(feats["in_c"], 1)),
            math.log(max(feats["out_c"], 1)),
            math.log(max(feats["out_hw"], 1)),
            MISALIGNED_DISTANCE if channels_off else 0.0,
            MISALIGNED_DISTANCE if pixels_off else 0.0,
        ]
    )


@dataclass(frozen=True)
class _Family:
    """A family's measured rows as arrays: where each sits, and the log of its time over its model's estimate."""

    model: Model
    positions: np.ndarray  # (rows, 5): see _position
    residuals: np.ndarray  # (rows,)


def _family(table: Table, fam: str) -> _Family | None:
    cached = table.families.get(fam)
    if cached is not None or fam in table.families:
        return cached
    model = table.models.get(fam) or table.models.get(fam.split("/")[0])
    found = None
    if model is not None:
        rows = [e for e in table.entries.values() if e["family"] == fam and e["ms"] > 0]
        pairs = [(_position(e["features"]), e["ms"], model(e["features"])) for e in rows]
        pairs = [(pos, ms, m) for pos, ms, m in pairs if m > 0]
        found = _Family(
            model,
            np.array([pos for pos, _, _ in pairs]).reshape(-1, 5),
            np.array([math.log(ms / m) for _, ms, m in pairs]),
        )
    table.families[fam] = found
    return found


def _correction(fam: _Family, feats: dict) -> float:
    """The model's error on the ``NEIGHBOURS`` most similar measured rows of the family (their
    geometric mean), shrunk toward no correction with distance: an estimate is corrected by what the
    model got wrong nearby, since rows of similar width and size share a kernel's efficiency."""
    if not len(fam.residuals):
        return 1.0
    d = np.linalg.norm(fam.positions - _position(feats), axis=1)
    near = np.argsort(d, kind="stable")[:NEIGHBOURS]
    weights = 1.0 / (1.0 + (d[near] / NEIGHBOUR_SCALE) ** 2)
    return math.exp(float(weights @ fam.residuals[near]) / (float(weights.sum()) + PRIOR_WEIGHT))


def estimate(table: Table, row: dict) -> float:
    """A row not in the table: its family's model, corrected by its error on the nearest measured rows."""
    fam = _family(table, row["family"])
    if fam is None:
        kind = row["family"].split("/")[0]
        raise ConfigError(
            f"the latency table{' ' + repr(table.path) if table.path else ''} has no {kind!r} rows to estimate "
            "one from; "
            "build it with a spec that has them (archprof lut build SPEC …)"
        )
    return max(fam.model(row["features"]), 0.0) * _correction(fam, row["features"])


def predict(table: Table, spec: ModelSpec, batch: int = 1, dtype: str = "float32") -> Prediction:
    """Per-row and end-to-end latency of one configuration from ``table``, nothing run."""
    per_row: dict[str, float] = {}
    source: dict[str, str] = {}
    for row in spec_rows(spec, batch, dtype):
        entry = table.entries.get(row["key"])
        if entry is not None:
            per_row[row["path"]], source[row["path"]] = entry["ms"], LOOKED_UP
        else:
            # a sweep meets the same row in many configurations; its features also depend on batch and dtype
            memo = (row["key"], batch, dtype)
            if memo not in table.estimates:
                table.estimates[memo] = estimate(table, row)
            per_row[row["path"]], source[row["path"]] = table.estimates[memo], ESTIMATED
    total = table.calibration(sum(per_row.values()))
    looked = sum(1 for s in source.values() if s == LOOKED_UP)
    return Prediction(
        total_ms=total,
        per_row_ms=per_row,
        per_row_source=source,
        source=f"lut: {table.path} ({looked} of {len(source)} rows looked up, {len(source) - looked} estimated)",
    )


# -- the file -------------------------------------------------------------------------------


def data_dir() -> Path:
    """The per-user data directory: $ARCHPROF_DATA_DIR, else $XDG_DATA_HOME/archprof, else ~/.local/share/archprof."""
    if os.environ.get("ARCHPROF_DATA_DIR"):
        return Path(os.environ["ARCHPROF_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "archprof"


def default_path(
    backend: str = "torch", threads: int = 1, device: str = "cpu", dtype: str = "float32", batch: int = 1
) -> Path:
    """Where the table of one runtime setting lives: one file per backend, device, dtype, threads and batch."""
    batched = f"-batch{batch}" if batch != 1 else ""
    return data_dir() / "latency" / f"{backend}-{device}-{dtype}-{threads}thread{batched}.json"


MAX_MS = 1e9  # ms: far beyond any measured row or network (11 days), and sums of such times stay finite
MAX_COUNT = 2**63 - 1  # a feature count (mult-adds, bytes, channels, pixels)
FEATURE_KEYS = ("mult_adds", "moved_bytes", "in_c", "out_c", "out_hw")
_MISSING = object()


def _shown(value) -> str:
    """A JSON value for an error message: what it is, briefly."""
    if value is _MISSING:
        return "is missing"
    kinds = {dict: "an object", list: "a list", type(None): "null"}
    return f"is {kinds[type(value)]}" if type(value) in kinds else f"is {value!r:.40}"


def _time(value, what: str, positive: bool = False) -> float:
    """``value`` as a time in ms: a JSON number, finite, ≥ 0 (> 0 when ``positive``), at most ``MAX_MS``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (0 <= value <= MAX_MS)
        or (positive and value == 0)
    ):
        bound = "greater than 0" if positive else "at least 0"
        raise ValueError(f"{what} {_shown(value)}, not a number of ms {bound} and at most {MAX_MS:g}")
    return float(value)


def _count(value, what: str, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (least <= value <= MAX_COUNT):
        raise ValueError(f"{what} {_shown(value)}, not a whole number of at least {least}")
    return value


def _dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{what} {_shown(value)}, not an object")
    return value


def _check(data) -> None:
    """Everything of a table file that is used, of the type and in the range it is used with: a file
    edited by hand or by anyone else is refused here, not met later as a traceback or a negative time."""
    _dict(data, "the file")
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    for name in ("entries", "configurations", "environment"):
        if name not in data:
            raise ValueError(f"no {name!r}")
    for key, e in _dict(data["entries"], "'entries'").items():
        what = f"entry {key[:80]!r}"
        _dict(e, what)
        if not isinstance(e.get("family"), str) or not e["family"]:
            raise ValueError(f"{what} has no family")
        _time(e.get("ms", _MISSING), f"{what}: ms")
        feats = _dict(e.get("features", _MISSING), f"{what}: features")
        for f in FEATURE_KEYS:
            _count(feats.get(f, _MISSING), f"{what}: features {f}")
    configs = data["configurations"]
    if not isinstance(configs, list):
        raise ValueError(f"'configurations' {_shown(configs)}, not a list")
    for i, c in enumerate(configs):
        what = f"configuration {i + 1}"
        _dict(c, what)
        if not isinstance(c.get("label"), str):
            raise ValueError(f"{what} has no label")
        _count(c.get("rows", _MISSING), f"{what}: rows", least=1)
        _time(c.get("rows_ms", _MISSING), f"{what}: rows_ms", positive=True)
        _time(c.get("end_to_end_ms", _MISSING), f"{what}: end_to_end_ms", positive=True)
    env = _dict(data["environment"], "'environment'")
    for name in ("backend", "device", "dtype"):  # what a predictor compares with its own setting
        if name in env and not isinstance(env[name], str):
            raise ValueError(f"environment {name} is {env[name]!r}, not a name")
    for name in ("threads", "batch"):
        if name in env:
            _count(env[name], f"environment {name}", least=1)
    if "specs" in env and not (
        isinstance(env["specs"], list) and all(isinstance(s, str) for s in env["specs"])
    ):
        raise ValueError("environment specs is not a list of names")


def decode(text: str, path: str) -> Table:
    try:
        data = json.loads(text)
        _check(data)
        table = Table(data["entries"], data["configurations"], data["environment"], path=path)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise ConfigError(
            f"latency table {path!r} is not one archprof wrote ({e}); rebuild it with archprof lut build"
        ) from None
    return table


MAX_TABLE_BYTES = 64 << 20  # a table of every built-in's grid is well under 1 MiB


def load(path: str | os.PathLike) -> Table:
    """The table in the file ``path``: a regular file (a FIFO would block, /dev/zero never end) of at most
    ``MAX_TABLE_BYTES``, checked before it is read."""
    p = Path(path)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ConfigError(f"cannot read latency table {str(p)!r}: it is {what}")
        if st.st_size > MAX_TABLE_BYTES:
            raise ConfigError(
                f"latency table {str(p)!r} is {st.st_size / 2**20:,.1f} MiB; archprof writes tables "
                f"of at most a few MiB (limit {MAX_TABLE_BYTES / 2**20:g} MiB): rebuild it with archprof lut build"
            )
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no latency table at {str(p)!r}: build one first with `archprof lut build` "
            "(about three minutes for the built-ins' default grids)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"cannot read latency table {str(p)!r}: {getattr(e, 'strerror', None) or e}"
        ) from None
    return decode(text, str(p))


class TablePredictor:
    """The ``lut`` predictor: a table file (by default the one for the backend, threads, device and dtype)."""

    name = "lut"

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        backend: str = "torch",
        threads: int = 1,
        device: str = "cpu",
        dtype: str = "float32",
        batch: int = 1,
    ):
        from . import backends

        # known and one (sweep's --backend reaches here unchecked): a table is of one runtime, and the
        # name is part of the default file's name
        if len(backends.names(backend, installed=False)) != 1:
            raise ConfigError(f"a latency table is of one backend; got {backend!r}: predict for one")
        self.table = load(path or default_path(backend, threads, device, dtype, batch))
        env = self.table.environment
        for what, want in (
            ("backend", backend),
            ("threads", threads),
            ("device", device),
            ("dtype", dtype),
            ("batch", batch),
        ):
            have = env.get(what)
            if have is not None and have != want:
                raise ConfigError(
                    f"latency table {self.table.path!r} was measured with {what} {have}, not {want}: "
                    f"build one for {what} {want} (archprof lut build --{what} {want})"
                )
        self.batch, self.dtype = batch, dtype

    def predict(self, spec: ModelSpec) -> Prediction:
        return predict(self.table, spec, self.batch, self.dtype)
