"""The spec language: grammar, header defaults, groups, shape checks and the errors of bad specs."""

from pathlib import Path

import pytest
from conftest import HEADER, spec_from

from archprof.catalog import load
from archprof.errors import SpecError
from archprof.parse import parse_spec
from archprof.registry import REGISTRY, LayerKind, register
from archprof.shapes import resolve
from archprof.spec import Options

SPECS = Path(__file__).parent / "specs"


def test_mobilenet_header_and_rows():
    spec = load("mobilenet_v1")
    assert spec.name == "MobileNetV1" and spec.classes == 1000 and spec.input_shape == (3, 224, 224)
    assert spec.alphas == (1.0, 0.75, 0.5, 0.25) and spec.resolutions == (224, 192, 160, 128)
    assert "1704.04861" in spec.citation
    # 1 conv + 13 dw/pw pairs (the 5× group expanded) + pool + FC + softmax = 30 rows
    assert len(spec.layers) == 30
    assert [l.kind for l in spec.layers[:3]] == ["conv", "conv_dw", "conv"]
    assert spec.layers[0].options == Options(bias=False, batch_norm=True, activation="relu")
    fc = spec.layers[-2]
    assert fc.role == "classifier" and fc.options == Options(bias=True, batch_norm=False, activation=None)
    assert spec.layers[-3].kernel is None  # Pool 7 × 7 on a 7 × 7 input: the global pool
    assert spec.reported() == 70.6


def test_repeated_group_expands_with_its_lines():
    spec = load("mobilenet_v1")
    rows = resolve(spec)
    group = [r for r in rows if r.in_shape == (512, 14, 14) and r.out_shape == (512, 14, 14)]
    assert len(group) == 10  # 5 × (dw, pw)
    assert {r.layer.line for r in group} == {rows[13].layer.line, rows[14].layer.line}


def test_table_1_literal_erratum_is_rejected():
    path = SPECS / "table1_literal.md"
    with pytest.raises(SpecError) as e:
        load(str(path))
    msg = str(e.value)
    assert e.value.line == 30 and e.value.path == str(path)
    assert str(path) in msg and ":30:" in msg
    assert "7 × 7 × 1024" in msg and "4 × 4 × 1024" in msg and "line 29" in msg


def test_times_x_whitespace_and_case_are_free():
    a = spec_from("""
        | Type / Stride | Filter Shape | Input Size |
        |---|---|---|
        | Conv / s2 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |
        | Conv dw / s1 | 3 × 3 × 8 dw | 16 × 16 × 8 |
        | Avg Pool / s1 | Pool 16 × 16 | 16 × 16 × 8 |
        | FC / s1 | 8 × 10 | 1 × 1 × 8 |
        """)
    b = spec_from("""
        |type/stride|filter shape|input size|
        |:--|:--:|--:|
        |CONV/S2|3x3X3x8|32x32x3|
        |  conv   DW /s1 |3x3x8 DW|16 x16x 8|
        |avg pool/ s1|pool 16x16|16x16x8|
        |fc/s1|8x10|1x1x8|
        """)
    assert [(l.kind, l.stride, l.kernel, l.out_channels) for l in a.layers] == [
        (l.kind, l.stride, l.kernel, l.out_channels) for l in b.layers
    ]


def test_input_size_column_is_optional():
    spec = spec_from("""
        | Type / Stride | Filter Shape |
        |---|---|
        | Conv / s2 | 3 × 3 × 3 × 8 |
        | FC / s1 | 2048 × 10 |
        """)
    assert [r.out_shape for r in resolve(spec)] == [(8, 16, 16), (10, 1, 1)]


def test_header_defaults_apply_by_kind():
    spec = spec_from(
        """
        | Type / Stride | Filter Shape |
        |---|---|
        | Conv / s1 | 3 × 3 × 3 × 4 |
        | FC / s1 | 4096 × 16 |
        | Dropout / s1 | p = 0.25 |
        | FC / s1 | 16 × 10 |
        """,
        header=HEADER + "- classifier: no bias, relu6\n",
    )
    conv, fc, drop, classifier = spec.layers
    assert conv.options == Options(bias=False, batch_norm=True, activation="relu")
    assert fc.options == Options(bias=True, batch_norm=False, activation="relu")
    assert drop.p == 0.25
    assert classifier.role == "classifier" and classifier.options == Options(
        bias=False, batch_norm=False, activation="relu6"
    )


def test_group_of_one_row_and_group_with_three_rows():
    spec = spec_from("""
        | Type / Stride | Filter Shape |
        |---|---|
        | 3× { Conv / s1 } | 3 × 3 × 3 × 3 |
        | 2x{ Conv dw / s1 | 3 × 3 × 3 dw |
        | Conv / s1 | 1 × 1 × 3 × 3 |
        | Conv / s1 } | 1 × 1 × 3 × 3 |
        | FC / s1 | 3072 × 10 |
        """)
    assert [l.kind for l in spec.layers] == ["conv"] * 3 + ["conv_dw", "conv", "conv"] * 2 + ["fc"]


def _error(table, header=HEADER):
    with pytest.raises(SpecError) as e:
        spec_from(table, header)
    return e.value


ROWS = "| Type / Stride | Filter Shape | Input Size |\n|---|---|---|\n"


@pytest.mark.parametrize(
    "rows, line, words",
    [
        # unknown layer type
        ("| Conv3d / s1 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |", 9, ["unknown layer type 'Conv3d'", "conv dw"]),
        # wrong filter arity
        ("| Conv / s1 | 3 × 3 × 8 | 32 × 32 × 3 |", 9, ["K × K × Cin × Cout", "got 3"]),
        # channels that do not chain
        (
            "| Conv / s1 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |\n| Conv / s1 | 1 × 1 × 16 × 8 | 32 × 32 × 8 |",
            10,
            ["expects 16 input channels", "give 8"],
        ),
        # a non-number
        ("| Conv / s1 | 3 × 3 × 3 × eight | 32 × 32 × 3 |", 9, ["Cout must be a whole number", "'eight'"]),
        # a zero size
        ("| Conv / s0 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |", 9, ["stride must be at least 1"]),
        # a look-alike of ×
        ("| Conv / s1 | 3 ✕ 3 ✕ 3 ✕ 8 | 32 × 32 × 3 |", 9, ["U+2715"]),
        # a missing stride
        ("| Conv | 3 × 3 × 3 × 8 | 32 × 32 × 3 |", 9, ["'Conv dw / s1'"]),
        # input size column disagreeing
        (
            "| Conv / s2 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |\n| FC / s1 | 2048 × 10 | 8 × 8 × 8 |",
            10,
            ["Input Size column says 8 × 8 × 8", "outputs 16 × 16 × 8"],
        ),
        # FC whose inputs do not match the flattened map
        (
            "| Conv / s2 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |\n| FC / s1 | 512 × 10 | |",
            10,
            ["expects 512 input features", "2048"],
        ),
        # classes disagreeing with the classifier
        (
            "| Conv / s1 | 3 × 3 × 3 × 8 | 32 × 32 × 3 |\n| FC / s1 | 8192 × 7 | |",
            10,
            ["gives 7 outputs", "classes: 10"],
        ),
        # absurd repeat count
        ("| 1000000× { Conv / s1 } | 3 × 3 × 3 × 3 | |", 9, ["repeat count must be at most"]),
        # unclosed group
        ("| 2× { Conv / s1 | 3 × 3 × 3 × 3 | |", 9, ["never closed"]),
        # wrong cell count
        ("| Conv / s1 | 3 × 3 × 3 × 8 |", 9, ["expected 3 cells"]),
        # pool larger than its input collapses the map
        ("| Max Pool / s2 | Pool 64 × 64 | 32 × 32 × 3 |", 9, ["collapses", "32 × 32 × 3"]),
    ],
)
def test_malformed_rows_name_line_text_and_expectation(rows, line, words):
    err = _error(ROWS + rows)
    assert err.line == line, str(err)
    assert str(err).startswith(f"tiny.md:{line}: '|")
    for w in words:
        assert w in str(err), str(err)


@pytest.mark.parametrize(
    "text, words",
    [
        ("", ["no layer table"]),
        ("# just prose\n\nno table here\n", ["no layer table"]),
        (
            "| Filter Shape | Input Size |\n|---|---|\n| 3 × 3 × 3 × 8 | 32 × 32 × 3 |\n",
            ["'Type / Stride' and 'Filter Shape'"],
        ),
        (
            "- input: 32 × 32\n| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 3 × 3 × 3 × 8 |\n",
            ["H × W × C (3 numbers)"],
        ),
        (
            "- conv: bias, dropout\n| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 3 × 3 × 3 × 8 |\n",
            ["unknown option 'dropout'"],
        ),
        ("| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 3 × 3 × 3 × 8 |\n", ["no input size"]),
        ("\x00\x01binary", ["no layer table"]),  # binary files are refused by bytes (see test_hardening)
    ],
)
def test_malformed_files(text, words):
    with pytest.raises(SpecError) as e:
        parse_spec(text, "bad.md", "bad")
    for w in words:
        assert w in str(e.value), str(e.value)


def test_duplicate_header_keys_are_errors():
    err = _error(ROWS + "| Conv / s1 | 3 × 3 × 3 × 10 | |", header=HEADER + "- classes: 10\n")
    assert "'classes' is given twice" in str(err)


def test_registry_rejects_a_kind_registered_twice():
    conv = REGISTRY["conv"]
    with pytest.raises(ValueError, match="registered twice"):
        register(conv)
    with pytest.raises(ValueError, match="claimed by"):
        register(LayerKind(**{**conv.__dict__, "key": "conv_again"}))


def test_readme_example_spec_parses_and_counts():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text = readme.split("```markdown\n", 1)[1].split("```", 1)[0]
    spec = parse_spec(text, "README.md", "tinynet")
    assert spec.name == "TinyNet" and spec.alphas == (1.0, 0.5) and spec.reported() == 55.0
    rows = resolve(spec)
    assert [r.out_shape for r in rows] == [(16, 32, 32)] * 5 + [
        (16, 16, 16),
        (16, 1, 1),
        (16, 1, 1),
        (10, 1, 1),
        (10, 1, 1),
    ]
    from archprof import costs

    t = costs.totals(costs.count(spec))
    # conv1 3·3·3·16 = 432 (+32 BN), 2 × (dw 144 + 32 BN, pw 256 + 32 BN), FC 160 + 10 bias
    assert t["params"] == 432 + 32 + 2 * (144 + 32 + 256 + 32) + 160 + 10
    # conv1 432·32·32, 2 × (144 + 256)·32·32, FC 160
    assert t["mult_adds"] == 432 * 1024 + 2 * 400 * 1024 + 160


def test_readme_error_example_is_what_the_cli_prints(run):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = next(
        l for l in readme.splitlines() if l.startswith("archprof: error: tests/specs/table1_literal.md")
    )
    code, _, err = run("profile", "tests/specs/table1_literal.md", "--no-latency")
    assert code == 2 and err.strip() == shown
