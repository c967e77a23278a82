"""The paper's claims and archprof's own consistency, as executable checks.

``run(refs)`` returns a list of ``Check`` rows — check, expected, got, verdict — and
prints nothing. Verdicts:

- ``pass``            the claim holds;
- ``FAIL``            it does not: a bug in archprof or in the spec (``archprof validate`` exits 1);
- ``does not hold``   an invariant that this architecture does not have, with the reason
                      (VGG16's flatten into its first FC makes params grow with resolution);
- ``erratum``         the paper contradicts itself; the computed value is given;
- ``note``            the paper counts differently here; the note says how, and the
                      number under the paper's own convention matches;
- ``n/a``             nothing to check (no mult-adds to scale, one α that fits), with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import pandas as pd

from . import costs, guard, paper
from .catalog import builtin_names, load, split_ref
from .crosscheck import crosscheck
from .errors import ConfigError
from .profiling import by_kind
from .registry import REGISTRY
from .transforms import configure

PASS, FAIL, DOES_NOT_HOLD, ERRATUM, NOTE, NA = "pass", "FAIL", "does not hold", "erratum", "note", "n/a"
PROBE_ALPHAS = (1.0, 0.75, 0.5, 0.25)
PROBE_RHOS = (1.0, 6 / 7, 5 / 7, 4 / 7)  # the paper's 224, 192, 160, 128


@dataclass(frozen=True)
class Check:
    section: str  # "invariants", "cross-check", "paper"
    subject: str  # the spec, or the paper's table
    check: str
    expected: str
    got: str
    verdict: str
    why: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def default_refs() -> list[str]:
    """Every built-in spec and its standard-conv variant where it has one."""
    refs = []
    for name in builtin_names():
        refs.append(name)
        try:
            configure(load(name), "standard")
            refs.append(f"{name}:standard")
        except ConfigError:
            pass
    return refs


@functools.lru_cache(maxsize=512)
def _layers(ref: str, alpha: float, resolution: int, classes: int | None = None) -> pd.DataFrame:
    name, variant = split_ref(ref)
    return costs.count(configure(load(name), variant, alpha, resolution, classes))


def _total(ref, alpha, resolution, column, without_kinds=(), classes=None) -> int:
    layers = _layers(ref, alpha, resolution, classes)
    return int(layers.loc[~layers["kind"].isin(without_kinds), column].sum())


def _fits(ref: str, alpha: float, resolution: int) -> bool:
    try:
        _layers(ref, alpha, resolution)
        return True
    except ConfigError:
        return False


def _grid(ref: str) -> tuple[tuple[float, ...], tuple[int, ...], str, str]:
    """The spec's default grid, and a note per axis; a one-value axis is widened to the
    paper's probes so that every invariant has something to compare. Probes that do not
    fit the network (too few channels, a map that collapses) are left out, and the note
    says so. (α only changes channels and resolution only sizes, so the axes are independent.)"""
    spec = load(split_ref(ref)[0])
    alphas, resolutions, alpha_note, resolution_note = spec.alphas, spec.resolutions, "", ""
    if len(alphas) < 2:
        fit = tuple(a for a in PROBE_ALPHAS if _fits(ref, a, resolutions[0]))
        alphas = fit or alphas
        alpha_note = (
            f"probed at α = {', '.join(f'{a:g}' for a in fit)} (the spec's grid has one α"
            + ("" if len(fit) == len(PROBE_ALPHAS) else "; smaller α leave a layer without channels")
            + ")"
        )
    if len(resolutions) < 2:
        probes = tuple(dict.fromkeys(round(spec.resolution * rho) for rho in PROBE_RHOS))
        fit_r = tuple(r for r in probes if _fits(ref, alphas[0], r))
        resolutions = fit_r or resolutions
        resolution_note = (
            f"probed at {', '.join(map(str, fit_r))} px (the spec's grid has one resolution"
            + ("" if len(fit_r) == len(probes) else "; smaller inputs collapse a feature map")
            + ")"
        )
    return tuple(alphas), tuple(resolutions), alpha_note, resolution_note


def run(
    refs: Iterable[str] | None = None, cross: bool = True, advance: Callable[[str], None] | None = None
) -> list[Check]:
    """All checks for ``refs`` (default: every built-in and its standard variant).

    ``cross`` builds every configuration of each default grid and holds it against fvcore
    and ``sum(p.numel())`` (the slow part; ``advance`` is called once per configuration).
    """
    refs = _specs_only(list(refs) if refs else default_refs())
    for ref in refs:  # fail early, with one clear line, on a bad name
        name, variant = split_ref(ref)
        configure(load(name), variant)
    checks: list[Check] = []
    for ref in refs:
        checks += _invariants(ref)
        if cross:
            checks += _crosschecks(ref, advance)
    checks += _paper(refs)
    return checks


def _specs_only(refs: list[str]) -> list[str]:
    from .modelfile import is_model_ref

    for ref in refs:
        if is_model_ref(ref):
            raise ConfigError(
                f"validate checks specs against the papers; {ref} is a model file (use "
                f"'archprof diff SPEC {ref}' to hold it against a spec)"
            )
    return refs


def crosscheck_steps(refs: Iterable[str] | None = None) -> int:
    """How many configurations ``run`` builds (for a progress bar)."""
    total = 0
    for ref in _specs_only(list(refs) if refs else default_refs()):
        spec = load(split_ref(ref)[0])
        total += len(spec.alphas) * len(spec.resolutions)
    return total


# -- invariants ------------------------------------------------------------------------


def _invariants(ref: str) -> list[Check]:
    alphas, resolutions, alpha_note, resolution_note = _grid(ref)
    checks = []
    if len(resolutions) < 2:
        checks += [
            Check("invariants", ref, c, "", "one resolution", NA, "no second resolution fits this network")
            for c in ("params do not change with resolution", "mult-adds scale with resolution²")
        ]
    else:
        checks += [
            _params_vs_resolution(ref, alphas, resolutions, resolution_note),
            _mult_adds_vs_resolution(ref, alphas, resolutions, resolution_note),
        ]
    if len(alphas) < 2:
        checks += [
            Check(
                "invariants",
                ref,
                f"{w} scale roughly with α²",
                "",
                "one α",
                NA,
                "no second α fits this network",
            )
            for w in ("params", "mult-adds")
        ]
    else:
        checks += _vs_alpha(ref, alphas, resolutions, alpha_note)
    return checks


def _params_vs_resolution(ref, alphas, resolutions, probe) -> Check:
    # row path -> the (α, resolution) pairs where its params differ from the first resolution's
    changed: dict[str, list[tuple[float, int]]] = {}
    for a in alphas:
        base = _layers(ref, a, resolutions[0]).set_index("path")["params"]
        for r in resolutions[1:]:
            other = _layers(ref, a, r).set_index("path")["params"]
            for name in base.index[base != other]:
                changed.setdefault(name, []).append((a, r))
    values = ", ".join(f"{_total(ref, alphas[0], r, 'params'):,}" for r in resolutions)
    got = f"α = {alphas[0]:g}: {values} at {', '.join(map(str, resolutions))}"
    check = "params do not change with resolution"
    if not changed:
        return Check("invariants", ref, check, "equal at every resolution", got, PASS, probe)
    layers = _layers(ref, alphas[0], resolutions[0]).set_index("path")
    flattened = [
        n
        for n in changed
        if layers.loc[n, "kind"] == "fc" and layers.loc[n, "in_h"] * layers.loc[n, "in_w"] > 1
    ]
    if len(flattened) == len(changed):
        n = flattened[0]
        r = layers.loc[n]
        why = (
            f"{n} is an FC on the flattened {r.in_h} × {r.in_w} × {r.in_c} map: its inputs, "
            f"and so its weights, grow with the resolution"
        )
        return Check(
            "invariants",
            ref,
            check,
            "equal at every resolution",
            got,
            DOES_NOT_HOLD,
            "; ".join(x for x in (why, probe) if x),
        )
    return Check(
        "invariants",
        ref,
        check,
        "equal at every resolution",
        got,
        FAIL,
        f"changed in {', '.join(sorted(changed))}",
    )


def _side_bounds(side: int, rho: float) -> tuple[float, float]:
    """How much one side of a feature map can scale: within one pixel of ρ·side (1 stays 1)."""
    if side == 1:
        return 1.0, 1.0
    return max(1.0, rho * side - 1) / side, (rho * side + 1) / side


def _mult_adds_vs_resolution(ref, alphas, resolutions, probe) -> Check:
    results = []  # (deviation from ρ², α, resolution, ratio, ρ², lower, upper)
    if _total(ref, alphas[0], resolutions[0], "mult_adds") == 0:
        return Check(
            "invariants",
            ref,
            "mult-adds scale with resolution²",
            "≈ ρ²",
            "0 mult-adds",
            NA,
            "no conv or FC layer: nothing to scale",
        )
    for a in alphas:
        base = _layers(ref, a, resolutions[0])
        m0 = base["mult_adds"].sum()
        for r in resolutions[1:]:
            rho = r / resolutions[0]
            lo = hi = 0.0
            for row in base.itertuples():
                # a conv scales with its output map, an FC with its (flattened) input map
                (olh, ohh), (olw, ohw) = _side_bounds(row.out_h, rho), _side_bounds(row.out_w, rho)
                (ilh, ihh), (ilw, ihw) = _side_bounds(row.in_h, rho), _side_bounds(row.in_w, rho)
                lo += row.mult_adds * min(olh * olw, ilh * ilw)
                hi += row.mult_adds * max(ohh * ohw, ihh * ihw)
            ratio = _total(ref, a, r, "mult_adds") / m0
            results.append((abs(ratio / rho**2 - 1), a, r, ratio, rho**2, lo / m0, hi / m0))
    bad = [x for x in results if not x[5] - 1e-12 <= x[3] <= x[6] + 1e-12]
    _, a, r, ratio, rho2, lo, hi = bad[0] if bad else max(results)
    got = (
        f"{'outside' if bad else 'furthest from ρ²'} at α = {a:g}, {r}: ratio {ratio:.4f} vs ρ² {rho2:.4f} "
        f"(bounds {lo:.4f}–{hi:.4f})"
    )
    check, expected = (
        "mult-adds scale with resolution²",
        "≈ ρ², within ±1 px of rounding per feature-map side",
    )
    offset = _unpadded_window(_layers(ref, alphas[0], resolutions[0])) if bad else None
    if offset is not None:
        # (H − K) / S + 1 is affine in H: such a row takes a few pixels off every map after it, whatever ρ
        why = (
            f"{offset.path} ({offset.kernel[0]} × {offset.kernel[1]}, stride {offset.stride}, no padding) outputs "
            f"⌊(H − {offset.kernel[0]}) / {offset.stride}⌋ + 1: an offset, not a ratio, so its maps and those "
            f"after it shrink faster than ρ"
        )
        return Check(
            "invariants", ref, check, expected, got, DOES_NOT_HOLD, "; ".join(x for x in (why, probe) if x)
        )
    return Check("invariants", ref, check, expected, got, FAIL if bad else PASS, probe)


def _unpadded_window(layers: pd.DataFrame):
    """The first conv or pool whose window is wider than its stride and that pads nothing, if any."""
    for row in layers.itertuples():
        if (
            row.kernel is not None
            and row.padding == [0, 0, 0, 0]
            and max(row.kernel) > row.stride
            and REGISTRY[row.kind].strided
        ):
            return row
    return None


def _vs_alpha(ref, alphas, resolutions, probe) -> list[Check]:
    out = []
    base_alpha = max(alphas)
    for column, what in (("params", "params"), ("mult_adds", "mult-adds")):
        if _total(ref, base_alpha, resolutions[0], column) == 0:
            out.append(
                Check(
                    "invariants",
                    ref,
                    f"{what} scale roughly with α²",
                    "between α² and α",
                    f"0 {what}",
                    NA,
                    "no conv or FC layer: nothing to scale",
                )
            )
            continue
        worst, failed = None, []
        for r in resolutions:
            layers = _layers(ref, base_alpha, r)
            c_min = int(layers["out_c"][layers["out_c"] > 0].min())
            v0 = layers[column].sum()
            # The classifier's bias and batch norm sit on the classes, which α leaves alone.
            classifier = layers[layers["role"] == "classifier"]
            const = (
                int((classifier["params"] - classifier["paper_params"]).sum()) if column == "params" else 0
            )
            for a in alphas:
                if a == base_alpha:
                    continue
                k = a / base_alpha
                ratio = _total(ref, a, r, column) / v0
                # Layers between two scaled channel counts scale with α², those next to the
                # image or the classes (first conv, classifier, BN, bias) with α; int(c·α)
                # can take away up to one channel.
                lo, hi = (k - 1 / c_min) ** 2, k + (1 - k) * const / v0
                ok = lo <= ratio <= hi
                if not ok:
                    failed.append(f"α = {a:g}, {r}: {ratio:.4f} outside {lo:.4f}–{hi:.4f}")
                if worst is None or abs(ratio / k**2 - 1) > worst[0]:
                    worst = (abs(ratio / k**2 - 1), a, r, ratio, k**2, lo, hi)
        if worst is None:
            continue
        _, a, r, ratio, k2, lo, hi = worst
        got = (
            f"furthest from α² at α = {a:g}, {r}: ratio {ratio:.4f} vs α² {k2:.4f} (bounds {lo:.4f}–{hi:.4f})"
        )
        verdict, why = (FAIL if failed else PASS), "; ".join(failed) or probe
        if failed and load(split_ref(ref)[0]).last_conv_fixed:
            # MobileNetV2's 1280-wide last conv, and the classifier behind it, do not shrink for α < 1
            verdict, why = (
                DOES_NOT_HOLD,
                (
                    "the spec keeps its last conv's width for α ≤ 1 ('last conv: fixed for "
                    "α ≤ 1'), so that conv and the classifier after it do not shrink; " + why
                ),
            )
        out.append(
            Check(
                "invariants",
                ref,
                f"{what} scale roughly with α²",
                "between α² and α of α = 1",
                got,
                verdict,
                why,
            )
        )
    return out


# -- cross-check against the built model -------------------------------------------------


def _crosschecks(ref: str, advance) -> list[Check]:
    name, variant = split_ref(ref)
    spec0 = load(name)
    mismatches: dict[str, list[str]] = {"params": [], "mult_adds": [], "weight_bytes": []}
    configs = layers_checked = 0
    for a in spec0.alphas:
        for r in spec0.resolutions:
            spec = configure(spec0, variant, a, r)
            analytic = _layers(ref, a, r)
            t = costs.totals(analytic)
            guard.check(f"building {spec.label}", t["weight_bytes"], t["peak_activation_bytes"])
            traced = crosscheck(spec)
            configs += 1
            layers_checked += len(analytic)
            for column in mismatches:
                if list(analytic["path"]) != list(traced["path"]):
                    mismatches[column].append(
                        f"{spec.label}: the built model's modules "
                        f"{list(traced['path'])[:5]}… are not the rows {list(analytic['path'])[:5]}…"
                    )
                    continue
                for (n, x), y in zip(analytic[["path", column]].itertuples(index=False), traced[column]):
                    if x != y:
                        mismatches[column].append(f"{spec.label} {n}: analytic {x:,} vs torch {y:,}")
            if advance:
                advance(ref)
    grid = f"{configs} configurations, {layers_checked:,} layers"
    oracle = {"params": "sum(p.numel())", "weight_bytes": "tensor bytes", "mult_adds": "fvcore conv + linear"}
    return [
        Check(
            "cross-check",
            ref,
            f"analytic {column} = {oracle[column]}, layer by layer",
            grid,
            f"{len(bad)} differ" if bad else "all equal",
            FAIL if bad else PASS,
            "; ".join(bad[:3]),
        )
        for column, bad in mismatches.items()
    ]


# -- the paper -----------------------------------------------------------------------------


def _m(n: float) -> str:
    return f"{n / 1e6:,.2f} M"


def _paper(refs: list[str]) -> list[Check]:
    have = set(refs)
    checks = []
    if "mobilenet_v1" in have:
        checks.append(
            Check(
                "paper",
                "Table 1",
                "the second-to-last depthwise conv is s1",
                "s2 as printed",
                "s1: 7 × 7 × 1024 in, 7 × 7 × 1024 out",
                ERRATUM,
                paper.TABLE_1_ERRATUM,
            )
        )
        checks += _table_2() + _table_3(have)
    for c in paper.CLAIMS:
        if c.ref in have:
            checks.append(_claim(c))
    checks += _prose(have)
    return checks


def _claim(c: paper.Claim) -> Check:
    what = "mult-adds" if c.metric == "mult_adds" else "params (conv + FC weights)"
    total = _total(c.ref, c.alpha, c.resolution, c.metric, classes=c.classes)
    check = f"{c.label}: {what}" + (f" ({c.classes} classes)" if c.classes else "")
    expected = f"{c.printed} M"
    if paper.within_printed(total / 1e6, c.printed, c.unit):
        return Check("paper", c.table, check, expected, _m(total), PASS)
    if c.erratum:
        return Check("paper", c.table, check, expected, _m(total), ERRATUM, c.erratum)
    if c.without_kinds:
        part = _total(c.ref, c.alpha, c.resolution, c.metric, c.without_kinds)
        if paper.within_printed(part / 1e6, c.printed, c.unit):
            return Check(
                "paper",
                c.table,
                check,
                expected,
                f"{_m(total)}; {_m(part)} without {', '.join(c.without_kinds)}",
                NOTE,
                c.note,
            )
    return Check("paper", c.table, check, expected, _m(total), FAIL)


def _table_2() -> list[Check]:
    share = by_kind(_layers("mobilenet_v1", 1.0, 224)).set_index("group")
    out = []
    for group, printed_pair in paper.TABLE_2.items():
        for column, printed in zip(("mult_adds", "paper_params"), printed_pair):
            got = share.loc[group, f"{column}_pct"]
            what = "mult-adds" if column == "mult_adds" else "params"
            erratum = paper.TABLE_2_ERRATA.get((group, column))
            ok = paper.within_printed(got, printed)
            verdict = PASS if ok else (ERRATUM if erratum else FAIL)
            out.append(
                Check(
                    "paper",
                    "Table 2",
                    f"{group}: share of {what}",
                    f"{printed} %",
                    f"{got:.2f} %",
                    verdict,
                    "" if ok else (erratum or ""),
                )
            )
    return out


def _table_3(have) -> list[Check]:
    """One 14 × 14 × 512 → 512 layer, taken from the configured networks themselves."""
    out = []
    for label, variant, alpha, resolution, printed_ma, printed_params in paper.TABLE_3:
        ref = "mobilenet_v1" if variant == "base" else "mobilenet_v1:standard"
        base = _layers(ref, 1.0, 224)
        # the first row that maps 14 × 14 × 512 to 14 × 14 × 512 (the depthwise one, if separable)
        i = base.index[(base["in_c"] == 512) & (base["in_h"] == 14) & (base["out_c"] == 512)][0]
        rows = [i] if variant == "standard" else [i, i + 1]
        layers = _layers(ref, alpha, resolution).loc[rows]
        shape = f"{layers['in_h'].iloc[0]} × {layers['in_w'].iloc[0]} × {layers['in_c'].iloc[0]}"
        for column, printed in (("mult_adds", printed_ma), ("paper_params", printed_params)):
            got = layers[column].sum()
            what = "mult-adds" if column == "mult_adds" else "params"
            out.append(
                Check(
                    "paper",
                    "Table 3",
                    f"{label} ({shape}, rows {', '.join(layers['name'])}): {what}",
                    f"{printed} M",
                    _m(got),
                    PASS if paper.within_printed(got / 1e6, printed) else FAIL,
                )
            )
    return out


def _prose(have) -> list[Check]:
    out = []
    if {"mobilenet_v1", "mobilenet_v1:standard"} <= have:
        ratio = _total("mobilenet_v1:standard", 1, 224, "mult_adds") / _total(
            "mobilenet_v1", 1, 224, "mult_adds"
        )
        lo, hi = paper.SEPARABLE_SAVING
        out.append(
            Check(
                "paper",
                "Section 3.1",
                "depthwise separable convs: mult-adds saved vs standard",
                f"{lo:g}–{hi:g} ×",
                f"{ratio:.2f} ×",
                PASS if lo <= ratio <= hi else FAIL,
            )
        )
    if {"mobilenet_v1", "vgg16"} <= have:
        for what, column, times in (
            ("smaller (params)", "paper_params", paper.VGG_SMALLER),
            ("less compute (mult-adds)", "mult_adds", paper.VGG_CHEAPER),
        ):
            ratio = _total("vgg16", 1, 224, column) / _total("mobilenet_v1", 1, 224, column)
            out.append(
                Check(
                    "paper",
                    "Section 4.3",
                    f"MobileNet vs VGG16: times {what}",
                    f"{times} ×",
                    f"{ratio:.2f} ×",
                    PASS if paper.within_printed(ratio, str(times)) else FAIL,
                )
            )
    if {"mobilenet_v1", "googlenet"} <= have:
        ratio = _total("googlenet", 1, 224, "mult_adds") / _total("mobilenet_v1", 1, 224, "mult_adds")
        out.append(
            Check(
                "paper",
                "Section 4.3",
                "MobileNet vs GoogLeNet: times less computation (mult-adds)",
                f"more than {paper.GOOGLENET_CHEAPER:g} ×",
                f"{ratio:.2f} ×",
                PASS if ratio > paper.GOOGLENET_CHEAPER else FAIL,
            )
        )
    small = ("mobilenet_v1", 0.5, 160)
    rounded = (
        "the paper divides its own rounded table entries: 60 M / 1.32 M = 45.5 ×; the exact counts "
        "give the ratio shown"
    )
    # (what, column, printed ratio, the ratio of the table's own rounded entries, the erratum if it is one)
    for ref, res, claims in (
        (
            "alexnet",
            227,
            (
                ("smaller (params)", "paper_params", paper.ALEXNET_SMALLER, 60 / 1.32, ""),
                ("less compute (mult-adds)", "mult_adds", paper.ALEXNET_CHEAPER, None, ""),
            ),
        ),
        (
            "squeezenet1_0",
            227,
            (
                (
                    "less computation (mult-adds)",
                    "mult_adds",
                    paper.SQUEEZENET_CHEAPER,
                    None,
                    paper.SQUEEZENET_OPS,
                ),
            ),
        ),
    ):
        if {"mobilenet_v1", ref} <= have:
            for what, column, printed, from_table, erratum in claims:
                ratio = _total(ref, 1, res, column) / _total(*small, column)
                check = f"0.50 MobileNet-160 vs {load(ref).name}: times {what}"
                if paper.within_printed(ratio, printed):
                    verdict, why = PASS, ""
                elif from_table is not None and paper.within_printed(from_table, printed):
                    verdict, why = NOTE, rounded
                elif erratum:
                    verdict, why = ERRATUM, erratum
                else:
                    verdict, why = FAIL, ""
                out.append(
                    Check("paper", "Section 4.3", check, f"{printed} ×", f"{ratio:.2f} ×", verdict, why)
                )
    return out


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.verdict == FAIL]


def summary(checks: list[Check]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    return counts
