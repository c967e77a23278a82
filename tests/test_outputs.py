"""Outputs and signals: never write over what is not a regular file, never two outputs to one file,
never a half-written file or a temporary left behind, whatever signal arrives when."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import as_from_a_terminal

from archprof import outputs
from archprof.errors import OutputError
from archprof.interrupts import Terminated


@pytest.fixture
def place(tmp_path):
    (tmp_path / "file.txt").write_text("keep\n")
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "live").symlink_to(tmp_path / "file.txt")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    yield tmp_path
    sock.close()


@pytest.mark.parametrize(
    "name, why",
    [
        ("dir", "it is a directory"),
        ("fifo", "it is a FIFO"),
        ("sock", "it is a socket"),
        ("live", "it is a symbolic link"),
        ("dangling", "it is a symbolic link"),
        ("new.txt/", "it ends in '/'"),
        ("dir/", "it ends in '/'"),
    ],
)
def test_what_is_not_a_regular_file_is_refused(run, place, name, why):
    target = str(place / name) + ("/" if name.endswith("/") else "")
    target = target.replace("//", "/")
    before = sorted(p.name for p in place.iterdir())
    for argv in (
        ["profile", "mobilenet_v1", "--no-latency", "--output", target],
        ["compare", "mobilenet_v1", "--no-latency", "--alpha", "1", "--resolution", "224", "--html", target],
        ["diff", "mobilenet_v1", "mobilenet_v1@0.5", "--output", target],
        ["validate", "mobilenet_v1", "--no-crosscheck", "--output", target],
    ):
        code, out, err = run(*argv)
        assert code == 2 and out == "" and why in err, (argv, err)
        assert len(err.splitlines()) == 1
    assert sorted(p.name for p in place.iterdir()) == before  # nothing created, nothing replaced
    assert (place / "live").is_symlink() and (place / "fifo").is_fifo() and (place / "sock").is_socket()


def test_devices_are_refused_without_touching_them(run):
    # run as root, the old rename-over would have replaced /dev/null with a regular file
    for device in ("/dev/null", "/dev/zero"):
        code, _out, err = run("profile", "mobilenet_v1", "--no-latency", "--output", device)
        assert code == 2 and "it is a character device" in err
    assert Path("/dev/null").is_char_device()


def test_dash_is_stdout(run, tmp_path):
    code, out, err = run("profile", "mobilenet_v1", "--no-latency", "--format", "csv", "--output", "-")
    assert code == 0 and out.startswith("model,variant,alpha,resolution") and not Path("-").exists()
    code, out, err = run(
        "compare", "mobilenet_v1", "--no-latency", "--alpha", "1", "--resolution", "224", "--csv", "-",
        "--html", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("row,model,ref,variant,alpha,resolution")  # only the CSV on stdout
    # header; conv1 + 13 × (dw, pw) + avg pool + FC + softmax = 30 rows; the configuration's total
    assert len(out.splitlines()) == 1 + 30 + 1
    assert "archprof compare" in err and f"wrote {tmp_path / 'r.html'}" in err  # the summary went to stderr


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--csv", "{d}/x.csv", "--json", "{d}/x.csv"], "--csv and --json both write to"),
        (["--csv", "{d}/x.csv", "--json", "{d}/../{b}/x.csv"], "--csv and --json both write to"),
        (["--html", "{d}/r.html", "--csv", "{d}/r.html"], "--html and --csv both write to"),
        (["--csv", "-", "--json", "-"], "--csv and --json both write to stdout"),
    ],
)
def test_two_outputs_naming_one_file_are_refused_before_any_work(run, tmp_path, extra, words):
    args = [a.format(d=tmp_path, b=tmp_path.name) for a in extra]
    if "--html" not in extra:
        args += ["--html", str(tmp_path / "report.html")]
    code, out, err = run("compare", "mobilenet_v1", "--no-latency", *args)
    assert code == 2 and words in err and out == ""
    assert list(tmp_path.iterdir()) == []


def test_a_failed_or_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    # the rename is what makes the file appear; an exception of any kind before it removes the temporary
    for exc in (KeyboardInterrupt, Terminated, OSError(28, "No space left on device")):

        def failing_replace(src, dst, exc=exc):
            raise exc

        monkeypatch.setattr(outputs.os, "replace", failing_replace)
        with pytest.raises((KeyboardInterrupt, Terminated, OutputError)):
            outputs.write_atomic(tmp_path / "r.txt", "data")
        assert list(tmp_path.iterdir()) == []


WRITER = """
import sys
from archprof.interrupts import Terminated, running
from archprof.outputs import write_atomic
running()
text = "x" * (300 * 2**20)  # a write long enough to land a signal in
print("ready", flush=True)
try:
    write_atomic(sys.argv[1], text)
except KeyboardInterrupt:
    sys.exit(130)
except Terminated:
    sys.exit(143)
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_write_leaves_no_temporary(tmp_path, sig, code):
    target = tmp_path / "big.txt"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".big.txt.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.0005)  # the temporary exists: the write is under way
    assert list(tmp_path.glob(".big.txt.*.tmp")), "the write never started"
    proc.send_signal(sig)
    assert proc.wait(timeout=60) in (code, 0)
    if proc.returncode == code:  # interrupted: neither the target nor the temporary
        assert list(tmp_path.iterdir()) == []
    else:  # the write had finished: the whole file, no temporary
        assert [p.name for p in tmp_path.iterdir()] == ["big.txt"] and target.stat().st_size == 300 * 2**20


@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_at_any_moment_exits_with_one_line(tmp_path, sig, code, word):
    """From the first instant (imports, the re-exec with tuned malloc) to measuring and writing."""
    argv = [sys.executable, "-m", "archprof", "profile", "mobilenet_v1", "--min-run-time", "0.5"]
    argv += ["--format", "json", "--output", "p.json"]
    outcomes = []
    for delay in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4, 0.8, 1.5, 2.5):
        proc = subprocess.Popen(
            argv,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=as_from_a_terminal,
        )
        time.sleep(delay)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=120)
        outcomes.append((delay, proc.returncode, err))
        assert list(tmp_path.iterdir()) == [], (delay, list(tmp_path.iterdir()))  # no report, no temporary
        if proc.returncode == code:
            assert err.strip().splitlines()[-1] == f"archprof: {word}", (delay, err)
            assert "Traceback" not in err, (delay, err)
        else:
            # Before archprof's first line runs, the interpreter itself is starting (site, runpy): the signal's
            # default action ends it (shells report 128 + n) or Python reports its own interrupted start-up.
            # Never a frame of archprof's.
            assert delay < 0.5, (delay, proc.returncode, err)
            assert proc.returncode == -sig or "Fatal Python error" in err or "<frozen runpy>" in err, (
                delay,
                err,
            )
            assert not re.search(r'File "[^"]*archprof/[^"]*\.py", line \d+, in ', err), (delay, err)
    # once started (tens of milliseconds; half a second on a loaded machine), archprof always answers
    assert all(rc == code for delay, rc, _ in outcomes if delay >= 0.5), outcomes
