"""The ONNX Runtime backend: the export is the same network, every row is timed or said to be fused, side by side.

Timings are asserted only in structure and in generous relations (the machine is shared
and loaded): per-row times exist and are positive, their sum is of the order of the
end-to-end time. The network check is exact in kind: ORT's outputs equal torch's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import torch

from archprof import backends
from archprof.backends import onnxruntime_cpu as ortb
from archprof.catalog import load
from archprof.measure import MeasureOptions, measure
from archprof.stats import summarize
from archprof.transforms import configure

QUICK = MeasureOptions(min_run_time=0.2, max_run_time=0.4, layer_run_time=0.2, isolated=False, memory=False)


@pytest.mark.parametrize(
    "ref, alpha, resolution",
    [("mobilenet_v1", 0.5, 128), ("resnet18", 0.5, 64), ("googlenet", 0.5, 96), ("squeezenet1_1", 1.0, 96)],
)
def test_ort_outputs_equal_torch_outputs(ref, alpha, resolution):
    # An independent check that the exported graph is the network archprof built: same weights, same input,
    # the same numbers out (float32 kernels differ in summation order only).
    spec = configure(load(ref), "base", alpha, resolution)
    model, x, rows = ortb._built(spec, 2)
    runner = ortb.OrtRunner(ortb._export(model, x), x.numpy(), rows, 1)
    with torch.inference_mode():
        expected = model(x).numpy()
    (got,) = runner.outputs()
    assert got.shape == expected.shape == (2, 1000, 1, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


@pytest.fixture(scope="module")
def mobilenet_measured():
    spec = load("mobilenet_v1")
    return spec, measure(spec, QUICK, backend="onnxruntime")


def test_every_mobilenet_row_has_an_ort_time(mobilenet_measured):
    spec, m = mobilenet_measured
    rows = [r.path for r in __import__("archprof.shapes", fromlist=["resolve"]).resolve(spec)]
    assert len(rows) == 30
    # MobileNetV1 has no op that ORT fuses across rows: each conv's BN and ReLU fold into its own node, so
    # every one of the 30 rows (27 convs, the pool, the FC, the softmax) has times of its own
    assert set(m.layer_ms) == set(rows) and not m.row_notes
    passes = len(m.hooked_end_to_end_ms)
    assert passes >= 5 and all(len(t) == passes and min(t) > 0 for t in m.layer_ms.values())
    # pass by pass, the rows' kernel times (and the unattributed ones) lie inside ORT's profiled run
    # (1 % and 0.05 ms for the profiler's whole-µs rounding) and are most of it
    for i, run_ms in enumerate(m.hooked_end_to_end_ms):
        kernels = sum(t[i] for t in m.layer_ms.values()) + m.unattributed_ms[i]
        assert 0.3 * run_ms < kernels <= run_ms * 1.01 + 0.05
    per_row = sum(summarize(t)["median_ms"] for t in m.layer_ms.values())
    e2e = summarize(m.end_to_end_ms)["median_ms"]
    # against the unprofiled end-to-end median, timed at another moment of a shared machine: only the order
    # of magnitude (a ms/µs mix-up would be 1000×)
    assert 0.1 * e2e < per_row < 10 * e2e
    env = m.environment
    assert env["backend"] == "onnxruntime" and env["ort_intra_op_threads"] == 1 and env["onnxruntime"]


def test_fused_nodes_spanning_rows_are_reported_not_split():
    # ResNet's residual add (with its ReLU) is fused by ORT into the conv before it: the conv's row carries the
    # time and says so; the add's row has no time of its own and says where it went.
    spec = configure(load("resnet18"), "base", 0.5, 64)
    m = measure(spec, QUICK, backend="onnxruntime")
    adds = [r for r in m.row_notes if r.endswith("/add")]
    assert len(adds) == 8  # 4 stages × 2 units
    for add in adds:
        owner = m.row_notes[add].removeprefix("fused into ")
        assert owner.startswith(add.rsplit("/", 1)[0] + "/")  # a conv of the same unit
        assert m.row_notes[owner] == f"fused: {owner} + {add}"
        assert add not in m.layer_ms and owner in m.layer_ms
    timed_or_noted = set(m.layer_ms) | set(m.row_notes)
    from archprof.shapes import resolve

    assert {r.path for r in resolve(spec)} <= timed_or_noted


def test_assign_fuses_into_the_producer_ort_runs_last():
    # A hand-made graph: two branch rows b and a (in that table order), their merge m, and d (an Identity).
    # ORT ran a's node, a reorder, then b's node, which absorbed m. m is fused into b, the producer that ran
    # last — not into a, the row just before m in the table. d runs nothing. The reorder maps to no row.
    from onnx import helper

    nodes = [
        helper.make_node("Relu", ["x"], ["/b/Relu_output_0"], name="/b/Relu"),
        helper.make_node("Relu", ["x"], ["/a/Relu_output_0"], name="/a/Relu"),
        helper.make_node("Add", ["/a/Relu_output_0", "/b/Relu_output_0"], ["y"], name="/m/Add"),
        helper.make_node("Identity", ["y"], ["z"], name="/d/Identity"),
    ]
    graph = helper.make_graph(nodes, "g", [], [])
    assign, notes = ortb._assign(graph, ["/a/Relu", "ReorderOutput", "/b/Relu"], ["b", "a", "m", "d"], {})
    assert assign == {"/a/Relu": "a", "ReorderOutput": None, "/b/Relu": "b"}
    assert notes["m"] == "fused into b" and notes["b"] == "fused: b + m"
    assert notes["d"].startswith("runs nothing") and "a" not in notes
    # a node ORT made and named otherwise maps by the tensor it writes
    assign, _ = ortb._assign(graph, ["Reorder_7"], ["b", "a", "m", "d"], {"Reorder_7": ["/a/Relu_output_0"]})
    assert assign == {"Reorder_7": "a"}


def test_scope_reads_module_paths_from_exported_names():
    # the TorchScript exporter writes one segment per module; a numbered child repeats its parent's segment
    assert ortb._scope("/0/0.0/0.0.0/Conv") == "0/0/0"
    assert (
        ortb._scope("/conv2_x/unit1/main/conv1/conv1.2/Relu_output_0_nchwc") == "conv2_x/unit1/main/conv1/2"
    )
    assert ortb._scope("fused /fc19/fc19.1/Gemm") == "fc19/1"
    assert ortb._scope("ReorderOutput") == ""


def test_assign_walks_from_a_named_tail_to_its_head():
    # conv → BN → ReLU of row c1 (one ORT Conv node named after the ReLU's output), conv of row c2, then an add
    # of c2's output and c1's (row m) with its ReLU (row r): ORT fuses them into c2's Conv. The Shape of c1's
    # output (shape arithmetic, folded away by ORT) belongs to no node.
    from onnx import helper

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["/c1/c1.0/Conv_output_0"], name="/c1/c1.0/Conv"),
        helper.make_node(
            "BatchNormalization", ["/c1/c1.0/Conv_output_0"], ["/c1/c1.1/BN_output_0"], name="/c1/c1.1/BN"
        ),
        helper.make_node("Relu", ["/c1/c1.1/BN_output_0"], ["/c1/c1.2/Relu_output_0"], name="/c1/c1.2/Relu"),
        helper.make_node("Shape", ["/c1/c1.2/Relu_output_0"], ["/m/Shape_output_0"], name="/m/Shape"),
        helper.make_node(
            "Conv", ["/c1/c1.2/Relu_output_0", "w2"], ["/c2/c2.0/Conv_output_0"], name="/c2/c2.0/Conv"
        ),
        helper.make_node(
            "Add", ["/c2/c2.0/Conv_output_0", "/c1/c1.2/Relu_output_0"], ["/m/Add_output_0"], name="/m/Add"
        ),
        helper.make_node("Relu", ["/m/Add_output_0"], ["/r/Relu_output_0"], name="/r/Relu"),
    ]
    graph = helper.make_graph(nodes, "g", [], [])
    profiled = ["/c1/c1.2/Relu_output_0_nchwc", "/c2/c2.0/Conv_output_0_nchwc"]
    assign, notes = ortb._assign(graph, profiled, ["c1", "c2", "m", "r"], {}, dict.fromkeys(profiled, "Conv"))
    assert assign == {"/c1/c1.2/Relu_output_0_nchwc": "c1", "/c2/c2.0/Conv_output_0_nchwc": "c2"}
    assert notes == {
        "c2": "fused: c2 + m + r",
        "m": "fused into c2",
        "r": "fused into c2",
    }  # c1: its own node


def test_model_file_rows_through_onnxruntime():
    # A user's MobileNet (tests/models/mobilenets.py): conv, BN and ReLU are three rows each (three modules).
    # The exporter folds the BN into the conv; ORT fuses the ReLU: one node runs the conv and ReLU rows.
    from archprof.api import configuration

    spec = configuration("tests/models/mobilenets.py:correct")
    m = measure(spec, QUICK, backend="onnxruntime")
    leaves = [r.path for r in spec.tree if not r.is_block]
    convs = [p for p in leaves if p.startswith("0/") and p.endswith("/0")]
    assert len(convs) == 27
    for conv in convs:
        relu = conv[:-1] + "2"
        assert conv in m.layer_ms and m.row_notes[conv] == f"fused: {conv} + {relu}"
        assert m.row_notes[relu] == f"fused into {conv}" and relu not in m.layer_ms
        assert m.row_notes[conv[:-1] + "1"].startswith("runs nothing")  # the BN, folded by the export
    assert set(leaves) <= set(m.layer_ms) | set(m.row_notes)  # every row timed or said why not


def test_cli_profile_with_onnxruntime(run):
    code, out, err = run(
        "profile",
        "mobilenet_v1",
        "--alpha",
        "0.25",
        "--resolution",
        "128",
        "--backend",
        "onnxruntime",
        "--format",
        "json",
        "--min-run-time",
        "0.1",
        "--no-isolated",
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["environment"]["backend"] == "onnxruntime" and d["environment"]["threads"] == 1
    assert d["latency"]["backend"] == "onnxruntime" and d["latency"]["end_to_end"]["median_ms"] > 0
    leaves = [l for l in d["layers"] if not l["is_block"]]
    assert len(leaves) == 30 and all(l["latency_ms"] > 0 for l in leaves)


def test_cli_compare_shows_both_backends(run, tmp_path):
    out_json = tmp_path / "c.json"
    code, out, err = run(
        "compare",
        "mobilenet_v1",
        "--alpha",
        "0.25",
        "--resolution",
        "128",
        "--backend",
        "torch,onnxruntime",
        "--max-rounds",
        "3",
        "--html",
        str(tmp_path / "c.html"),
        "--json",
        str(out_json),
    )
    assert code == 0, err
    assert "latency (torch)" in out and "latency (onnxruntime)" in out and "vs torch" in out
    config = json.loads(out_json.read_text(encoding="utf-8"))["configurations"][0]
    assert config["latency_ms"] > 0 and config["latency_ms_onnxruntime"] > 0
    assert config["latency_ratio_onnxruntime"] == pytest.approx(
        config["latency_ms_onnxruntime"] / config["latency_ms"]
    )


def test_without_onnxruntime_the_error_says_how_to_install(run, monkeypatch, tmp_path):
    monkeypatch.setattr(ortb, "available", lambda: False)
    code, out, err = run("profile", "mobilenet_v1", "--backend", "onnxruntime")
    assert code == 2 and out == "" and "pip install 'archprof[onnx]'" in err and len(err.splitlines()) == 1
    report = tmp_path / "r.html"
    code, _, err = run("compare", "mobilenet_v1", "--backend", "torch,onnxruntime", "--html", str(report))
    assert code == 2 and "pip install 'archprof[onnx]'" in err and not report.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["profile", "mobilenet_v1", "--backend", "tensorrt"], "unknown backend 'tensorrt'"),
        # with --no-latency nothing is measured: naming a backend at all contradicts it
        (
            ["profile", "mobilenet_v1", "--backend", "tensorrt", "--no-latency"],
            "--backend only applies to measuring",
        ),
        (
            ["compare", "mobilenet_v1", "--backend", "torch,tensorrt", "--no-latency"],
            "--backend only applies to measuring",
        ),
        (["profile", "mobilenet_v1", "--backend", "torch,onnxruntime"], "one backend"),
        (["compare", "mobilenet_v1", "--backend", "torch,torch"], "each once"),
        (["profile", "mobilenet_v1", "--backend", "onnxruntime", "--dtype", "float16"], "float32"),
        (["profile", "mobilenet_v1", "--backend", "onnxruntime", "--channels-last"], "torch option"),
    ],
)
def test_backend_errors(run, argv, words, tmp_path):
    if argv[0] == "compare":
        argv = [*argv, "--html", str(tmp_path / "x.html")]
    code, _, err = run(*argv)
    assert code == 2 and words in err and len(err.splitlines()) == 1


def test_backends_registry_names_both():
    assert set(backends.BACKENDS) == {"torch", "onnxruntime"}
    assert backends.names("torch, onnxruntime") == ["torch", "onnxruntime"]
