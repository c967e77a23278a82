"""Hostile input: linear-time parsing of 1 MB specs, bounded numbers, contradictions, terminal safety,
exact line numbers.

Speed is not asserted here (benchmarks/parse_limits.py prints the figures); the tests give
each hostile input a generous timeout that a quadratic pattern would blow by minutes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from archprof.catalog import load
from archprof.errors import SpecError

HEAD = "# t\n\n- input: 224 x 224 x 3\n\n| Type / Stride | Filter Shape | Input Size |\n|---|---|---|\n"
MB = 990_000  # characters: just under the 1,000,000 a spec may have, so each reaches the parser
SPACES = " " * 65536


def hostile_specs() -> dict[str, str]:
    """1 MB specs of every shape that has made a parser slow: long runs of spaces in every cell and header,
    100 k rows, 1 MB lines, thousands of repeated groups, blocks nested eight deep."""
    nest = HEAD + "| b7 / s1 | c 3 | |\n\n## Block: b0(c)\n\n| Type / Stride | Filter Shape |\n|---|---|\n"
    nest += "| Conv dw / s1 | 3 x 3 x c dw |\n" * 10
    for i in range(1, 8):
        nest += f"\n## Block: b{i}(c)\n\n| Type / Stride | Filter Shape |\n|---|---|\n"
        nest += f"| 1000× {{ b{i - 1} / s1 | c 3 |\n| b{i - 1} / s1 }} | c 3 |\n"
    specs = {
        "spaces in a type cell": HEAD + f"| Conv /{SPACES}s2 | 3 ×{SPACES}3 × 3 × 32 | 224 × 224 × 3 |\n",
        "spaces in a header": f"# t\n- reported top-1: a@{SPACES}b{SPACES}c\n" + HEAD[4:],
        "spaces before a brace": HEAD + f"| Conv / s2 | 3 × 3 × 3 × 32 |{SPACES}}} x |\n",
        "spaces in a heading": f"## Block:{SPACES}a ({SPACES}\n",
        "@ runs": "# t\n- reported top-1: " + "a@" * (MB // 2) + "\n" + HEAD[4:],
        "100 k rows": HEAD.replace("| Input Size ", "").replace("|---|---|---|", "|---|---|")
        + "|Softmax|3|\n" * 80000,
        "a 1 MB line of pipes": HEAD + "|" * MB + "\n",
        "a 1 MB cell": HEAD + "| " + "a" * MB + " | x | y |\n",
        "a 1 MB separator": HEAD.replace("|---|---|---|", "|" + "-" * MB + "|"),
        "a 1 MB block heading": "## Block: a(" + "x," * (MB // 2) + ")\n",
        "1 MB of slashes": HEAD + "| Conv " + "/ " * (MB // 2) + "s2 | 3 × 3 × 3 × 32 | 1 |\n",
        "1 MB of brackets": HEAD + "| Residual | [" + "3 x 3, 64; " * (MB // 11) + "] x 2 | 1 |\n",
        "thousands of groups": HEAD
        + "| 1000× { Conv dw / s1 | 3x3x3 dw | 1 |\n| Conv dw / s1 } | 3x3x3 dw | 1 |\n" * 12000,
        "blocks nested 8 deep": nest,
        "1 MB of group openings": HEAD + "| 2× { Conv dw / s1 | 3x3x3 dw | 1 |\n" * (MB // 36),
        "1 MB of times signs": HEAD + "| Conv / s1 | " + "3 × " * (MB // 5) + "|1|\n",
    }
    return {name: text[:999_000] for name, text in specs.items()}


PARSE_ALL = """
import json, resource, signal, sys, time
from archprof.parse import parse_spec
from archprof.errors import SpecError
specs = json.load(sys.stdin)
def too_slow(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, too_slow)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = {}
for name, text in specs.items():
    signal.alarm(20)  # 10× the 2 s budget: a quadratic pattern on 1 MB takes minutes
    try:
        parse_spec(text, "hostile.md", "hostile")
        report[name] = "parsed"
    except SpecError as e:
        report[name] = "error: " + str(e)[:200]
    except TimeoutError:
        report[name] = "TIMEOUT"
    signal.alarm(0)
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"report": report, "growth_kib": growth}))
"""


def test_hostile_megabyte_specs_parse_or_fail_in_bounded_time_and_memory():
    specs = hostile_specs()
    assert all(len(t.encode()) <= 2**20 + 2**18 for t in specs.values())
    done = subprocess.run(
        [sys.executable, "-c", PARSE_ALL],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    slow = [name for name, verdict in result["report"].items() if verdict == "TIMEOUT"]
    assert not slow, result["report"]
    # every one is an error with a line, or parses: no other exception escaped (the subprocess would fail)
    assert result["report"]["spaces in a type cell"] == "parsed"  # spaces are only spaces
    assert "the table has 80,000 rows" in result["report"]["100 k rows"]
    assert "more than 10,000 rows" in result["report"]["blocks nested 8 deep"]
    # 200 MB for any spec: the largest decoded structure is the 10,000-row budget
    assert result["growth_kib"] < 200 * 1024, result["growth_kib"]


GROWTH = r"""
import importlib, re, sys, time
mods = ["archprof.parse", "archprof.grammar", "archprof.kinds", "archprof.blocks", "archprof.guard",
        "archprof.modelfile", "archprof.opcount", "archprof.sanitize"]
alphabet = ["/", "s", "x", "×", "@", "{", "}", "[", "]", ";", ",", "=", ":", "-", "|", "0", "a", "#", "%",
            ".", "(", ")", "k", "p", " "]
units = [a for a in alphabet if a != " "] + [a + b for a in alphabet for b in alphabet if a + b != "  "]
def best(call):
    times = []
    for _ in range(3):
        t = time.perf_counter(); call(); times.append(time.perf_counter() - t)
    return min(times)
n = 400
bad = []
for m in mods:
    for name, pat in vars(importlib.import_module(m)).items():
        if not isinstance(pat, re.Pattern):
            continue
        for unit in units:
            for prefix in ("", "a/ s"):
                for method in ("match", "search"):
                    small = prefix + unit * (n // len(unit))
                    big = prefix + unit * (8 * n // len(unit))
                    t1 = best(lambda: getattr(pat, method)(small))
                    t8 = best(lambda: getattr(pat, method)(big))
                    # linear: ×8; quadratic: ×64. A linear pattern on 3,200 characters takes microseconds.
                    if t8 > 0.005 and t8 > 30 * t1:
                        bad.append(f"{m}.{name}.{method}({prefix + unit!r} × n): {t1:.4f} s → {t8:.4f} s")
print("\n".join(bad))
"""


def test_no_pattern_is_superlinear_on_text_the_parser_can_see():
    """Every module-level pattern, on runs of the grammar's characters (whitespace comes folded to one space,
    see sanitize.py): time at 8× the length grows ~8×, not 64× (min of 3, and only above 5 ms)."""
    done = subprocess.run(
        [sys.executable, "-c", GROWTH], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout


def test_line_numbers_count_newlines_only(tmp_path):
    # U+2028, U+0085, a form feed, a vertical tab and a lone CR are not line breaks to an editor or grep -n
    text = textwrap.dedent(
        """\
        # odd\u2028title\x85with\x0cbreaks\x0b
        - input: 8 × 8 × 3\r

        | Type / Stride | Filter Shape |
        |---|---|
        | Conv / s1\u2028 | 3 × 3 × 3 × 8 |
        | Conv / s1 | 3 × 3 × 9 × 8 |
        """
    )
    path = tmp_path / "odd.md"
    path.write_text(text, encoding="utf-8")
    assert text.split("\n")[6].startswith("| Conv / s1 | 3 × 3 × 9")  # line 7, counted by \n
    with pytest.raises(SpecError) as e:
        load(str(path))
    assert f"{path}:7:" in str(e.value) and "9 input channels" in str(e.value)


def test_escape_sequences_in_a_spec_never_reach_the_terminal(run, tmp_path):
    evil = "\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J\x9b31m\u202e"
    control = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]"
    path = tmp_path / "evil.md"

    def write(classes: str) -> None:
        path.write_text(
            f"# Evil {evil} net\n- citation: by {evil}\n- classes: {classes}\n- input: 8 × 8 × 3\n\n"
            "| Type / Stride | Filter Shape | Name |\n|---|---|---|\n"
            "| Conv / s1 | 3 × 3 × 3 × 8 | first |\n| Conv / s1 | 3 × 3 × 8 × 8 | |\n",
            encoding="utf-8",
        )

    write(f"8 {evil}")  # an error that quotes the line with the escapes in it
    code, out, err = run("show", str(path))
    assert code == 2 and ":3:" in err, err
    assert not re.search(control, out + err), repr(err)
    write("8")
    for argv in (
        ["show", str(path)],
        ["profile", str(path), "--no-latency"],
        ["profile", str(path), "--no-latency", "--format", "json"],
        ["list"],
    ):
        code, out, err = run(*argv)
        assert code == 0, err
        assert not re.search(control, out + err), argv
        if argv[0] != "list":
            # shown as replaced, not silently dropped (JSON escapes it as \ufffd)
            assert "Evil" in out and ("\ufffd" in out or "\\ufffd" in out)


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["profile", "vgg16", "--alpha", "1e308"],
            "--alpha: must be a number greater than 0 and at most 100, got 1e308",
        ),
        (
            ["profile", "vgg16", "--alpha", "nan"],
            "--alpha: must be a number greater than 0 and at most 100, got nan",
        ),
        (
            ["profile", "vgg16", "--threads", "9" * 20],
            "--threads: must be a whole number at least 1 and at most 1,024",
        ),
        (["profile", "vgg16", "--threads", "0"], "--threads: must be a whole number at least 1"),
        (
            ["profile", "vgg16", "--batch", "1" * 5000],
            "--batch: must be a whole number at least 1 and at most 1,000,000; got 5,000 characters",
        ),
        (
            ["profile", "vgg16", "--resolution", "1" * 5000],
            "--resolution: must be a whole number at least 1 and at most 100,000",
        ),
        (
            ["profile", "vgg16", "--min-run-time", "inf"],
            "--min-run-time: must be a number greater than 0 and at most 600, got inf",
        ),
        (["profile", "vgg16", "--min-run-time", "0"], "--min-run-time: must be a number greater than 0"),
        (["profile", "vgg16", "--max-memory", "9" * 30 + "PiB"], "--max-memory must be a size like 8GiB"),
        (["profile", "vgg16", "--max-memory", "2PiB"], "--max-memory must be more than 0 and at most 1 PiB"),
        (
            ["compare", "vgg16", "--max-rounds", "2"],
            "--max-rounds: must be a whole number at least 3 and at most 1,000, got 2",
        ),
        (
            ["compare", "vgg16", "--resolution", "1" * 5000, "--no-latency"],
            "--resolution must be a comma-separated list of whole numbers",
        ),
        (
            ["profile", "vgg16", "--classes", "0", "--no-latency"],
            "--classes: must be a whole number at least 1",
        ),
        # contradictions
        (
            ["profile", "vgg16", "--resolution", "224", "--rho", "1"],
            "--rho: not allowed with argument --resolution",
        ),
        (
            ["profile", "vgg16", "--no-latency", "--threads", "2"],
            "--threads only applies to measuring, which --no-latency turns off",
        ),
        (
            ["compare", "vgg16", "--no-latency", "--max-rounds", "5", "--device", "cpu"],
            "--device, --max-rounds only apply to measuring",
        ),
        (
            ["profile", "vgg16", "--no-latency", "--no-isolated", "--min-run-time", "2"],
            "--min-run-time, --no-isolated only apply",
        ),
        # empty values
        (["profile", "vgg16", "--input-shape", ""], "--input-shape: is empty"),
        (["profile", "vgg16", "--output="], "--output: is empty"),
        (["profile", "vgg16", "--max-memory="], "--max-memory: is empty"),
        (["compare", "vgg16", "--alpha", ""], "--alpha: is empty"),
        (["compare", "vgg16", "--html", " "], "--html: is empty"),
        (["profile", "vgg16", "--alpha="], "--alpha: is empty"),
        (["profile", ""], "is empty"),
    ],
)
def test_numbers_are_bounded_and_contradictions_refused(run, argv, words):
    code, out, err = run(*argv)
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err, err


def test_counts_beyond_int64_are_exact(run):
    # VGG16 at 100,000 px, batch 10⁶, float64: conv1's output is 64 · 10⁵ · 10⁵ · 8 B · 10⁶ = 5.12·10¹⁸ B alone
    code, out, err = run(
        "profile",
        "vgg16",
        "--resolution",
        "100000",
        "--batch",
        "1000000",
        "--dtype",
        "float64",
        "--no-latency",
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    layers, totals = data["layers"], data["totals"]
    assert layers[0]["activation_bytes"] == 64 * 10**10 * 8 * 10**6
    assert totals["activation_bytes"] == sum(l["activation_bytes"] for l in layers) > 2**63
    # conv1_2 holds conv1_1's output and its own: 2 · 5.12·10¹⁸
    assert totals["peak_activation_bytes"] == 2 * 64 * 10**10 * 8 * 10**6
    # params do not depend on batch; the first FC sees 512 · 3125 · 3125 inputs (100,000 / 2⁵ = 3125)
    fc19 = next(l for l in layers if l["name"] == "fc19")
    assert fc19["params"] == 512 * 3125 * 3125 * 4096 + 4096
