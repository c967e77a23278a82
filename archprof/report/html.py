"""The interactive HTML report: one self-contained file, readable offline, that paints its text first.

``render`` reads a ``Comparison`` (one row per configuration, one row per layer per
configuration, the specs, the measurement's environment and roofline, the validation
checks) and returns the page as a string. The page is static HTML first — every table
and note is written here, on the server side — followed by the data of the charts as
JSON and by plotly.js (the vendored *cartesian* bundle, ``vendor/``, gzipped and in
base64), which the page's own script unpacks and turns into charts only after the text
has painted.

Every number on the page is formatted here by ``units`` (one formatter: counts with
separators, large figures with SI prefixes and three significant digits, times in ms,
µs or ns); the page's script only places those strings. Text from a spec file is
escaped everywhere: a spec called ``<script>…</script>`` shows as text, in the tables
(HTML escaping) and in the charts (plotly's pseudo-HTML: ``&``, ``<`` and ``>`` only,
which it shows as the characters).
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import importlib.metadata
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
from plotly.utils import PlotlyJSONEncoder

from .. import __version__, costs, units
from ..costs import CONVENTIONS
from ..profiling import by_kind

if TYPE_CHECKING:
    from ..api import Comparison

PLOTLY_JS_VERSION = "4.1.1"  # vendor/plotly-cartesian.min.js, see vendor/README.md
HERE = Path(__file__).parent
E = html.escape
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
KIND_PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f5fbf",
    "#8cd17d",
]
BLOCK_COLOR = "#6b7280"
PLOTLY_TAG = '<script type="application/octet-stream" id="plotly-js" data-encoding="gzip+base64">'
# the modebar keeps zoom, pan, reset and the PNG download; nothing links to plotly's cloud
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d"],
}
BASE_LAYOUT: dict[str, Any] = {
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    "margin": {"l": 64, "r": 16, "t": 28, "b": 56},
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "hovermode": "closest",
    "autosize": True,
    "legend": {"orientation": "h", "y": -0.22},
}
# the per-layer timing's limits: below this a layer's median is within the timer's and the hooks' resolution
TIMING_RESOLUTION_MS = 0.02
BANDWIDTH_COPY_BYTES = 2 * 64 * 2**20  # measure.roofline copies 64 MiB: 64 MiB read + 64 MiB written


@functools.cache
def _asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """The vendored plotly.js bundle (scatter, bar, heatmap and the other cartesian traces)."""
    return _asset("vendor/plotly-cartesian.min.js")


@functools.cache
def plotly_js_packed() -> str:
    """plotly.js as the page carries it: gzip, then base64 (1.5 MB → 0.66 MB); the page unpacks it with the
    browser's own DecompressionStream (Chrome and Edge 80+, Firefox 113+, Safari 16.4+)."""
    packed = gzip.compress(plotly_js().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def unpack_plotly(page: str) -> str:
    """The plotly.js a rendered page carries, unpacked (tests compare it with the vendored bundle)."""
    start = page.index(PLOTLY_TAG) + len(PLOTLY_TAG)
    return gzip.decompress(base64.b64decode(page[start : page.index("</script>", start)])).decode("utf-8")


def _pt(text: Any) -> str:
    """Text for plotly, which reads labels as pseudo-HTML: ``&``, ``<`` and ``>`` escaped, nothing else."""
    return html.escape(str(text), quote=False)


def _wrap(text: str, width: int = 70) -> str:
    """A long line for a tooltip, broken at spaces (plotly's ``<br>``); the text escaped for plotly."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(_pt(line) for line in lines)


def _json_for_script(obj: Any) -> str:
    """JSON that can sit inside a <script> element: no "</script>", no "<!--", no line separators."""
    text = json.dumps(obj, cls=PlotlyJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _figure(fig: go.Figure, height: int, **layout: Any) -> dict:
    """A figure as plotly.js reads it: data and layout, without plotly.py's template (plotly.js's defaults)."""
    fig.update_layout(BASE_LAYOUT, height=height, **layout)
    out = fig.to_plotly_json()
    out["layout"].pop("template", None)
    return {"data": out["data"], "layout": out["layout"]}


def _chart(fig_id: str, height: int, caption: str) -> str:
    """A chart's place in the page: its caption as HTML (it wraps, and shows before plotly.js has loaded)."""
    return (
        f'<figure><figcaption>{E(caption)}</figcaption><div class="chart pending" id="{E(fig_id)}" '
        f'data-fig="{E(fig_id)}" style="min-height:{height}px"></div></figure>'
    )


def _log_ticks(values: Sequence[float], fmt: Callable[[float], str]) -> dict:
    """Tick values and labels for a log axis over ``values``, labelled by the report's formatter."""
    finite = [v for v in values if not units.missing(v) and v > 0]
    if not finite:
        return {}
    lo, hi = min(finite), max(finite)
    ticks = []
    for exp in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**exp
            if lo / 1.6 <= v <= hi * 1.6:
                ticks.append(v)
    if len(ticks) > 9:
        ticks = [t for t in ticks if str(t).startswith("1")]
    return {"tickvals": ticks, "ticktext": [fmt(t) for t in ticks]}


# -- tables -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    name: str
    numeric: bool = True  # right-aligned, sorted as numbers by its cells' raw values
    wrap: bool = False  # long prose: wraps instead of widening the table


Cell = tuple  # (shown text, raw value for sorting and CSV or None[, extra CSS class])


def _cell(text: str, raw: Any = None, cls: str = "") -> Cell:
    return (text, raw, cls)


def _table(
    table_id: str,
    cols: list[Col],
    rows: list[list[Cell]],
    *,
    file: str,
    sortable: bool = False,
    search: bool = False,
    only: tuple[str, str] | None = None,
    row_attrs: list[dict[str, str]] | None = None,
) -> str:
    """A table in its own scrolling box, with a CSV download (of the rows shown) and, if asked, sort and filter.

    ``only`` = (data attribute, label): a check box that keeps the rows whose attribute is "1".
    """
    head = []
    for c in cols:
        cls = "" if c.numeric else "l"
        label = f'<button class="sort" type="button">{E(c.name)}</button>' if sortable else E(c.name)
        head.append(f'<th class="{cls}" data-type="{"num" if c.numeric else "text"}">{label}</th>')
    body = []
    for i, row in enumerate(rows):
        attrs = "".join(f' data-{E(k)}="{E(v)}"' for k, v in (row_attrs[i] if row_attrs else {}).items())
        cells = []
        for c, (text, raw, *extra) in zip(cols, row):
            cls = " ".join(x for x in ("w" if c.wrap else "" if c.numeric else "l", *extra) if x)
            v = "" if units.missing(raw) else f' data-v="{E(str(raw))}"'
            cells.append(f'<td class="{cls}"{v}>{E(text)}</td>')
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    tools = []
    if search:
        tools.append(
            f'<input type="search" placeholder="filter rows…" aria-label="filter the rows of {E(table_id)}">'
        )
    if only:
        tools.append(f'<label><input type="checkbox" data-only="{E(only[0])}"> {E(only[1])}</label>')
    if search or only:
        tools.append(f'<span class="count">{len(rows)} of {len(rows)} rows</span>')
    tools.append(f'<button class="csv" type="button" data-file="{E(file)}">Download CSV</button>')
    return (
        f'<div class="tablebox"><div class="tools">{"".join(tools)}</div><div class="tablewrap">'
        f'<table id="{E(table_id)}"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div></div>"
    )


# -- the sections ---------------------------------------------------------------------------------------


def _default_configs(configs: pd.DataFrame) -> pd.DataFrame:
    """One configuration per compared spec for the by-type and roofline views: the widest, largest one."""
    return (
        configs.sort_values(["alpha", "resolution"], ascending=False, kind="stable")
        .drop_duplicates("ref")
        .sort_values("config")
    )


def _ref_colors(configs: pd.DataFrame) -> dict[str, str]:
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(dict.fromkeys(configs["ref"]))}


def _summary(configs: pd.DataFrame, measured: bool) -> str:
    cols = [
        Col("configuration", numeric=False),
        Col("model", numeric=False),
        Col("α"),
        Col("resolution"),
        Col("mult-adds"),
        Col("params"),
        Col("conv + FC weights"),
        Col("peak activations"),
        Col("weights"),
    ]
    if measured:
        cols += [Col("latency (median)"), Col("IQR"), Col("samples")]
    cols += [Col("top-1, reported"), Col("Pareto: mult-adds", numeric=False)]
    if measured:
        cols.append(Col("Pareto: latency", numeric=False))
    cols += [Col("mult-adds vs first")]
    if measured:
        cols.append(Col("latency vs first"))
    rows, attrs = [], []
    for c in configs.itertuples():
        row = [
            _cell(c.label),
            _cell(c.ref),
            _cell(f"{c.alpha:g}", c.alpha),
            _cell(f"{c.resolution} px", c.resolution),
            _cell(units.si(c.mult_adds), c.mult_adds),
            _cell(units.count(c.params), c.params),
            _cell(units.count(c.paper_params), c.paper_params),
            _cell(units.size(c.peak_activation_bytes), c.peak_activation_bytes),
            _cell(units.size(c.weight_bytes), c.weight_bytes),
        ]
        if measured:
            row += [
                _cell(units.duration(c.latency_ms), c.latency_ms),
                _cell(units.duration(c.latency_iqr_ms), c.latency_iqr_ms),
                _cell(
                    "—" if units.missing(c.latency_samples) else units.count(c.latency_samples),
                    c.latency_samples,
                ),
            ]
        top1 = c.reported_top1
        row += [
            _cell(units.fmt(top1, ".1f", " %"), top1),
            _cell("★ on the front" if c.pareto else "", 1 if c.pareto else 0, "star"),
        ]
        if measured:
            row.append(
                _cell("★ on the front" if c.pareto_latency else "", 1 if c.pareto_latency else 0, "star")
            )
        row.append(_cell(units.ratio(c.mult_adds_ratio), c.mult_adds_ratio))
        if measured:
            row.append(_cell(units.ratio(c.latency_ms_ratio), c.latency_ms_ratio))
        rows.append(row)
        attrs.append(
            {
                "pareto": "1" if (c.pareto or (measured and c.pareto_latency)) else "0",
            }
        )
    first = configs.iloc[0]["label"]
    return (
        "<p class='note'>One row per configuration. Click a heading to sort; type to filter (every word must "
        f"match). Ratios are to the first configuration, {E(first)}. top-1 is the ImageNet accuracy each spec's "
        "header reports (its source is in the Provenance section), never measured or interpolated by archprof; "
        "★ marks the Pareto front: no other configuration is both as cheap or cheaper and as accurate or more.</p>"
        + _table(
            "summary-table",
            cols,
            rows,
            file="summary.csv",
            sortable=True,
            search=True,
            only=("pareto", "Pareto members only"),
            row_attrs=attrs,
        )
    )


def _tradeoff_figure(
    configs: pd.DataFrame, col: str, front_col: str, axis: str, fmt, measured_x: bool
) -> dict:
    reported = configs[configs["reported_top1"].notna() & configs[col].notna()]
    colors = _ref_colors(configs)
    fig = go.Figure()
    for ref, g in reported.groupby("ref", sort=False):
        hover = [
            f"<b>{_pt(r.label)}</b><br>{_pt(fmt(getattr(r, col)))} {axis}"
            + (
                f" (IQR {_pt(units.duration(r.latency_iqr_ms))}, {units.count(r.latency_samples)} samples)"
                if measured_x
                else ""
            )
            + f"<br>top-1 {r.reported_top1:.1f} % (reported)"
            + ("<br>★ on the Pareto front" if getattr(r, front_col) else "")
            + f"<br>source: {_wrap(r.citation or 'no citation in its spec')}"
            for r in g.itertuples()
        ]
        error_x = None
        if measured_x:
            error_x = dict(
                type="data",
                symmetric=False,
                array=(g["latency_q75_ms"] - g["latency_ms"]).tolist(),
                arrayminus=(g["latency_ms"] - g["latency_q25_ms"]).tolist(),
                thickness=1,
                width=3,
            )
        fig.add_trace(
            go.Scatter(
                x=g[col].tolist(),
                y=g["reported_top1"].tolist(),
                mode="markers",
                name=_pt(g["name"].iloc[0] if g["variant"].iloc[0] == "base" else ref),
                marker=dict(size=10, color=colors[ref], line=dict(width=1, color="#fff")),
                error_x=error_x,
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    front = reported[reported[front_col].astype(bool)].sort_values(col)
    # the front as a staircase: the best accuracy on offer for any budget up to x
    fig.add_trace(
        go.Scatter(
            x=front[col].tolist(),
            y=front["reported_top1"].tolist(),
            mode="lines+markers",
            line=dict(color="#1d2330", dash="dot", width=1.5, shape="hv"),
            marker=dict(size=17, symbol="circle-open", color="#1d2330"),
            name="Pareto front",
            hoverinfo="skip",
        )
    )
    return _figure(
        fig,
        440,
        xaxis={
            "type": "log",
            "title": {"text": axis},
            **_log_ticks(reported[col].tolist(), fmt),
        },
        yaxis={"title": {"text": "top-1 (%), reported"}},
    )


def _tradeoff(configs: pd.DataFrame, measured: bool, figures: dict) -> str:
    reported = configs[configs["reported_top1"].notna()]
    if reported.empty:
        return (
            "<p class='note'>No spec in this comparison reports a top-1 accuracy in its header, so there is "
            "no accuracy to trade against cost; the summary table has every configuration's costs.</p>"
        )
    parts = [
        f"<p class='note'>Which configuration gives the most accuracy for a budget? Each point is one "
        f"configuration with a reported top-1 ({len(reported)} of {len(configs)}; the others are in the "
        "summary table only — archprof never invents or interpolates an accuracy). The dotted staircase is the "
        "Pareto front: for any budget on the x-axis, the best accuracy on offer is the step at or left of it. "
        "Hover a point for its source.</p><div class='charts'>"
    ]
    figures["fig-tradeoff-mult-adds"] = _tradeoff_figure(
        configs, "mult_adds", "pareto", "mult-adds", units.si, False
    )
    parts.append(_chart("fig-tradeoff-mult-adds", 440, "Top-1 (reported) against mult-adds (log scale)"))
    if measured:
        figures["fig-tradeoff-latency"] = _tradeoff_figure(
            configs, "latency_ms", "pareto_latency", "latency", units.duration, True
        )
        parts.append(
            _chart(
                "fig-tradeoff-latency",
                440,
                "Top-1 (reported) against measured latency (log scale; whiskers: IQR)",
            )
        )
    parts.append("</div>")
    if measured:
        parts.append(
            "<p class='note'>Latency: median of end-to-end passes measured here; whiskers span the interquartile "
            "range (25th to 75th percentile).</p>"
        )
    else:
        parts.append("<p class='note'>Latency was not measured (--no-latency): no latency trade-off.</p>")
    for what, col in (("mult-adds", "pareto"), ("latency", "pareto_latency")):
        if what == "latency" and not measured:
            continue
        front = reported[reported[col].astype(bool)].sort_values(
            "mult_adds" if what == "mult-adds" else "latency_ms"
        )
        names = ", ".join(E(l) for l in front["label"])
        parts.append(f"<p class='note'>Pareto front on {what}, cheapest first: {names}.</p>")
    return "".join(parts)


def _kind_colors(frames: list[pd.DataFrame]) -> dict[str, str]:
    colors: dict[str, str] = {}
    for f in frames:
        for group, block in zip(f["group"], f["is_block"]):
            if group not in colors:
                colors[group] = BLOCK_COLOR if block else KIND_PALETTE[len(colors) % len(KIND_PALETTE)]
    return colors


def _shape(c: Any, h: Any, w: Any) -> str:
    return f"{int(h)} × {int(w)} × {int(c)}"


def _kernel(k: Any) -> str:
    if k is None or (isinstance(k, float) and math.isnan(k)):
        return "—"
    return " × ".join(str(int(x)) for x in k) if isinstance(k, list | tuple) else str(k)


def _float_or_none(x: Any) -> float | None:
    return None if units.missing(x) else float(x)


def _int_or_dash(x: Any) -> str:
    return "—" if x is None or units.missing(x) else str(int(x))


def _per_layer(result: Comparison, measured: bool) -> tuple[str, dict]:
    """The per-layer view: a selector over every configuration, a chart coloured by layer kind and a nested table."""
    configs, layers = result.configs, result.layers
    frames = [costs.nested(spec, layers[layers["config"] == i]) for i, spec in enumerate(result.specs)]
    kinds = _kind_colors(frames)
    columns = [
        "row",
        "kind",
        "input → output (H × W × C)",
        "kernel",
        "stride",
        "groups",
        "params",
        "mult-adds",
        "activations",
    ]
    if measured:
        columns += ["latency (median)", "latency IQR"]
    columns += ["share of mult-adds"]
    if measured:
        columns += ["share of latency"]
    metrics = [
        {"label": "mult-adds", "axis": "mult-adds", "format": "si"},
        {"label": "params", "axis": "params", "format": "si"},
        {"label": "activations", "axis": "output bytes", "format": "size"},
    ]
    if measured:
        metrics.append({"label": "latency", "axis": "latency (median)", "format": "duration"})
    out_configs = []
    for i, nested in enumerate(frames):
        leaves = nested[~nested["is_block"].astype(bool)]
        total_ma = float(leaves["mult_adds"].sum())
        total_lat = float(leaves["latency_ms"].sum()) if measured else float("nan")
        rows = []
        for r in nested.itertuples():
            block = bool(r.is_block)
            lat = _float_or_none(r.latency_ms)
            iqr = None if block else _float_or_none(getattr(r, "latency_iqr_ms", None))
            # the cells after the path and the kind (which the row carries as "p" and "k")
            cells = [
                f"{_shape(r.in_c, r.in_h, r.in_w)} → {_shape(r.out_c, r.out_h, r.out_w)}",
                "—" if block else _kernel(r.kernel),
                "—" if block else _int_or_dash(r.stride),
                "—" if block else _int_or_dash(r.groups),
                units.count(r.params),
                units.si(r.mult_adds),
                units.size(r.activation_bytes),
            ]
            if measured:
                cells += [units.duration(lat), units.duration(iqr)]
            cells.append(units.percent(100 * r.mult_adds / total_ma) if total_ma else "—")
            if measured:
                cells.append(units.percent(100 * lat / total_lat) if lat is not None and total_lat else "—")
            row = {
                "p": r.path,
                "d": int(r.depth),
                "b": 1 if block else 0,
                "k": r.group,
                "v": [int(r.mult_adds), int(r.params), int(r.activation_bytes), lat, iqr],
                "c": cells,
            }
            if r.parent:
                row["u"] = r.parent
            rows.append(row)
        out_configs.append({"label": configs.iloc[i]["label"], "rows": rows})
    models = [
        {"ref": ref, "configs": [int(x) for x in g["config"]]}
        for ref, g in configs.groupby("ref", sort=False)
    ]
    layout = dict(BASE_LAYOUT)
    layout.update(
        height=460,
        barmode="relative",
        xaxis={"type": "category", "categoryorder": "array", "tickangle": -60, "automargin": True},
        yaxis={"automargin": True, "tickmode": "array"},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "title": {"text": "layer kind"}},
        margin={"l": 64, "r": 16, "t": 80, "b": 40},
    )
    # which of "v" a column's raw value (for sorting and CSV) is: params, mult-adds, activations, latency, IQR
    raw = {"params": 1, "mult-adds": 0, "activations": 2, "latency (median)": 3, "latency IQR": 4}
    data: dict[str, Any] = {
        "configs": out_configs,
        "models": models,
        "columns": columns,
        "raw": [raw.get(c, -1) for c in columns],
        "left": [1, 2],
        "metrics": metrics,
        "kinds": kinds,
        "layout": layout,
    }
    default = int(_default_configs(configs)["config"].iloc[0])
    first_model = next(k for k, m in enumerate(models) if default in m["configs"])
    model_opts = "".join(
        f'<option value="{k}"{" selected" if k == first_model else ""}>{E(m["ref"])}</option>'
        for k, m in enumerate(models)
    )
    config_opts = "".join(
        f'<option value="{c}"{" selected" if c == default else ""}>{E(out_configs[c]["label"])}</option>'
        for c in models[first_model]["configs"]
    )
    metric_opts = "".join(f'<option value="{k}">{E(m["label"])}</option>' for k, m in enumerate(metrics))
    static_rows = [layer_cells(r, data["raw"]) for r in out_configs[default]["rows"]]
    cols = [Col(c, numeric=k not in (0, 1, 2)) for k, c in enumerate(columns)]
    table = _table("pl-table", cols, static_rows, file="per_layer.csv")
    section = (
        "<p class='note'>Pick a model and a configuration; bars are coloured by layer kind (hover a bar for "
        "its shapes, kernel, stride, groups, costs, latency and share of the total). Blocks (residual units, "
        "Inception and Fire modules) can be folded: a folded block is one bar and one row, its subtotal.</p>"
        f'<div class="controls"><label>model <select id="pl-model">{model_opts}</select></label>'
        f'<label>configuration <select id="pl-config">{config_opts}</select></label>'
        f'<label>bars show <select id="pl-metric">{metric_opts}</select></label>'
        '<span id="pl-fold"><button type="button" id="pl-collapse">fold all blocks</button> '
        '<button type="button" id="pl-expand">unfold all</button></span></div>'
        '<figure><figcaption id="pl-caption">Per row of the selected configuration</figcaption>'
        '<div class="chart pending" id="fig-layers" style="min-height:460px"></div></figure>' + table
    )
    return section, data


def layer_cells(row: dict, raw: list[int]) -> list[Cell]:
    """A per-layer row of the page's data as table cells: (text, raw value) — as report.js renders them."""
    texts = [row["p"], row["k"], *row["c"]]
    return [_cell(t, None if j < 0 else row["v"][j]) for t, j in zip(texts, raw)]


def _heatmap(group: pd.DataFrame, col: str, title: str, fmt: Callable[[Any], str]) -> dict:
    pivot = group.pivot_table(index="alpha", columns="resolution", values=col, aggfunc="first")
    # α ascending: plotly draws a heatmap's first row at the bottom, so α increases upward
    pivot = pivot.sort_index(ascending=True)[sorted(pivot.columns)]
    values = pivot.to_numpy(dtype=float)
    z = [[math.log10(v) if v > 0 else None for v in row] for row in values]
    text = [[fmt(v) if not math.isnan(v) else "—" for v in row] for row in values]
    flat = [v for row in values for v in row if v > 0]
    ticks = _log_ticks(flat, fmt)
    colorbar = dict(
        thickness=10,
        tickvals=[math.log10(t) for t in ticks.get("tickvals", [])],
        ticktext=ticks.get("ticktext", []),
        title={"text": "log scale", "side": "right"},
    )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{r} px" for r in pivot.columns],
            y=[f"α = {a:g}" for a in pivot.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            colorbar=colorbar,
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    return _figure(
        fig,
        300,
        margin={"l": 70, "r": 10, "t": 16, "b": 40},
        xaxis={"type": "category", "title": {"text": "resolution"}},
        yaxis={"type": "category", "automargin": True},
    )


def _grids(configs: pd.DataFrame, measured: bool, figures: dict) -> str:
    metrics: list[tuple[str, str, Callable[[Any], str]]] = [
        ("mult_adds", "mult-adds", units.si),
        ("paper_params", "conv + FC weights", units.si),
    ]
    if measured:
        metrics.append(("latency_ms", "latency (median)", units.duration))
    parts = []
    for k, (ref, group) in enumerate(configs.groupby("ref", sort=False)):
        if group["alpha"].nunique() < 2 and group["resolution"].nunique() < 2:
            continue
        parts.append(f"<h3>{E(group['name'].iloc[0])} ({E(ref)})</h3><div class='charts'>")
        for col, title, fmt in metrics:
            fig_id = f"fig-grid-{k}-{col}"
            figures[fig_id] = _heatmap(group, col, title, fmt)
            parts.append(_chart(fig_id, 300, title))
        parts.append("</div>")
    if not parts:
        return "<p class='note'>No spec in this comparison has more than one α or resolution.</p>"
    return (
        "<p class='note'>Each cell holds its value; the colour follows its logarithm, so the small "
        "configurations are told apart as well as the large ones. Width multiplier α increases upward, "
        "resolution to the right.</p>" + "".join(parts)
    )


def _kinds(configs: pd.DataFrame, layers: pd.DataFrame, measured: bool, figures: dict) -> str:
    parts = []
    fig = go.Figure()
    metrics = [("mult_adds_pct", "mult-adds"), ("paper_params_pct", "conv + FC weights")]
    if measured:
        metrics.append(("latency_pct", "latency"))
    defaults = _default_configs(configs)
    for k, (_, cfg) in enumerate(defaults.iterrows()):
        kinds = by_kind(layers[layers["config"] == cfg["config"]])
        kinds = kinds[
            (kinds["mult_adds"] > 0) | (kinds["paper_params"] > 0) | (kinds["latency_pct"].fillna(0) > 0.5)
        ]
        cols = [Col("layer kind", numeric=False), Col("rows"), Col("mult-adds"), Col("share of mult-adds")]
        cols += [Col("conv + FC weights"), Col("share of weights")]
        if measured:
            cols += [Col("latency (sum of rows)"), Col("share of latency")]
        rows = []
        for r in kinds.itertuples():
            row = [
                _cell(r.group),
                _cell(units.count(r.layers), r.layers),
                _cell(units.si(r.mult_adds), r.mult_adds),
                _cell(units.percent(r.mult_adds_pct), r.mult_adds_pct),
                _cell(units.count(r.paper_params), r.paper_params),
                _cell(units.percent(r.paper_params_pct), r.paper_params_pct),
            ]
            if measured:
                row += [
                    _cell(units.duration(r.latency_ms), r.latency_ms),
                    _cell(units.percent(r.latency_pct), r.latency_pct),
                ]
            rows.append(row)
        parts.append(
            f"<h3>{E(cfg['label'])}</h3>"
            + _table(f"kinds-table-{k}", cols, rows, file=f"by_kind_{k}.csv", sortable=True)
        )
        for j, (col, what) in enumerate(metrics):
            fig.add_trace(
                go.Bar(
                    x=[_pt(g) for g in kinds["group"]],
                    y=kinds[col].tolist(),
                    name=_pt(f"{cfg['label']}: {what}"),
                    marker_color=PALETTE[(k * 3 + j) % len(PALETTE)],
                    customdata=[units.percent(v) for v in kinds[col]],
                    hovertemplate="%{x}: %{customdata}<extra>" + _pt(f"{cfg['label']}: {what}") + "</extra>",
                )
            )
    figures["fig-kinds"] = _figure(
        fig,
        420,
        barmode="group",
        yaxis={"title": {"text": "share (%)"}},
    )
    return (
        "<p class='note'>Each layer kind's share of the widest, largest configuration of every compared "
        "spec.</p>" + _chart("fig-kinds", 420, "Share by layer kind (%)") + "".join(parts)
    )


def _latency(configs: pd.DataFrame, figures: dict) -> str:
    colors = _ref_colors(configs)
    fig = go.Figure()
    for ref, g in configs.groupby("ref", sort=False):
        hover = [
            f"<b>{_pt(r.label)}</b><br>{units.si(r.mult_adds)} mult-adds<br>median {units.duration(r.latency_ms)}, "
            f"IQR {units.duration(r.latency_q25_ms)} – {units.duration(r.latency_q75_ms)}<br>"
            f"{units.count(r.latency_samples)} samples"
            for r in g.itertuples()
        ]
        fig.add_trace(
            go.Scatter(
                x=g["mult_adds"].tolist(),
                y=g["latency_ms"].tolist(),
                mode="markers",
                name=_pt(ref),
                marker=dict(size=9, color=colors[ref]),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(g["latency_q75_ms"] - g["latency_ms"]).tolist(),
                    arrayminus=(g["latency_ms"] - g["latency_q25_ms"]).tolist(),
                    thickness=1.2,
                    width=4,
                ),
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    n = configs["latency_samples"].dropna().astype(int)
    samples = units.count(n.min()) if n.min() == n.max() else f"{units.count(n.min())}–{units.count(n.max())}"
    figures["fig-latency"] = _figure(
        fig,
        440,
        xaxis={
            "type": "log",
            "title": {"text": "mult-adds"},
            **_log_ticks(configs["mult_adds"].tolist(), units.si),
        },
        yaxis={
            "type": "log",
            "title": {"text": "latency (median)"},
            **_log_ticks(configs["latency_ms"].tolist(), units.duration),
        },
    )
    return (
        "<p class='note'>End-to-end latency of every configuration, measured here in interleaved, shuffled "
        f"rounds: the point is the median of {samples} timed samples, the whiskers span the interquartile range "
        "(25th to 75th percentile).</p>"
        + _chart(
            "fig-latency",
            440,
            f"Latency against mult-adds, both log scales ({samples} samples per configuration)",
        )
    )


def above_roof_reason(row: Any, roof: dict) -> str:
    """Why a layer's achieved GFLOP/s can exceed the roof drawn for it: the measurement's limits, said plainly."""
    latency = float(row.latency_ms)
    if latency < TIMING_RESOLUTION_MS:
        return (
            f"timing resolution: its median is {units.duration(latency)}, close to what hooks inside the full "
            "pass can resolve, so its achieved rate is uncertain"
        )
    kernel = row.kernel if isinstance(row.kernel, list | tuple) else ()
    compute_bound = row.arithmetic_intensity * roof["bandwidth_gbs"] >= roof["peak_gflops"]
    if compute_bound and int(row.groups or 1) == 1 and kernel and min(kernel) >= 3:
        return (
            "fewer multiplications than counted: oneDNN may run a dense 3×3 conv with a Winograd kernel, while "
            "GFLOP/s here uses the direct count"
        )
    moved = int(row.input_bytes) + int(row.weight_bytes) + int(row.activation_bytes)
    if not compute_bound and moved < BANDWIDTH_COPY_BYTES:
        return (
            f"cache: its {units.size(moved)} of input, weights and output can stay in cache, which is faster "
            "than the memory bandwidth measured with a 64 MiB copy"
        )
    return (
        "the roof is a lower bound: two short runs (a 1024² matmul and a 256-channel 1×1 conv) measured it, "
        "so a kernel oneDNN tuned for this shape, or a quieter machine while this row was timed, can beat it"
    )


def _roofline(configs: pd.DataFrame, layers: pd.DataFrame, roof: dict, figures: dict) -> str:
    fig = go.Figure()
    defaults = _default_configs(configs)
    work = layers[(layers["mult_adds"] > 0) & layers["config"].isin(defaults["config"])]
    work = work[work["achieved_gflops"].notna()]
    if work.empty:
        return "<p class='note'>No timed row does any mult-adds: nothing to place under the roof.</p>"
    ai = work["arithmetic_intensity"]
    lo, hi = max(float(ai.min()) / 2, 0.05), float(ai.max()) * 2
    xs = [lo * (hi / lo) ** (i / 80) for i in range(81)]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[min(roof["peak_gflops"], x * roof["bandwidth_gbs"]) for x in xs],
            mode="lines",
            name="roof (measured peaks)",
            line=dict(color="#1d2330", width=2),
            hoverinfo="skip",
        )
    )
    groups = list(dict.fromkeys(work["group"]))
    symbols = ["circle", "diamond", "square", "triangle-up", "x", "star", "cross", "pentagon"]
    notes = []
    for k, (_, cfg) in enumerate(defaults.iterrows()):
        ls = work[work["config"] == cfg["config"]]
        for j, grp in enumerate(groups):
            g = ls[ls["group"] == grp]
            if g.empty:
                continue
            hover = []
            for r in g.itertuples():
                text = (
                    f"<b>{_pt(r.path)}</b> ({_pt(cfg['label'])})<br>{r.arithmetic_intensity:.3g} FLOP/B, "
                    f"{units.si(r.achieved_gflops * 1e9, 'FLOP/s')}<br>{units.percent(100 * r.roofline_fraction)} "
                    f"of the roof; median {units.duration(r.latency_ms)}"
                )
                if r.roofline_fraction > 1:
                    reason = above_roof_reason(r, roof)
                    text += f"<br>above the roof: {_wrap(reason, 60)}"
                    notes.append((cfg["label"], r.path, r.roofline_fraction, reason))
                hover.append(text)
            above = (g["roofline_fraction"] > 1).tolist()
            fig.add_trace(
                go.Scatter(
                    x=g["arithmetic_intensity"].tolist(),
                    y=g["achieved_gflops"].tolist(),
                    mode="markers",
                    name=_pt(f"{cfg['label']}: {grp}"),
                    marker=dict(
                        size=9,
                        color=PALETTE[k % len(PALETTE)],
                        symbol=symbols[j % len(symbols)],
                        line=dict(width=[2 if a else 0 for a in above], color="#cf222e"),
                    ),
                    customdata=hover,
                    hovertemplate="%{customdata}<extra></extra>",
                )
            )
    peak = units.si(roof["peak_gflops"] * 1e9, "FLOP/s")
    bandwidth = units.si(roof["bandwidth_gbs"] * 1e9, "B/s")
    flops = work["achieved_gflops"].tolist() + [roof["peak_gflops"]]
    figures["fig-roofline"] = _figure(
        fig,
        500,
        xaxis={
            "type": "log",
            "title": {"text": "FLOP per byte moved"},
            **_log_ticks(xs, lambda v: f"{v:g}"),
        },
        yaxis={
            "type": "log",
            "title": {"text": "achieved FLOP/s"},
            **_log_ticks([f * 1e9 for f in flops], lambda v: units.si(v)),
        },
    )
    # the y values are GFLOP/s; the ticks were made in FLOP/s for the SI labels
    y = figures["fig-roofline"]["layout"]["yaxis"]
    if "tickvals" in y:
        y["tickvals"] = [v / 1e9 for v in y["tickvals"]]
    parts = [
        "<p class='note'>Every row that does mult-adds in the widest, largest configuration of each spec, at the "
        "rate it achieved (its median time inside the full pass). The roof is this machine's: the compute peak "
        f"is the larger of a big matmul and a big 1×1 conv ({peak}), the slope a 64 MiB copy ({bandwidth}). A "
        "point ringed in red lies above the roof; each says why below and on hover.</p>",
        _chart(
            "fig-roofline",
            500,
            f"Roofline: peak {peak}, memory bandwidth {bandwidth}, both measured here; x: arithmetic intensity "
            "(FLOPs per byte of input + weights + output), y: achieved FLOP/s (2 FLOPs per mult-add), log scales",
        ),
    ]
    if notes:
        items = "".join(
            f"<li>{E(label)}, {E(path)}: {E(units.percent(100 * frac))} of the roof — {E(reason)}.</li>"
            for label, path, frac, reason in notes
        )
        parts.append(f"<p class='note'>{len(notes)} rows above the roof:</p><ul class='sources'>{items}</ul>")
    else:
        parts.append("<p class='note'>No row lies above the roof.</p>")
    return "".join(parts)


def _validation(checks: list) -> str:
    if not checks:
        return "<p class='note'>No check applies to this comparison (validation covers specs, not model files).</p>"
    failed = sum(c.verdict == "FAIL" for c in checks)
    cols = [
        Col("subject", numeric=False),
        Col("check", numeric=False),
        Col("expected", numeric=False),
        Col("got", numeric=False),
        Col("verdict", numeric=False),
        Col("why", numeric=False, wrap=True),
    ]
    rows = [
        [
            _cell(c.subject),
            _cell(c.check),
            _cell(c.expected),
            _cell(c.got),
            _cell(c.verdict, None, c.verdict.replace(" ", "").replace("/", "")),
            _cell(c.why),
        ]
        for c in checks
    ]
    head = (
        f"<p>{len(checks)} checks, {'none failed' if not failed else f'{failed} FAILED'}. "
        "<i>does not hold</i>: an invariant this architecture does not have (the reason is given); "
        "<i>erratum</i>: the paper contradicts itself; <i>note</i>: the paper counts differently here.</p>"
    )
    return head + _table("validation-table", cols, rows, file="validation.csv", sortable=True, search=True)


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(result: Comparison, command: str, generated: str) -> list[tuple[str, str]]:
    """What produced the figures, as (label, text) pairs: version, command, date, machine, settings, sources."""
    from ..measure import cpu_model

    env = result.environment or {}
    configs = result.configs
    measured = bool(env)
    samples = configs["latency_samples"].dropna().astype(int)
    if len(samples):
        n = (
            units.count(samples.min())
            if samples.min() == samples.max()
            else (f"{units.count(samples.min())}–{units.count(samples.max())}")
        )
        samples_text = f"{n} end-to-end timing samples per configuration (median and IQR of these)"
    else:
        samples_text = "— (latency not measured: --no-latency)"
    items = [
        ("archprof", __version__),
        ("command", command or "— (not given: called from Python)"),
        ("date", generated or env.get("date", "")),
        ("CPU", str(env.get("cpu") or cpu_model())),
        ("cores", str(env.get("cores") or os.cpu_count())),
        ("threads used", str(env["threads"]) if measured else "— (latency not measured)"),
        ("torch", str(env.get("torch") or _torch_version())),
        ("backend", f"{env['backend']} on {env['device']}" if measured else "— (latency not measured)"),
    ]
    if measured:
        items += [
            ("dtype, batch", f"{env['dtype']}, batch {env['batch']}"),
            ("samples", samples_text),
            ("GLIBC_TUNABLES", env.get("glibc_tunables") or "not set"),
        ]
        if result.roofline:
            r = result.roofline
            items.append(
                (
                    "roofline",
                    f"peak {units.si(r['peak_gflops'] * 1e9, 'FLOP/s')} (matmul "
                    f"{units.si(r['matmul_gflops'] * 1e9, 'FLOP/s')}, 1×1 conv "
                    f"{units.si(r['conv1x1_gflops'] * 1e9, 'FLOP/s')}), bandwidth "
                    f"{units.si(r['bandwidth_gbs'] * 1e9, 'B/s')}",
                )
            )
    else:
        items.append(("samples", samples_text))
    if result.warnings:
        items.append(("measurement warnings", "; ".join(result.warnings)))
    items += [
        ("counting conventions", CONVENTIONS),
        (
            "plotly.js",
            f"{PLOTLY_JS_VERSION} (cartesian bundle, MIT license), embedded gzipped: the page needs no network",
        ),
    ]
    return items


def _provenance(result: Comparison, command: str, generated: str) -> str:
    items = provenance(result, command, generated)
    dl = "".join(
        f"<dt>{E(k)}</dt><dd>{f'<code>{E(v)}</code>' if k == 'command' else E(v)}</dd>" for k, v in items
    )
    cited = result.configs.drop_duplicates("ref")
    sources = "".join(
        f"<li>{E(r.name)} ({E(r.ref)}): {E(r.citation) if r.citation else 'no citation in its spec'}</li>"
        for r in cited.itertuples()
    )
    return (
        f"<dl class='prov'>{dl}</dl><h3>Sources (each spec's header)</h3><ul class='sources'>{sources}</ul>"
    )


def render(result: Comparison, *, title: str, command: str = "", generated: str = "") -> str:
    """The whole report as one HTML string. ``command`` is the command line that produced it (shown as given)."""
    configs, layers = result.configs, result.layers
    measured = bool(configs["latency_ms"].notna().any())
    figures: dict[str, dict] = {}
    per_layer, per_layer_data = _per_layer(result, measured)
    sections = [
        ("summary", "Summary", _summary(configs, measured)),
        ("tradeoff", "Accuracy against cost", _tradeoff(configs, measured, figures)),
        ("layers", "Per layer", per_layer),
        ("grids", "Width × resolution", _grids(configs, measured, figures)),
        ("kinds", "By layer kind", _kinds(configs, layers, measured, figures)),
    ]
    if measured:
        sections.append(("latency", "Latency", _latency(configs, figures)))
        if result.roofline:
            sections.append(("roofline", "Roofline", _roofline(configs, layers, result.roofline, figures)))
    sections.append(("validation", "Validation", _validation(result.checks)))
    sections.append(("provenance", "Provenance", _provenance(result, command, generated)))
    nav = "".join(f'<a href="#{sid}">{E(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{E(name)}</h2>{content}</section>' for sid, name, content in sections
    )
    data = {"figures": figures, "per_layer": per_layer_data, "plotly_config": PLOTLY_CONFIG}
    models = len(dict.fromkeys(configs["ref"]))
    subtitle = (
        f"archprof {__version__} · {E(generated)} · {len(configs)} configurations of {models} "
        f"model{'s' if models != 1 else ''} · {'latency measured' if measured else 'counts only'}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{E(title)}</title><style>{_asset('assets/report.css')}</style></head><body>"
        f"<header><h1>{E(title)}</h1><p>{subtitle}</p></header><nav>{nav}</nav><main>{body}</main>"
        f'<script type="application/json" id="report-data">{_json_for_script(data)}</script>'
        f"{PLOTLY_TAG}{plotly_js_packed()}</script>"
        f"<script>{_asset('assets/report.js')}</script></body></html>"
    )


def figure_ids(page: str) -> list[str]:
    """The ids of the chart containers a rendered page holds (the browser test expects each to render)."""
    import re

    return re.findall(r'<div class="chart pending" id="([^"]+)"', page)


def figure_count(page: str) -> int:
    return len(figure_ids(page))


def page_data(page: str) -> dict:
    """The charts' data embedded in a rendered page (tests read it to check what the charts show)."""
    start = page.index('<script type="application/json" id="report-data">') + len(
        '<script type="application/json" id="report-data">'
    )
    return json.loads(page[start : page.index("</script>", start)])
