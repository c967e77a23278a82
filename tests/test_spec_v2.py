"""Spec v2: block rows, user-defined blocks, per-row options, strict decoding, width rules, liveness, nesting.

Oracles: hand arithmetic written next to each number, the published parameter counts of
REFERENCE.md (torchvision/Keras layouts), and the built torch model (``sum(p.numel())``,
fvcore, the shapes it really produces).
"""

import json
from pathlib import Path

import pytest
import torch

import archprof
from archprof import costs
from archprof.build import build_model, example_input, row_modules
from archprof.catalog import load
from archprof.crosscheck import crosscheck
from archprof.errors import ConfigError, SpecError
from archprof.parse import parse_spec
from archprof.shapes import resolve, resolve_tree
from archprof.transforms import configure, make_divisible

SPECS = Path(__file__).parent / "specs"
KB = 8 * 8 * 4  # one channel of an 8 × 8 float32 map: 256 B


def spec(
    table: str, header: str = "- input: 8 × 8 × 16\n- conv: bias, relu\n", blocks: str = "", path="v2.md"
):
    return parse_spec(
        header + "\n| Type / Stride | Filter Shape |\n|---|---|\n" + table + "\n" + blocks, path, "v2"
    )


def by_path(s):
    return costs.count(s).set_index("path")


# -- block rows in paper form ------------------------------------------------------------


def test_inception_row_counts_shapes_and_paths():
    s = spec("| Inception / s1 | 8, 8, 16, 4, 8, 8 |")
    rows = by_path(s)
    assert list(rows.index) == [
        "inception1/b1/pw1",
        "inception1/b2/pw1",
        "inception1/b2/conv2",
        "inception1/b3/pw1",
        "inception1/b3/conv2",
        "inception1/b4/maxpool1",
        "inception1/b4/pw2",
        "inception1/concat",
    ]
    # b1 16·8+8 = 136; b2 136 + 3·3·8·16+16 = 1168; b3 16·4+4 = 68 + 5·5·4·8+8 = 808; b4 pool 0 + 136
    assert rows["params"].sum() == 136 + 136 + 1168 + 68 + 808 + 136 == 2452
    # mult-adds per 8 × 8 = 64 outputs: 128 + 128 + 1152 + 64 + 800 + 128 (pool: 0) → × 64
    assert rows["mult_adds"].sum() == (128 + 128 + 1152 + 64 + 800 + 128) * 64 == 153_600
    assert rows.loc["inception1/concat", ["out_c", "out_h", "out_w"]].tolist() == [8 + 16 + 8 + 8, 8, 8]
    assert rows.loc["inception1/b4/maxpool1", "padding"] == [1, 1, 1, 1]  # GoogLeNet's 3 × 3 pool keeps 8 × 8


def test_fire_row():
    rows = by_path(spec("| Fire / s1 | s1×1 4, e1×1 8, e3×3 8 |"))
    # squeeze 16·4+4 = 68, expand1x1 4·8+8 = 40, expand3x3 9·4·8+8 = 296
    assert rows["params"].tolist() == [68, 40, 296, 0]
    assert rows.index.tolist() == [
        "fire1/squeeze1x1",
        "fire1/expand/expand1x1",
        "fire1/expand/expand3x3",
        "fire1/expand/concat",
    ]
    assert rows["mult_adds"].sum() == (64 + 32 + 288) * 64  # 24,576
    assert positional_and_named_agree("Fire", "4, 8, 8", "e3×3 8, s1x1 4, e1x1=8")


def positional_and_named_agree(kind, positional, named):
    a = by_path(spec(f"| {kind} / s1 | {positional} |"))
    b = by_path(spec(f"| {kind} / s1 | {named} |"))
    return a["params"].tolist() == b["params"].tolist()


def test_bottleneck_row_repeats_with_stride_on_the_first_and_residual_on_the_rest():
    s = spec(
        "| Bottleneck / s2 | t 6, c 16, n 2 |",
        header="- input: 8 × 8 × 16\n- conv: batch norm, relu6, no bias\n",
    )
    rows = by_path(s)
    assert rows.index.tolist() == [
        "bottleneck1/unit1/pw1",
        "bottleneck1/unit1/dw2",
        "bottleneck1/unit1/pw3",  # s2: no residual
        "bottleneck1/unit2/main/pw1",
        "bottleneck1/unit2/main/dw2",
        "bottleneck1/unit2/main/pw3",
        "bottleneck1/unit2/add",
    ]
    # expansion 16 → 6·16 = 96 (+BN 2·96), depthwise 9·96 (+192), linear projection 96·16 (+32)
    assert rows["params"].tolist() == [1536 + 192, 864 + 192, 1536 + 32] * 2 + [0]
    assert (
        rows.loc["bottleneck1/unit1/dw2", "stride"] == 2
        and rows.loc["bottleneck1/unit2/main/dw2", "stride"] == 1
    )
    # unit1 expands at 8 × 8 (1536·64), the rest run at 4 × 4 (16 px)
    assert rows["mult_adds"].sum() == 1536 * 64 + 864 * 16 + 1536 * 16 + (1536 + 864 + 1536) * 16 == 199_680
    tree = {r.path: r.layer for r in resolve_tree(s)}
    assert tree["bottleneck1/unit1/pw3"].options.activation is None  # linear bottleneck
    assert tree["bottleneck1/unit2/add"].options.activation is None


def test_residual_rows_basic_and_bottleneck_with_projection():
    s = spec(
        "| Residual / s1 | [3 × 3, 16; 3 × 3, 16] × 1 |\n| Residual / s2 | [1 × 1, 8; 3 × 3, 8; 1 × 1, 32] × 1 |",
        header="- input: 8 × 8 × 16\n- conv: batch norm, relu, no bias\n",
    )
    rows = by_path(s)
    assert "residual1/shortcut/pw1" not in rows.index  # same shape: identity shortcut
    assert rows.loc["residual2/shortcut/pw1", "params"] == 16 * 32 + 2 * 32  # projection 1 × 1 s2 + BN
    assert rows.loc["residual2/main/conv2", "stride"] == 2  # v1.5: the stride on the 3 × 3
    assert rows.loc["residual2/main/pw1", "stride"] == 1
    tree = {r.path: r.layer for r in resolve_tree(s)}
    assert tree["residual1/add"].options.activation == "relu"  # the ReLU after the add
    assert tree["residual1/main/conv2"].options.activation is None


def test_published_totals_of_block_networks():
    # torchvision mobilenet_v2() and resnet18(), as REFERENCE.md gives them
    v2 = archprof.profile("mobilenet_v2")
    assert v2.totals["params"] == 3_504_872
    assert round(v2.totals["mult_adds"] / 1e6, 1) == 300.8
    r18 = archprof.profile("resnet18")
    assert r18.totals["params"] == 11_689_512
    assert round(r18.totals["mult_adds"] / 1e9, 1) == 1.8
    # paths carry the Name column
    assert "conv3_x/unit1/shortcut/pw1" in set(r18.layers["path"])


# -- width rounding rules ------------------------------------------------------------------


def test_make_divisible():
    assert make_divisible(32 * 0.35) == 16  # 11.2 → 8 would be below 90 %: 16
    assert make_divisible(16 * 0.35) == 8  # at least the divisor
    assert make_divisible(24 * 0.75) == 24  # 18 → 16 < 16.2 (90 %): 24
    assert make_divisible(1280 * 1.4) == 1792


@pytest.mark.parametrize(
    "alpha, params, paper_params",
    [
        # the official MobileNetV2 release table (1001 classes, conv + FC weights): 0.35 → 1.66 M, 1.4 → 6.06 M
        (0.35, None, 1.66),
        (1.4, None, 6.06),
        (1.0, 3_504_872, 3.47),
    ],
)
def test_mobilenet_v2_width_rule_and_fixed_last_conv(alpha, params, paper_params):
    s = configure(load("mobilenet_v2"), alpha=alpha, classes=1001 if params is None else None)
    t = costs.totals(costs.count(s))
    if params:
        assert t["params"] == params
    assert round(t["paper_params"] / 1e6, 2) == pytest.approx(paper_params, abs=0.01)
    last = next(r for r in resolve(s) if r.layer.role == "last_conv")
    assert last.out_shape[0] == (1280 if alpha <= 1 else make_divisible(1280 * alpha))


def test_keras_rule_is_still_the_default():
    s = configure(load("mobilenet_v1"), alpha=0.75)
    assert [r.out_shape[0] for r in resolve(s)][:3] == [24, 24, 48]  # int(32·0.75), int(64·0.75)


# -- user-defined blocks ---------------------------------------------------------------------

UNIT = """
## Block: unit(c)

- merge: add
- after merge: relu

| Branch   | Type / Stride | Filter Shape   | Options       |
|----------|---------------|----------------|---------------|
| main     | Conv / stride | 3 × 3 × in × c |               |
| main     | Conv / s1     | 3 × 3 × c × c  | no activation |
| shortcut | Conv / stride | 1 × 1 × in × c | no activation |
"""


def test_user_block_with_arguments_stride_and_branches():
    s = spec("| unit / s2 | c 32 |\n| unit / s1 | 32 |", blocks=UNIT)
    rows = by_path(s)
    assert rows.index.tolist() == [
        "unit1/main/conv1",
        "unit1/main/conv2",
        "unit1/shortcut/pw1",
        "unit1/add",
        "unit2/main/conv1",
        "unit2/main/conv2",
        "unit2/shortcut/pw1",
        "unit2/add",
    ]
    # unit1: 3·3·16·32+32 = 4640, 3·3·32·32+32 = 9248, 16·32+32 = 544; unit2 the same with 32 in: 9248, 9248, 1056
    assert rows["params"].tolist() == [4640, 9248, 544, 0, 9248, 9248, 1056, 0]
    assert rows.loc["unit1/main/conv1", "stride"] == 2 and rows.loc["unit1/add", "out_h"] == 4
    tree = {r.path: r.layer for r in resolve_tree(s)}
    assert tree["unit1"].kind == "unit" and tree["unit1/add"].options.activation == "relu"


def test_user_block_sequence_and_identity_branch():
    blocks = """
## Block: pair(c)

| Type / Stride | Filter Shape  |
|---------------|---------------|
| Conv dw / s1  | 3 × 3 × in dw |
| Conv / s1     | 1 × 1 × in × c |

## Block: skip()

- merge: add

| Branch | Type / Stride | Filter Shape |
|--------|---------------|--------------|
| a      | pair / s1     | c 24         |
| b      | Identity      |              |
"""
    rows = by_path(spec("| pair / s1 | 24 |\n| skip / s1 | |", blocks=blocks))
    assert rows.index.tolist() == [
        "pair1/dw1",
        "pair1/pw2",
        "skip2/a/pair1/dw1",
        "skip2/a/pair1/pw2",
        "skip2/add",
    ]
    assert rows.loc["pair1/pw2", "out_c"] == 24 and rows.loc["skip2/a/pair1/dw1", "in_c"] == 24


def test_readme_block_example_parses_counts_and_builds():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text = readme.split("```markdown\n", 2)[2].split("```", 1)[0]
    s = parse_spec(text, "README.md", "mini_inception")
    rows = costs.count(s).set_index("path")
    assert "inception_a2/b3/conv2" in rows.index
    traced = crosscheck(s)
    assert traced["params"].tolist() == costs.count(s)["params"].tolist()
    assert traced["mult_adds"].tolist() == costs.count(s)["mult_adds"].tolist()


# -- per-row options and padding ----------------------------------------------------------------


def test_per_row_options_override_the_header():
    s = spec(
        "| Conv / s1 | 3 × 3 × 16 × 8 |\n| Conv / s1 | 1 × 1 × 8 × 8 |\n| FC / s1 | 512 × 10 |",
        header="- input: 8 × 8 × 16\n- conv: batch norm, relu, no bias\n- fc: bias, relu\n",
    )
    s2 = parse_spec(
        "- input: 8 × 8 × 16\n- conv: batch norm, relu, no bias\n- fc: bias, relu\n\n"
        "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n"
        "| Conv / s1 | 3 × 3 × 16 × 8 | no batch norm |\n"
        "| Conv / s1 | 1 × 1 × 8 × 8 | bias, batch norm without scale, relu6 |\n"
        "| FC / s1 | 512 × 10 | no bias, bn without scale |",
        "o.md",
        "o",
    )
    a, b = costs.count(s), costs.count(s2)
    assert a["params"].tolist() == [1152 + 16, 64 + 16, 5120 + 10]
    # no BN: 1152; bias + BN β only: 64 + 8 + 8; FC without bias + BN without scale: 5120 + 10
    assert b["params"].tolist() == [1152, 64 + 8 + 8, 5120 + 10]
    assert b["non_trainable_params"].tolist() == [0, 16, 20]  # moving mean and variance
    model = build_model(s2)
    assert [sum(p.numel() for p in m.parameters()) for m in row_modules(model, s2).values()] == b[
        "params"
    ].tolist()
    assert isinstance(model.pw2[2], torch.nn.ReLU6)


def test_keras_padding_at_an_odd_resolution():
    # Keras MobileNet: ZeroPadding2D(((0, 1), (0, 1))) then a 'valid' 3 × 3 stride-2 conv; 'same' elsewhere.
    text = (
        "- input: 225 × 225 × 3\n- conv: batch norm, relu, no bias\n\n"
        "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n"
        "| Zero Pad / s1 | Pad 0, 1, 0, 1 | |\n"
        "| Conv / s2 | 3 × 3 × 3 × 8 | padding valid |\n"
        "| Conv dw / s1 | 3 × 3 × 8 dw | padding same |\n"
        "| Conv / s2 | 3 × 3 × 8 × 8 | padding same |\n"
        "| Conv / s2 | 3 × 3 × 8 × 8 |  |\n"
    )
    s = parse_spec(text, "k.md", "k")
    out = [r.out_shape[1] for r in resolve(s)]
    # pad → 226; (226 − 3) // 2 + 1 = 112; same s1 keeps 112; same s2 → ceil(112 / 2) = 56;
    # K // 2 symmetric: (56 + 2 − 3) // 2 + 1 = 28
    assert out == [226, 112, 112, 56, 28]
    assert [r.out_shape[1] for r in resolve(configure(s, resolution=224))][:2] == [225, 112]
    # torch agrees at 225: run the built model row by row
    model = build_model(s)
    x = example_input(s)
    with torch.inference_mode():
        for module, r in zip(row_modules(model, s).values(), resolve(s)):
            x = module(x)
            assert tuple(x.shape[1:]) == r.out_shape
    same = costs.count(s).set_index("path")
    assert same.loc["conv4", "padding"] == [
        0,
        1,
        0,
        1,
    ]  # 'same' at stride 2 on 112: the extra pixel at the end


def test_groups_and_ceil_mode():
    text = (
        "- input: 13 × 13 × 8\n- conv: bias, relu\n\n| Type / Stride | Filter Shape | Options |\n|---|---|---|\n"
        "| Conv / s1 | 3 × 3 × 8 × 16 | groups 2 |\n| Max Pool / s2 | Pool 3 × 3 | ceil mode |\n"
    )
    s = parse_spec(text, "g.md", "g")
    rows = costs.count(s)
    assert rows.loc[0, "params"] == 3 * 3 * 4 * 16 + 16  # each group sees 8 / 2 = 4 channels
    assert rows.loc[0, "mult_adds"] == 3 * 3 * 4 * 16 * 13 * 13
    assert rows.loc[1, "out_h"] == 6  # ceil((13 − 3) / 2) + 1 = 6 (floor would give 5)
    assert crosscheck(s)["params"].tolist() == rows["params"].tolist()


# -- strict decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, words",
    [
        ("- input: 8 × 8 × 16\n- convs: bias\n", ["unknown key 'convs'", "did you mean 'conv'"]),
        ("- input: 8 × 8 × 16\n- clases: 10\n", ["unknown key 'clases'", "did you mean 'classes'"]),
        ("- input: 8 × 8 × 16\n- width rounding: round\n", ["make_divisible(c·α, 8)"]),
    ],
)
def test_unknown_header_keys_name_the_nearest(header, words):
    with pytest.raises(SpecError) as e:
        spec("| Conv / s1 | 1 × 1 × 16 × 8 |", header=header)
    assert e.value.line == 2
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize(
    "table, line, words",
    [
        (
            "| Type / Stride | Filter Shape | Output Size |\n|---|---|---|\n| Conv / s1 | 1 × 1 × 16 × 8 | x |",
            3,
            ["'Output Size' that is not understood"],
        ),
        (
            "| Type / Stride | Filter Shape |\n|---|---|\n| Inception / s2 | 1, 2, 3, 4, 5, 6 |",
            5,
            ["stride 1"],
        ),
        (
            "| Type / Stride | Filter Shape |\n|---|---|\n| Inception / s1 | 1, 2, 3 |",
            5,
            ["missing #5×5 reduce"],
        ),
        (
            "| Type / Stride | Filter Shape |\n|---|---|\n| Residual / s1 | 3 × 3, 64 |",
            5,
            ["[3 × 3, 64; 3 × 3, 64] × 2"],
        ),
        (
            "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n| Avg Pool / s1 | Pool 2 × 2 | groups 2 |",
            5,
            ["takes no groups", "Conv"],
        ),
        (
            "| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 1 × 1 × 16 × 8 |\n| unit / s1 | 8 |",
            6,
            ["unknown layer type 'unit'"],
        ),
    ],
)
def test_malformed_v2_tables(table, line, words):
    with pytest.raises(SpecError) as e:
        parse_spec("- input: 8 × 8 × 16\n\n" + table, "t.md", "t")
    assert e.value.line == line, str(e.value)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_user_block_errors_name_the_block_line():
    bad = UNIT.replace("3 × 3 × c × c ", "3 × 3 × k × c ")
    with pytest.raises(SpecError) as e:
        spec("| unit / s1 | c 16 |", blocks=bad)
    assert e.value.line == 16 and "used at line 6" in str(e.value) and "'k'" in str(e.value)
    no_stride = UNIT.replace("Conv / stride", "Conv / s1")
    with pytest.raises(SpecError, match="does not take a stride"):
        spec("| unit / s2 | c 16 |", blocks=no_stride)
    with pytest.raises(SpecError, match="merge"):
        spec("| unit / s1 | c 16 |", blocks=UNIT.replace("- merge: add\n", ""))
    with pytest.raises(SpecError, match="an add needs branches of one shape"):
        spec("| unit / s1 | c 16 |", blocks=UNIT.replace("| 1 × 1 × in × c |", "| 1 × 1 × in × 8 |"))


def test_classes_option_replaces_the_classifier(run):
    s = configure(load("mobilenet_v1"), classes=10)
    t = costs.totals(costs.count(s))
    # the FC becomes 1024 × 10 + 10: 1,025,000 fewer params than 1024 × 1000 + 1000
    assert t["params"] == 4_231_976 - (1024 * 1000 + 1000) + (1024 * 10 + 10)
    code, out, _err = run("profile", "mobilenet_v1", "--classes", "10", "--format", "json", "--no-latency")
    assert (
        code == 0 and json.loads(out)["classes"] == 10 and json.loads(out)["totals"]["params"] == t["params"]
    )
    with pytest.raises(ConfigError, match="no classifier"):
        configure(
            parse_spec(
                "- input: 8 × 8 × 3\n| Type / Stride | Filter Shape |\n|---|---|\n"
                "| Conv / s1 | 1 × 1 × 3 × 4 |\n",
                "b.md",
                "b",
            ),
            classes=3,
        )


# -- memory by liveness --------------------------------------------------------------------------------


def test_liveness_of_an_inception_block():
    s = spec("| Inception / s1 | 8, 8, 16, 4, 8, 8 |")
    live = costs.count(s)["live_bytes"].tolist()
    # channels alive at each step (× 256 B per 8 × 8 channel): the input (16) until the pool branch reads it,
    # finished branches (8, 16, 8) until the concat, whose 40-channel output is allocated while they live
    assert live == [
        c * KB
        for c in (
            16 + 8,  # b1/pw1: x, its output
            16 + 8 + 8,  # b2/pw1: x, b1 out, its output
            16 + 8 + 8 + 16,  # b2/conv2: x, b1, its input, its output
            16 + 8 + 16 + 4,  # b3/pw1
            16 + 8 + 16 + 4 + 8,
            16 + 8 + 16 + 8 + 16,  # b4/maxpool1: the last read of x
            8 + 16 + 8 + 16 + 8,  # b4/pw2
            8 + 16 + 8 + 8 + 40,
        )
    ]  # concat
    assert costs.totals(costs.count(s))["peak_activation_bytes"] == 80 * KB == 20_480


def test_liveness_of_a_residual_block_keeps_the_skip():
    s = spec(
        "| Residual / s1 | [3 × 3, 16; 3 × 3, 16] × 1 |",
        header="- input: 8 × 8 × 16\n- conv: batch norm, relu\n",
    )
    # conv1: x + out (32 ch); conv2: x (the skip) + in + out (48); add: the skip + main + sum (48)
    assert costs.count(s)["live_bytes"].tolist() == [32 * KB, 48 * KB, 48 * KB]
    # a chain would have said max(in + out) = 32 channels: the skip is what liveness adds


def test_liveness_of_a_chain_is_v1s_figure():
    rows = costs.count(load("mobilenet_v1"))
    assert (rows["live_bytes"] == rows["input_bytes"] + rows["activation_bytes"]).all()
    assert rows["live_bytes"].max() == 112 * 112 * (32 + 64) * 4 == 4_816_896


# -- builder and cross-check --------------------------------------------------------------------------

BLOCK_SPECS = [str(SPECS / "blocks_small.md"), "mobilenet_v2", "resnet18"]


@pytest.mark.parametrize("variant", ["base", "standard"])
@pytest.mark.parametrize("alpha, resolution", [(1.0, None), (0.5, None), (1.0, 160)])
@pytest.mark.parametrize("path", BLOCK_SPECS)
def test_block_specs_match_torch_and_fvcore_row_by_row(path, alpha, resolution, variant):
    base = load(path)
    if variant == "standard" and path == "resnet18":
        pytest.skip("ResNet has no depthwise conv")
    s = configure(base, variant, alpha, resolution)
    analytic = costs.count(s)
    traced = crosscheck(s)
    assert traced["path"].tolist() == analytic["path"].tolist()
    assert traced["params"].tolist() == analytic["params"].tolist()
    assert traced["weight_bytes"].tolist() == analytic["weight_bytes"].tolist()
    assert traced["mult_adds"].tolist() == analytic["mult_adds"].tolist()


def test_named_modules_are_the_rows_and_forward_merges():
    s = load(str(SPECS / "blocks_small.md"))
    model = build_model(s)
    names = {n for n, _ in model.named_modules()}
    for r in resolve_tree(s):
        assert r.module_path in names
    shapes = {}
    hooks = [
        m.register_forward_hook(lambda m, a, o, p=p: shapes.__setitem__(p, tuple(o.shape[1:])))
        for p, m in row_modules(model, s).items()
    ]
    with torch.inference_mode():
        y = model(example_input(s))
    for h in hooks:
        h.remove()
    assert shapes == {r.path: r.out_shape for r in resolve(s)} and y.shape == (1, 10, 1, 1)


def test_standard_variant_merges_pairs_inside_blocks():
    s = configure(load("mobilenet_v2"), "standard")
    paths = costs.count(s)["path"].tolist()
    assert "bottleneck3/unit1/conv2" in paths and not any("dw" in p for p in paths)


# -- nested results and the Python API ------------------------------------------------------------------


def test_json_nests_blocks_and_leaf_rows_sum_to_totals(run):
    code, out, err = run("profile", str(SPECS / "blocks_small.md"), "--format", "json", "--no-latency")
    assert code == 0, err
    data = json.loads(out)
    leaves = [l for l in data["layers"] if not l["is_block"]]
    for col in (
        "params",
        "paper_params",
        "mult_adds",
        "weight_bytes",
        "activation_bytes",
        "non_trainable_params",
    ):
        assert sum(l[col] for l in leaves) == data["totals"][col], col
    rows = {l["path"]: l for l in data["layers"]}
    block = rows["inception3a"]
    assert block["is_block"] and block["depth"] == 0
    under = [l for l in leaves if l["path"].startswith("inception3a/")]
    assert block["params"] == sum(l["params"] for l in under) == 2504
    conv = rows["inception3a/b2/conv2"]
    assert (conv["parent"], conv["depth"], conv["kernel"], conv["input_shape"]) == (
        "inception3a/b2",
        2,
        [3, 3],
        [8, 32, 32],
    )
    order = [l["path"] for l in data["layers"]]
    assert order.index("inception3a") < order.index("inception3a/b1") < order.index("inception3a/b1/pw1")


def test_csv_and_terminal_nest(run):
    code, out, _ = run("profile", str(SPECS / "blocks_small.md"), "--format", "csv", "--no-latency")
    lines = out.splitlines()
    assert code == 0 and "is_block" in lines[0] and any(",inception3a/b2/conv2," in l for l in lines)
    code, out, _ = run("profile", str(SPECS / "blocks_small.md"), "--no-latency")
    table = out.splitlines()
    block = next(l for l in table if " inception3a " in l)
    child = next(l for l in table if " conv2 " in l and "3×3×8×16" in l)
    assert "2,504" in block and "Inception" in block
    assert child.index("conv2") > block.index("inception3a")  # indented under its block
    assert "as Keras counts: total params 90,618, trainable 88,258, non-trainable 2,360" in out


def test_python_api_readme_example():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    p = namespace["p"]
    assert isinstance(p, archprof.Profile) and p.totals["mult_adds"] == 76_524_800  # 0.5 MobileNet-160
    grid = namespace["grid"]
    assert grid.loc[grid["label"] == "1.0 VGG16-224", "params"].item() == 138_357_544
    assert json.loads(p.to_json())["totals"]["params"] == 1_331_592 and p.to_csv().startswith("model,")


def test_profile_api_accepts_a_modelspec_and_rejects_contradictions():
    s = load("vgg16")
    assert archprof.profile(s).totals["params"] == 138_357_544
    with pytest.raises(ConfigError, match="not both"):
        archprof.profile("mobilenet_v1", resolution=160, rho=0.5)


def test_measuring_a_block_spec_times_every_row_by_path():
    p = archprof.profile(str(SPECS / "blocks_small.md"), alpha=0.5, latency=True, min_run_time=0.1)
    layers = p.layers
    assert layers["latency_ms"].notna().all() and (layers["latency_ms"] > 0).all()
    assert layers["latency_isolated_ms"].notna().all()
    # each measured output allocation is the row's output tensor (merges included)
    convs = layers[layers["kind"].isin(["conv", "conv_dw", "concat", "add"])]
    assert (convs["measured_output_bytes"] == convs["activation_bytes"]).all()
    blocks = p.blocks.set_index("path")
    under = layers[layers["path"].str.startswith("inception3a/")]
    assert blocks.loc["inception3a", "latency_ms"] == pytest.approx(under["latency_ms"].sum())


def test_validate_block_specs_with_honest_verdicts(run):
    code, out, err = run(
        "validate", "mobilenet_v2", str(SPECS / "blocks_small.md"), "--no-crosscheck", "--format", "json"
    )
    assert code == 0, err
    verdicts = {(c["subject"].rsplit("/", 1)[-1], c["check"]): c for c in json.loads(out)["checks"]}
    fixed = verdicts[("mobilenet_v2", "params scale roughly with α²")]
    assert fixed["verdict"] == "does not hold" and "last conv" in fixed["why"]
    assert verdicts[("blocks_small.md", "params do not change with resolution")]["verdict"] == "pass"


def test_compare_writes_a_report_for_block_specs(run, tmp_path):
    html = tmp_path / "r.html"
    code, out, err = run(
        "compare",
        "resnet18",
        "mobilenet_v1",
        "--alpha",
        "1",
        "--resolution",
        "224",
        "--no-latency",
        "--html",
        str(html),
    )
    assert code == 0, err
    assert "11,689,512" in out or "11.7 M" in out
    page = html.read_text(encoding="utf-8")
    from archprof.report.html import page_data

    # the per-layer view has every configuration's rows, keyed by path, blocks included
    configs = page_data(page)["per_layer"]["configs"]
    resnet = next(c for c in configs if c["label"] == "1.0 ResNet-18-224")
    paths = {r["p"]: r["b"] for r in resnet["rows"]}
    assert paths["conv3_x/unit1/shortcut/pw1"] == 0 and paths["conv3_x/unit1"] == 1


# -- found by a hostile try of the CLI (each was a wrong line, a confusing message or a runaway) -------------


@pytest.mark.parametrize(
    "table, line, words",
    [
        # an even kernel grows the main branch: the add names the block row's line, not line 1
        ("| Residual / s1 | [2 × 2, 16; 2 × 2, 16] × 1 |", 6, ["an add needs branches of one shape"]),
        ("| Bottleneck / s1 | 0.5, 16, 1 |", 6, ["t must be at least 1"]),
        ("| Conv / stride | 3 × 3 × 16 × 16 |", 6, ["written in a block's table"]),
        ("| Identity / s1 | |", 6, ["empty branch"]),
        ("| Residual / s1 | [3 × 3, 16] × 1000000 |", 6, ["at most 1,000"]),
        # 1,000 × 1,000 residual units: refused at its row as soon as the budget is spent, not after minutes
        ("| 1000× { Residual / s1 } | [3 × 3, 16; 3 × 3, 16] × 1000 |", 6, ["more than 10,000 rows"]),
    ],
)
def test_block_errors_name_the_right_line(table, line, words):
    with pytest.raises(SpecError) as e:
        spec(table)
    assert e.value.line == line, str(e.value)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_alpha_errors_inside_blocks_name_the_path_and_line():
    s = load(str(SPECS / "blocks_small.md"))
    with pytest.raises(ConfigError) as e:
        configure(s, alpha=0.2)
    msg = str(e.value)
    assert "line None" not in msg and "inception3a/b3/pw1" in msg and "line 16 of" in msg  # the Inception row


def test_block_parameters_are_not_grammar_words_and_pass_on_by_name():
    with pytest.raises(SpecError, match="not words of the spec grammar"):
        spec(
            "| u / s1 | 16 |",
            blocks="## Block: u(relu)\n\n| Type / Stride | Filter Shape | Options |\n|---|---|---|\n"
            "| Conv / s1 | 3 × 3 × in × relu | relu |\n",
        )
    outer = UNIT + (
        "\n## Block: outer(c)\n\n| Type / Stride | Filter Shape |\n|---|---|\n| unit / stride | c c |\n"
    )
    rows = by_path(spec("| outer / s2 | 24 |", blocks=outer))
    assert (
        rows.loc["outer1/unit1/main/conv1", "out_c"] == 24
        and rows.loc["outer1/unit1/main/conv1", "stride"] == 2
    )


def test_alpha_settles_identity_shortcuts_as_torchvision_would():
    # The network's input channels do not scale, so at α = 0.5 a first block with an identity shortcut
    # (16 in, 16 → 8 out) no longer matches: ResNet projects it (1 × 1 conv + BN), MobileNetV2 drops the add,
    # as torchvision decides from the channels it builds with.
    res = configure(
        spec(
            "| Residual / s1 | [3 × 3, 16; 3 × 3, 16] × 2 |",
            header="- input: 8 × 8 × 16\n- conv: batch norm, relu, no bias\n",
        ),
        alpha=0.5,
    )
    rows = by_path(res)
    assert rows.loc["residual1/unit1/shortcut/pw1", "params"] == 16 * 8 + 2 * 8  # projection 16 → 8, BN
    assert "residual1/unit2/shortcut/pw1" not in rows.index  # 8 → 8: identity again
    v2 = configure(
        spec(
            "| Bottleneck / s1 | 6, 16, 2 |",
            header="- input: 8 × 8 × 16\n- conv: batch norm, relu6, "
            "no bias\n- width rounding: make_divisible(c·α, 8)\n",
        ),
        alpha=0.5,
    )
    paths = costs.count(v2)["path"].tolist()
    assert (
        "bottleneck1/unit1/pw1" in paths and "bottleneck1/unit1/add" not in paths
    )  # no residual: 16 in, 8 out
    assert "bottleneck1/unit2/add" in paths
    for s in (res, v2):
        traced = crosscheck(s)
        assert traced["params"].tolist() == costs.count(s)["params"].tolist()


@pytest.mark.parametrize(
    "table, words",
    [
        (
            "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n| Conv / s1 | 1 × 1 × 16 × 8 | bn, no bn |",
            ["'bn' and 'no bn' contradict"],
        ),
        (
            "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n| Conv / s1 | 1 × 1 × 16 × 8 | relu, linear |",
            ["'relu' and 'linear' contradict"],
        ),
        (
            "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n| Conv / s1 | 3 × 3 × 16 × 8 | padding 1, padding valid |",
            ["padding is given twice"],
        ),
        ("| Type / Stride | Filter Shape |\n|---|---|\n| FC / s2 | 1024 × 10 |", ["FC row has no stride"]),
    ],
)
def test_contradictions_and_meaningless_strides_are_errors(table, words):
    with pytest.raises(SpecError) as e:
        parse_spec("- input: 8 × 8 × 16\n\n" + table, "c.md", "c")
    assert e.value.line == 5
    for w in words:
        assert w in str(e.value), str(e.value)
