"""The papers' comparators as built-in tables: exact parameter counts, the papers' tables, liveness, listing.

Oracles: REFERENCE.md's published parameter counts (torchvision / Caffe layouts), the
MobileNetV2 release table, hand arithmetic, and the running torch model (which tensors
are really alive).
"""

import json

import pytest

import archprof
from archprof import costs
from archprof.build import build_model, example_input, row_modules
from archprof.catalog import builtin_names, load
from archprof.shapes import resolve
from archprof.validate import run as validate_run

NEW = ("googlenet", "squeezenet1_0", "squeezenet1_1", "alexnet", "mobilenet_v2", "resnet18", "resnet50")


def test_builtins_are_listed():
    assert builtin_names() == sorted(("mobilenet_v1", "mobilenet_v1_shallow", "vgg16") + NEW)


@pytest.mark.parametrize(
    "name, params, mult_adds_g",
    [
        ("googlenet", 6_998_552, 1.58),  # BVLC Caffe layout, 5 × 5 branch, no aux classifiers
        ("squeezenet1_0", 1_248_424, 0.83),  # at 227 × 227, conv10 unpadded
        ("squeezenet1_1", 1_235_496, 0.35),
        ("alexnet", 60_965_224, 0.72),  # two towers: conv2, conv4, conv5 with groups = 2
        ("mobilenet_v2", 3_504_872, 0.30),
        ("resnet18", 11_689_512, 1.8),
        ("resnet50", 25_557_032, 4.1),
    ],
)
def test_published_parameter_counts(name, params, mult_adds_g):
    t = archprof.profile(name).totals
    assert t["params"] == params
    assert round(t["mult_adds"] / 1e9, 2 if mult_adds_g < 1 or name == "googlenet" else 1) == mult_adds_g


def test_alexnet_by_hand():
    rows = costs.count(load("alexnet")).set_index("path")
    # conv2: 5·5·(96/2)·256 + 256 = 307,456; conv4: 3·3·(384/2)·384 + 384 = 663,936
    assert rows.loc["conv2", "params"] == 5 * 5 * 48 * 256 + 256 == 307_456
    assert rows.loc["conv4", "params"] == 3 * 3 * 192 * 384 + 384
    assert rows.loc["conv1", ["out_h", "out_w"]].tolist() == [55, 55]  # (227 − 11) / 4 + 1
    assert rows.loc["fc6", "params"] == 6 * 6 * 256 * 4096 + 4096
    # without the towers: 62,378,344 (the "62.3 M" often quoted)
    ungrouped = (
        60_965_224
        + (5 * 5 * 96 * 256 - 5 * 5 * 48 * 256)
        + (3 * 3 * 384 * 384 - 3 * 3 * 192 * 384)
        + (3 * 3 * 384 * 256 - 3 * 3 * 192 * 256)
    )
    assert ungrouped == 62_378_344


def test_ceil_mode_pools_give_the_published_sizes():
    g = {r.path: r.out_shape for r in resolve(load("googlenet"))}
    assert [g[p][1] for p in ("pool1", "pool2", "pool3", "pool4")] == [56, 28, 14, 7]  # 112 → 56 needs ceil
    s = {r.path: r.out_shape for r in resolve(load("squeezenet1_0"))}
    assert s["conv1"][1:] == (111, 111) and s["maxpool1"][1:] == (55, 55) and s["conv10"] == (1000, 13, 13)


def test_mobilenet_v2_release_table_in_full():
    checks = [c for c in validate_run(["mobilenet_v2"], cross=False) if c.subject == "V2 release"]
    assert len(checks) == 22 + 6  # every MACs entry and every params entry of the release table
    assert all(c.verdict == "pass" for c in checks), [c for c in checks if c.verdict != "pass"]


def test_tables_8_and_9_have_honest_verdicts():
    checks = {
        (c.subject, c.check): c for c in validate_run(list(NEW) + ["mobilenet_v1", "vgg16"], cross=False)
    }
    assert checks[("Table 8", "GoogleNet: mult-adds")].verdict == "erratum"
    assert checks[("Table 9", "AlexNet: mult-adds")].verdict == "pass"  # 724.4 M, printed 720
    assert checks[("Table 9", "AlexNet: params (conv + FC weights)")].verdict == "pass"
    squeeze = checks[("Table 9", "Squeezenet: mult-adds")]
    assert squeeze.verdict == "erratum" and "FLOPs" in squeeze.why and squeeze.got == "832.67 M"
    assert checks[("Table 9", "Squeezenet: params (conv + FC weights)")].verdict == "pass"
    ratio = checks[
        ("Section 4.3", "0.50 MobileNet-160 vs SqueezeNet 1.0: times less computation (mult-adds)")
    ]
    # 832,667,936 / 76,524,800 = 10.88: the "22×" is FLOPs over mult-adds
    assert ratio.verdict == "erratum" and ratio.got == "10.88 ×"
    assert checks[("V2 Table 4", "MobileNetV2: mult-adds")].verdict == "pass"
    assert checks[("V2 Table 4", "MobileNetV2 (1.4): params (conv + FC weights)")].verdict == "erratum"
    assert not [c for c in checks.values() if c.verdict == "FAIL"]


def _graph_live_bytes(spec) -> dict[str, int]:
    """Liveness on torch's own graph of the built model: an oracle that does not read the spec's tree.

    torch.fx traces the model with every row module as one node (so a conv with its BN and
    ReLU is one value, as in archprof's rows), ShapeProp runs it to give every value's
    size, and a value is alive from the node that defines it to its last user.
    """
    from torch.fx import GraphModule, Tracer
    from torch.fx.passes.shape_prop import ShapeProp

    model = build_model(spec)
    rows = {p.replace("/", "."): p for p in row_modules(model, spec)}

    class RowTracer(Tracer):
        def is_leaf_module(self, m, qualname):
            return qualname in rows or super().is_leaf_module(m, qualname)

    graph = RowTracer().trace(model)
    gm = GraphModule(model, graph)
    ShapeProp(gm).propagate(example_input(spec))
    nodes = list(graph.nodes)
    last_use = {n: max((nodes.index(u) for u in n.users), default=i) for i, n in enumerate(nodes)}
    size = {n: n.meta["tensor_meta"].shape.numel() * 4 for n in nodes if "tensor_meta" in n.meta}
    live = {}
    for i, n in enumerate(nodes):
        if n.op == "call_module":
            live[rows[n.target]] = sum(b for m, b in size.items() if nodes.index(m) <= i <= last_use[m])
    return live


@pytest.mark.parametrize("name", ["googlenet", "squeezenet1_1", "mobilenet_v2", "resnet50"])
def test_peak_memory_follows_liveness_on_torchs_graph(name):
    spec = load(name)
    analytic = costs.count(spec)
    observed = _graph_live_bytes(spec)
    assert analytic["live_bytes"].tolist() == [observed[p] for p in analytic["path"]]
    assert costs.totals(analytic)["peak_activation_bytes"] == max(observed.values())


def test_list_gives_citations_and_parameter_counts(run):
    code, out, _ = run("list")
    assert code == 0
    line = next(l for l in out.splitlines() if l.strip("│┃ ").startswith("resnet50"))
    assert "25,557,032" in line
    assert "Szegedy" in out and "Iandola" in out and "Krizhevsky" in out and "Sandler" in out


def test_show_prints_block_rows_as_the_paper(run):
    code, out, _ = run("show", "googlenet")
    assert code == 0
    row = next(l for l in out.splitlines() if "inception3a" in l and "Inception" in l)
    assert "#1×1 64, #3×3 reduce 96, #3×3 128, #5×5 reduce 16, #5×5 32, pool proj 32" in row
    assert "28 × 28 × 192" in row and "28 × 28 × 256" in row


def test_compare_many_networks_with_a_pareto_front(run, tmp_path):
    html = tmp_path / "all.html"
    js = tmp_path / "all.json"
    code, out, err = run(
        "compare",
        "mobilenet_v1",
        "mobilenet_v2",
        "googlenet",
        "squeezenet1_0",
        "alexnet",
        "resnet18",
        "vgg16",
        "--no-latency",
        "--html",
        str(html),
        "--json",
        str(js),
    )
    assert code == 0, err
    for label in ("GoogLeNet-224", "SqueezeNet 1.0-227", "AlexNet-227", "ResNet-18-224", "MobileNetV2-224"):
        assert label in out
    data = json.loads(js.read_text())
    front = {c["label"] for c in data["configurations"] if c["pareto"]}
    # on accuracy vs mult-adds, among the reported configurations: the cheapest is on the front, and nothing
    # on it is beaten by another reported configuration in both
    reported = [c for c in data["configurations"] if c["reported_top1"] is not None]
    for c in reported:
        dominated = any(
            o["mult_adds"] <= c["mult_adds"]
            and o["reported_top1"] >= c["reported_top1"]
            and (o["mult_adds"], o["reported_top1"]) != (c["mult_adds"], c["reported_top1"])
            for o in reported
        )
        assert (c["label"] in front) == (not dominated), c["label"]
    assert "0.35 MobileNetV2-96" in front and "1.0 VGG16-224" not in front
    page = html.read_text(encoding="utf-8")
    assert "Pareto front" in page and "Szegedy" in page  # the papers' names come from the specs' headers
