"""Renderers of a sweep (``archprof sweep``): the terminal table, JSON, CSV and the HTML page.

Each reads a ``sweep.Sweep`` and returns a renderable or a string; writing is the
caller's. A sweep can hold a million configurations: JSON and CSV are written by pandas
in one pass, the terminal shows the fronts (all rows when there are few), and the HTML
plots every configuration with WebGL up to ``MAX_PLOTTED`` and an even sample beyond
(the front and the reported configurations always), saying so.
"""

from __future__ import annotations

import html
import io
import json

import numpy as np
import pandas as pd
from rich.console import Group

from .. import units
from ..costs import CONVENTIONS
from ..sweep import FRONT, Sweep

E = html.escape
MAX_TABLE_ROWS = 40
# its own style (the compare report's page is being rewritten separately; this page does not depend on it)
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:20px 32px} header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#c5cad6} main{padding:8px 32px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;margin:18px 0}
h2{margin:0 0 8px;font-size:19px} p.note{color:#555d6e;font-size:13px;margin:4px 0 10px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{border-bottom:1px solid #e4e7ec;padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600} .fig{min-height:360px}
"""
MAX_PLOTTED = 100_000


def header(s: Sweep) -> dict:
    """Everything about a sweep but its rows (the JSON object's head)."""
    f = s.frame
    return {
        "model": s.spec.ref,
        "name": s.spec.name,
        "conventions": CONVENTIONS,
        "front": FRONT.format(cost=_cost_words(s)),
        "cost": s.cost,
        "grid": {
            "alphas": list(s.alphas),
            "resolutions": list(s.resolutions),
            "configurations": s.grid_size,
        },
        "counted": len(f) + s.over_budget,
        "skipped": dict(s.skipped),
        "over_budget": s.over_budget,
        "exact_path": s.exact_path,
        "notes": list(s.notes),
        "latency_source": s.latency_source,
    }


def to_json(s: Sweep) -> str:
    head = json.dumps(header(s), indent=2)
    rows = s.frame.to_json(orient="records", indent=2, double_precision=15)
    return head[:-2] + ',\n  "configurations": ' + rows.replace("\n", "\n  ") + "\n}\n"


def to_csv(s: Sweep) -> str:
    buf = io.StringIO()
    s.frame.to_csv(buf, index=False)
    return buf.getvalue()


def messages(s: Sweep) -> list[str]:
    """What a reader must know besides the rows: skipped configurations, the budget, the exact path."""
    out = s.skipped_lines()
    if s.over_budget:
        out.append(
            f"{s.over_budget:,} configuration{'s' if s.over_budget != 1 else ''} over the budget left out"
        )
    return out + list(s.notes)


def _cost_words(s: Sweep) -> str:
    return "predicted latency" if s.cost == "latency_ms" else "mult-adds"


def _shown(s: Sweep) -> tuple[pd.DataFrame, str]:
    f = s.frame
    if len(f) <= MAX_TABLE_ROWS:
        return f, f"{len(f):,} configurations"
    keep = f[f["pareto"] | f["reported_top1"].notna()]
    keep = keep.sort_values([s.cost, "params"], kind="stable").head(MAX_TABLE_ROWS)
    return keep, (
        f"{len(f):,} configurations; shown: {len(keep)} on the front or with a reported top-1 "
        "(--format csv or json for all)"
    )


def table(s: Sweep) -> Group:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows, caption = _shown(s)
    t = Table(
        title=f"archprof sweep {s.spec.ref}",
        caption=caption,
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    for col in (
        "α",
        "resolution",
        "params",
        "conv+FC weights",
        "mult-adds",
        "peak activations",
        "top-1 %",
        "latency",
        "pareto",
    ):
        t.add_column(col, justify="right", no_wrap=True)
    for r in rows.itertuples(index=False):
        t.add_row(
            f"{r.alpha:g}",
            str(r.resolution),
            units.count(r.params),
            units.count(r.paper_params),
            units.millions(r.mult_adds),
            units.nbytes(r.peak_activation_bytes),
            units.fmt(r.reported_top1, ".1f"),
            units.ms(r.latency_ms),
            "★" if r.pareto else "",
        )
    parts: list[Table | Text] = [t]
    parts += [Text(line) for line in messages(s)]
    parts.append(Text(FRONT.format(cost=_cost_words(s)), style="dim"))
    parts.append(Text(CONVENTIONS, style="dim"))
    if s.latency_source:
        parts.append(Text(f"latency: predicted from {s.latency_source}", style="dim"))
    return Group(*parts)


def render_html(s: Sweep, *, title: str, generated: str = "") -> str:
    """One self-contained page: cost against params with the front, top-1 where reported, the front's rows."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    f = s.frame
    cost_label = "predicted latency (ms)" if s.cost == "latency_ms" else "mult-adds"
    plotted, note = f, ""
    if len(f) > MAX_PLOTTED:
        step = int(np.ceil(len(f) / MAX_PLOTTED))
        mask = np.zeros(len(f), dtype=bool)
        mask[::step] = True
        mask |= (f["pareto"] | f["reported_top1"].notna()).to_numpy()
        plotted = f[mask]
        note = (
            f" {len(plotted):,} of {len(f):,} configurations plotted: every {step}th, and every one on a "
            "front or with a reported top-1."
        )
    hover = [f"α {a:g}, {r} px" for a, r in zip(plotted["alpha"], plotted["resolution"])]
    fig = go.Figure()
    fig.add_trace(
        go.Scattergl(
            x=plotted[s.cost].astype(float),
            y=plotted["params"].astype(float),
            mode="markers",
            name="configurations",
            text=hover,
            marker=dict(
                size=5, color=plotted["resolution"], colorscale="Viridis", colorbar=dict(title="resolution")
            ),
            hovertemplate="%{text}<br>%{x:,}<br>%{y:,} params<extra></extra>",
        )
    )
    front = f[f["pareto"] & f["reported_top1"].isna()].sort_values(s.cost)
    fig.add_trace(
        go.Scatter(
            x=front[s.cost].astype(float),
            y=front["params"].astype(float),
            mode="lines+markers",
            name="front without top-1",
            line=dict(color="#d62728"),
            text=[f"α {a:g}, {r} px" for a, r in zip(front["alpha"], front["resolution"])],
            hovertemplate="%{text}<br>%{x:,}<br>%{y:,} params<extra>front</extra>",
        )
    )
    fig.update_layout(
        title=f"{cost_label} against params", xaxis_title=cost_label, yaxis_title="params", height=520
    )
    figs = [pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id="sweep-front")]
    reported = f[f["reported_top1"].notna()]
    if len(reported):
        top = go.Figure(
            go.Scatter(
                x=reported[s.cost].astype(float),
                y=reported["reported_top1"],
                mode="markers+text",
                text=[f"{a:g}-{r}" for a, r in zip(reported["alpha"], reported["resolution"])],
                textposition="top center",
                marker=dict(size=9, color=np.where(reported["pareto"], "#d62728", "#1f77b4").tolist()),
            )
        )
        top.update_layout(
            title="reported top-1 (red: on the front)",
            xaxis_title=cost_label,
            yaxis_title="top-1 %",
            height=420,
        )
        figs.append(pio.to_html(top, full_html=False, include_plotlyjs=False, div_id="sweep-top1"))
    shown = f[f["pareto"] | f["reported_top1"].notna()].sort_values([s.cost, "params"])
    rows = pd.DataFrame(
        {
            "α": [f"{a:g}" for a in shown["alpha"]],
            "resolution": shown["resolution"].astype(str),
            "params": [units.count(x) for x in shown["params"]],
            "mult-adds": [units.millions(x) for x in shown["mult_adds"]],
            "peak activations": [units.nbytes(x) for x in shown["peak_activation_bytes"]],
            "top-1 %": [units.fmt(x, ".1f") for x in shown["reported_top1"]],
            "latency": [units.ms(x) for x in shown["latency_ms"]],
            "pareto": ["★" if p else "" for p in shown["pareto"]],
        }
    )
    notes = " ".join(E(m) + "." for m in messages(s))
    body = (
        f"<section><h2>Configurations</h2><p class='note'>{E(FRONT.format(cost=_cost_words(s)))}{E(note)}"
        f" {notes}</p>{''.join(f'<div class=fig>{x}</div>' for x in figs)}</section>"
        f"<section><h2>On the front, or with a reported top-1</h2>{rows.to_html(index=False, escape=True, border=0)}"
        f"<p class='note'>{E(CONVENTIONS)}</p></section>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{E(title)} — archprof</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{E(title)}</h1><p>{E(s.spec.name)}{' — ' + E(s.spec.citation) if s.spec.citation else ''}"
        f"</p><p>archprof sweep · {E(generated)} · {len(f):,} configurations"
        f"</p></header><main>{body}</main></body></html>"
    )
