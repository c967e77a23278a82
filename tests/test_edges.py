"""Edge cases found in review: odd specs and odd flags get a clear answer, never a traceback."""

import json
import textwrap

import pandas as pd
import pytest

from archprof import validate
from archprof.catalog import load
from archprof.shapes import resolve
from archprof.transforms import configure


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


POOL_ONLY = """\
    - input: 32 × 32 × 3
    | Type / Stride | Filter Shape |
    |---|---|
    | Max Pool / s2 | Pool 2 × 2 |
    | Avg Pool / s1 | Pool 16 × 16 |
    """

TINY = """\
    - input: 8 × 8 × 1
    - classes: 2
    | Type / Stride | Filter Shape |
    |---|---|
    | Conv / s1 | 3 × 3 × 1 × 2 |
    | Max Pool / s2 | Pool 2 × 2 |
    | Max Pool / s2 | Pool 2 × 2 |
    | Max Pool / s2 | Pool 2 × 2 |
    | FC / s1 | 2 × 2 |
    """

BACKBONE = """\
    - input: 32 × 32 × 3
    - conv: batch norm, relu, no bias
    | Type / Stride | Filter Shape |
    |---|---|
    | Conv / s2 | 3 × 3 × 3 × 32 |
    | Conv dw / s1 | 3 × 3 × 32 dw |
    | Conv / s1 | 1 × 1 × 32 × 64 |
    | Avg Pool / s1 | Pool 16 × 16 |
    """

NON_SQUARE = """\
    - input: 224 × 160 × 3
    - classes: 10
    - alpha: 1, 0.5
    - resolution: 224, 112
    | Type / Stride | Filter Shape |
    |---|---|
    | Conv / s2 | 3 × 3 × 3 × 8 |
    | Conv / s2 | 3 × 3 × 8 × 16 |
    | Avg Pool / s1 | Pool 56 × 40 |
    | FC / s1 | 16 × 10 |
    """


def test_huge_rho_is_one_line(run):
    code, _out, err = run("profile", "mobilenet_v1", "--rho", "1e307", "--no-latency")
    assert code == 2 and "--rho: must be a number greater than 0 and at most 100, got 1e307" in err
    assert len(err.splitlines()) == 1
    code, _out, err = run("profile", "mobilenet_v1", "--rho", "0.0001", "--no-latency")
    assert code == 2 and "ρ = 0.0001" in err  # round(224 · 0.0001) = 0 pixels
    # the API has no argparse in front of it: it says what the resolution would be
    from archprof import configuration
    from archprof.errors import ConfigError

    with pytest.raises(ConfigError, match="ρ = 1e\\+307 gives a resolution"):
        configuration("mobilenet_v1", rho=1e307)


def test_network_of_pools_alone(run, tmp_path):
    path = write(tmp_path, "pools.md", POOL_ONLY)
    code, out, err = run("compare", path, "--no-latency", "--html", str(tmp_path / "p.html"))
    assert code == 0, err
    # no ratio to a first configuration with 0 mult-adds (and no params): the two ratio cells are dashes
    row = next(line for line in out.splitlines() if "pools.md-32" in line and "KiB" in line)
    assert row.split()[-3:] == ["—", "—", "—"] and row.split()[-7:-5] == ["0", "0"]
    code, out, err = run("validate", path, "--no-crosscheck", "--format", "json")
    assert code == 0 and "Warning" not in err
    verdicts = {c["check"]: c["verdict"] for c in json.loads(out)["checks"]}
    assert verdicts["mult-adds scale with resolution²"] == "n/a"
    assert verdicts["params scale roughly with α²"] == "n/a"


def test_probes_that_do_not_fit_are_left_out(run, tmp_path):
    # 2 channels: α = 0.25 leaves int(0.5) = 0 of them. 8 px → 4 → 2 → 1 through three 2×2 pools;
    # the probes 7, 6, 5 px (0.857, 0.714, 0.571 of 8) reach 0 at the third pool: 7 → 3 → 1 → 0.
    path = write(tmp_path, "tiny.md", TINY)
    checks = validate.run([path], cross=False)
    alpha = next(c for c in checks if c.check == "params scale roughly with α²")
    assert (
        alpha.verdict == "pass"
        and "probed at α = 1, 0.75, 0.5" in alpha.why
        and "without channels" in alpha.why
    )
    res = next(c for c in checks if c.check == "params do not change with resolution")
    assert res.verdict == "n/a" and "no second resolution fits" in res.why
    code, _out, err = run("compare", path, "--no-latency", "--html", str(tmp_path / "t.html"))
    assert code == 0, err


def test_backbone_without_classifier_is_all_width(run, tmp_path):
    path = write(tmp_path, "backbone.md", BACKBONE)
    spec = load(path)
    assert spec.classes == 0 and all(l.role == "" for l in spec.layers)
    rows = resolve(configure(spec, alpha=0.5))
    assert rows[2].out_shape == (32, 16, 16)  # the last conv is narrowed too: 64 · 0.5
    assert spec.layers[2].options.activation == "relu"  # and keeps its ReLU
    _code, out, _ = run("show", path)
    assert "no classifier" in out


def test_non_square_input_keeps_its_aspect(tmp_path):
    path = write(tmp_path, "nonsq.md", NON_SQUARE)
    spec = configure(load(path), resolution=112)
    assert spec.input_shape == (3, 112, 80)
    assert configure(load(path), resolution=224).input_shape == (3, 224, 160)
    checks = validate.run([path], cross=True)
    assert validate.failed(checks) == [], list(validate.failed(checks))


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes(
        "\ufeff- input: 8 × 8 × 1\n\n| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 3 × 3 × 1 × 2 |\n".encode(
            "utf-8"
        )
    )
    assert load(str(path)).input_shape == (1, 8, 8)


def test_comparison_csv_keeps_integers(run, tmp_path):
    out_csv = tmp_path / "g.csv"
    code, _, err = run(
        "compare",
        "mobilenet_v1",
        "--alpha",
        "1",
        "--resolution",
        "224",
        "--no-latency",
        "--csv",
        str(out_csv),
        "--html",
        str(tmp_path / "g.html"),
    )
    assert code == 0, err
    text = out_csv.read_text()
    assert "4816896.0" not in text and ",4816896" in text  # peak activation bytes of 1.0 MobileNet-224
    frame = pd.read_csv(out_csv)
    total = frame[frame["row"] == "total"].iloc[0]
    assert total["dtype"] == "float32" and total["batch"] == 1


@pytest.mark.parametrize("command", ["list", "show", "profile", "compare", "validate"])
def test_every_help_lists_exit_codes(run, command):
    code, out, _ = run(command, "--help")
    assert code == 0 and "exit codes:" in out and "130  interrupted" in out
