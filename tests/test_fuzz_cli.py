"""Property-based test of the command line (hypothesis): whatever the arguments, archprof answers
with exit code 0, 1 or 2 — a result, a failed check or difference, or one line saying what is
wrong — never a traceback, never another code, never a file written where it must not be.

The arguments are drawn from each command's own options with values that have broken
programs like this one before: huge and negative numbers, NaN and infinity, 5,000-digit
integers, empty strings, escape sequences, devices, directories, links and the same file
twice. Measuring is never reached (``--no-latency`` or ``--latency predicted`` is always
given, and ``lut build`` gets only specs that fail); the specs are small so that each case
takes milliseconds. CI runs
5,000 cases (the ``long`` profile in conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archprof.cli import main

SPECS = Path(__file__).parent / "specs"
TINY = """\
# Tiny \x1b]52;c;cGF5bG9hZA==\x07 \x1b[31mred\x9b
- input: 16 × 16 × 3
- classes: 10

| Type / Stride | Filter Shape |
|---|---|
| Conv / s2 | 3 × 3 × 3 × 8 |
| Conv dw / s1 | 3 × 3 × 8 dw |
| Conv / s1 | 1 × 1 × 8 × 16 |
| Avg Pool / s1 | Pool 8 × 8 |
| FC / s1 | 16 × 10 |
"""

NUMBERS = [
    "1",
    "0",
    "-1",
    "0.5",
    "1.4",
    "2",
    "3",
    "16",
    "96",
    "224",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "1" * 5000,
    "9" * 25,
    "0x10",
    "1_000",
    " 7 ",
    "",
    "١٢",  # Arabic-Indic digits: int() takes them
    "1,0.5",
    "1,,2",
    ",",
    "\x1b[2J",
]
TEXT = [
    "",
    " ",
    "-",
    "x",
    "\x1b]52;c;Zm9v\x07",
    "\u202eevil",
    "a" * 5000,
    "3x224x224",
    "3x0x0",
    "8GiB",
    "1PiB",
]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with a tiny spec, a file, a directory, a FIFO and links to point outputs at."""
    root = tmp_path_factory.mktemp("fuzzcli")
    (root / "tiny.md").write_text(TINY, encoding="utf-8")
    (root / "existing.txt").write_text("keep me\n")
    (root / "dir").mkdir()
    os.mkfifo(root / "fifo")
    (root / "link").symlink_to(root / "existing.txt")
    (root / "dangling").symlink_to(root / "nowhere.txt")
    # latency tables: one that predicts the tiny spec (synthetic times), one with escapes, one not a table
    from archprof import lut
    from archprof.catalog import load

    tiny = load(str(root / "tiny.md"))
    rows = [{**r, "ms": 1e-3 + r["features"]["mult_adds"] * 1e-9} for r in lut.spec_rows(tiny)]
    records = [{"label": "tiny", "rows": rows, "end_to_end_ms": 1.1 * sum(r["ms"] for r in rows)}]
    env = {"backend": "torch", "threads": 1, "device": "cpu", "dtype": "float32", "batch": 1}
    (root / "table.json").write_text(lut.from_measurements(records, env).to_json(), encoding="utf-8")
    evil = {**env, "cpu": "\x1b]52;c;Zm9v\x07", "specs": ["\x1b[2J"]}
    (root / "evil_table.json").write_text(lut.from_measurements(records, evil).to_json(), encoding="utf-8")
    (root / "broken_table.json").write_text('{"format": "archprof-latency-table/1", "entries": []}')
    return root


def _tables(root: Path) -> list[str]:
    return [str(root / n) for n in ("table.json", "table.json", "evil_table.json", "broken_table.json")] + [
        str(root / "dir"),
        str(root / "fifo"),
        "/dev/null",
        "",
        str(root / "nowhere.json"),
    ]


def _specs(root: Path) -> list[str]:
    tiny = str(root / "tiny.md")
    return [
        tiny,
        tiny,
        tiny,
        f"{tiny}:standard",
        str(SPECS / "blocks_small.md"),
        "mobilenet_v1",
        "mobilenet_v1:standard",
        "nonexistent_spec",
        "",
        str(root / "dir"),
        str(root / "fifo.md"),
        "/dev/null",
        "x.py:Nope",
    ]


def _outputs(root: Path) -> list[str]:
    return [
        str(root / "out" / "a.txt"),
        str(root / "out" / "b.txt"),
        str(root / "out" / "a.txt"),
        str(root / "existing.txt"),
        str(root / "dir"),
        str(root / "dir") + "/",
        str(root / "fifo"),
        str(root / "link"),
        str(root / "dangling"),
        "/dev/null",
        "-",
        "",
        str(root / ("a" * 300)),
    ]


@st.composite
def argvs(draw, root: Path):
    specs, outs = _specs(root), _outputs(root)
    number = st.sampled_from(NUMBERS)
    # weighted towards the cheap commands: compare renders a report, a few hundred ms each
    command = draw(
        st.sampled_from(["show"] * 3 + ["profile"] * 3 + ["diff"] * 2 + ["compare", "list", "sweep", "lut"])
    )
    argv = [command]
    tables = st.sampled_from(_tables(root))
    options: list[tuple[str, st.SearchStrategy]] = [("--alpha", number)]
    if command in ("show", "profile", "compare"):
        options += [("--resolution", number), ("--rho", number), ("--input-shape", st.sampled_from(TEXT))]
    if command in ("show", "profile"):
        options += [("--classes", number)]
    if command in ("profile", "compare"):
        options += [
            ("--threads", number),
            ("--batch", number),
            ("--max-memory", st.sampled_from(TEXT + NUMBERS)),
            ("--dtype", st.sampled_from(["float32", "float64", "int8", ""])),
            ("--device", st.sampled_from(["cpu", "cuda", "tpu"])),
            ("--channels-last", st.none()),
        ]
    if command == "profile":
        options += [
            ("--table", tables),
            ("--min-run-time", number),
            ("--no-isolated", st.none()),
            ("--format", st.sampled_from(["table", "json", "csv", "xml"])),
            ("--output", st.sampled_from(outs)),
        ]
    if command == "compare":
        options += [
            ("--max-rounds", number),
            ("--html", st.sampled_from(outs)),
            ("--csv", st.sampled_from(outs)),
            ("--json", st.sampled_from(outs)),
        ]
    if command == "sweep":
        ranges = st.sampled_from(
            NUMBERS
            + [
                "0.25:1.4:0.05",
                "1:0.5:0.1",
                "0.5:1:0",
                "96:256:16",
                "1:2:nan",
                "1:1e9:1",
                "::",
                "0.25:1e999999999:0.05",
                "1:2:1e-999999999",
            ]
        )
        options = [
            ("--alpha", ranges),
            ("--resolution", ranges),
            ("--latency", st.sampled_from(["predicted", "measured", ""])),
            (
                "--budget-mult-adds",
                st.sampled_from(["300M", "1G", "-1", "nan", "1e400", "1e999999999", "", "5 parsecs"]),
            ),
            ("--budget-ms", number),
            ("--format", st.sampled_from(["table", "json", "csv", "xml"])),
            ("--output", st.sampled_from(outs)),
            ("--html", st.sampled_from(outs)),
            ("--dtype", st.sampled_from(["float32", "float16", "int8"])),
        ]
    if command == "lut":
        options = [
            ("--threads", number),
            ("--batch", number),
            ("--dtype", st.sampled_from(["float32", "float64", "int8", ""])),
            ("--device", st.sampled_from(["cpu", "cuda", "tpu"])),
            ("--backend", st.sampled_from(["torch", "onnxruntime", "tvm", "", "torch,torch"])),
        ]
        action = draw(st.sampled_from(["show", "show", "build", ""]))
        argv.append(action)
        if action == "show":
            argv += draw(st.sampled_from([[], [draw(tables)]]))
        elif action == "build":
            # only specs that fail before anything is measured (a real build takes minutes)
            argv.append(
                draw(st.sampled_from(["nonexistent_spec", "", str(root / "dir"), "/dev/null", "x.py:Nope"]))
            )
            options += [("--output", st.sampled_from(outs)), ("--run-time", number), ("--alpha", number)]
    if command == "diff":
        options = [
            ("--format", st.sampled_from(["table", "json"])),
            ("--output", st.sampled_from(outs)),
            ("--input-shape", st.sampled_from(TEXT)),
        ]
        side = st.sampled_from(specs).flatmap(
            lambda s: st.sampled_from(
                [s, f"{s}@0.5", f"{s}@1,96", f"{s}@nan", f"{s}@1,{'9' * 5000}", f"{s}@"]
            )
        )
        argv += [draw(side), draw(side)]
    elif command == "compare":
        argv += draw(st.lists(st.sampled_from(specs), min_size=1, max_size=2))
    elif command == "sweep":
        argv.append(draw(st.sampled_from([s for s in specs if "mobilenet_v1" not in s] + ["mobilenet_v1"])))
    elif command != "list":
        argv.append(draw(st.sampled_from(specs)))
    for flag, values in draw(st.lists(st.sampled_from(options), max_size=4, unique_by=lambda o: o[0])):
        value = draw(values)
        argv += [flag] if value is None else draw(st.sampled_from([[flag, value], [f"{flag}={value}"]]))
    if command == "compare" and not any(a.startswith("--html") for a in argv):
        # the report costs a few hundred ms a case; drawn --html values still write one (or clash)
        argv += draw(st.sampled_from([["--no-html"]] * 4 + [["--html", str(root / "out" / "default.html")]]))
    if command == "compare":
        argv.append(
            "--no-latency"
        )  # counting only: a case takes milliseconds, and latency options contradict it
    if command == "profile":
        # counting only, or latency predicted from a table: nothing is measured either way
        argv += draw(st.sampled_from([["--no-latency"]] * 3 + [["--latency", "predicted"]]))
    return argv


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: usage errors (2), --help (0)
            code = e.code
    return code, out.getvalue(), err.getvalue()


@settings(suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_any_arguments_give_a_result_or_one_line(place, data):
    argv = data.draw(argvs(place))
    (place / "existing.txt").write_text(
        "keep me\n"
    )  # a regular file an earlier example may have written over
    code, out, err = _run(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)
    # nothing from the spec file's title reaches the terminal as an escape sequence
    for text in (out, err):
        assert not any(ch in text for ch in "\x1b\x07\x9b"), (argv, text[:300])
    # what must never be written over is still what it was (a regular file may be: it is an output)
    assert (place / "link").is_symlink() and (place / "dangling").is_symlink()
    assert (place / "existing.txt").read_text() == "keep me\n" or code in (0, 1)  # diff: 1 = they differ
    assert (place / "dir").is_dir() and (place / "fifo").is_fifo()
    leftovers = [p.name for p in place.rglob("*.tmp")]
    assert not leftovers, (argv, leftovers)
