"""The command line: list, show, profile; the JSON contract; bad input gives one line and exit 2."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SPECS = Path(__file__).parent / "specs"


def test_list(run):
    code, out, err = run("list")
    assert code == 0 and err == ""
    for name in ("mobilenet_v1", "mobilenet_v1_shallow", "vgg16", "224, 192, 160, 128"):
        assert name in out


def test_show_has_inferred_shapes(run):
    code, out, _ = run("show", "mobilenet_v1", "--alpha", "0.5", "--resolution", "160")
    assert code == 0
    assert "80 × 80 × 16" in out  # conv1 output at α 0.5, 160 px
    assert "Pool 5 × 5 (global)" in out  # the global pool follows the map size
    assert "α = 0.5, resolution 160" in out


def test_profile_json_contract(run):
    code, out, err = run("profile", "mobilenet_v1", "--format", "json", "--no-latency")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["model"] == "mobilenet_v1" and data["alpha"] == 1.0 and data["resolution"] == 224
    t = data["totals"]
    assert set(t) == {
        "params",
        "paper_params",
        "mult_adds",
        "weight_bytes",
        "activation_bytes",
        "peak_activation_bytes",
        "latency_ms",
        # v2: Keras's model.summary() lines, and the frozen params they count as non-trainable
        "total_params",
        "trainable_params",
        "non_trainable_params",
        "frozen_params",
    }
    assert (t["params"], t["paper_params"], t["mult_adds"]) == (4_231_976, 4_209_088, 568_740_352)
    # Keras MobileNet(alpha=1.0) summary: Total 4,253,864 = trainable 4,231,976 + non-trainable 21,888,
    # the non-trainable being BN's moving mean and variance: 2 × (32 + 13·(dw C + pw C) channels) = 21,888
    assert (t["total_params"], t["trainable_params"], t["non_trainable_params"]) == (
        4_253_864,
        4_231_976,
        21_888,
    )
    assert t["latency_ms"] is None
    layers = data["layers"]
    assert len(layers) == 30
    assert set(layers[0]) == {
        "name",
        "kind",
        "output_shape",
        "params",
        "paper_params",
        "mult_adds",
        "weight_bytes",
        "activation_bytes",
        "latency_ms",
        # v2: where the row sits in the tree and its geometry
        "path",
        "parent",
        "depth",
        "is_block",
        "input_shape",
        "kernel",
        "stride",
        "groups",
        "padding",
        "non_trainable_params",
    }
    assert layers[0]["output_shape"] == [32, 112, 112] and layers[0]["kind"] == "conv"
    assert layers[0]["input_shape"] == [3, 224, 224] and layers[0]["kernel"] == [3, 3]
    assert (layers[0]["stride"], layers[0]["groups"], layers[0]["padding"]) == (2, 1, [1, 1, 1, 1])
    assert layers[1]["path"] == "dw2" and layers[1]["groups"] == 32 and layers[1]["parent"] == ""
    assert not any(l["is_block"] for l in layers)  # a flat table has no block rows
    for col in ("params", "paper_params", "mult_adds", "weight_bytes", "activation_bytes"):
        assert sum(l[col] for l in layers) == t[col], col
    assert all(l["latency_ms"] is None for l in layers)


def test_profile_standard_variant_and_rho(run):
    _code, out, _ = run(
        "profile", "mobilenet_v1:standard", "--rho", "0.714", "--format", "json", "--no-latency"
    )
    data = json.loads(out)
    assert data["model"] == "mobilenet_v1:standard" and data["resolution"] == 160
    assert all(l["kind"] != "conv_dw" for l in data["layers"])


def test_profile_table_has_units_and_totals(run):
    code, out, _ = run("profile", "mobilenet_v1", "--alpha", "0.25", "--resolution", "128", "--no-latency")
    assert code == 0
    assert "total" in out and "MiB" in out and "KiB" in out
    assert "470,072" in out  # REFERENCE: 0.25 MobileNet params (resolution-independent)
    assert "multiply-accumulates of conv and FC layers" in out  # the conventions are stated


def test_profile_csv_and_output_file(run, tmp_path):
    target = tmp_path / "sub" / "vgg.csv"
    code, out, _err = run("profile", "vgg16", "--format", "csv", "--output", str(target), "--no-latency")
    assert code == 0 and out == ""
    lines = target.read_text().splitlines()
    assert lines[0].startswith("model,variant,alpha,resolution")
    assert len(lines) == 1 + 24
    assert not [p for p in target.parent.iterdir() if p.name != "vgg.csv"]  # no temp file left


def test_spec_file_path_is_accepted(run, tmp_path):
    spec = tmp_path / "mine.md"
    spec.write_text(
        "- input: 8 × 8 × 1\n\n| Type / Stride | Filter Shape |\n|---|---|\n"
        "| Conv / s1 | 3 × 3 × 1 × 2 |\n| FC / s1 | 128 × 3 |\n"
    )
    _code, out, _ = run("profile", str(spec), "--format", "json", "--no-latency")
    data = json.loads(out)
    # conv: 3·3·1·2 = 18 weights + 2 bias, 18·8·8 = 1,152 mult-adds; FC: 128·3 = 384 + 3 bias
    assert data["totals"]["params"] == 18 + 2 + 384 + 3
    assert data["totals"]["mult_adds"] == 1_152 + 384


@pytest.mark.parametrize(
    "argv, words",
    [
        (["profile", "resnet152"], ["unknown spec 'resnet152'", "mobilenet_v1"]),
        (["profile", "mobilenet_v1", "--alpha", "0"], ["--alpha: must be a number greater than 0", "got 0"]),
        (
            ["profile", "mobilenet_v1", "--alpha", "-1"],
            ["--alpha: must be a number greater than 0", "got -1"],
        ),
        (["profile", "vgg16", "--resolution", "16"], ["does not fit", "collapses", "row 18"]),
        (["profile", "vgg16:standard"], ["no depthwise conv"]),
        (["profile", str(SPECS / "table1_literal.md")], ["table1_literal.md:30:", "4 × 4 × 1024"]),
        (["profile", "mobilenet_v1", "--alpha", "abc"], ["--alpha: must be a number, got 'abc'"]),
        (["profile", "mobilenet_v1", "--resolution", "160", "--rho", "0.5"], ["not allowed with argument"]),
        (["profile", "mobilenet_v1", "--format", "xml"], ["invalid choice: 'xml'"]),
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    ],
)
def test_bad_input_is_one_line_exit_2(run, argv, words):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def test_unwritable_output_is_one_line(run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _out, err = run(
        "profile", "mobilenet_v1", "--format", "json", "--no-latency", "--output", str(blocker / "out.json")
    )
    assert code == 2 and err.startswith("archprof: error: cannot write") and len(err.splitlines()) == 1


def test_console_script_and_module_entry_points():
    # `python -m archprof` works; bad input in a real process: one line, exit 2, nothing on stdout
    ok = subprocess.run(
        [sys.executable, "-m", "archprof", "profile", "mobilenet_v1", "--format", "json", "--no-latency"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["totals"]["mult_adds"] == 568_740_352
    bad = subprocess.run(
        [sys.executable, "-m", "archprof", "profile", "nope"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
    helped = subprocess.run(
        [sys.executable, "-m", "archprof", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "exit codes" in helped.stdout and "profile" in helped.stdout


def test_dtype_choices_are_the_counted_dtypes():
    from archprof import cli, costs

    assert set(cli.DTYPES) == set(costs.DTYPE_BYTES)


@pytest.mark.parametrize(
    "command", [[], ["list"], ["show"], ["profile"], ["compare"], ["diff"], ["validate"]]
)
def test_help_names_no_file_the_user_does_not_have(run, command):
    code, out, _err = run(*command, "--help")
    assert code == 0 and "usage: archprof" in out
    # every file the help names is a placeholder (FILE.py, PATH) or a built-in spec, never e.g. my_net.py
    named = set(re.findall(r"[\w./-]+\.(?:py|md|csv|json|html)\b", out))
    assert named <= {"FILE.py", "reports/grid.csv", "reports/<specs>.html"}, named
