"""Your own model: FILE.py:NAME profiled at the op level, explained against a spec with `archprof diff`.

Oracles: sum(p.numel()) of the user's module, fvcore's conv + linear + matmul + bmm +
einsum on the same module, hand arithmetic, and the mistakes planted in
tests/models/mobilenets.py.
"""

import json
import warnings
from pathlib import Path

import pytest
import torch

import archprof
from archprof.diff import diff, side
from archprof.errors import ConfigError

MODELS = Path(__file__).parent / "models"
CORPUS = str(MODELS / "corpus.py")
MOBILENETS = str(MODELS / "mobilenets.py")
FVCORE_OPS = ("conv", "linear", "matmul", "bmm", "einsum", "addmm", "mm")


def fvcore_mult_adds(module, shape) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        a = FlopCountAnalysis(module, torch.randn(1, *shape))
        a.unsupported_ops_warnings(False)
        a.uncalled_modules_warnings(False)
        return int(sum(a.by_operator().get(k, 0) for k in FVCORE_OPS))


@pytest.mark.parametrize(
    "name, shape",
    [
        ("InceptionNet", (3, 16, 16)),
        ("Grouped", (8, 16, 16)),
        ("FunctionalConv", (3, 32, 32)),
        ("Shared", (4, 8, 8)),
        ("Attention", (6, 16)),
        ("Recurrent", (5, 8)),
        ("Frozen", (3, 8, 8)),
        ("Residual", (4, 16, 16)),
        ("instance", (8, 16, 16)),
        ("factory", (3, 32, 32)),
    ],
)
def test_corpus_counts_equal_numel_and_fvcore(name, shape):
    p = archprof.profile(f"{CORPUS}:{name}", input_shape=shape)
    module = p.spec.module
    assert p.totals["params"] == sum(q.numel() for q in module.parameters())
    assert p.totals["mult_adds"] == fvcore_mult_adds(module, shape)
    leaves = p.layers
    assert leaves["params"].sum() == p.totals["params"] and leaves["mult_adds"].sum() == p.totals["mult_adds"]


def test_functional_code_counts_and_is_attributed():
    p = archprof.profile(f"{CORPUS}:FunctionalConv", input_shape=(3, 32, 32))
    rows = p.layers.set_index("path")
    # F.conv2d: 5·5·3·6 = 450 weights, 16 × 16 outputs × 6 channels: 450·256 = 115,200; x @ w: 6·10 = 60
    # forward's own ops: a run per counted op, each with the parameters it used
    conv, fc = rows.loc["forward"], rows.loc["forward2"]
    assert (conv["mult_adds"], conv["paper_params"], conv["params"]) == (450 * 256, 450, 450 + 6)
    assert (fc["mult_adds"], fc["paper_params"], fc["params"]) == (60, 60, 60)
    assert conv["group"] == "Conv 5×5" and conv["kernel"] == [5, 5] and conv["stride"] == 2
    assert (conv["out_c"], conv["out_h"]) == (6, 16) and (conv["in_c"], conv["in_h"]) == (3, 32)


def test_residual_written_with_plus_and_cat_nest_by_module():
    p = archprof.profile(f"{CORPUS}:Residual", input_shape=(4, 16, 16))
    paths = p.layers["path"].tolist()
    assert paths[:3] == ["main/0", "main/1", "main/2"] and "proj/0" in paths and paths[-1] == "forward"
    blocks = p.blocks.set_index("path")
    # main: 3·3·4·8 + 2·8 + 3·3·8·8 + 2·8 = 288 + 16 + 576 + 16
    assert blocks.loc["main", "params"] == 288 + 16 + 576 + 16
    assert p.extras["uncounted"] == {"native_batch_norm": 3, "relu": 2, "add": 1}
    inc = archprof.profile(f"{CORPUS}:InceptionNet", input_shape=(3, 16, 16)).layers.set_index("path")
    cat = inc.loc["mix/forward"]  # torch.cat in Inception.forward: no arithmetic, but a new 16-channel map
    assert (
        cat["filter"] == "cat"
        and cat["mult_adds"] == 0
        and cat["activation_bytes"] == (4 + 8 + 4) * 16 * 16 * 4
    )


def test_shared_weights_are_counted_once():
    p = archprof.profile(f"{CORPUS}:Shared", input_shape=(4, 8, 8))
    rows = p.layers.set_index("path")
    # the conv runs twice: 3·3·4·4 + 4 params once, 144·64 mult-adds twice; head and tail share one 4 × 4 weight
    assert rows.loc["conv", "params"] == 148 and rows.loc["conv", "mult_adds"] == 2 * 144 * 64
    assert rows.loc["head", "params"] == 16 and rows.loc["tail", "params"] == 0
    assert p.totals["params"] == 164 and p.totals["paper_params"] == 144 + 16


def test_keras_lines_count_frozen_parameters_as_non_trainable():
    t = archprof.profile(f"{CORPUS}:Frozen", input_shape=(3, 8, 8)).totals
    # frozen: conv 3·3·3·8 = 216 + BN γ, β 16 = 232; BN moving mean and variance: 16; head 8·2 + 2 = 18 trainable
    assert (t["params"], t["frozen_params"]) == (250, 232)
    assert (t["total_params"], t["trainable_params"], t["non_trainable_params"]) == (266, 18, 248)


def test_uncounted_ops_are_named_never_silently_zero(run):
    lstm = archprof.profile(f"{CORPUS}:Recurrent", input_shape=(5, 8))
    assert "mkldnn_rnn_layer" in lstm.extras["uncounted"]  # the LSTM's gates
    att = archprof.profile(f"{CORPUS}:Attention", input_shape=(6, 16))
    assert att.extras["uncounted"] == {"div": 1, "_softmax": 1}
    code, out, err = run(
        "profile", f"{CORPUS}:Recurrent", "--input-shape", "5x8", "--format", "json", "--no-latency"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["uncounted"]["mkldnn_rnn_layer"] == 1 and data["totals"]["params"] == 1715
    code, out, _ = run("profile", f"{CORPUS}:Recurrent", "--input-shape", "5x8", "--no-latency")
    assert "not counted: mkldnn_rnn_layer ×1" in out


def test_a_module_in_python_and_measured_latency():
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 1)
    )
    p = archprof.profile(module, input_shape=(3, 16, 16), latency=True, min_run_time=0.1)
    assert p.totals["params"] == 3 * 9 * 8 + 8 + 64 + 8
    assert p.layers["latency_ms"].notna().all() and (p.layers["latency_ms"] > 0).all()
    own = archprof.profile(f"{CORPUS}:Residual", input_shape=(4, 16, 16), latency=True, min_run_time=0.1)
    assert (
        own.layers.set_index("path").loc["forward", "latency_ms"] > 0
    )  # the parent's time minus its children's


def test_compare_takes_model_files_beside_specs(run, tmp_path):
    code, out, err = run(
        "compare",
        "mobilenet_v1",
        f"{MOBILENETS}:tf_classes",
        "--alpha",
        "1",
        "--resolution",
        "224",
        "--no-latency",
        "--html",
        str(tmp_path / "r.html"),
    )
    assert code == 0, err
    assert "tf_classes-224" in out and "4,233,001" not in out  # params shown in millions; JSON below is exact
    code, out, err = run("profile", f"{MOBILENETS}:tf_classes", "--format", "json", "--no-latency")
    assert (
        json.loads(out)["totals"]["params"] == 4_231_976 + 1024 + 1
    )  # one more class: 1024 weights + 1 bias


# -- diff: five implementations "from the paper", each with its mistake, against mobilenet_v1 ---------------


@pytest.fixture(scope="module")
def reference():
    return side("mobilenet_v1")


def _diff(reference, name):
    d = diff(reference, side(f"{MOBILENETS}:{name}"))
    assert sum(r.params_difference for r in d.rows) == d.params_difference  # the reasons add up
    assert sum(r.mult_adds_difference for r in d.rows) == d.mult_adds_difference
    return d


def test_diff_correct_implementation_agrees(reference, run):
    assert _diff(reference, "correct").agree
    code, out, _ = run("diff", "mobilenet_v1", f"{MOBILENETS}:correct")
    assert code == 0 and "A and B agree" in out


def test_diff_bias_left_on(reference):
    d = _diff(reference, "bias_everywhere")
    # one bias per conv output channel: 32 + Σ over the 13 blocks of (dw C_in + pw C_out) = 10,944
    assert (
        d.params_difference
        == 32
        + (32 + 64)
        + (64 + 128)
        + (128 + 128)
        + (128 + 256)
        + (256 + 256)
        + (256 + 512)
        + 5 * (512 + 512)
        + (512 + 1024)
        + (1024 + 1024)
        == 10_944
    )
    assert len(d.rows) == 27 and all(
        r.reasons == [f"bias: absent in A, present in B (+{r.params_difference} params)"] for r in d.rows
    )


def test_diff_missing_batch_norm(reference):
    d = _diff(reference, "no_first_bn")
    assert len(d.rows) == 1 and d.rows[0].a == ["conv1"] and d.params_difference == -2 * 32
    assert d.rows[0].reasons == ["batch norm: present in A, absent in B"]


def test_diff_fc_without_bias_then_batch_norm_without_scale(reference):
    d = _diff(reference, "fc_without_bias_bn_without_scale")
    (row,) = d.rows
    # −1000 bias, +1000 β: the same count, a different network
    assert row.params_difference == 0 and row.a[0] == "fc29"
    assert row.reasons == [
        "bias: present in A, absent in B (−1000 params)",
        "batch norm: absent in A, present without scale in B",
    ]


def test_diff_stride_as_printed_changes_the_shapes(reference, run):
    d = _diff(reference, "stride_as_printed")
    assert d.rows[0].a == ["dw26"] and d.rows[0].reasons == ["stride 1 vs 2"]
    assert d.rows[0].b_output_shape == [1024, 4, 4] and d.rows[0].a_output_shape == [1024, 7, 7]
    # the next 1 × 1 conv sees 4 × 4: 1024·1024·(49 − 16) fewer mult-adds
    assert d.rows[1].mult_adds_difference == -1024 * 1024 * 33
    code, out, _ = run("diff", "mobilenet_v1", f"{MOBILENETS}:stride_as_printed", "--format", "json")
    assert code == 1 and json.loads(out)["mult_adds"]["difference"] == d.mult_adds_difference


def test_diff_rounding_and_classes(reference):
    d = diff(side("mobilenet_v1@0.35"), side(f"{MOBILENETS}:divisible_035"))
    assert sum(r.params_difference for r in d.rows) == d.params_difference
    assert "int(32·0.35) = 11 in A, make_divisible(32·0.35, 8) = 16 in B" in d.rows[0].reasons[0]
    classes = _diff(reference, "tf_classes")
    assert classes.rows[0].reasons == ["classes: 1000 vs 1001"] and classes.params_difference == 1025
    relu6 = _diff(reference, "relu6_everywhere")
    assert relu6.rows[0].reasons == ["activation: relu in A, relu6 in B"] and relu6.params_difference == 0


def test_diff_missing_and_extra_rows():
    d = diff(side("mobilenet_v1"), side("mobilenet_v1_shallow"))
    missing = [r for r in d.rows if r.reasons[0].startswith("missing in B")]
    assert len(missing) == 10  # the shallow variant drops five separable blocks: 5 × (dw, pw)
    assert sum(r.params_difference for r in d.rows) == d.params_difference == 2_887_976 - 4_231_976


# -- bad model files: one line, exit 2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, words",
    [
        (f"{MODELS}/bad/syntax.py:Net", ["syntax.py:2: syntax error"]),
        (f"{MODELS}/bad/importerr.py:Net", ["loading it failed: ModuleNotFoundError", "no_such_package_xyz"]),
        (f"{MODELS}/bad/misc.py:broken", ["broken() failed: RuntimeError: weights file missing"]),
        (f"{MODELS}/bad/misc.py:Nope", ["has no 'Nope'", "Net"]),
        (f"{MODELS}/bad/misc.py:not_a_module", ["is a int, not an nn.Module"]),
        (f"{MODELS}/bad/misc.py:Net", ["forward pass failed on an input of 1×3×224×224", "RuntimeError"]),
        (f"{MODELS}/bad/missing.py:Net", ["does not exist"]),
    ],
)
def test_bad_model_files_are_one_line(run, ref, words):
    code, out, err = run("profile", ref, "--no-latency")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["profile", f"{CORPUS}:Grouped", "--input-shape", "8x16xsixteen", "--no-latency"],
            ["--input-shape must be"],
        ),
        (["profile", f"{CORPUS}:Grouped", "--alpha", "0.5", "--no-latency"], ["--alpha transforms a spec"]),
        (
            ["profile", "mobilenet_v1", "--input-shape", "3x224x224", "--no-latency"],
            ["--input-shape is for model files"],
        ),
        (["validate", f"{CORPUS}:Grouped"], ["validate checks specs", "archprof diff"]),
        (["diff", "mobilenet_v1@x", "vgg16"], ["SPEC@α,RESOLUTION"]),
    ],
)
def test_model_file_options_are_checked(run, argv, words):
    code, _out, err = run(*argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_configuration_rejects_what_is_not_a_model():
    with pytest.raises(ConfigError):
        archprof.profile(f"{MODELS}/bad/misc.py:not_a_module")


# -- found by a hostile try (each was a traceback, a silent exit, a wrong count or a wrong reason) ----------

HOSTILE = MODELS / "hostile"


def test_parameters_of_modules_that_never_run_are_counted(run):
    code, out, err = run(
        "profile", f"{HOSTILE}/odd.py:Unused", "--input-shape", "3x8x8", "--format", "json", "--no-latency"
    )
    assert code == 0, err
    data = json.loads(out)  # the file's print went to stderr, not into the JSON
    rows = {l["path"]: l for l in data["layers"]}
    # c: 3·3·3·8 + 8 = 224; never: 100·100 + 100 = 10,100, in a row that says it did not run
    assert data["totals"]["params"] == 224 + 10_100 and rows["never"]["params"] == 10_100
    assert "loading odd.py" in err


def test_conv1d_rows_are_channels_first():
    p = archprof.profile(f"{HOSTILE}/odd.py:Seq1d", input_shape=(4, 100))
    row = p.layers.iloc[0]
    # (100 − 5) / 2 + 1 = 48 positions, 8 channels; 5·(4/2)·8 + 8 = 88 params
    assert (row.out_c, row.out_h, row.params, row.mult_adds) == (8, 48, 88, 5 * 2 * 8 * 48)


@pytest.mark.parametrize(
    "name, words",
    [
        ("Nothing", ["nothing to count"]),
        ("Exits", ["called exit(0)"]),
    ],
)
def test_odd_models_are_one_line(run, name, words):
    code, out, err = run("profile", f"{HOSTILE}/odd.py:{name}", "--input-shape", "3x8x8", "--no-latency")
    assert code == 2 and out == "" and "Traceback" not in err
    for w in words:
        assert w in err, err


def test_each_model_file_imports_its_own_neighbours():
    d = diff(side(f"{HOSTILE}/a/net.py:Net", (3, 8, 8)), side(f"{HOSTILE}/b/net.py:Net", (3, 8, 8)))
    # a/blocks.py: 3·3·3·8 + 8 = 224; b/blocks.py: 3·3·3·32 + 32 = 896 — not the first one's cached
    assert (d.params_a, d.params_b) == (224, 896)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("backbone32", "output channels 16 vs 32"),  # a backbone has no classes to blame
        ("grouped", "groups 1 vs 2"),
        ("padded", "padding (1, 1, 1, 1) vs (2, 2, 2, 2)"),
    ],
)
def test_diff_names_the_difference_of_a_backbone(name, reason):
    d = diff(side(f"{HOSTILE}/odd.py:Backbone16", (4, 8, 8)), side(f"{HOSTILE}/odd.py:{name}", (4, 8, 8)))
    assert any(reason in r for row in d.rows for r in row.reasons), [row.reasons for row in d.rows]


def test_functional_convs_align_with_module_convs():
    # the same network written with nn.Conv2d and with F.conv2d: every functional conv is a row of its own
    d = diff(
        side(f"{HOSTILE}/functional.py:M2", (3, 16, 16)), side(f"{HOSTILE}/functional.py:F2", (3, 16, 16))
    )
    assert d.agree, [r.reasons for r in d.rows]


def test_diff_does_not_invent_a_width_multiplier():
    d = diff(side("vgg16"), side("mobilenet_v1"))
    assert not any("multiplier" in r for row in d.rows for r in row.reasons)
    assert sum(r.params_difference for r in d.rows) == d.params_difference
