"""Clean failure: malformed specs, resource guards, Ctrl-C, exit codes, spec files as data only."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import as_from_a_terminal

from archprof import guard

MALFORMED = Path(__file__).parent / "malformed"

# file → (line, words that name the problem)
CORPUS = {
    "empty.md": (1, "no layer table"),
    "no_table.md": (1, "no layer table"),
    "missing_columns.md": (3, "must name the columns 'Type / Stride' and 'Filter Shape'"),
    "unknown_kind.md": (6, "unknown layer type 'Transformer'"),
    "zero_size.md": (5, "Cout must be at least 1, got 0"),
    "negative_size.md": (5, "Cout must be a whole number, got '-8'"),
    "non_numeric.md": (5, "Cin must be a whole number, got 'three'"),
    "absurd_repeat.md": (6, "repeat count must be at most 1,000, got 1,000,000"),
    "channel_mismatch.md": (6, "expects 16 input channels but the previous rows give 8"),
    "lookalike_times.md": (5, "Cyrillic х"),
    "code_in_cell.md": (6, "a dropout's filter shape must be 'p 0.5'"),
    "binary.bin": (1, "binary"),
}


def test_the_corpus_is_complete():
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_spec_is_one_line_with_its_line(run, name):
    line, words = CORPUS[name]
    path = str(MALFORMED / name)
    code, out, err = run("profile", path, "--no-latency")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"archprof: error: {path}:{line}:"), err
    assert words in err, err


def test_a_10_mb_file_is_refused_without_reading_it(run, tmp_path):
    big = tmp_path / "big.md"
    with open(big, "w") as f:
        f.write("| Type / Stride | Filter Shape |\n|---|---|\n")
        row = "| Conv / s1 | 3 × 3 × 3 × 3 |\n"
        f.write(row * (10 * 2**20 // len(row.encode())))
    assert big.stat().st_size > 10 * 10**6
    code, _out, err = run("profile", str(big), "--no-latency")
    assert code == 2 and len(err.splitlines()) == 1 and "MiB; a spec is a layer table of at most 1 MiB" in err


def test_spec_cells_are_never_evaluated(run):
    marker = Path("/tmp/archprof_pwned")
    marker.unlink(missing_ok=True)
    code, _, _err = run("profile", str(MALFORMED / "code_in_cell.md"), "--no-latency")
    assert code == 2 and not marker.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["vgg16", "--resolution", "20000"],
            ["1.0 VGG16-20000 at batch 1 needs an estimated", "GiB (weights 3,051.89 GiB"],
        ),
        (
            ["vgg16", "--batch", "100000"],
            ["at batch 100000 needs an estimated", "2 × peak activations 2,392.58 GiB"],
        ),
        (
            ["mobilenet_v1", "--max-memory", "10MiB"],
            # 16.23 weights + 2 × 4.59 activations + 320 to run = 345.41 MiB, plus what the process holds
            ["needs an estimated 345.41 MiB", "MiB this process holds", "the --max-memory limit (10.00 MiB)"],
        ),
    ],
)
def test_resource_guard_refuses_before_allocating(run, argv, words):
    code, out, err = run("profile", *argv)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    for w in words:
        assert w in err, err


def test_resource_guard_for_compare(run, tmp_path):
    code, _out, err = run("compare", "vgg16", "--batch", "100000", "--html", str(tmp_path / "r.html"))
    assert code == 2 and "needs an estimated" in err and not (tmp_path / "r.html").exists()


def test_guard_arithmetic():
    # VGG16 at 20000 px: the first FC alone has 625·625·512·4096 weights (the map is 625 × 625 after 5 pools),
    # 3,051.76 GiB of float32 of the 3,051.89 GiB the guard's message gives
    from archprof import configuration, costs

    fc19 = costs.count(configuration("vgg16", resolution=20000)).set_index("name").loc["fc19"]
    assert fc19["weight_bytes"] == (625 * 625 * 512 * 4096 + 4096) * 4
    run = guard.RUNTIME_BYTES
    assert guard.estimate(100, 10) == 120 + run
    # the process's own resident set counts against --max-memory: 50 held + 120 + run
    assert guard.check("x", 100, 10, limit=170 + run, available=10**12, baseline=50) == 170 + run
    with pytest.raises(guard.ResourceError, match="on top of the 51 B this process holds"):
        guard.check("x", 100, 10, limit=170 + run, available=10**12, baseline=51)
    # ... but not against MemAvailable, which is what is still free
    with pytest.raises(guard.ResourceError, match="more than available memory"):
        guard.check("x", 100, 11, limit=None, available=121 + run, baseline=0)
    assert guard.check("x", 100, 11, limit=None, available=122 + run, baseline=10**9) == 122 + run + 10**9
    # counts beyond int64 stay exact: 10**20-byte activations, not a wrapped negative that passes the check
    with pytest.raises(guard.ResourceError):
        guard.check("x", 0, 10**20, limit=2**62, available=2**62, baseline=0)
    assert guard.parse_size("8GiB") == 8 * 2**30 and guard.parse_size("2G") == 2 * 10**9
    assert guard.parse_size("512 MiB") == 512 * 2**20 and guard.parse_size("1000") == 1000
    assert guard.parse_size("1.5KiB") == 1536 and guard.parse_size("1PiB") == 2**50
    for bad in ("lots", "-1G", "0", "5 parsecs", "2PiB", "9" * 5000, "1e5", "inf", "nan", ""):
        with pytest.raises(guard.ConfigError):
            guard.parse_size(bad)


def _interrupt(argv, tmp_path, after: float):
    """Start archprof, send SIGINT ``after`` seconds once torch is loaded (it is building or measuring by
    then), return (exit code, stdout, stderr). A loaded machine can take seconds to import torch; a fixed
    delay from the start could land before it or after a short command's end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "archprof", *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/maps", encoding="utf-8", errors="replace") as f:
                if "libtorch_cpu" in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.05)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize(
    "argv, written",
    [
        # long enough (30 s of timing; 17 configurations with VGG16) that the signal cannot come after the end
        (
            ["profile", "mobilenet_v1", "--min-run-time", "30", "--format", "json", "--output", "p.json"],
            "p.json",
        ),
        (["compare", "mobilenet_v1", "vgg16", "--html", "c.html", "--csv", "c.csv"], "c.html"),
    ],
)
def test_ctrl_c_while_measuring_stops_cleanly(tmp_path, argv, written):
    code, _out, err = _interrupt(argv, tmp_path, after=2.0)
    assert code == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert list(tmp_path.iterdir()) == []  # no report, no temp file


def test_ctrl_c_during_validate(tmp_path):
    code, _out, err = _interrupt(["validate"], tmp_path, after=1.0)
    assert code == 130 and "Traceback" not in err


@pytest.mark.parametrize("command", ["list", "show", "profile", "compare", "validate"])
def test_exit_code_130_for_every_command(run, monkeypatch, command):
    from archprof import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, command, interrupted)
    argv = [command] + ([] if command in ("list", "validate") else ["mobilenet_v1"])
    code, _out, err = run(*argv)
    assert code == 130 and err == "archprof: interrupted\n"


@pytest.mark.parametrize(
    "argv, code",
    [
        (["list"], 0),
        (["list", "extra"], 2),
        (["show", "mobilenet_v1"], 0),
        (["show", "nope"], 2),
        (["profile", "mobilenet_v1", "--no-latency"], 0),
        (["profile", "nope"], 2),
        (["compare", "nope"], 2),
        (["validate", "mobilenet_v1", "--no-crosscheck"], 0),
        (["validate", "nope"], 2),
        ([], 2),
        (["--version"], 0),
    ],
)
def test_exit_codes(run, argv, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got, _out, err = run(*argv)
    assert got == code, err
    if code == 2:
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_exit_codes_are_documented(run):
    _code, out, _ = run("--help")
    for line in ("0    success", "1    validation failure", "2    usage or input error", "130  interrupted"):
        assert line in out
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "`130` interrupted" in readme and "`1` a validation check failed" in readme
    assert "Spec files are data only" in readme


PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "archprof", *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def test_max_memory_keeps_the_measured_peak_under_it_or_refuses(tmp_path):
    """The guard's estimate is the whole process: what it holds already, the model, what running costs."""

    def run(limit: str) -> tuple[int, int, str]:
        argv = ["profile", "mobilenet_v1", "--min-run-time", "0.1", "--no-isolated", "--max-memory", limit]
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *argv], capture_output=True, text=True, timeout=600, check=False
        )
        code, peak = map(int, done.stdout.split())
        return code, peak, done.stderr

    code, _peak, err = run("300MiB")  # less than the process holds with torch loaded and the model built
    assert code == 2 and "this process holds" in err
    # "... on top of the 253.43 MiB this process holds: 810.43 MiB, more than the --max-memory limit"
    value, unit = re.search(r"this process holds: ([0-9.,]+) (MiB|GiB), more than", err).groups()
    estimate = float(value.replace(",", "")) * (2**30 if unit == "GiB" else 2**20)
    limit = int(estimate * 1.02)  # the estimate plus 2 %: allowed
    code, peak, err = run(str(limit))
    assert code == 0, err
    assert peak < limit, (peak, limit)  # the measured peak of the whole run stays under the limit
