"""Rich tables for the terminal: the per-layer profile and the parsed spec.

Functions here return rich renderables; printing them is the CLI's job, so tests can
render them deterministically into a string.
"""

from __future__ import annotations

import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .. import units
from ..costs import CONVENTIONS, totals
from ..registry import REGISTRY
from ..shapes import paper_shape, resolve
from ..spec import ModelSpec


def _type_stride(kind: str, stride: int) -> str:
    return f"{REGISTRY[kind].label} / s{stride}"


def _compact(text: str) -> str:
    # "1 × 1 × 512 × 1024" → "1×1×512×1024": the per-layer table is wide enough already.
    return text.replace(" × ", "×")


def profile_table(spec: ModelSpec, layers: pd.DataFrame) -> Group:
    """Per-layer costs with a totals row, the peak memory and the counting conventions."""
    t = totals(layers)
    dtype = layers["dtype"].iloc[0]
    table = Table(title=f"{spec.label} — {spec.ref}, α = {spec.alpha:g}, {spec.resolution} × {spec.resolution}, {dtype}",
                  show_footer=True, header_style="bold", footer_style="bold", box=box.SIMPLE_HEAD)
    right = {"justify": "right", "no_wrap": True}
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
    for r in layers.itertuples():
        table.add_row(str(r.index), r.name, _type_stride(r.kind, r.stride), _compact(r.filter),
                      _compact(units.paper_shape(r.out_c, r.out_h, r.out_w)), units.count(r.params),
                      units.count(r.paper_params), units.count(r.mult_adds), units.nbytes(r.weight_bytes),
                      units.nbytes(r.activation_bytes), units.ms(r.latency_ms))
    notes = Text.assemble(
        ("peak activation memory: ", "bold"), units.nbytes(t["peak_activation_bytes"]),
        f" (batch {int(layers['batch'].iloc[0])}, {dtype}); ",
        ("mult-adds: ", "bold"), units.millions(t["mult_adds"]), "; ",
        ("params: ", "bold"), units.millions(t["params"]),
        f" ({units.millions(t['paper_params'])} paper convention)\n",
        (CONVENTIONS, "dim"))
    return Group(table, notes)


def spec_table(spec: ModelSpec) -> Group:
    """The spec as parsed: the header, then every row with its inferred input and output."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("spec", f"{spec.ref}  ({spec.path})")
    head.add_row("name", spec.name)
    if spec.citation:
        head.add_row("citation", spec.citation)
    head.add_row("input", f"{paper_shape(spec.input_shape)} (H × W × C), {spec.classes} classes")
    head.add_row("configuration", f"α = {spec.alpha:g}, resolution {spec.resolution}, variant {spec.variant}")
    head.add_row("default grid", f"α ∈ {{{', '.join(f'{a:g}' for a in spec.alphas)}}} × resolution ∈ "
                                 f"{{{', '.join(str(r) for r in spec.resolutions)}}}")
    table = Table(header_style="bold")
    for name, opts in (("#", {"justify": "right"}), ("layer", {}), ("line", {"justify": "right"}),
                       ("type / stride", {}), ("filter shape", {}), ("input size", {}), ("output", {}),
                       ("after it", {})):
        table.add_column(name, **opts)
    for r in resolve(spec):
        opts = r.layer.options
        after = opts.describe() if opts else ""
        if r.layer.role:
            after = f"{after} ({r.layer.role})"
        table.add_row(str(r.index), r.name, str(r.layer.line or ""), _type_stride(r.layer.kind, r.layer.stride),
                      REGISTRY[r.layer.kind].describe(r.layer, r.in_shape), paper_shape(r.in_shape),
                      paper_shape(r.out_shape), after)
    return Group(head, table)


VERDICT_STYLE = {"pass": "green", "FAIL": "bold red", "does not hold": "yellow", "erratum": "magenta", "note": "cyan"}


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
        table.add_row(c.section, c.subject, check, c.expected, c.got, Text(c.verdict, style=VERDICT_STYLE.get(c.verdict, "")))
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    failed = counts.get("FAIL", 0)
    line = Text.assemble(
        (f"{len(checks)} checks: ", "bold"),
        ", ".join(f"{n} {v}" for v, n in counts.items()),
        ("  —  all hold" if not failed else f"  —  {failed} FAILED", "bold green" if not failed else "bold red"))
    return Group(table, line)


def to_text(renderable, width: int = 200) -> str:
    """Plain text of a renderable: for files and golden tests (no colour, fixed width)."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(renderable)
    return buf.getvalue()
