"""Rich tables for the terminal: the per-layer profile and the parsed spec.

Functions here return rich renderables; printing them is the CLI's job, so tests can
render them deterministically into a string.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .. import units
from ..costs import CONVENTIONS, nested, totals, tree_rows
from ..registry import BLOCK_KINDS, REGISTRY
from ..shapes import paper_shape, resolve_tree
from ..spec import Block, ModelSpec

INDENT = "  "


def _type_stride(kind: str, stride) -> str:
    if kind not in REGISTRY and kind not in BLOCK_KINDS:  # a user's module: its class name
        return kind if stride in (None, 1) else f"{kind} / s{stride}"
    if kind in REGISTRY:
        return f"{REGISTRY[kind].label} / s{stride}" if not REGISTRY[kind].merge else REGISTRY[kind].label
    label = BLOCK_KINDS[kind].label if kind in BLOCK_KINDS else kind
    return label if stride is None else f"{label} / s{stride}"


def _block_type(block: Block, first_stride: int | None = None) -> str:
    """A block's Type column: its kind as written ("Inception", a user block's name), or what a branch is."""
    if block.kind == "seq":
        return "identity" if not block.children else "branch"
    if block.kind == "concat":
        return "concat"
    return BLOCK_KINDS[block.kind].label if block.kind in BLOCK_KINDS else block.kind


def _compact(text: str) -> str:
    # "1 × 1 × 512 × 1024" → "1×1×512×1024": the per-layer table is wide enough already.
    return text.replace(" × ", "×")


def profile_table(spec: ModelSpec, layers: pd.DataFrame, extras: dict | None = None) -> Group:
    """Per-layer costs with a totals row; below it latency, memory, roofline, the per-kind shares and the environment."""
    extras = extras or {}
    t = totals(layers)
    dtype = layers["dtype"].iloc[0]
    batch = int(layers["batch"].iloc[0])
    measured = extras.get("latency") is not None
    _, h, w = spec.input_shape
    table = Table(
        title=escape(
            f"{spec.label} — {spec.ref}, α = {spec.alpha:g}, {h} × {w} input, {dtype}, batch {batch}"
        ),
        show_footer=True,
        header_style="bold",
        footer_style="bold",
        box=box.SIMPLE_HEAD,
    )
    right: dict[str, Any] = {"justify": "right", "no_wrap": True}
    table.add_column("#", "", **right)
    table.add_column("layer", "total", no_wrap=True)
    table.add_column("type / stride")
    table.add_column("filter shape")
    table.add_column("output H×W×C", no_wrap=True)
    table.add_column("params", units.count(t["params"]), **right)
    table.add_column("paper params", units.count(t["paper_params"]), **right)
    table.add_column("mult-adds", units.count(t["mult_adds"]), **right)
    table.add_column("weights", units.nbytes(t["weight_bytes"]), **right)
    table.add_column("activations", units.nbytes(t["activation_bytes"]), **right)
    table.add_column("latency", units.ms(t["latency_ms"]), **right)
    if measured:
        iso = layers["latency_isolated_ms"]
        table.add_column("isolated", units.ms(None if iso.isna().all() else float(iso.sum())), **right)
        table.add_column("FLOP/B", "", **right)
        table.add_column("GFLOP/s", "", **right)
        table.add_column("of roof", "", **right)
    blocks = {r.path: r.layer for r in tree_rows(spec) if r.is_block}
    for r in nested(spec, layers).itertuples():
        name = INDENT * int(r.depth) + r.name
        if r.is_block:
            # a block's row: its subtotal over the rows indented under it
            kind = _block_type(blocks[r.path])
            cells: list[Any] = [
                "",
                Text(name, style="bold"),
                kind,
                _compact(r.filter),
                _compact(paper_shape((r.out_c, r.out_h, r.out_w))),
                units.count(r.params),
                units.count(r.paper_params),
                units.count(r.mult_adds),
                units.nbytes(r.weight_bytes),
                units.nbytes(r.activation_bytes),
                units.ms(r.latency_ms),
            ]
            cells += [""] * (4 if measured else 0)
            table.add_row(*cells, style="bold")
            continue
        shape = (
            "—" if not r.out_c else _compact(paper_shape((r.out_c, r.out_h, r.out_w)))
        )  # a module's own ops
        cells = [
            str(r.index),
            name,
            _type_stride(r.kind, r.stride),
            _compact(r.filter),
            shape,
            units.count(r.params),
            units.count(r.paper_params),
            units.count(r.mult_adds),
            units.nbytes(r.weight_bytes),
            units.nbytes(r.activation_bytes),
            _latency_cell(r),
        ]
        if measured:
            cells += [
                units.ms(r.latency_isolated_ms),
                units.fmt(r.arithmetic_intensity, ".1f") if r.mult_adds else "—",
                units.fmt(r.achieved_gflops, ".1f"),
                units.fmt(r.roofline_fraction * 100, ".0f", " %"),
            ]
        table.add_row(*cells)
    parts: list[Any] = [table, _summary_lines(t, layers, extras)]
    if measured or extras.get("by_kind"):
        parts.append(by_kind_table(extras.get("by_kind") or [], measured or bool(extras.get("predicted"))))
    parts.append(Text(CONVENTIONS, style="dim"))
    return Group(*parts)


def _latency_cell(r) -> str:
    """A row's latency; a predicted one that was estimated, not looked up, is marked ≈."""
    text = units.ms(r.latency_ms)
    return f"≈{text}" if getattr(r, "latency_source", None) == "estimated" else text


def _predicted_lines(p: dict) -> Text:
    text = Text()
    text.append("latency (predicted): ", "bold")
    from ..sanitize import printable

    env = _clean(p.get("table_environment") or {})
    threads = env.get("threads", "?")
    text.append(
        f"{units.ms(p['end_to_end_ms'])} end to end, from per-row times summing to "
        f"{units.ms(p['per_layer_sum_ms'])}; of {p['rows_looked_up'] + p['rows_estimated']} rows "
        f"{p['rows_looked_up']} looked up in the table, {p['rows_estimated']} estimated (marked ≈)\n"
    )
    text.append("latency table: ", "bold")
    text.append(
        f"{printable(p['source'].split(' (')[0].removeprefix('lut: '))}, measured with {env.get('backend', '?')} on "
        f"{env.get('cpu', '?')}, {threads} thread{'s' if threads != 1 else ''}, torch {env.get('torch', '?')}, "
        f"{env.get('date', '?')}; nothing was run\n"
    )
    return text


def _clean(env: dict) -> dict:
    """A table file's environment, fit for a terminal: the file is text anyone can edit."""
    from ..sanitize import printable

    def clean(v):
        return printable(v) if isinstance(v, str) else [clean(x) for x in v] if isinstance(v, list) else v

    return {k: clean(v) for k, v in env.items()}


def lut_table(table) -> Group:
    """A latency table: its environment, configurations, families with their models, and the calibration."""
    from ..sanitize import printable

    env = _clean(table.environment)
    head = Text()
    head.append("latency table: ", "bold")
    head.append(f"{printable(table.path)}\n")
    head.append("measured: ", "bold")
    head.append(
        f"{env.get('backend', '?')} on {env.get('cpu', '?')}, {env.get('threads', '?')} thread(s), "
        f"{env.get('device', '?')}, {env.get('dtype', '?')}, batch {env.get('batch', '?')}, torch "
        f"{env.get('torch', '?')}, GLIBC_TUNABLES {'set' if env.get('glibc_tunables') else 'not set'}, "
        f"{env.get('date', '?')}\n"
    )
    head.append("built from: ", "bold")
    head.append(
        f"{len(table.configurations)} configuration{'s' if len(table.configurations) != 1 else ''} of "
        f"{', '.join(env.get('specs', [])) or '?'}; "
        f"{len(table.entries):,} distinct row configurations\n"
    )
    c = table.calibration
    head.append("end to end: ", "bold")
    head.append(f"{c.scale:.4f} × Σ row ms (the median ratio of the configurations above)")
    counts: dict[str, int] = {}
    for e in table.entries.values():
        counts[e["family"]] = counts.get(e["family"], 0) + 1
    t = Table(
        title="rows and the model that estimates rows not in the table",
        box=box.SIMPLE_HEAD,
        header_style="bold",
    )
    right: dict[str, Any] = {"justify": "right", "no_wrap": True}
    t.add_column("family (kind / kernel / stride)")
    t.add_column("rows", **right)
    t.add_column("estimated by")
    t.add_column("ms per G mult-adds", **right)
    t.add_column("ms per MB moved", **right)
    t.add_column("ms per row", **right)
    for fam in sorted(counts):
        model = table.models.get(fam) or table.models.get(fam.split("/")[0])
        a, b, c0 = model.coef if model else (float("nan"),) * 3
        t.add_row(
            escape(printable(fam)),
            f"{counts[fam]:,}",
            "its own fit" if fam in table.models else f"the {fam.split('/')[0]} fit",
            units.fmt(a * 1e9, ".2f"),
            units.fmt(b * 1e6, ".3f"),
            units.fmt(c0, ".4f"),
        )
    note = Text(
        "An estimate is the family's fit (ms = a·mult-adds + b·bytes moved + c, fitted for relative error, "
        "a, b, c ≥ 0) corrected by its error on the most similar measured rows.",
        style="dim",
    )
    return Group(head, t, note)


def _summary_lines(t: dict, layers: pd.DataFrame, extras: dict) -> Text:
    dtype, batch = layers["dtype"].iloc[0], int(layers["batch"].iloc[0])
    text = Text()
    text.append("totals: ", "bold")
    text.append(
        f"{units.millions(t['mult_adds'])} mult-adds, {units.millions(t['params'])} params "
        f"({units.millions(t['paper_params'])} conv + FC weights, the paper's convention)\n"
    )
    text.append("as Keras counts: ", "bold")
    text.append(
        f"total params {units.count(t['total_params'])}, trainable {units.count(t['trainable_params'])}, "
        f"non-trainable {units.count(t['non_trainable_params'])} (batch norm's moving mean and variance)\n"
    )
    if extras.get("uncounted"):
        text.append("not counted: ", "bold")
        text.append(
            ", ".join(f"{op} ×{n}" for op, n in extras["uncounted"].items())
            + " (ops that do arithmetic but are not conv/FC/matmul mult-adds, with their calls)\n"
        )
    memory = extras.get("memory") or {}
    text.append("peak activation memory: ", "bold")
    text.append(
        f"{units.nbytes(t['peak_activation_bytes'])} analytic (the most bytes alive at once: a layer's "
        f"input and output, and skips or branches awaiting their merge; batch {batch}, {dtype})"
    )
    if memory.get("measured_peak_bytes"):
        text.append(
            f"; {units.nbytes(memory['measured_peak_bytes'])} measured (one forward pass as built: "
            f"BN output alongside its conv's output, the input image kept)"
        )
    text.append("\n")
    if extras.get("predicted"):
        text.append_text(_predicted_lines(extras["predicted"]))
    lat = extras.get("latency")
    if lat:
        e = lat["end_to_end"]
        text.append("latency end to end: ", "bold")
        text.append(
            f"median {units.ms(e['median_ms'])} (IQR {units.ms(e['iqr_ms'])}, p90 {units.ms(e['p90_ms'])}, "
            f"min {units.ms(e['min_ms'])}; {e['n']} timed passes)\n"
        )
        text.append("per-layer sum: ", "bold")
        timing = (
            "ONNX Runtime's profiler adds" if lat.get("backend") == "onnxruntime" else "the timing hooks add"
        )
        text.append(
            f"{units.ms(lat['per_layer_sum_ms'])} = {lat['per_layer_sum_ratio']:.2f} × the end-to-end median "
            f"(medians of each layer inside the full pass; {timing} {lat['hook_overhead']:+.1%})"
        )
        if lat.get("unattributed_ms"):
            text.append(f"; {units.ms(lat['unattributed_ms'])} in nodes of no row (layout reorders)")
        if lat.get("isolated_sum_ms") is not None:
            text.append(f"; each layer alone: {units.ms(lat['isolated_sum_ms'])} (hot-cache lower bound)")
        text.append("\n")
        spans = [
            note.removeprefix("fused: ")
            for note in (lat.get("row_notes") or {}).values()
            if note.startswith("fused: ")
        ]
        if spans:
            text.append("timed together: ", "bold")
            text.append(
                f"{'; '.join(spans)} (one fused node each in {lat.get('backend')}: the time is the first row's)\n"
            )
    roof = extras.get("roofline")
    if roof:
        text.append("roofline: ", "bold")
        text.append(
            f"compute peak {roof['peak_gflops']:.1f} GFLOP/s (matmul {roof['matmul_gflops']:.1f}, 1×1 conv "
            f"{roof['conv1x1_gflops']:.1f}), memory bandwidth {roof['bandwidth_gbs']:.1f} GB/s; FLOP/B = "
            f"2·mult-adds per byte of input + weights + output\n"
        )
    env = extras.get("environment")
    if env:
        text.append("environment: ", "bold")
        text.append(
            f"{env['cpu']}, {env['threads']} thread{'s' if env['threads'] != 1 else ''} of {env['cores']} cores, "
            f"{env['device']}{' ' + env['gpu'] if env.get('gpu') else ''}, {env['dtype']}, batch {env['batch']}"
            f"{', channels-last' if env['channels_last'] else ''}, torch {env['torch']}, "
            f"GLIBC_TUNABLES {'set' if env['glibc_tunables'] else 'not set'}, {env['date']}"
            f"{', onnxruntime ' + env['onnxruntime'] if env.get('onnxruntime') else ''}\n"
        )
    return text


def by_kind_table(rows: list[dict], measured: bool) -> Table:
    """The paper's Table 2 (share of mult-adds and params by layer type), with the share of time."""
    table = Table(
        title="by layer type (the paper's Table 2, with time)",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    right: dict[str, Any] = {"justify": "right", "no_wrap": True}
    table.add_column("type")
    table.add_column("layers", **right)
    table.add_column("mult-adds", **right)
    table.add_column("share", **right)
    table.add_column("conv + FC weights", **right)
    table.add_column("share", **right)
    if measured:
        table.add_column("latency", **right)
        table.add_column("share", **right)
    for r in rows:
        cells: list[Any] = [
            r["group"],
            str(r["layers"]),
            units.count(r["mult_adds"]),
            units.fmt(r["mult_adds_pct"], ".2f", " %"),
            units.count(r["paper_params"]),
            units.fmt(r["paper_params_pct"], ".2f", " %"),
        ]
        if measured:
            cells += [units.ms(r["latency_ms"]), units.fmt(r["latency_pct"], ".1f", " %")]
        table.add_row(*cells)
    return table


def spec_table(spec: ModelSpec) -> Group:
    """The spec as parsed: the header, then every row with its inferred input and output."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("spec", Text(f"{spec.ref}  ({spec.path})"))  # text from files is never rich markup
    head.add_row("name", Text(spec.name))
    if spec.citation:
        head.add_row("citation", Text(spec.citation))
    head.add_row(
        "input",
        f"{paper_shape(spec.input_shape)} (H × W × C), "
        + (f"{spec.classes} classes" if spec.classes else "no classifier"),
    )
    head.add_row("configuration", f"α = {spec.alpha:g}, resolution {spec.resolution}, variant {spec.variant}")
    head.add_row(
        "width rounding",
        spec.width_rule.describe()
        + ("; the last conv keeps its width for α ≤ 1" if spec.last_conv_fixed else ""),
    )
    head.add_row(
        "default grid",
        f"α ∈ {{{', '.join(f'{a:g}' for a in spec.alphas)}}} × resolution ∈ "
        f"{{{', '.join(str(r) for r in spec.resolutions)}}}",
    )
    table = Table(header_style="bold")
    for name, opts in (
        ("#", {"justify": "right"}),
        ("layer", {"no_wrap": True}),
        ("line", {"justify": "right"}),
        ("type / stride", {}),
        ("filter shape", {"no_wrap": True}),
        ("input size", {}),
        ("output", {"no_wrap": True}),
        ("after it", {}),
    ):
        table.add_column(name, **opts)
    for r in resolve_tree(spec):
        name = INDENT * r.depth + r.name
        if isinstance(r.layer, Block):
            block = r.layer
            table.add_row(
                "",
                Text(name, style="bold"),
                str(block.line or ""),
                _block_type(block),
                Text(block.describe or ""),
                paper_shape(r.in_shape),
                paper_shape(r.out_shape),
                "",
            )
            continue
        layer = r.leaf
        kind = REGISTRY[layer.kind]
        options = layer.options
        after = (
            options.describe()
            if options and not kind.merge
            else (options.activation or "")
            if options
            else ""
        )
        if layer.role:
            after = f"{after} ({layer.role.replace('_', ' ')})"
        table.add_row(
            str(r.index),
            name,
            str(layer.line or ""),
            _type_stride(layer.kind, layer.stride),
            kind.describe(layer, r.in_shapes if kind.merge else r.in_shape),
            " + ".join(map(paper_shape, r.in_shapes)) if kind.merge else paper_shape(r.in_shape),
            paper_shape(r.out_shape),
            after,
        )
    return Group(head, table)


def summary_frame(configs: pd.DataFrame, measured: bool) -> pd.DataFrame:
    """The paper's Table 8 layout: one row per configuration, ratios to the first."""
    out = pd.DataFrame(
        {
            "model": configs["label"],
            "α": configs["alpha"].map(lambda a: f"{a:g}"),
            "resolution": configs["resolution"].map(lambda r: f"{r} px"),
            "mult-adds": configs["mult_adds"].map(units.millions),
            "params": configs["params"].map(units.millions),
            "conv+FC weights": configs["paper_params"].map(units.millions),
            "peak memory": configs["peak_activation_bytes"].map(units.nbytes),
            "weights": configs["weight_bytes"].map(units.nbytes),
        }
    )
    if measured:
        out["latency (median)"] = configs["latency_ms"].map(units.ms)
        out["IQR"] = configs["latency_iqr_ms"].map(units.ms)
    out["top-1 (paper)"] = configs["reported_top1"].map(lambda t: units.fmt(t, ".1f", " %"))
    out["mult-adds vs first"] = configs["mult_adds_ratio"].map(units.ratio)
    out["params vs first"] = configs["params_ratio"].map(units.ratio)
    if measured:
        out["latency vs first"] = configs["latency_ms_ratio"].map(units.ratio)
    return out


def comparison_table(configs: pd.DataFrame, measured: bool, environment: dict | None = None) -> Group:
    """The paper's Table 8 layout: one row per configuration, with ratios to the first."""
    rows = summary_frame(configs, measured).drop(columns=["α", "resolution", "conv+FC weights", "weights"])
    first = configs.iloc[0]["label"]
    table = Table(
        title="archprof compare",
        caption=escape(f"ratios are to the first configuration, {first}"),
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    others = [
        c.removeprefix("latency_ms_")
        for c in configs.columns
        if c.startswith("latency_ms_") and c != "latency_ms_ratio"
    ]
    if others:  # a second runtime measured the same configurations: its latency beside the first's
        at = list(rows.columns).index("IQR") + 1 if "IQR" in rows.columns else len(rows.columns)
        backend = (environment or {}).get("backend", "torch")
        rows = rows.rename(columns={"latency (median)": f"latency ({backend})"})
        for name in reversed(others):  # its IQR is in the JSON and CSV; the table keeps to what fits
            ratio = f"vs {backend}" if len(others) == 1 else f"{name} vs {backend}"
            rows.insert(at, ratio, configs[f"latency_ratio_{name}"].map(units.ratio).values)
            rows.insert(at, f"latency ({name})", configs[f"latency_ms_{name}"].map(units.ms).values)
    for col in rows.columns:
        table.add_column(col, no_wrap=True, justify="left" if col == "model" else "right")
    previous = None
    for ref, row in zip(configs["ref"], rows.itertuples(index=False)):
        if previous is not None and ref != previous:
            table.add_section()
        previous = ref
        table.add_row(*(Text(str(v)) for v in row))
    parts: list[Any] = [table, Text(CONVENTIONS, style="dim")]
    if environment:
        parts.append(
            Text(
                f"latency: median of end-to-end passes in interleaved rounds; {environment['cpu']}, "
                f"{environment['threads']} thread(s), torch {environment['torch']}, {environment['device']}, "
                f"{environment['dtype']}, batch {environment['batch']}"
                + (
                    f"; backends {environment.get('backend')}, {', '.join(others)}"
                    if others
                    else f"; backend {environment.get('backend', 'torch')}"
                )
                + (f", onnxruntime {environment['onnxruntime']}" if environment.get("onnxruntime") else ""),
                style="dim",
            )
        )
    return Group(*parts)


VERDICT_STYLE = {
    "pass": "green",
    "FAIL": "bold red",
    "does not hold": "yellow",
    "erratum": "magenta",
    "note": "cyan",
    "n/a": "dim",
}


def validation_table(checks) -> Group:
    """check · expected · got · verdict, grouped by subject, with a one-line summary."""
    table = Table(title="archprof validate", header_style="bold", box=box.SIMPLE_HEAD, show_lines=False)
    table.add_column("section")
    table.add_column("subject", no_wrap=True)
    table.add_column("check")
    table.add_column("expected")
    table.add_column("got")
    table.add_column("verdict", no_wrap=True)
    previous = None
    for c in checks:
        if previous is not None and c.subject != previous:
            table.add_section()
        previous = c.subject
        check = Text(c.check)
        if c.why:
            check.append(f"\n{c.why}", style="dim")
        table.add_row(
            c.section,
            Text(c.subject),
            check,
            Text(c.expected),
            Text(c.got),
            Text(c.verdict, style=VERDICT_STYLE.get(c.verdict, "")),
        )
    from ..validate import summary

    counts = summary(checks)
    failed = counts.get("FAIL", 0)
    line = Text.assemble(
        (f"{len(checks)} checks: ", "bold"),
        ", ".join(f"{n} {v}" for v, n in counts.items()),
        (
            "  —  all hold" if not failed else f"  —  {failed} FAILED",
            "bold green" if not failed else "bold red",
        ),
    )
    return Group(table, line)


def to_text(renderable, width: int = 200) -> str:
    """Plain text of a renderable: for files and golden tests (no colour, fixed width)."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(renderable)
    return buf.getvalue()


def diff_table(d) -> Group:
    """archprof diff: the rows that differ, with their reasons, and the totals they add up to."""
    table = Table(
        title=escape(f"archprof diff — A: {d.a}   B: {d.b}"),
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        footer_style="bold",
    )
    right: dict[str, Any] = {"justify": "right", "no_wrap": True}
    table.add_column("A rows", "total")
    table.add_column("B rows")
    table.add_column("Δ params", f"{d.params_difference:+,}", **right)
    table.add_column("Δ mult-adds", f"{d.mult_adds_difference:+,}", **right)
    table.add_column("A output", no_wrap=True)
    table.add_column("B output", no_wrap=True)
    table.add_column("why")
    for r in d.rows:
        table.add_row(
            Text(_rows(r.a)),
            Text(_rows(r.b)),
            f"{r.params_difference:+,}",
            f"{r.mult_adds_difference:+,}",
            _shape(r.a_output_shape),
            _shape(r.b_output_shape),
            Text("; ".join(r.reasons)),
        )
    line = Text.assemble(
        ("params: ", "bold"),
        f"{d.params_a:,} in A, {d.params_b:,} in B ({d.params_difference:+,}); ",
        ("mult-adds: ", "bold"),
        f"{d.mult_adds_a:,} in A, {d.mult_adds_b:,} in B ({d.mult_adds_difference:+,}); ",
        f"{d.matched} rows agree, {len(d.rows)} differ",
        ("  —  A and B agree" if d.agree else "", "bold green"),
    )
    return Group(
        table,
        line,
        Text(
            "A row is a conv, depthwise conv or FC with the batch norm, activation and other "
            "rows after it; the Δ columns are B − A and add up to the totals.",
            style="dim",
        ),
    )


def _rows(paths: list[str]) -> str:
    if not paths:
        return "—"
    return paths[0] if len(paths) == 1 else f"{paths[0]} … {paths[-1]}"


def _shape(shape) -> str:
    return "—" if not shape else paper_shape(tuple(shape))
