"""Sweeps: every (α, resolution) of a large grid counted at once, exactly, and its Pareto front.

Counting one configuration the ordinary way (``transforms.configure`` + ``costs.count``)
rebuilds the spec's tree and a DataFrame: a few ms. A sweep counts thousands to a
million configurations, so it compiles the spec once into a ``SweepPlan`` and uses what
separates:

- α decides the channels of every tensor (``transforms.scaled_channels`` for rows with a
  width of their own, the registry's shape rule for the rest), one scalar pass per α;
- the resolution decides every tensor's height and width (the registry's shape rule on
  the network as written), one scalar pass per resolution;
- every cost is then the registry's own cost formula evaluated once per row on numpy
  arrays, channels as a column (one entry per α) and sizes as a row (one per
  resolution): params, conv+FC weights and mult-adds for the whole grid at once;
- the peak activation bytes are memory.py's liveness sweep over the same steps, each
  tensor's bytes C·H·W an array over the grid, and the largest live set per
  configuration (which step is the peak can change with α and resolution), as prefix
  sums over the tensors rather than a loop over the steps;
- the plan keeps (``PlanMemo``) what depends on it and one α, one resolution or one
  grid's largest dimensions — the channel and size passes, the int64 bound — so a
  second sweep of the same spec only evaluates the formulas; nothing grid-wide is kept.

The formulas and shape rules are the registry's; nothing is counted twice in two ways.
Counts are int64 when a bound computed with Python ints shows they fit, else Python ints
(numpy object arrays): never wrapped. What the plan cannot express falls back to the
ordinary per-configuration path and says so: α values at which a residual shortcut
changes the network's structure (``fallback: drop | project`` blocks whose shortcut no
longer matches), and a kind whose cost formula does not take arrays.

A configuration that does not fit (a feature map collapses at that resolution, α leaves
a row without channels or breaks a grouped conv) is skipped and counted, not fatal.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from .errors import ConfigError
from .predict import Predictor
from .registry import REGISTRY, LayerKind, RuleError
from .spec import Block, Layer, ModelSpec
from .transforms import MAX_ALPHA, MAX_RESOLUTION, scaled_channels, scaled_input, width_key

MAX_CONFIGURATIONS = 1_000_000
INT64_SAFE = 2**62  # a count bound below this cannot wrap int64
CHUNK_ELEMENTS = 1 << 18  # configurations evaluated per numpy pass (bounds memory on large grids)
PEAK_ELEMENTS = 1 << 16  # tensors × configurations per block of the liveness sweep (its arrays stay in cache)
ALPHAS_TOGETHER = 4096  # α values whose channel pass runs at once (on arrays of this length)
# resolutions whose size pass runs on arrays: numpy's cost per call makes a row's rule on arrays cost what it
# costs on ~20 Python ints (11 resolutions: 0.76 ms together, 0.41 ms one by one)
SIZES_TOGETHER = 32
MEMO_ENTRIES = 4096  # α values (and resolutions, and bounds) whose passes a plan keeps for the next sweep

SWEEP_COLUMNS = [
    "model",
    "variant",
    "alpha",
    "resolution",
    "params",
    "paper_params",
    "mult_adds",
    "peak_activation_bytes",
    "reported_top1",
    "latency_ms",
    "latency_source",
    "pareto",
]


# -- ranges ------------------------------------------------------------------------------


def parse_range(text: str, kind: type, what: str) -> tuple:
    """``START:STOP:STEP`` (both ends included), a single value, or a comma list, as a tuple of ``kind``.

    Exact in decimal: ``0.25:1.4:0.05`` is 24 values ending at exactly 1.4. STOP − START
    must be a whole number of STEPs.
    """
    text = text.strip()
    if ":" not in text:
        values = []
        for item in text.split(","):
            values.append(_number(item, kind, what, text))
        return tuple(values)
    parts = text.split(":")
    if len(parts) != 3:
        raise ConfigError(f"{what} must be START:STOP:STEP (both ends included), got {text!r}")
    start, stop, step = (_decimal(p, kind, what, text) for p in parts)
    if step <= 0:
        raise ConfigError(f"{what} {text!r}: STEP must be greater than 0")
    if start > stop:
        raise ConfigError(f"{what} {text!r}: START must be at most STOP")
    n = (stop - start) / step
    if n != n.to_integral_value():
        raise ConfigError(
            f"{what} {text!r}: STOP − START ({stop - start}) is not a whole number of STEPs ({step})"
        )
    if n + 1 > MAX_CONFIGURATIONS:
        raise ConfigError(f"{what} {text!r} has {int(n) + 1:,} values; at most {MAX_CONFIGURATIONS:,}")
    return tuple(kind(start + i * step) for i in range(int(n) + 1))


def _decimal(item: str, kind: type, what: str, text: str) -> Decimal:
    try:
        d = Decimal(item.strip())
    except InvalidOperation:
        d = None
    # magnitudes within 10^±12: START, STOP and STEP then never overflow the arithmetic of the range
    # (1e999999999 as STOP, or 1e-999999999 as STEP, raised decimal.Overflow: a traceback)
    sane = d is not None and d.is_finite() and (d == 0 or -12 <= d.adjusted() <= 12)
    if d is None or not sane or (kind is int and d != d.to_integral_value()):
        numbers = "whole numbers" if kind is int else "finite numbers of at most 10^12"
        raise ConfigError(f"{what} takes {numbers} (START:STOP:STEP or a comma list), got {text!r}")
    return d


def _number(item: str, kind: type, what: str, text: str) -> float | int:
    return kind(_decimal(item, kind, what, text))


def check_grid(alphas: Sequence[float], resolutions: Sequence[int]) -> None:
    """Refuse a grid with a value outside what a configuration may be, or too many configurations."""
    for a in alphas:
        if not (math.isfinite(a) and 0 < a <= MAX_ALPHA):
            raise ConfigError(f"--alpha values must be greater than 0 and at most {MAX_ALPHA:g}, got {a:g}")
    for r in resolutions:
        if not 1 <= r <= MAX_RESOLUTION:
            raise ConfigError(f"--resolution values must be from 1 to {MAX_RESOLUTION:,} pixels, got {r:,}")
    n = len(alphas) * len(resolutions)
    if n > MAX_CONFIGURATIONS:
        raise ConfigError(
            f"{len(alphas):,} α × {len(resolutions):,} resolutions = {n:,} configurations; "
            f"a sweep counts at most {MAX_CONFIGURATIONS:,}"
        )


MAX_COUNT = 10**24  # far beyond any network's mult-adds (VGG16 at 100,000 px: 3·10^15)


def parse_count(text: str, what: str) -> int:
    """``300M`` → 300,000,000: a count with an optional SI suffix (K, M, G, T; powers of 1000)."""
    t = text.strip().replace(",", "").replace("_", "")
    scale = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}.get(t[-1:].upper())
    body = t[:-1] if scale else t
    try:
        value = Decimal(body) * (scale or 1)
    except ArithmeticError:  # InvalidOperation, and Overflow for an exponent like 1e999999999
        value = None
    # bounded before int(): 1e999999 is a valid Decimal whose int() would take minutes
    if value is None or not value.is_finite() or not 0 <= value <= MAX_COUNT:
        raise ConfigError(
            f"{what} must be a count such as 300M or 1.5G (K, M, G: thousands…) of at most 10^24, got {text!r}"
        )
    return int(value)


# -- the compiled plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One leaf row of the plan: what it reads and writes (tensor ids), and its layer as written."""

    path: str
    layer: Layer
    kind: LayerKind
    reads: tuple[int, ...]
    writes: int
    shortcut: bool = False  # the merge of an add block with a fallback (its structure can change with α)


class _Structure:
    """What the α memo holds for an α at which a residual shortcut changes the block's structure."""


_STRUCTURE_CHANGE = _Structure()


@dataclass
class PlanMemo:
    """What a plan's sweeps compute once and reuse: each depends on the plan and one α, one resolution or one
    grid's largest dimensions, never on the grid as a whole. At most ``MEMO_ENTRIES`` of each are kept."""

    # α -> _channels at α; resolution -> _spatial at it; (max C, H, W of every tensor) -> _cost_bound
    channels: dict[float, tuple[int, ...] | _Structure | None] = field(default_factory=dict)
    sizes: dict[int, tuple[tuple[int, ...], tuple[int, ...]] | None] = field(default_factory=dict)
    bounds: dict[tuple, int] = field(default_factory=dict)
    liveness: tuple[np.ndarray, ...] | None = None  # see _liveness


@dataclass(frozen=True)
class SweepPlan:
    """A spec compiled for sweeping: its rows as steps over tensors, and the liveness of every tensor."""

    spec: ModelSpec  # the configuration at α = 1, its own resolution, declared numbers dropped
    steps: tuple[Step, ...]
    tensors: int
    starts: tuple[int, ...]  # tensor id -> the step that writes it
    ends: tuple[int, ...]  # tensor id -> the last step that reads it
    base_channels: tuple[int, ...]  # tensor id -> channels at α = 1
    base_sizes: tuple[tuple[int, int], ...]  # tensor id -> (H, W) at the spec's resolution
    memo: PlanMemo = field(default_factory=PlanMemo, compare=False, repr=False)


def compile_plan(spec: ModelSpec) -> SweepPlan:
    """The steps of ``spec`` (α = 1) in execution order, as ``memory.live_bytes`` walks them."""
    from .shapes import node_name

    steps: list[Step] = []
    starts: list[int] = []
    ends: list[int] = []

    def tensor(step: int) -> int:
        starts.append(step)
        ends.append(step)
        return len(starts) - 1

    def leaf(layer: Layer, path: str, reads: tuple[int, ...], shortcut: bool = False) -> int:
        now = len(steps)
        for t in reads:
            ends[t] = max(ends[t], now)
        out = tensor(now)
        steps.append(Step(path, layer, REGISTRY[layer.kind], reads, out, shortcut))
        return out

    def run(node, path: str, x: int) -> int:
        if isinstance(node, Layer):
            return leaf(node, path, (x,))
        block: Block = node
        names = [node_name(c, i) for i, c in enumerate(block.children, 1)]
        if block.merge == "seq":
            for child, name in zip(block.children, names):
                x = run(child, f"{path}/{name}" if path else name, x)
            return x
        outs = tuple(
            run(child, f"{path}/{name}" if path else name, x)
            for child, name in zip(block.branches, names[:-1])
        )
        merge = block.children[-1]
        assert isinstance(merge, Layer)  # a merge is a leaf (spec.Block)
        return leaf(merge, f"{path}/{names[-1]}", outs, shortcut=block.fallback is not None)

    x = tensor(0)
    run(spec.root, "", x)
    # the shapes at α = 1 and the spec's resolution: every rule holds there (the spec parsed)
    shapes: list[tuple[int, int, int]] = [spec.input_shape] * len(starts)
    for s in steps:
        shapes[s.writes] = _infer(s, [shapes[t] for t in s.reads])
    return SweepPlan(
        spec,
        tuple(steps),
        len(starts),
        tuple(starts),
        tuple(ends),
        tuple(c for c, _, _ in shapes),
        tuple((h, w) for _, h, w in shapes),
    )


def _infer(step: Step, shapes: list, layer: Layer | None = None) -> tuple[int, int, int]:
    """The registry's shape rule for the step (a merge takes the tuple of its inputs)."""
    return step.kind.infer(layer or step.layer, tuple(shapes) if step.kind.merge else shapes[0])


def _spatial(plan: SweepPlan, resolution: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(H of every tensor, W of every tensor) at ``resolution``, or None where a feature map collapses or
    branches no longer line up (the rules of shapes.py). The channels are those at α = 1, where every channel
    rule holds."""
    shapes: list = [scaled_input(plan.spec, resolution)] + [None] * (plan.tensors - 1)
    for s in plan.steps:
        try:
            if s.kind.merge:
                out = s.kind.infer(s.layer, tuple(shapes[t] for t in s.reads))
            else:
                out = s.kind.infer(s.layer, shapes[s.reads[0]])
        except RuleError:
            return None
        if out[1] < 1 or out[2] < 1:
            return None
        shapes[s.writes] = out
    return tuple(s[1] for s in shapes), tuple(s[2] for s in shapes)


class _StructureChange(Exception):
    """α makes an add block's shortcut no longer match: the block settles differently (exact path)."""


def _channels(plan: SweepPlan, alpha: float) -> list[int] | None:
    """Channels of every tensor at ``alpha``, or None when α breaks a row (no channels, a grouped conv)."""
    rule = plan.spec.width_rule
    sizes = plan.base_sizes
    # each tensor's shape at α and the spec's resolution (where every size rule holds)
    shapes: list = [(plan.spec.input_shape[0], *sizes[0])] + [None] * (plan.tensors - 1)
    for s in plan.steps:
        layer = s.layer
        out = scaled_channels(layer, alpha, rule)
        try:
            if out is None:
                if s.kind.merge:
                    shape = s.kind.infer(layer, tuple(shapes[t] for t in s.reads))
                else:
                    shape = s.kind.infer(layer, shapes[s.reads[0]])
                out = shape[0]
            else:
                shape = (out, *sizes[s.writes])
                if layer.groups != 1:  # the grouped conv's rule: channels divisible by the groups
                    s.kind.infer(replace(layer, out_channels=out), shapes[s.reads[0]])
        except RuleError:
            if s.shortcut:
                raise _StructureChange from None
            return None
        if out < 1:
            return None
        shapes[s.writes] = shape
    return [c for c, _, _ in shapes]


def _memoised(memo: dict, keys: Sequence, together: Callable, alone: Callable, at_least: int) -> dict:
    """The pass of every key (an α, a resolution) once per plan: from the plan's ``memo``, else from
    ``together`` over the new keys (when there are ``at_least`` of them; it may decline with None), else from
    ``alone`` key by key. Up to ``MEMO_ENTRIES`` results are kept for the next sweep."""
    table = {}
    new = []
    for k in dict.fromkeys(keys):
        if k in memo:
            table[k] = memo[k]
        else:
            new.append(k)
    for lo in range(0, len(new), ALPHAS_TOGETHER):  # bounds the arrays' length
        chunk = new[lo : lo + ALPHAS_TOGETHER]
        got_all = together(chunk) if len(chunk) >= at_least else None
        for k in chunk:
            got = got_all[k] if got_all is not None else alone(k)
            table[k] = got
            if len(memo) < MEMO_ENTRIES:
                memo[k] = got
    return table


def _sizes_of(
    plan: SweepPlan, resolutions: Sequence[int]
) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]] | None]:
    """``_spatial`` of every resolution, once per plan and resolution (``_memoised``): from one pass over
    ``SIZES_TOGETHER`` or more new resolutions together (``_spatial_together``), else one pass each."""
    return _memoised(
        plan.memo.sizes,
        resolutions,
        lambda chunk: _spatial_together(plan, chunk),
        lambda r: _spatial(plan, r),
        SIZES_TOGETHER,
    )


class _NotTogether(Exception):
    """A row's channels come out differently at different resolutions: the per-resolution pass decides."""


def _spatial_together(
    plan: SweepPlan, resolutions: Sequence[int]
) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]] | None] | None:
    """``_spatial`` of many resolutions in one pass: each tensor's H and W an array (one entry per resolution),
    and each row's shape rule applied once to those arrays instead of once per resolution.

    A rule that does not take arrays — a merge compares its branches' shapes as a set, TF "same" padding
    takes a ``max`` — or that raises on them is applied to each resolution still in the running instead, for
    that row only, and a RuleError there drops that resolution, as it ends the per-resolution pass. So a
    resolution is None exactly where ``_spatial`` says None. None (for all) if a row's channels are not those
    of the plan at α = 1 (they would depend on the resolution): the per-resolution pass then decides."""
    n = len(resolutions)
    inputs = [scaled_input(plan.spec, r) for r in resolutions]
    shapes: list = [None] * plan.tensors
    shapes[0] = (
        plan.spec.input_shape[0],
        np.array([x[1] for x in inputs], dtype=np.int64),
        np.array([x[2] for x in inputs], dtype=np.int64),
    )
    fits = np.ones(n, dtype=bool)
    try:
        for s in plan.steps:
            base = plan.base_channels[s.writes]
            out = None if s.kind.merge else _rule_on_arrays(s, shapes[s.reads[0]], n, base)
            if out is None:
                out = _rule_each(s, shapes, fits, n, base)
            fits &= (out[1] >= 1) & (out[2] >= 1)
            shapes[s.writes] = out
    except _NotTogether:
        return None
    hs = np.stack([x[1] for x in shapes], axis=1).tolist()  # resolution × tensors
    ws = np.stack([x[2] for x in shapes], axis=1).tolist()
    return {
        r: (tuple(h), tuple(w)) if ok else None for r, h, w, ok in zip(resolutions, hs, ws, fits.tolist())
    }


def _rule_on_arrays(s: Step, shape: tuple, n: int, base: int) -> tuple | None:
    """The row's shape rule on (C, H array, W array): (C, H array, W array), or None where it does not take
    arrays (whatever it raises, an arithmetic warning, a result that is not whole numbers, channels other
    than ``base``, the plan's)."""
    try:
        with np.errstate(all="raise"):
            c, *sizes = s.kind.infer(s.layer, shape)
    except (RuleError, TypeError, ValueError, ArithmeticError):
        return None
    if isinstance(c, bool) or not isinstance(c, int) or c != base:
        return None
    columns = [_column(size, n) for size in sizes]  # a global pool's 1 × 1: repeated
    return None if any(col is None for col in columns) else (c, *columns)


def _column(value, n: int) -> np.ndarray | None:
    """A shape rule's result over ``n`` configurations as int64: an array of ``n`` whole numbers as it is, a
    single one (a number the multiplier leaves alone) repeated; None for anything else."""
    a = np.asarray(value)
    if a.ndim == 0:
        a = np.full(n, a)
    if a.shape != (n,) or a.dtype.kind not in "iu":
        return None
    return a.astype(np.int64)


def _rule_each(s: Step, shapes: list, fits: np.ndarray, n: int, base: int) -> tuple:
    """The row's shape rule on each resolution still in the running, with Python ints; a RuleError drops that
    resolution (``fits``). Channels other than ``base``, the plan's: ``_NotTogether``."""
    h, w = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for i in np.flatnonzero(fits).tolist():
        ins = [(c, int(hh[i]), int(ww[i])) for c, hh, ww in (shapes[t] for t in s.reads)]
        try:
            c, h[i], w[i] = _infer(s, ins)
        except RuleError:
            fits[i] = False
            continue
        if c != base:
            raise _NotTogether
    return base, h, w


def _channels_of(
    plan: SweepPlan, alphas: Sequence[float]
) -> dict[float, tuple[int, ...] | _Structure | None]:
    """``_channels`` of every α (``_STRUCTURE_CHANGE`` where it raises ``_StructureChange``), once per plan and
    α (``_memoised``): from one pass over the new α together (``_channels_together``), else one pass each."""

    def alone(a: float) -> tuple[int, ...] | _Structure | None:
        try:
            ch = _channels(plan, a)
        except _StructureChange:
            return _STRUCTURE_CHANGE
        return None if ch is None else tuple(ch)

    return _memoised(plan.memo.channels, alphas, lambda chunk: _channels_together(plan, chunk), alone, 2)


def _channels_together(
    plan: SweepPlan, alphas: Sequence[float]
) -> dict[float, tuple[int, ...] | None] | None:
    """``_channels`` of many α in one pass: each tensor's channels an array (one entry per α), and each row's
    shape rule applied once to those arrays instead of once per α.

    What the per-α pass decides from one α's channels, this decides elementwise: where α leaves a row
    without channels, that α is None. Whatever else a rule does on the arrays — a RuleError (a grouped conv or
    a residual shortcut that no longer matches), a comparison or a conversion numpy refuses on an array (a
    TypeError or ValueError), an arithmetic warning, a result that is not whole numbers — returns None: the
    per-α pass then counts each α as before, and says which one broke and how."""
    rule = plan.spec.width_rule
    sizes = plan.base_sizes
    n = len(alphas)
    shapes: list = [(np.full(n, plan.spec.input_shape[0], dtype=np.int64), *sizes[0])] + [None] * (
        plan.tensors - 1
    )
    fits = np.ones(n, dtype=bool)
    scaled: dict[tuple, list[int | None]] = {}  # width_key -> the widths at every α (rows share widths)
    try:
        with np.errstate(all="raise"):
            for s in plan.steps:
                layer = s.layer
                key = width_key(layer)
                widths = scaled.get(key)
                if widths is None:
                    widths = scaled[key] = [scaled_channels(layer, a, rule) for a in alphas]
                shape: tuple
                if widths[0] is None:
                    if any(w is not None for w in widths):
                        return None
                    if s.kind.merge:
                        shape = s.kind.infer(layer, tuple(shapes[t] for t in s.reads))
                    else:
                        shape = s.kind.infer(layer, shapes[s.reads[0]])
                    column = _column(shape[0], n)  # a classifier's width of its own: repeated
                    if column is None or not all(isinstance(x, int) for x in shape[1:]):
                        return None
                    out = column
                    shape = (out, *shape[1:])
                else:
                    if layer.groups != 1:  # the grouped conv's rule decides per α
                        return None
                    out = np.array(widths, dtype=np.int64)
                    shape = (out, *sizes[s.writes])
                fits &= out >= 1
                shapes[s.writes] = shape
    except (RuleError, TypeError, ValueError, ArithmeticError):
        return None
    rows = np.stack([shape[0] for shape in shapes], axis=1).tolist()  # α × tensors
    return {a: tuple(row) if ok else None for a, row, ok in zip(alphas, rows, fits.tolist())}


@functools.lru_cache(maxsize=32)
def plan_for(ref: str) -> SweepPlan:
    """The compiled plan of a built-in spec or spec file, with ``:standard`` (cached per process)."""
    from .catalog import load, split_ref
    from .transforms import configure, with_resolution

    name, variant = split_ref(ref)
    spec = configure(load(name), variant)
    return compile_plan(with_resolution(spec, spec.resolution))  # the declared numbers dropped


def _plan_of(spec: ModelSpec) -> SweepPlan:
    from .transforms import with_resolution

    if spec.alpha != 1.0:
        raise ConfigError(
            f"sweep starts from a spec as written (α = 1); {spec.label} is already width-multiplied"
        )
    return compile_plan(with_resolution(spec, spec.resolution))


# -- counting the grid ------------------------------------------------------------------------


@dataclass
class GridCounts:
    """The counts of every configuration of a grid that fits; what was skipped and how it was counted."""

    alpha: np.ndarray
    resolution: np.ndarray
    params: np.ndarray
    paper_params: np.ndarray
    mult_adds: np.ndarray
    peak_activation_bytes: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> configurations
    exact_path: int = 0  # configurations counted by the per-configuration path
    notes: list[str] = field(default_factory=list)


SKIP_REASONS = {
    "collapse": "whose feature maps collapse (a row's output would be smaller than 1 × 1)",
    "channels": "where α leaves a row without channels or breaks a grouped conv",
}


def count_grid(
    plan: SweepPlan,
    alphas: Sequence[float],
    resolutions: Sequence[int],
    dtype: str = "float32",
    batch: int = 1,
) -> GridCounts:
    """Params, conv+FC weights, mult-adds and peak activation bytes of every (α, resolution) that fits.

    Row order: α as given, then resolution as given. Bytes are of ``dtype`` at ``batch``.
    """
    from .costs import DTYPE_BYTES

    check_grid(alphas, resolutions)
    element_bytes = DTYPE_BYTES[dtype] * batch
    skipped = {"collapse": 0, "channels": 0}
    spatial = _sizes_of(plan, resolutions)
    rs = [r for r in resolutions if spatial[r] is not None]
    bad_r = len(resolutions) - len(rs)
    fast_alphas, exact_alphas = [], []
    channels = _channels_of(plan, alphas)
    for a in alphas:
        ch = channels[a]
        if isinstance(ch, _Structure):
            exact_alphas.append(a)
            continue
        if ch is None:
            skipped["channels"] += len(resolutions)
        else:
            fast_alphas.append(a)
            skipped["collapse"] += bad_r
    parts = []
    notes = []
    if fast_alphas and rs:
        try:
            parts.append(_evaluate(plan, fast_alphas, rs, channels, spatial, element_bytes))
        except (TypeError, ValueError) as e:  # a cost formula that does not take arrays
            notes.append(f"counted by the per-configuration path: a cost formula does not take arrays ({e})")
            exact_alphas = list(alphas)
            parts, skipped = [], {"collapse": 0, "channels": 0}
    exact = 0
    if exact_alphas:
        part, exact = _exact(plan, exact_alphas, resolutions, dtype, batch, skipped)
        parts.append(part)
        if not notes:
            shown = ", ".join(f"{a:g}" for a in exact_alphas[:5]) + (" …" if len(exact_alphas) > 5 else "")
            notes.append(
                f"{exact:,} configurations counted by the per-configuration path: at α = {shown} a "
                "residual shortcut no longer matches its branch and the block changes structure"
            )
    cols = ["alpha", "resolution", "params", "paper_params", "mult_adds", "peak_activation_bytes"]
    if parts:
        merged = {c: np.concatenate([p[c] for p in parts]) for c in cols}
        if len(parts) > 1:  # back into the grid's order: α as given, then resolution
            a_pos = {a: i for i, a in reversed(list(enumerate(alphas)))}
            r_pos = {r: i for i, r in reversed(list(enumerate(resolutions)))}
            key = [
                a_pos[a] * len(resolutions) + r_pos[r] for a, r in zip(merged["alpha"], merged["resolution"])
            ]
            order = np.argsort(np.asarray(key), kind="stable")
            merged = {c: v[order] for c, v in merged.items()}
    else:
        merged = {c: np.zeros(0, dtype=float if c == "alpha" else np.int64) for c in cols}
    for c in cols[2:]:  # int64 wherever every count fits (the exact path's Python ints mixed in, say)
        v = merged[c]
        if v.dtype == object and (not len(v) or max(v) < 2**63):
            merged[c] = v.astype(np.int64)
    merged["resolution"] = merged["resolution"].astype(np.int64)
    return GridCounts(
        **merged, skipped={k: v for k, v in skipped.items() if v}, exact_path=exact, notes=notes
    )


def _evaluate(plan, alphas, rs, channels, spatial, element_bytes) -> dict:
    """The registry's cost formulas on arrays: channels (α × 1) against sizes (1 × resolution)."""
    ch_rows = [channels[a] for a in alphas]  # α × tensors, Python ints
    h_rows = [spatial[r][0] for r in rs]  # resolution × tensors
    w_rows = [spatial[r][1] for r in rs]
    # A bound with Python ints: every formula grows with every dimension, so the costs at the largest
    # channels and sizes bound them all; under 2**62 nothing can wrap in int64.
    cmax, hmax, wmax = (tuple(map(max, zip(*rows))) for rows in (ch_rows, h_rows, w_rows))
    bound = max(
        _cost_bound(plan, cmax, hmax, wmax),
        sum(c * y * x for c, y, x in zip(cmax, hmax, wmax)) * element_bytes,
    )
    dtype = np.int64 if bound < INT64_SAFE else object
    ch, h, w = (np.array(rows, dtype=dtype) for rows in (ch_rows, h_rows, w_rows))
    hw = h * w

    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("params", "paper_params", "mult_adds", "peak_activation_bytes")
    }
    # every tensor's sizes as a row (1 × resolution), once for all chunks
    hs, ws = list(h.T[:, None, :]), list(w.T[:, None, :])
    rows = max(1, CHUNK_ELEMENTS // max(1, len(rs)))
    for lo in range(0, len(alphas), rows):
        c = ch[lo : lo + rows]
        shapes = list(zip(c.T[:, :, None], hs, ws))  # tensor id -> (C as α × 1, H and W as 1 × resolution)
        shape = (len(c), len(rs))
        totals = [np.zeros(shape, dtype=dtype) for _ in range(3)]
        for s in plan.steps:
            for total, value in zip(totals, _step_cost(s, shapes)):
                total += value  # broadcasts α × 1 and 1 × resolution (and scalars)
        out["params"].append(totals[0].ravel())
        out["paper_params"].append(totals[1].ravel())
        out["mult_adds"].append(totals[2].ravel())
        out["peak_activation_bytes"].append(_peak(plan, c, hw, element_bytes, dtype).ravel())
    result = {k: np.concatenate(v) if len(v) > 1 else v[0] for k, v in out.items()}
    result["alpha"] = np.repeat(np.asarray(alphas, dtype=float), len(rs))
    result["resolution"] = np.tile(np.asarray(rs, dtype=np.int64), len(alphas))
    return result


def _cost_bound(plan: SweepPlan, cmax: tuple, hmax: tuple, wmax: tuple) -> int:
    """The largest of params, paper params and mult-adds at these per-tensor dimensions, with Python ints
    (once per plan and dimensions)."""
    key = (cmax, hmax, wmax)
    bound = plan.memo.bounds.get(key)
    if bound is None:
        shapes = list(zip(cmax, hmax, wmax))
        bound = max(map(sum, zip(*(_step_cost(s, shapes) for s in plan.steps))))
        if len(plan.memo.bounds) < MEMO_ENTRIES:
            plan.memo.bounds[key] = bound
    return bound


def _step_cost(s: Step, shapes: list) -> tuple:
    """(params, paper params, mult-adds) of one step: the registry's formula on the shapes of its tensors
    (arrays, or Python ints for the bound)."""
    ins = shapes[s.reads[0]] if not s.kind.merge else tuple(shapes[t] for t in s.reads)
    cost = s.kind.cost(s.layer, ins, shapes[s.writes])
    return cost.params, cost.paper_params, cost.mult_adds


def _liveness(plan: SweepPlan) -> tuple[np.ndarray, ...]:
    """The tensors in order of the step that writes them and of the last step that reads them, and for every
    step how many of each come at or before it: which tensors are live at a step, as two prefix counts."""
    if plan.memo.liveness is None:
        steps = np.arange(len(plan.steps))
        starts, ends = np.asarray(plan.starts), np.asarray(plan.ends)
        by_start, by_end = np.argsort(starts, kind="stable"), np.argsort(ends, kind="stable")
        begun = np.searchsorted(starts[by_start], steps, side="right")  # written at or before step i
        done = np.searchsorted(ends[by_end], steps, side="left")  # last read before step i
        plan.memo.liveness = (by_start, begun, by_end, done)
    return plan.memo.liveness


def _peak(plan: SweepPlan, ch, hw, element_bytes: int, dtype) -> np.ndarray:
    """memory.live_bytes' sweep over the steps, for every configuration at once: the largest live set.

    The bytes live after step i are those of the tensors written at or before i less those last read before
    i: two prefix sums over the tensors (by the step that writes them, by the last step that reads them),
    taken at every step. Blocks of configurations keep tensors × configurations within ``PEAK_ELEMENTS``.
    """
    by_start, begun, by_end, done = _liveness(plan)
    tensors, n_r = plan.tensors, hw.shape[0]
    cols = max(1, min(n_r, PEAK_ELEMENTS // tensors))
    rows = max(1, PEAK_ELEMENTS // (tensors * cols))
    peak = np.empty((ch.shape[0], n_r), dtype=dtype)
    for a0 in range(0, ch.shape[0], rows):
        for r0 in range(0, n_r, cols):
            c, s = ch[a0 : a0 + rows], hw[r0 : r0 + cols]
            size = c.T[:, :, None] * s.T[:, None, :]  # tensor × α × resolution: C·H·W
            written = np.zeros((tensors + 1, *size.shape[1:]), dtype=dtype)
            released = np.zeros_like(written)
            np.cumsum(size[by_start], axis=0, out=written[1:])
            np.cumsum(size[by_end], axis=0, out=released[1:])
            live = written[begun]
            live -= released[done]
            peak[a0 : a0 + rows, r0 : r0 + cols] = live.max(axis=0)
    return peak * element_bytes


def _exact(plan, alphas, resolutions, dtype, batch, skipped) -> tuple[dict, int]:
    """The per-configuration path (transforms + costs.count), for what the plan cannot express."""
    from . import costs
    from .transforms import with_alpha, with_resolution

    rows: dict[str, list] = {
        k: [] for k in ("alpha", "resolution", "params", "paper_params", "mult_adds", "peak_activation_bytes")
    }
    n = 0
    for a in alphas:
        try:
            spec_a = with_alpha(plan.spec, a)
        except ConfigError:
            skipped["channels"] += len(resolutions)
            continue
        for r in resolutions:
            try:
                spec = with_resolution(spec_a, r)
            except ConfigError:
                skipped["collapse"] += 1
                continue
            t = costs.totals(costs.count(spec, dtype, batch))
            for k in rows:
                rows[k].append(a if k == "alpha" else r if k == "resolution" else t[k])
            n += 1
    return {k: np.asarray(v, dtype=float if k == "alpha" else object) for k, v in rows.items()}, n


# -- the sweep as a result -----------------------------------------------------------------


@dataclass
class Sweep:
    """One row per configuration that fits (``SWEEP_COLUMNS``), what was skipped, and what the front is over."""

    frame: pd.DataFrame
    spec: ModelSpec
    cost: str  # "mult_adds" or "latency_ms": what the front is of
    grid_size: int  # configurations asked for
    skipped: dict[str, int]
    over_budget: int
    exact_path: int
    notes: list[str]
    latency_source: str | None = None
    alphas: tuple[float, ...] = ()
    resolutions: tuple[int, ...] = ()

    def skipped_lines(self) -> list[str]:
        return [
            f"skipped {n:,} configuration{'s' if n != 1 else ''} {SKIP_REASONS[k]}"
            for k, n in self.skipped.items()
        ]


FRONT = (
    "pareto: no other configuration beats it on every criterion the two can be compared on — configurations "
    "whose top-1 the spec reports on {cost}, params and top-1; the others (most of a sweep) on {cost} and params "
    "among themselves, where the smallest configuration beats the rest. Top-1 is never interpolated: an "
    "unreported configuration may be more or less accurate, so it neither beats nor is beaten by a reported one."
)


def run_sweep(
    spec: str,
    alphas: Sequence[float] | None = None,
    resolutions: Sequence[int] | None = None,
    *,
    latency: str | None = None,
    budget_mult_adds: int | None = None,
    budget_ms: float | None = None,
    dtype: str = "float32",
    batch: int = 1,
    predictor: Predictor | None = None,
) -> Sweep:
    """Count (and, with ``latency="predicted"``, predict) every α × resolution of ``spec``.

    ``spec`` is a built-in name or spec file, optionally with ``:standard`` (or a ModelSpec); ``alphas``
    and ``resolutions`` default to the spec's own grid. ``budget_mult_adds`` keeps the
    configurations with at most that many mult-adds, ``budget_ms`` those predicted to
    run in at most that many ms (it implies ``latency="predicted"``).
    """
    from .costs import DTYPE_BYTES
    from .modelfile import is_model_ref

    if (isinstance(spec, str) and is_model_ref(spec)) or not isinstance(spec, (str, ModelSpec)):
        raise ConfigError(
            "sweep transforms a spec (a built-in name or spec file); a model file is counted as written"
        )
    if dtype not in DTYPE_BYTES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    if latency not in (None, "predicted"):
        raise ConfigError(f"--latency takes 'predicted' (a sweep measures nothing), got {latency!r}")
    if budget_ms is not None:
        if not (math.isfinite(budget_ms) and budget_ms > 0):
            raise ConfigError(
                f"--budget-ms must be a number of milliseconds greater than 0, got {budget_ms:g}"
            )
        latency = "predicted"  # a time budget is a budget on predicted latency
    if latency == "predicted" and predictor is None:
        from .predict import get

        predictor = get(
            batch=batch, dtype=dtype
        )  # the per-user table, or a ConfigError saying how to build one
    plan = plan_for(spec) if isinstance(spec, str) else _plan_of(spec)
    base = plan.spec
    # each value once, in the order given (a comma list may repeat one)
    alphas = tuple(dict.fromkeys(float(a) for a in (alphas or base.alphas)))
    resolutions = tuple(
        dict.fromkeys(int(r) for r in (resolutions or base.resolutions or (base.resolution,)))
    )
    counted = count_grid(plan, alphas, resolutions, dtype, batch)
    # every column as an array first, the DataFrame once at the end (pandas' per-column work would otherwise
    # cost more than the counting on a small grid)
    cols: dict[str, np.ndarray] = {
        "alpha": counted.alpha,
        "resolution": counted.resolution,
        "params": counted.params,
        "paper_params": counted.paper_params,
        "mult_adds": counted.mult_adds,
        "peak_activation_bytes": counted.peak_activation_bytes,
    }
    n = len(counted.alpha)
    cols["reported_top1"] = _reported(base, counted.alpha, counted.resolution)
    cols["latency_ms"] = np.full(n, np.nan)
    source = None
    if latency == "predicted" and predictor is not None:
        from .transforms import configure

        predicted = []
        sources = []
        for a, r in zip(counted.alpha, counted.resolution):
            p = predictor.predict(configure(base, "base", float(a), int(r)))
            predicted.append(p.total_ms)
            looked = sum(1 for v in p.per_row_source.values() if v == "lookup")
            sources.append(f"{looked}/{len(p.per_row_source)} rows looked up" if p.per_row_source else None)
            source = p.source.split(" (")[0]  # the table; per configuration, how many rows it held
        cols["latency_ms"] = np.asarray(predicted, dtype=float)
        cols["latency_source"] = np.asarray(sources, dtype=object)
    keep = np.ones(n, dtype=bool)
    if budget_mult_adds is not None:
        keep &= cols["mult_adds"] <= budget_mult_adds
    if budget_ms is not None:
        keep &= cols["latency_ms"] <= budget_ms
    over = int(n - keep.sum())
    if over:
        cols = {k: v[keep] for k, v in cols.items()}
    cost = "latency_ms" if latency == "predicted" else "mult_adds"
    cols["pareto"] = pareto(
        cols[cost].astype(float), cols["params"].astype(float), cols["reported_top1"].astype(float)
    )
    m = len(cols["alpha"])
    cols["model"] = np.full(m, base.key, dtype=object)
    cols["variant"] = np.full(m, base.variant, dtype=object)
    if "latency_source" not in cols:  # per configuration when predicted: how many of its rows the table held
        cols["latency_source"] = np.full(m, None, dtype=object)
    # the columns already in order and the index given: pandas neither reorders nor infers them (a third of
    # the frame's cost on a small grid)
    frame = pd.DataFrame({k: cols[k] for k in SWEEP_COLUMNS}, index=pd.RangeIndex(m))
    return Sweep(
        frame,
        base,
        cost,
        len(alphas) * len(resolutions),
        counted.skipped,
        over,
        counted.exact_path,
        counted.notes,
        source,
        alphas,
        resolutions,
    )


def _reported(spec: ModelSpec, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The spec's reported top-1 where a configuration is exactly one the paper reports; NaN elsewhere."""
    out = np.full(len(a), np.nan)
    for variant, alpha, resolution, top1 in spec.reported_top1:
        if variant == spec.variant:
            out[(a == alpha) & (r == resolution)] = top1
    return out


def front_2d(cost: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Which points no other point beats on both: at most the cost and at most the params, not the same point.

    The same front as ``grid.pareto_front(cost, -params)``, in O(n log n) for a million points: sorted by
    cost then params, a point is on the front when its params are below every earlier point's (ties in both
    are all on it). NaN costs are never on the front.
    """
    n = len(cost)
    on = np.zeros(n, dtype=bool)
    ok = ~(np.isnan(cost) | np.isnan(params))
    idx = np.flatnonzero(ok)
    if not len(idx):
        return on
    order = idx[np.lexsort((params[idx], cost[idx]))]
    c, p = cost[order], params[order]
    # a point must have fewer params than every point before it in (cost, params) order; copies of one
    # point (equal in both) do not beat each other, so each copy takes the verdict of the first
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(p)[:-1]))
    new_point = np.concatenate(([True], (c[1:] != c[:-1]) | (p[1:] != p[:-1])))
    first = np.flatnonzero(new_point)[np.cumsum(new_point) - 1]
    on[order] = (p < best_before)[first]
    return on


def pareto(cost: np.ndarray, params: np.ndarray, top1: np.ndarray) -> np.ndarray:
    """The sweep's front (see ``FRONT``): among configurations with a reported top-1, (cost ↓, params ↓, top-1 ↑);
    among the others, (cost ↓, params ↓). A NaN cost is never on it."""
    on = np.zeros(len(cost), dtype=bool)
    known = ~np.isnan(top1)
    unknown = np.flatnonzero(~known)
    on[unknown] = front_2d(cost[unknown], params[unknown])
    idx = np.flatnonzero(known & ~np.isnan(cost))
    pts = list(zip(cost[idx].tolist(), params[idx].tolist(), top1[idx].tolist()))
    for i, (c, p, a) in zip(idx, pts):  # few points: the configurations a paper reports
        on[i] = not any(oc <= c and op <= p and oa >= a and (oc, op, oa) != (c, p, a) for oc, op, oa in pts)
    return on
