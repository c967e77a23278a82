"""The command line: ``archprof list | show | profile | compare | sweep | lut | diff | validate``.

This is the edge where files are read and written and text is printed. Every
``ArchprofError`` becomes one line on stderr and exit code 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys

from . import __version__
from .limits import (
    MAX_ALPHA,
    MAX_BATCH,
    MAX_DIM,
    MAX_RESOLUTION,
    MAX_RHO,
    MAX_ROUNDS,
    MAX_RUN_TIME,
    MAX_THREADS,
)

DTYPES = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
)  # the keys of costs.DTYPE_BYTES (not imported: pandas is slow)
EXIT_CODES = """exit codes:
  0    success
  1    validation failure (archprof validate: a check FAILED), or (archprof diff) A and B differ
  2    usage or input error (bad option, unknown spec, malformed spec file, unwritable output)
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)
"""


class _Formatter(argparse.HelpFormatter):
    """Wraps prose paragraphs to the terminal; keeps paragraphs with line breaks (examples, exit codes) as written."""

    def _fill_text(self, text, width, indent):
        import textwrap

        return "\n\n".join(
            p if "\n" in p else textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent)
            for p in text.split("\n\n")
        )


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with a pointer to --help), not a usage block."""

    def __init__(self, *args, **kwargs):
        # the subcommands' parsers (made by add_parser) get archprof's help format too
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        from .sanitize import one_line

        # the message quotes what was typed: escape sequences in it must not reach the terminal
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def _number(kind: type, lo: float, hi: float, above: bool = False):
    """An argparse type: ``kind`` (int or float) within [lo, hi] (or (lo, hi] with ``above``), finite,
    at most MAX_DIGITS characters, with an error that says the range."""
    from .limits import MAX_DIGITS

    def shown(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"

    word = "a whole number" if kind is int else "a number"
    low = f"greater than {shown(lo)}" if above else f"at least {shown(lo)}"

    def parse(text: str):
        token = text.strip()
        if not token:
            raise argparse.ArgumentTypeError("is empty: give a value")
        if len(token) > MAX_DIGITS:
            raise argparse.ArgumentTypeError(
                f"must be {word} {low} and at most {shown(hi)}; got {len(token):,} characters"
            )
        try:
            value = kind(token)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {word}, got {token!r}") from None
        if not (math.isfinite(value) and (lo < value if above else lo <= value) and value <= hi):
            raise argparse.ArgumentTypeError(f"must be {word} {low} and at most {shown(hi)}, got {token}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "spec",
        metavar="SPEC",
        help="a built-in spec (see 'archprof list') or a path to a spec file; "
        "append ':standard' for its standard-convolution equivalent, e.g. mobilenet_v1:standard; "
        "or your own model, FILE.py:NAME (Python code that runs: only files you trust)",
    )
    p.add_argument(
        "--alpha",
        type=_number(float, 0, MAX_ALPHA, above=True),
        default=1.0,
        metavar="A",
        help="width multiplier α: every channel count but the image's and the classes' "
        "becomes int(c·α) (default 1)",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--resolution",
        type=_number(int, 1, MAX_RESOLUTION),
        metavar="R",
        help="input resolution in pixels (default: the spec's)",
    )
    size.add_argument(
        "--rho",
        type=_number(float, 0, MAX_RHO, above=True),
        metavar="P",
        help="resolution multiplier ρ: resolution = round(H·ρ) of the spec's input (224·0.714 → 160)",
    )
    p.add_argument(
        "--classes",
        type=_number(int, 1, MAX_DIM),
        metavar="N",
        help="replace the classifier's width (the last conv/FC) with N classes (default: the spec's)",
    )
    p.add_argument(
        "--input-shape",
        metavar="CxHxW",
        help="the input of a model file (FILE.py:NAME), without the batch (default 3x224x224)",
    )


def _measure_args(p: argparse.ArgumentParser, grid: bool = False) -> None:
    m = p.add_argument_group("measuring (latency, measured memory, roofline)")
    m.add_argument("--no-latency", action="store_true", help="count only: build and time nothing (instant)")
    m.add_argument(
        "--backend",
        metavar="NAME" + (",NAME" if grid else ""),
        help=(
            "the runtimes that measure, comma-separated, side by side: torch (eager, default) and "
            "onnxruntime (the model exported to ONNX, run by ONNX Runtime's CPU provider; "
            "pip install 'archprof[onnx]'), e.g. --backend torch,onnxruntime"
            if grid
            else "the runtime that measures: torch (eager, default) or onnxruntime (the model exported to "
            "ONNX, run by ONNX Runtime's CPU provider, per-row times from its profiler; "
            "pip install 'archprof[onnx]')"
        ),
    )
    m.add_argument(
        "--threads",
        type=_number(int, 1, MAX_THREADS),
        metavar="N",
        help="intra-op threads while timing (default 1: on few cores more threads drift between runs)",
    )
    m.add_argument(
        "--batch", type=_number(int, 1, MAX_BATCH), default=1, metavar="N", help="batch size (default 1)"
    )
    m.add_argument("--device", choices=("cpu", "cuda"), help="cpu (default) or cuda")
    m.add_argument(
        "--channels-last", action="store_true", help="run the model and input in channels-last memory format"
    )
    m.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="refuse to build or measure what is estimated to need more than SIZE (e.g. 8GiB); "
        "the memory available now is always a limit",
    )
    if grid:
        m.add_argument(
            "--max-rounds",
            type=_number(int, 3, MAX_ROUNDS),
            metavar="N",
            help="interleaved timing rounds at most (default 8; at least 3, more while a "
            "configuration's spread is above 5 %%)",
        )
        return
    m.add_argument(
        "--min-run-time",
        type=_number(float, 0, MAX_RUN_TIME, above=True),
        metavar="S",
        help="seconds of end-to-end timing at least (default 1); rounds are added while the "
        "spread (IQR/median) is above 5 %%, up to 2 s",
    )
    m.add_argument(
        "--no-isolated",
        action="store_true",
        help="skip timing each layer alone on a tensor of its input shape",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archprof",
        description="What does a convolutional network cost, layer by layer, and how does that move with "
        "width (α) and input resolution (ρ)? archprof counts params, mult-adds and memory exactly "
        "from a paper-style layer table (or your own nn.Module, FILE.py:NAME), builds the network in "
        "PyTorch, measures its latency, checks the MobileNetV1 paper's claims against it and the "
        "networks it is compared with, and explains why two networks' counts differ (diff). "
        "'archprof COMMAND --help' for each command.",
        epilog=EXIT_CODES + "\nexamples:\n  archprof compare mobilenet_v1 vgg16\n  archprof list\n"
        "  archprof show mobilenet_v1\n"
        "  archprof profile mobilenet_v1 --alpha 0.5 --resolution 160\n"
        "  archprof profile mobilenet_v1:standard --format json --no-latency\n"
        "  archprof diff mobilenet_v1 mobilenet_v1@0.5,160\n"
        "  archprof sweep mobilenet_v1 --alpha 0.25:1.4:0.05 --resolution 96:256:16\n"
        "  archprof lut build && archprof profile mobilenet_v1 --alpha 0.6 --latency predicted\n"
        "  archprof validate\n"
        "\nyour own model: in place of a SPEC give FILE.py:NAME, the path of a Python file of yours and the\n"
        "name of the nn.Module class (or of a function returning one) defined in it",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"archprof {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser(
        "list",
        help="list the built-in specs",
        description="List the built-in specs with their default grids.",
        epilog=EXIT_CODES,
    )

    show = sub.add_parser(
        "show",
        help="print a spec as parsed, with inferred shapes",
        description="Print the parsed layer table of SPEC with the input and output shape "
        "of every row, in one configuration (α, resolution).",
        epilog=EXIT_CODES,
    )
    _config_args(show)

    profile = sub.add_parser(
        "profile",
        help="per-layer params, mult-adds, memory and latency of one configuration",
        description="Per-layer cost of SPEC at one width and resolution: params (all learnable, and the "
        "paper's conv+FC weights), mult-adds (conv and FC multiply-accumulates), weight bytes, "
        "activation bytes and the peak activation memory; and, unless --no-latency, measured "
        "latency (end to end and per layer inside the full pass, median/IQR/p90/min), measured "
        "memory, the roofline and the share of each layer type. With --latency predicted, latency "
        "comes from a latency table instead (archprof lut build): nothing is built or run, and each "
        "row says whether its time was looked up or estimated. A progress bar shows on stderr "
        "when it is a terminal; --format json keeps stdout clean.",
        epilog=EXIT_CODES + "\nexamples:\n  archprof profile mobilenet_v1 --alpha 0.5 --resolution 160\n"
        "  archprof lut build mobilenet_v1 && archprof profile mobilenet_v1 --alpha 0.6 --latency predicted",
    )
    _config_args(profile)
    profile.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default, for people), json (see the README's 'JSON output') or csv (one row per layer)",
    )
    profile.add_argument("--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    profile.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="element type of weights and activations (default float32)",
    )
    _measure_args(profile)
    _predict_args(profile, "measured")

    compare = sub.add_parser(
        "compare",
        help="compare specs across their α × resolution grids; writes an HTML report",
        description="Compare SPECs side by side over their default α × resolution grids (or the lists given): "
        "params, mult-adds, memory and measured latency, with ratios to the first configuration "
        "(the paper's Tables 4–8 on this machine). Prints a summary and writes a self-contained "
        "interactive HTML report (reports/<specs>.html unless --html or --no-html is given) and prints the path of every file it wrote.",
        epilog=EXIT_CODES + "\nexamples:\n  archprof compare mobilenet_v1 vgg16\n"
        "  archprof compare mobilenet_v1 mobilenet_v1:standard --alpha 1 --no-latency\n"
        "  archprof compare mobilenet_v1 --alpha 1,0.5 --rho 1,0.714 --csv reports/grid.csv\n"
        "  archprof compare mobilenet_v1 vgg16 --alpha 1 --resolution 224 --backend torch,onnxruntime",
    )
    compare.add_argument(
        "specs", nargs="+", metavar="SPEC", help="built-in specs or spec files, optionally with ':standard'"
    )
    compare.add_argument(
        "--alpha",
        metavar="LIST",
        help="width multipliers, comma-separated (default: each spec's grid; "
        "model files are profiled as written)",
    )
    grid_size = compare.add_mutually_exclusive_group()
    grid_size.add_argument("--resolution", metavar="LIST", help="resolutions in pixels, comma-separated")
    grid_size.add_argument(
        "--rho", metavar="LIST", help="resolution multipliers, comma-separated (224·ρ for a 224 spec)"
    )
    compare.add_argument(
        "--input-shape",
        metavar="CxHxW",
        help="the input of the model files (FILE.py:NAME) compared, without the batch (default 3x224x224)",
    )
    compare.add_argument(
        "--html", metavar="PATH", help="where to write the HTML report (default reports/<specs>.html)"
    )
    compare.add_argument(
        "--no-html",
        action="store_true",
        help="write no HTML report (the summary, and --csv / --json if given)",
    )
    compare.add_argument(
        "--csv", metavar="PATH", help="also write every layer row and configuration total as CSV"
    )
    compare.add_argument("--json", metavar="PATH", help="also write the comparison as JSON")
    compare.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="element type of weights and activations (default float32)",
    )
    _measure_args(compare, grid=True)

    sweep = sub.add_parser(
        "sweep",
        help="count every α × resolution of a large grid at once; the Pareto front",
        description="Count every configuration of an α × resolution grid of SPEC exactly — params, the "
        "paper's conv+FC weights, mult-adds (multiply-accumulates of conv and FC layers) and peak "
        "activation bytes, one row per configuration — and mark the Pareto front: configurations whose "
        "top-1 the spec reports are compared on mult-adds (or predicted latency), params and top-1, the "
        "others among themselves on mult-adds and params (top-1 is never interpolated). Nothing is built "
        "or measured: a grid of a million configurations takes seconds.\n\n"
        "Ranges are START:STOP:STEP with both ends included (STOP − START a whole number of STEPs), a "
        "single value, or a comma list: --alpha 0.25:1.4:0.05 is 24 widths from 0.25 to 1.4; "
        "--resolution 96:256:16 is 11 input sizes in pixels. Without them, the spec's own grid. "
        "Configurations whose feature maps collapse (or where α leaves a row without channels) are "
        "skipped and counted. At most 1,000,000 configurations.",
        epilog=EXIT_CODES
        + "\nexamples:\n  archprof sweep mobilenet_v1 --alpha 0.25:1.4:0.05 --resolution 96:256:16\n"
        "  archprof sweep mobilenet_v1 --alpha 0.25:1.4:0.05 --resolution 96:256:16 --budget-mult-adds 300M\n"
        "  archprof sweep mobilenet_v2 --format csv --output reports/v2_sweep.csv --html reports/v2_sweep.html",
    )
    sweep.add_argument(
        "spec", metavar="SPEC", help="a built-in spec or a spec file, optionally with ':standard'"
    )
    sweep.add_argument(
        "--alpha",
        metavar="RANGE",
        help="width multipliers: START:STOP:STEP (both ends included), one value or a comma list "
        "(default: the spec's grid)",
    )
    sweep.add_argument(
        "--resolution",
        metavar="RANGE",
        help="input resolutions in pixels: START:STOP:STEP (both ends included), one value or a comma "
        "list of whole numbers (default: the spec's grid)",
    )
    _predict_args(sweep, None)
    sweep.add_argument(
        "--budget-mult-adds",
        metavar="N",
        help="keep the configurations with at most N mult-adds; K, M, G suffixes (powers of 1000): 300M",
    )
    sweep.add_argument(
        "--budget-ms",
        type=_number(float, 0, 1e6, above=True),
        metavar="MS",
        help="keep the configurations predicted to run in at most MS milliseconds (implies --latency predicted)",
    )
    sweep.add_argument(
        "--threads",
        type=_number(int, 1, MAX_THREADS),
        metavar="N",
        help="predict for N intra-op threads: the table measured at N threads (default 1)",
    )
    sweep.add_argument(
        "--backend",
        metavar="NAME",
        help="predict for this runtime, torch (default) or onnxruntime: the table measured with it",
    )
    sweep.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default: the front and the reported configurations, or every row when at most 40), "
        "json or csv (every configuration)",
    )
    sweep.add_argument("--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    sweep.add_argument("--html", metavar="FILE", help="also write an HTML page: the scatter and the front")
    sweep.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="element type, for the peak activation bytes (default float32)",
    )

    lut = sub.add_parser(
        "lut",
        help="latency lookup tables: measure one (build), print one (show)",
        description="A latency table holds the time of every distinct row configuration (kind, input "
        "shape, output channels, kernel, stride, groups, padding, the fused batch norm and activation) "
        "measured inside full forward passes. 'profile --latency predicted' and 'sweep --latency "
        "predicted' then give the latency of any configuration without running it: rows in the table "
        "are looked up, the others estimated by a model fitted on the table, and each prediction says "
        "which. One table per backend, device, dtype, batch and thread count, kept in the per-user "
        "data directory ($ARCHPROF_DATA_DIR, else $XDG_DATA_HOME/archprof, else ~/.local/share/archprof).",
        epilog=EXIT_CODES
        + "\nexamples:\n  archprof lut build\n  archprof lut build mobilenet_v1 --threads 2\n"
        "  archprof lut show\n  archprof profile mobilenet_v1 --alpha 0.6 --resolution 200 --latency predicted",
    )
    lut_sub = lut.add_subparsers(dest="lut_command", metavar="ACTION", parser_class=_Parser)
    lut_sub.required = True
    lut_build = lut_sub.add_parser(
        "build",
        help="measure every row configuration of some specs' grids into a latency table",
        description="Run every configuration of each SPEC's default α × resolution grid (or --alpha / "
        "--resolution) as a whole network — end-to-end passes, then passes with a clock on every row — "
        "and save each distinct row configuration's median time, with the configurations' end-to-end "
        "times (to fit how rows add up to a network) and the environment (CPU, threads, library "
        "versions). Without --alpha, a spec whose widths truncate (MobileNetV1) also gets the off-grid "
        "widths 0.4, 0.8 and 1.3, whose channel counts are not multiples of 8 and run slower per "
        "mult-add. About a second per configuration; every built-in (93 configurations) takes about "
        "three minutes. Close other programs first: a loaded machine gives a noisy table.",
        epilog=EXIT_CODES,
    )
    lut_build.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="specs to measure (default: every built-in), each with its grid",
    )
    lut_build.add_argument(
        "--alpha", metavar="LIST", help="width multipliers, comma-separated (default: each spec's)"
    )
    lut_build.add_argument(
        "--resolution",
        metavar="LIST",
        help="input resolutions in pixels, comma-separated (default: each spec's)",
    )
    lut_build.add_argument(
        "--backend", metavar="NAME", help="the runtime to measure: torch (default) or onnxruntime"
    )
    lut_build.add_argument(
        "--threads",
        type=_number(int, 1, MAX_THREADS),
        default=1,
        metavar="N",
        help="intra-op threads (default 1)",
    )
    lut_build.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (default) or cuda")
    lut_build.add_argument(
        "--dtype", choices=DTYPES, default="float32", help="element type (default float32)"
    )
    lut_build.add_argument(
        "--batch", type=_number(int, 1, MAX_BATCH), default=1, metavar="N", help="batch size (default 1)"
    )
    lut_build.add_argument(
        "--run-time",
        type=_number(float, 0, MAX_RUN_TIME, above=True),
        default=1.0,
        metavar="S",
        help="seconds of timing per configuration, over 4 interleaved rounds: 40 %% end to end, 60 %% per row "
        "(default 1)",
    )
    lut_build.add_argument(
        "--output", metavar="FILE", help="write the table to FILE (default: the per-user data directory)"
    )
    lut_show = lut_sub.add_parser(
        "show",
        help="print a latency table: where it was measured, its rows and fitted models",
        description="Print a latency table: the environment it was measured in, its configurations, "
        "how many row configurations of each family it holds, the model each family's rows are "
        "estimated with, and how rows add up to a network. Without FILE, the table of --backend, "
        "--threads, --device, --dtype and --batch in the per-user data directory.",
        epilog=EXIT_CODES,
    )
    lut_show.add_argument("file", nargs="?", metavar="FILE", help="a table file (default: the per-user one)")
    setting = lut_show.add_argument_group("which per-user table (without FILE)")
    setting.add_argument("--backend", help="torch (default) or onnxruntime")
    setting.add_argument(
        "--threads", type=_number(int, 1, MAX_THREADS), metavar="N", help="threads (default 1)"
    )
    setting.add_argument("--device", choices=("cpu", "cuda"), help="cpu (default) or cuda")
    setting.add_argument("--dtype", choices=DTYPES, help="element type (default float32)")
    setting.add_argument(
        "--batch", type=_number(int, 1, MAX_BATCH), metavar="N", help="batch size (default 1)"
    )

    diff = sub.add_parser(
        "diff",
        help="explain why two networks' counts differ, row by row",
        description="Align A and B row by row — each a spec (SPEC, SPEC@α or SPEC@α,RESOLUTION, e.g. "
        "mobilenet_v1@0.5,160) or your own model (FILE.py:NAME, Python code that runs: only files you "
        "trust) — and print, for every row that differs and in total, the difference in params, "
        "mult-adds and output shape with its reason: a bias, a batch norm (or its scale), an "
        "activation, a stride or padding, the channels (with the rounding rule that gives them), the "
        "classes, a row missing or extra. The differences add up to the total. Exits 0 when A and B "
        "agree, 1 when they differ.",
        epilog=EXIT_CODES + "\nexamples:\n  archprof diff mobilenet_v1 mobilenet_v1@0.5,160\n"
        "  archprof diff mobilenet_v1@0.35 mobilenet_v2@0.35 --format json",
    )
    diff.add_argument("a", metavar="A", help="the reference: a spec (SPEC[@α[,R]]) or FILE.py:NAME")
    diff.add_argument("b", metavar="B", help="the one to explain: a spec or FILE.py:NAME")
    diff.add_argument("--input-shape", metavar="CxHxW", help="the input of model files (default 3x224x224)")
    diff.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    diff.add_argument("--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    validate = sub.add_parser(
        "validate",
        help="check the paper's claims and archprof's own consistency",
        description="Run the MobileNetV1 paper's claims (Tables 1–9 and the prose ratios) and archprof's "
        "invariants (params do not change with resolution, mult-adds scale with resolution², "
        "params and mult-adds scale roughly with α²; analytic counts equal fvcore and "
        "sum(p.numel()) of the built model, layer by layer, over each spec's default grid). "
        "Prints check, expected, got and verdict; exits 1 if any check FAILS.",
        epilog=EXIT_CODES,
    )
    validate.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="specs to check (default: every built-in and its :standard variant)",
    )
    validate.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    validate.add_argument("--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    validate.add_argument(
        "--no-crosscheck",
        action="store_true",
        help="skip building the models (fvcore and parameter cross-checks): analytic checks only",
    )
    _check_text(parser)
    return parser


def _check_text(parser: argparse.ArgumentParser) -> None:
    """Every text value, an option's or a positional's, of every (sub)command is refused when empty ("--html ''")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in set(action.choices.values()):
                _check_text(command)
        elif action.type is None and action.nargs != 0 and not action.choices:
            action.type = _text


def _predict_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--latency",
        choices=("measured", "predicted") if default else ("predicted",),
        default=default,
        help=(
            "measured (default: run and time the model) or predicted (from the latency table of "
            "--backend, --threads, --device, --dtype and --batch: nothing is run; archprof lut build makes it)"
            if default
            else "add predicted latency from the latency table of --backend and --threads "
            "(archprof lut build makes it)"
        ),
    )
    p.add_argument(
        "--table", metavar="FILE", help="the latency table to predict from (default: the per-user one)"
    )


def _text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give a value")
    return text


# Options that only change how a model is measured: given with --no-latency they would do nothing.
LATENCY_ONLY = {
    "backend": "--backend",
    "threads": "--threads",
    "device": "--device",
    "channels_last": "--channels-last",
    "max_memory": "--max-memory",
    "min_run_time": "--min-run-time",
    "no_isolated": "--no-isolated",
    "max_rounds": "--max-rounds",
}


def _given(args, flags: dict[str, str]) -> list[str]:
    """The options of ``flags`` (dest → flag) that this command line gives."""
    return [flag for dest, flag in flags.items() if getattr(args, dest, None) not in (None, False)]


def _refuse(given: list[str], one: str, many: str, rest: str) -> None:
    """A ConfigError when any option was given where it means nothing: "--threads only applies to …"."""
    if given:
        from .errors import ConfigError

        raise ConfigError(f"{', '.join(given)} {one if len(given) == 1 else many} {rest}")


def _configure(args):
    from .api import configuration

    return configuration(args.spec, args.alpha, args.resolution, args.rho, args.classes, args.input_shape)


def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or redirected output is for files and scripts: wide enough never to wrap a row.
    return Console(stderr=stderr, width=None if stream.isatty() else 200)


def cmd_list(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from .catalog import builtin_names, load
    from .costs import count, totals

    table = Table(title="built-in specs", header_style="bold")
    for col in (
        "spec",
        "name",
        "citation",
        "input (H × W × C)",
        "classes",
        "params",
        "mult-adds",
        "default α",
        "default resolution",
    ):
        table.add_column(
            col,
            justify="right" if col in ("params", "mult-adds", "classes") else "left",
            no_wrap=col in ("spec", "params", "mult-adds"),
        )
    for name in builtin_names():
        s = load(name)
        t = totals(count(s))
        c, h, w = s.input_shape
        table.add_row(
            name,
            Text(s.name),
            Text(s.citation),
            f"{h} × {w} × {c}",
            str(s.classes),
            f"{t['params']:,}",
            f"{t['mult_adds'] / 1e6:,.1f} M",
            ", ".join(f"{a:g}" for a in s.alphas),
            ", ".join(map(str, s.resolutions)),
        )
    _console().print(table)
    _console().print(
        "params and mult-adds at the spec's own input, α = 1. Append ':standard' to a spec with "
        "depthwise separable convs for its standard-conv equivalent."
    )
    return 0


def cmd_show(args) -> int:
    from .errors import ConfigError
    from .modelfile import is_model_ref
    from .report.terminal import spec_table

    if is_model_ref(args.spec):
        raise ConfigError(f"show prints a spec's table; {args.spec} is a model file (use 'archprof profile')")
    _console().print(spec_table(_configure(args)))
    return 0


def _measure_kwargs(args) -> dict:
    """The measuring options of ``profile`` and ``compare`` as keyword arguments of the API."""
    from .guard import parse_size

    if args.no_latency:
        _refuse(
            _given(args, LATENCY_ONLY),
            "only applies",
            "only apply",
            "to measuring, which --no-latency turns off",
        )
    return dict(
        latency=not args.no_latency,
        dtype=args.dtype,
        batch=args.batch,
        threads=args.threads or 1,
        device=args.device or "cpu",
        channels_last=args.channels_last,
        max_memory=parse_size(args.max_memory) if args.max_memory else None,
        backend=args.backend or "torch",
        progress=_Progress,
    )


def _check_output(args) -> None:
    """``--output`` refused before any work (a device, a directory, a link: see outputs.py)."""
    from .outputs import check_outputs

    check_outputs({"--output": args.output})


# Options that only change how a model is run: with --latency predicted nothing runs.
RUN_ONLY = {
    "channels_last": "--channels-last",
    "max_memory": "--max-memory",
    "min_run_time": "--min-run-time",
    "no_isolated": "--no-isolated",
}


def _predicting(args) -> bool:
    """Whether ``args`` ask for predicted latency; contradictions refused (exit 2) before any work."""
    from .errors import ConfigError

    if args.latency != "predicted":
        if args.table:
            raise ConfigError(
                "--table is the latency table of --latency predicted: give --latency predicted too"
            )
        return False
    if args.no_latency:
        raise ConfigError("--no-latency and --latency predicted contradict each other: give one")
    _refuse(
        _given(args, RUN_ONLY),
        "only applies",
        "only apply",
        "to running the model, which --latency predicted does not",
    )
    return True


def cmd_profile(args) -> int:
    from .api import profile

    _check_output(args)
    predicted = _predicting(args)
    result = profile(
        args.spec,
        args.alpha,
        args.resolution,
        rho=args.rho,
        classes=args.classes,
        input_shape=args.input_shape,
        min_run_time=args.min_run_time or 1.0,
        isolated=not args.no_isolated,
        predicted=predicted,
        table=args.table,
        **{**_measure_kwargs(args), **({"latency": False} if predicted else {})},
    )
    for warning in result.warnings:
        print(f"archprof: warning: {warning}", file=sys.stderr)
    if args.format == "table":
        _show(result.table(), args.output)
        return 0
    _emit(result.to_json() if args.format == "json" else result.to_csv(), args.output)
    return 0


def _report_name(refs: list[str]) -> str:
    import re

    from .catalog import split_ref

    parts = []
    for ref in refs:
        name, variant = split_ref(ref)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.rsplit("/", 1)[-1].removesuffix(".md"))
        parts.append(stem if variant == "base" else f"{stem}-{variant}")
    return "_vs_".join(parts)[:150] or "report"


def cmd_compare(args) -> int:
    import shlex
    import time

    from .api import run_compare
    from .errors import ConfigError
    from .grid import parse_list
    from .outputs import STDOUT, check_outputs
    from .report import export, terminal

    if args.no_html and args.html:
        raise ConfigError("--no-html and --html contradict each other: give one")
    alphas = parse_list(args.alpha, float, "--alpha") if args.alpha else None
    resolutions = parse_list(args.resolution, int, "--resolution") if args.resolution else None
    rhos = parse_list(args.rho, float, "--rho") if args.rho else None
    html_path = None if args.no_html else args.html or f"reports/{_report_name(args.specs)}.html"
    # refused before anything is measured
    check_outputs({"--html": html_path, "--csv": args.csv, "--json": args.json})
    result = run_compare(
        args.specs,
        alphas,
        resolutions,
        rhos,
        input_shape=args.input_shape,
        max_rounds=args.max_rounds or 8,
        **_measure_kwargs(args),
    )
    configs, layers, checks = result.configs, result.layers, result.checks
    written = []
    if html_path:
        page = result.to_html(
            title="archprof: " + " vs ".join(args.specs),
            command=shlex.join(["archprof", *args.argv]),
            generated=time.strftime("%Y-%m-%d %H:%M %Z"),
        )
        written.append(_write(html_path, page))
    if args.csv:
        written.append(_write(args.csv, export.to_csv(export.comparison_frames(configs, layers))))
    if args.json:
        extra = {
            "environment": result.environment,
            "roofline": result.roofline,
            "validation": export.validation_dict(checks),
        }
        written.append(_write(args.json, export.to_json(export.comparison_dict(configs, layers, extra))))
    # when an output is stdout ("-"), the summary goes to stderr and stdout carries only that output
    console = _console(stderr=STDOUT in (html_path, args.csv, args.json))
    console.print(terminal.comparison_table(configs, result.environment is not None, result.environment))
    for path in written:
        if path != STDOUT:
            console.print(f"wrote {path}", soft_wrap=True, markup=False)
    for w in result.warnings:
        print(f"archprof: warning: {w}", file=sys.stderr)
    return 0


def cmd_sweep(args) -> int:
    import time

    from .outputs import STDOUT, check_outputs
    from .report import sweep_report
    from .sweep import parse_count, parse_range, run_sweep

    alphas = parse_range(args.alpha, float, "--alpha") if args.alpha else None
    resolutions = parse_range(args.resolution, int, "--resolution") if args.resolution else None
    budget = parse_count(args.budget_mult_adds, "--budget-mult-adds") if args.budget_mult_adds else None
    check_outputs({"--output": args.output, "--html": args.html})  # refused before anything is counted
    predictor = None
    if args.latency or args.budget_ms is not None:
        from .predict import get

        predictor = get(
            "lut",
            path=args.table,
            backend=args.backend or "torch",
            threads=args.threads or 1,
            dtype=args.dtype,
        )
    else:
        given = _given(args, {"table": "--table", "threads": "--threads", "backend": "--backend"})
        _refuse(given, "only applies", "only apply", "to predicted latency: add --latency predicted")
    result = run_sweep(
        args.spec,
        alphas,
        resolutions,
        latency=args.latency,
        budget_mult_adds=budget,
        budget_ms=args.budget_ms,
        dtype=args.dtype,
        predictor=predictor,
    )
    if args.html:
        page = sweep_report.render_html(
            result, title=f"archprof sweep: {args.spec}", generated=time.strftime("%Y-%m-%d %H:%M %Z")
        )
        _write(args.html, page)
    if args.format == "table":
        _show(sweep_report.table(result), args.output)
    else:
        text = sweep_report.to_json(result) if args.format == "json" else sweep_report.to_csv(result)
        _emit(text, args.output)
        for line in sweep_report.messages(result):  # stdout stays machine-readable
            print(f"archprof: note: {line}", file=sys.stderr)
    for path in (args.html, args.output):
        if path and path != STDOUT:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_lut(args) -> int:
    from . import lut
    from .errors import ConfigError

    if args.lut_command == "show":
        from .report.terminal import lut_table

        if args.file:
            setting = {dest: f"--{dest}" for dest in ("backend", "threads", "device", "dtype", "batch")}
            _refuse(
                _given(args, setting), "chooses", "choose", "a per-user table; with FILE give none of them"
            )
        path = args.file or lut.default_path(
            args.backend or "torch",
            args.threads or 1,
            args.device or "cpu",
            args.dtype or "float32",
            args.batch or 1,
        )
        _console().print(lut_table(lut.load(path)))
        return 0
    from . import backends, lut_build
    from .catalog import builtin_names
    from .grid import parse_list
    from .measure import MeasureOptions
    from .modelfile import is_model_ref
    from .outputs import check_outputs

    users = [ref for ref in args.specs if is_model_ref(ref)]
    if users:  # refused before the file's code runs
        raise ConfigError(
            f"a latency table is built from specs; {users[0]} is a model file, which has no spec rows"
        )
    backend = args.backend or "torch"
    if len(backends.names(backend)) != 1:  # each known and installed, before anything runs
        raise ConfigError("a latency table is measured with one backend; build one table per backend")
    path = args.output or str(lut.default_path(backend, args.threads, args.device, args.dtype, args.batch))
    check_outputs({"--output": path})
    alphas = parse_list(args.alpha, float, "--alpha") if args.alpha else None
    resolutions = parse_list(args.resolution, int, "--resolution") if args.resolution else None
    specs = lut_build.configurations(args.specs or builtin_names(), alphas, resolutions)
    opts = MeasureOptions(
        threads=args.threads, batch=args.batch, device=args.device, dtype=args.dtype
    ).check()
    with _Progress(len(specs) * lut_build.ROUNDS, f"measuring {len(specs)} configurations") as bar:
        table = lut_build.build(specs, opts, backend, args.run_time, bar.advance)
    _write(path, table.to_json())
    warning = lut.busy_warning(table)
    if warning:
        print(f"archprof: warning: {warning}", file=sys.stderr)
    print(
        f"{'' if path == '-' else f'wrote {path}: '}{len(table.entries):,} row configurations from {len(specs)} "
        f"configuration{'s' if len(specs) != 1 else ''} "
        f"({backend}, {args.threads} thread{'s' if args.threads != 1 else ''}, {args.device}, {args.dtype})",
        file=sys.stderr,
    )
    return 0


def _write(path: str, text: str) -> str:
    """``text`` into the file ``path`` (atomically), or onto stdout for ``-``; returns ``path``."""
    from .outputs import STDOUT, write_atomic

    if path == STDOUT:
        sys.stdout.write(text)
    else:
        write_atomic(path, text)
    return path


def _emit(text: str, output: str | None) -> None:
    _write(output or "-", text)


def _show(renderable, output: str | None) -> None:
    """A rich renderable on the terminal, or as plain text into ``output``."""
    if output and output != "-":
        from .report.terminal import to_text

        _emit(to_text(renderable), output)
    else:
        _console().print(renderable)


class _Progress:
    """A rich progress bar on stderr; silent when stderr is not a terminal (scripts, CI, pipes)."""

    def __init__(self, total: int, description: str):
        self.total, self.description, self.bar = total, description, None

    def __enter__(self):
        if sys.stderr.isatty() and self.total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=self.total)
        return self

    def advance(self, label: str = "") -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=f"{self.description} {label}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def cmd_validate(args) -> int:
    from . import validate
    from .report import export, terminal

    _check_output(args)
    refs = args.specs or None
    steps = 0 if args.no_crosscheck else validate.crosscheck_steps(refs)
    with _Progress(steps, "building and tracing") as progress:
        checks = validate.run(refs, cross=not args.no_crosscheck, advance=progress.advance)
    if args.format == "json":
        _emit(export.to_json(export.validation_dict(checks)), args.output)
    else:
        _show(terminal.validation_table(checks), args.output)
    return 1 if validate.failed(checks) else 0


def cmd_diff(args) -> int:
    from .diff import diff, side
    from .report import export, terminal

    _check_output(args)
    result = diff(side(args.a, args.input_shape), side(args.b, args.input_shape))
    if args.format == "json":
        _emit(export.to_json(result.as_dict()), args.output)
    else:
        _show(terminal.diff_table(result), args.output)
    return 0 if result.agree else 1


COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "profile": cmd_profile,
    "compare": cmd_compare,
    "validate": cmd_validate,
    "diff": cmd_diff,
    "sweep": cmd_sweep,
    "lut": cmd_lut,
}


def main(argv: list[str] | None = None) -> int:
    import signal

    from . import interrupts
    from .errors import ArchprofError
    from .interrupts import Terminated
    from .sanitize import one_line

    try:
        args = build_parser().parse_args(argv)  # inside: a signal can land while the parser is built
        args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given, for the report
        return COMMANDS[args.command](args)
    except BaseException as e:
        # Whatever a signal turned into on its way up is the interruption: raised inside a C extension's
        # import it arrives as ImportError ("PyCapsule_Import could not import module 'pandas'").
        signum = interrupts.received()
        if isinstance(e, Terminated) or signum == signal.SIGTERM:
            print("archprof: terminated", file=sys.stderr)
            return 143
        if isinstance(e, KeyboardInterrupt) or signum == signal.SIGINT:
            print("archprof: interrupted", file=sys.stderr)
            return 130
        if isinstance(e, ArchprofError):
            print(f"archprof: error: {one_line(str(e))}", file=sys.stderr)
            return e.exit_code
        if isinstance(e, BrokenPipeError):
            return 0
        raise  # argparse's SystemExit (usage error, --help), or a bug: its traceback


MEASURING_COMMANDS = ("profile", "compare", "lut")


def _tuned_environment(argv: list[str]) -> dict | None:
    """The environment to re-run a measuring command in, or None to run as is.

    glibc's malloc returns large freed blocks to the system and faults them back in on the
    next forward pass: thousands of page faults per inference, and latency that drifts by
    tens of percent. Raising its thresholds before the process starts (they are read once,
    at start) removes them, so a measuring command re-executes itself once with them set.
    """
    import os

    if not sys.platform.startswith("linux") or "GLIBC_TUNABLES" in os.environ:
        return None
    if os.environ.get("ARCHPROF_NO_REEXEC") or not argv or argv[0] not in MEASURING_COMMANDS:
        return None
    if "--no-latency" in argv or "-h" in argv or "--help" in argv or "predicted" in argv:
        return None
    if argv[0] == "lut" and argv[1:2] != ["build"]:
        return None
    from .measure import GLIBC_TUNABLES

    return {**os.environ, "GLIBC_TUNABLES": GLIBC_TUNABLES}


def _preload(argv: list[str]) -> None:
    """Import the native libraries the command will need while a signal still just leaves (start-up).

    Once the command runs, SIGINT raises KeyboardInterrupt; raised inside torch's import, in pybind11
    code, that aborts the process (exit -6, "terminate called after throwing ... error_already_set").
    """
    if not argv or argv[0] in ("list", "-h", "--help", "--version") or "-h" in argv or "--help" in argv:
        return
    import pandas  # noqa: F401

    measuring = (
        argv[0] in MEASURING_COMMANDS
        and "--no-latency" not in argv
        and "predicted" not in argv
        and (argv[0] != "lut" or argv[1:2] == ["build"])
    )
    building = argv[0] == "validate" and "--no-crosscheck" not in argv
    if measuring or building or any(".py:" in a for a in argv):
        import torch  # noqa: F401
    if any("onnxruntime" in a for a in argv):
        with contextlib.suppress(ImportError):  # not installed: the command says how to install it
            import onnxruntime  # noqa: F401


def entry() -> None:
    """The ``archprof`` console script and ``python -m archprof``."""
    import os

    from .interrupts import held_across_exec, running, starting

    argv = sys.argv[1:]
    env = _tuned_environment(argv)
    if env is not None:
        held_across_exec()  # a signal during the new interpreter's start waits for its handler
        # on failure measure untuned; the page-fault warning will say so
        with contextlib.suppress(OSError):
            os.execve(sys.executable, [sys.executable, "-m", "archprof", *argv], env)
        starting()  # the exec failed: release the signals here
    _preload(argv)
    running()
    code = main(argv)
    starting()  # from here on nothing is half-done: a late signal leaves at once, with its code
    if code in (130, 143):
        # Interrupted: everything is cleaned up and said. Leave now, without the interpreter's shutdown, where an
        # interrupt that landed in torch's or fvcore's native code can resurface and kill the process by SIGINT
        # (exit -2 instead of 130; seen in 1 of 8 Ctrl-Cs during `validate`, before this change too).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
