"""The interactive HTML report: one self-contained file (plotly.js embedded), readable offline.

``render`` reads the comparison's two tables (one row per configuration, one row per
layer per configuration) and returns the page as a string. Every piece of text that
comes from a spec file is escaped: a spec called ``<script>…</script>`` shows as text.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from .. import units
from ..costs import CONVENTIONS
from ..profiling import by_kind

E = html.escape
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:24px} header p{margin:0;color:#c5cad6}
nav{background:#fff;border-bottom:1px solid #dde1e8;padding:8px 32px;position:sticky;top:0;z-index:10}
nav a{margin-right:16px;color:#1f5fbf;text-decoration:none;font-size:14px}
main{padding:8px 32px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;margin:18px 0}
h2{margin:0 0 8px;font-size:19px} h3{font-size:15px;margin:16px 0 6px}
p.note{color:#555d6e;font-size:13px;margin:4px 0 10px} ul.sources{color:#555d6e;font-size:13px;margin:0 0 10px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{border-bottom:1px solid #e4e7ec;padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600} td.l,th.l{text-align:left}
td.w{text-align:left;white-space:normal;min-width:220px;max-width:520px;color:#555d6e}
.pass{color:#1a7f37} .FAIL{color:#cf222e;font-weight:700} .erratum{color:#8250df} .note{color:#0969da}
.doesnothold{color:#9a6700}
.fig{min-height:360px}
"""


def _fig_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), font=dict(size=12))
    return (
        f'<div class="fig">{pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id)}</div>'
    )


def _table(
    frame: pd.DataFrame,
    left: set[str] = frozenset(),
    classes: dict | None = None,
    wrap: set[str] = frozenset(),
) -> str:
    head = "".join(f'<th class="{"l" if c in left else ""}">{E(str(c))}</th>' for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            cls = "w" if c in wrap else ("l" if c in left else "")
            if classes and c in classes:
                cls += " " + classes[c](row[c])
            cells.append(f'<td class="{cls}">{E(str(row[c]))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _color(refs: list[str]) -> dict[str, str]:
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(refs)}


def _default_configs(configs: pd.DataFrame) -> pd.DataFrame:
    """One configuration per compared spec for the per-layer views: the widest, largest one."""
    return (
        configs.sort_values(["alpha", "resolution"], ascending=False, kind="stable")
        .drop_duplicates("ref")
        .sort_values("config")
    )


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


def _grid_section(configs: pd.DataFrame, measured: bool, n: list[int]) -> str:
    parts = []
    metrics = [("mult_adds", "mult-adds (M)", 1e6), ("paper_params", "conv + FC weights (M)", 1e6)]
    if measured:
        metrics.append(("latency_ms", "latency (ms, median)", 1.0))
    for ref, group in configs.groupby("ref", sort=False):
        if group["alpha"].nunique() < 2 and group["resolution"].nunique() < 2:
            continue
        name = group["name"].iloc[0]
        parts.append(f"<h3>{E(name)} ({E(ref)})</h3>")
        fig = make_subplots(
            rows=1, cols=len(metrics), subplot_titles=[m[1] for m in metrics], horizontal_spacing=0.08
        )
        for j, (col, title, scale) in enumerate(metrics, 1):
            pivot = group.pivot_table(index="alpha", columns="resolution", values=col, aggfunc="first")
            pivot = pivot.sort_index(ascending=False)[sorted(pivot.columns, reverse=True)] / scale
            table = pivot.copy()
            table.index = [f"α = {a:g}" for a in table.index]
            table.columns = [f"{r} px" for r in table.columns]
            fmt = "{:,.3f}" if col == "latency_ms" else "{:,.1f}"
            shown = table.map(lambda v, fmt=fmt: "—" if units.missing(v) else fmt.format(v))
            parts.append(
                f"<p class='note'>{E(title)}: rows α, columns resolution</p>"
                + _table(shown.reset_index(names=""), left={""})
            )
            fig.add_trace(
                go.Heatmap(
                    z=pivot.values,
                    x=[f"{r}" for r in pivot.columns],
                    y=[f"α {a:g}" for a in pivot.index],
                    colorscale="Viridis",
                    text=[[fmt.format(v) for v in row] for row in pivot.values],
                    texttemplate="%{text}",
                    showscale=False,
                    hovertemplate=f"%{{y}}, %{{x}} px: %{{text}} {E(title)}<extra></extra>",
                ),
                row=1,
                col=j,
            )
            fig.update_xaxes(title_text="resolution (px)", row=1, col=j)
        fig.update_layout(height=380, title=E(f"{name}: α × resolution"))
        n[0] += 1
        parts.append(_fig_html(fig, f"fig{n[0]}"))
    return (
        "".join(parts) or "<p class='note'>No spec in this comparison has more than one α or resolution.</p>"
    )


def _layers_section(configs: pd.DataFrame, layers: pd.DataFrame, measured: bool, n: list[int]) -> str:
    parts = []
    rows = [
        ("mult_adds", "mult-adds (M)", 1e6),
        ("params", "params (M)", 1e6),
        ("activation_bytes", "activations (MiB)", 2**20),
    ]
    if measured:
        rows.append(("latency_ms", "latency (ms)", 1.0))
    for _, cfg in _default_configs(configs).iterrows():
        ls = layers[layers["config"] == cfg["config"]]
        fig = make_subplots(
            rows=len(rows),
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.04,
            subplot_titles=[r[1] for r in rows],
        )
        for i, (col, title, scale) in enumerate(rows, 1):
            fig.add_trace(
                go.Bar(
                    x=ls["path"],
                    y=ls[col] / scale,
                    name=title,
                    marker_color=PALETTE[i - 1],
                    customdata=ls["group"],
                    hovertemplate="%{x} (%{customdata}): %{y:,.3f} " + E(title) + "<extra></extra>",
                ),
                row=i,
                col=1,
            )
        fig.update_layout(height=220 * len(rows), showlegend=False, title=E(f"{cfg['label']}: per layer"))
        n[0] += 1
        parts.append(_fig_html(fig, f"fig{n[0]}"))
    return "".join(parts)


def _kind_section(configs: pd.DataFrame, layers: pd.DataFrame, measured: bool, n: list[int]) -> str:
    parts = []
    fig = go.Figure()
    metrics = [("mult_adds_pct", "mult-adds"), ("paper_params_pct", "conv + FC weights")]
    if measured:
        metrics.append(("latency_pct", "latency"))
    for k, (_, cfg) in enumerate(_default_configs(configs).iterrows()):
        kinds = by_kind(layers[layers["config"] == cfg["config"]])
        kinds = kinds[
            (kinds["mult_adds"] > 0) | (kinds["paper_params"] > 0) | (kinds["latency_pct"].fillna(0) > 0.5)
        ]
        shown = pd.DataFrame(
            {
                "layer type": kinds["group"],
                "layers": kinds["layers"],
                "mult-adds": kinds["mult_adds_pct"].map(lambda v: f"{v:.2f} %"),
                "conv + FC weights": kinds["paper_params_pct"].map(lambda v: f"{v:.2f} %"),
            }
        )
        if measured:
            shown["latency"] = kinds["latency_pct"].map(lambda v: units.fmt(v, ".1f", " %"))
        parts.append(f"<h3>{E(cfg['label'])}</h3>" + _table(shown, left={"layer type"}))
        for j, (col, what) in enumerate(metrics):
            fig.add_trace(
                go.Bar(
                    x=[f"{g}" for g in kinds["group"]],
                    y=kinds[col],
                    name=E(f"{cfg['label']}: {what}"),
                    marker_color=PALETTE[(k * 3 + j) % len(PALETTE)],
                    hovertemplate="%{x}: %{y:.2f} %<extra>" + E(f"{cfg['label']}: {what}") + "</extra>",
                )
            )
    fig.update_layout(
        barmode="group",
        height=420,
        yaxis_title="share (%)",
        title="Share by layer type (the paper's Table 2, with latency)",
    )
    n[0] += 1
    return _fig_html(fig, f"fig{n[0]}") + "".join(parts)


def _scatter_section(configs: pd.DataFrame, measured: bool, n: list[int]) -> str:
    parts = []
    colors = _color(list(dict.fromkeys(configs["ref"])))
    if measured:
        fig = go.Figure()
        for ref, g in configs.groupby("ref", sort=False):
            fig.add_trace(
                go.Scatter(
                    x=g["mult_adds"] / 1e6,
                    y=g["latency_ms"],
                    mode="markers",
                    name=E(ref),
                    marker=dict(size=10, color=colors[ref]),
                    error_y=dict(type="data", array=g["latency_iqr_ms"] / 2, visible=True),
                    text=[E(l) for l in g["label"]],
                    hovertemplate="%{text}<br>%{x:,.1f} M mult-adds<br>%{y:.3f} ms<extra></extra>",
                )
            )
        fig.update_layout(
            title="Measured latency against mult-adds, every configuration (bars: IQR)",
            xaxis_title="mult-adds (M)",
            yaxis_title="latency (ms, median)",
            height=460,
            xaxis_type="log",
            yaxis_type="log",
        )
        n[0] += 1
        parts.append(_fig_html(fig, f"fig{n[0]}"))
    reported = configs[configs["reported_top1"].notna()]
    if len(reported):
        planes = [("mult_adds", 1e6, "mult-adds (M)", "pareto", "%{x:,.1f} M mult-adds")]
        if measured:
            planes.append(
                ("latency_ms", 1.0, "latency (ms, median, measured here)", "pareto_latency", "%{x:.3f} ms")
            )
        for col, scale, axis, front_col, hover in planes:
            fig = go.Figure()
            crowded = len(reported) > 12  # many configurations: labels on hover only, but for single ones
            for ref, g in reported.groupby("ref", sort=False):
                fig.add_trace(
                    go.Scatter(
                        x=g[col] / scale,
                        y=g["reported_top1"],
                        mode="markers" if crowded and len(g) > 1 else "markers+text",
                        name=E(ref),
                        marker=dict(size=11, color=colors[ref]),
                        text=[E(l) for l in g["label"]],
                        textposition="top center",
                        hovertemplate="%{text}<br>" + hover + "<br>top-1 %{y:.1f} % "
                        "(reported)<extra></extra>",
                    )
                )
            front = reported[reported[front_col].astype(bool)].sort_values(col)
            fig.add_trace(
                go.Scatter(
                    x=front[col] / scale,
                    y=front["reported_top1"],
                    mode="lines+markers",
                    name="Pareto front",
                    line=dict(color="#1d2330", dash="dot", width=1.5),
                    marker=dict(size=16, symbol="circle-open", color="#1d2330"),
                    hoverinfo="skip",
                )
            )
            fig.update_layout(
                title=f"ImageNet top-1 as reported, against {axis.split(' (')[0]} (dotted: the Pareto front)",
                xaxis_title=axis,
                yaxis_title="top-1 (%), as reported",
                xaxis_type="log",
                height=480,
            )
            n[0] += 1
            parts.append(_fig_html(fig, f"fig{n[0]}"))
            names = ", ".join(E(l) for l in front["label"])
            parts.append(
                f"<p class='note'>Pareto front ({E(axis.split(' (')[0])}): {names} — no other "
                f"configuration is both cheaper and more accurate.</p>"
            )
        sources = reported.drop_duplicates("ref")[["name", "citation"]]
        cited = "".join(
            f"<li>{E(r.name)}: {E(r.citation) or 'no citation in its spec'}</li>"
            for r in sources.itertuples()
        )
        parts.append(
            "<p class='note'>Accuracies are the ImageNet top-1 reported in each spec's header (its paper "
            "or official release), not measured by archprof; mult-adds are archprof's counts. "
            f"Sources:</p><ul class='sources'>{cited}</ul>"
        )
    return (
        "".join(parts) or "<p class='note'>Nothing measured and no reported accuracy in this comparison.</p>"
    )


def _roofline_section(configs: pd.DataFrame, layers: pd.DataFrame, roof: dict, n: list[int]) -> str:
    fig = go.Figure()
    defaults = _default_configs(configs)
    ai_all = layers.loc[layers["mult_adds"] > 0, "arithmetic_intensity"]
    lo, hi = max(ai_all.min() / 2, 0.05), ai_all.max() * 2
    xs = [lo * (hi / lo) ** (i / 60) for i in range(61)]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[min(roof["peak_gflops"], x * roof["bandwidth_gbs"]) for x in xs],
            mode="lines",
            name="roofline",
            line=dict(color="#1d2330", width=2),
        )
    )
    groups = list(dict.fromkeys(layers.loc[layers["mult_adds"] > 0, "group"]))
    symbols = ["circle", "diamond", "square", "triangle-up", "x", "star"]
    for k, (_, cfg) in enumerate(defaults.iterrows()):
        ls = layers[(layers["config"] == cfg["config"]) & (layers["mult_adds"] > 0)]
        for j, grp in enumerate(groups):
            g = ls[ls["group"] == grp]
            if g.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=g["arithmetic_intensity"],
                    y=g["achieved_gflops"],
                    mode="markers",
                    name=E(f"{cfg['label']}: {grp}"),
                    marker=dict(size=9, color=PALETTE[k % len(PALETTE)], symbol=symbols[j % len(symbols)]),
                    text=g["path"],
                    customdata=(g["roofline_fraction"] * 100),
                    hovertemplate="%{text}: %{x:.1f} FLOP/B, %{y:.1f} GFLOP/s "
                    "(%{customdata:.0f} % of the roof)<extra></extra>",
                )
            )
    fig.update_layout(
        title=f"Roofline: compute peak {roof['peak_gflops']:.1f} GFLOP/s, "
        f"memory bandwidth {roof['bandwidth_gbs']:.1f} GB/s",
        xaxis_type="log",
        yaxis_type="log",
        height=520,
        xaxis_title="arithmetic intensity (FLOP per byte of input + weights + output)",
        yaxis_title="achieved GFLOP/s (2 FLOPs per mult-add)",
    )
    n[0] += 1
    return _fig_html(fig, f"fig{n[0]}") + (
        "<p class='note'>The roof is the larger of a big matmul and a big 1×1 conv measured on this machine, "
        "and the memory bandwidth a large copy. A 3×3 conv can land above it: oneDNN may run it with a "
        "Winograd kernel, which does fewer multiplications than the direct count used for GFLOP/s here.</p>"
    )


def _validation_section(checks) -> str:
    if checks is None:
        return "<p class='note'>Validation was not run.</p>"
    frame = pd.DataFrame(
        [
            {
                "subject": c.subject,
                "check": c.check,
                "expected": c.expected,
                "got": c.got,
                "verdict": c.verdict,
                "why": c.why,
            }
            for c in checks
        ]
    )
    failed = sum(c.verdict == "FAIL" for c in checks)
    head = (
        f"<p>{len(checks)} checks, {'none failed' if not failed else f'{failed} FAILED'}. "
        "<i>does not hold</i>: an invariant this architecture does not have (the reason is given); "
        "<i>erratum</i>: the paper contradicts itself; <i>note</i>: the paper counts differently here.</p>"
    )
    return head + _table(
        frame,
        left={"subject", "check", "expected", "got", "verdict"},
        wrap={"why"},
        classes={"verdict": lambda v: v.replace(" ", "")},
    )


def render(
    configs: pd.DataFrame,
    layers: pd.DataFrame,
    *,
    title: str,
    environment: dict | None,
    roof: dict | None,
    checks=None,
    generated: str = "",
) -> str:
    """The whole report as one HTML string."""
    measured = configs["latency_ms"].notna().any()
    n = [0]
    sections = [
        (
            "summary",
            "Summary",
            "<p class='note'>" + E(CONVENTIONS) + " Latency: median of end-to-end forward "
            "passes (eval, inference mode), measured in interleaved, shuffled rounds.</p>"
            + _table(summary_frame(configs, measured), left={"model"}),
        ),
        ("grids", "Width and resolution", _grid_section(configs, measured, n)),
        ("layers", "Per layer", _layers_section(configs, layers, measured, n)),
        ("kinds", "By layer type", _kind_section(configs, layers, measured, n)),
        ("tradeoff", "Latency, accuracy and mult-adds", _scatter_section(configs, measured, n)),
    ]
    if measured and roof:
        sections.append(("roofline", "Roofline", _roofline_section(configs, layers, roof, n)))
    sections.append(("validation", "Validation (the papers' claims)", _validation_section(checks)))
    env_html = "<p class='note'>Counts only: latency was not measured (--no-latency).</p>"
    if environment:
        env_html = _table(
            pd.DataFrame({"": list(environment), "value": [str(v) for v in environment.values()]}),
            left={"", "value"},
        )
    sections.append(("environment", "Environment", env_html))
    nav = "".join(f'<a href="#{sid}">{E(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{E(name)}</h2>{content}</section>' for sid, name, content in sections
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{E(title)} — archprof</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{E(title)}</h1><p>archprof report · {E(generated)} · {len(configs)} configurations"
        f"</p></header><nav>{nav}</nav><main>{body}</main></body></html>"
    )


def figure_count(page: str) -> int:
    """How many plotly figures a rendered page holds (the browser test expects each to render)."""
    return page.count('class="plotly-graph-div"')
