"""archprof validate: the paper's claims and the invariants hold, and a broken archprof is caught."""

import json
from dataclasses import replace

import pytest

from archprof import catalog, registry, validate
from archprof import parse as parse_module


@pytest.fixture
def fresh_caches():
    """Parsed specs and counts are cached; a test that breaks archprof must not see (or leave) stale ones.
    (The cross-check's cache stays: it is keyed by the spec itself and holds what torch built, which these
    tests do not break.)"""
    catalog._parse_cached.cache_clear()
    validate._layers.cache_clear()
    yield
    catalog._parse_cached.cache_clear()
    validate._layers.cache_clear()


def test_validate_all_builtins_passes(run):
    code, out, _err = run("validate", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["passed"] is True
    assert data["counts"].get("FAIL", 0) == 0
    checks = data["checks"]
    subjects = {c["subject"] for c in checks}
    assert {"mobilenet_v1", "mobilenet_v1:standard", "mobilenet_v1_shallow", "vgg16"} <= subjects
    assert {f"Table {n}" for n in range(1, 10)} <= subjects
    # every Table 6 row is its own check (4 α × mult-adds and params)
    assert len([c for c in checks if c["subject"] == "Table 6"]) == 8
    # the cross-check built every configuration of the default grids
    cross = [c for c in checks if c["section"] == "cross-check" and c["subject"] == "mobilenet_v1"]
    assert len(cross) == 3 and all(c["expected"].startswith("16 configurations") for c in cross)
    # the comparators too, MobileNetV2 over the release table's 6 α × 5 resolutions, and its standard variant
    for ref, n in (
        ("mobilenet_v2", 30),
        ("mobilenet_v2:standard", 30),
        ("googlenet", 1),
        ("resnet50", 1),
        ("alexnet", 1),
        ("squeezenet1_0", 1),
        ("squeezenet1_1", 1),
        ("resnet18", 1),
    ):
        cross = [c for c in checks if c["section"] == "cross-check" and c["subject"] == ref]
        assert len(cross) == 3 and all(c["expected"].startswith(f"{n} configuration") for c in cross), ref
        assert all(c["verdict"] == "pass" for c in cross), ref


def test_paper_errata_are_notes_with_the_computed_value():
    checks = validate.run(["mobilenet_v1"], cross=False)
    errata = {c.subject: c for c in checks if c.verdict == validate.ERRATUM}
    # (the MobileNetV2 paper's Table 4 prints 575 M for MobileNetV1: an erratum of that paper's)
    assert set(errata) == {"Table 1", "Table 2", "V2 Table 4"}
    assert errata["V2 Table 4"].got == "568.74 M" and "575" in errata["V2 Table 4"].why
    assert errata["Table 2"].expected == "1.19 %" and errata["Table 2"].got == "1.91 %"
    assert "4 × 4 × 1024" in errata["Table 1"].why


def test_vgg16_params_grow_with_resolution_and_validate_says_why(run):
    code, out, _ = run("validate", "vgg16", "--no-crosscheck", "--format", "json")
    assert code == 0
    checks = json.loads(out)["checks"]
    params = next(c for c in checks if c["check"] == "params do not change with resolution")
    assert params["verdict"] == "does not hold"
    assert "fc19" in params["why"] and "flattened 7 × 7 × 512" in params["why"]
    # 224 → 138,357,544; 192 → 6·6·512·4096 weights instead of 7·7·512·4096: 27,262,976 fewer
    assert "138,357,544, 111,094,568" in params["got"]
    from archprof import configuration, costs

    fc19 = {
        r: costs.count(configuration("vgg16", resolution=r)).set_index("name").loc["fc19", "params"]
        for r in (224, 192)
    }
    assert fc19[224] - fc19[192] == (49 - 36) * 512 * 4096
    # Table 8 prints 15300 M: conv layers only
    vgg = next(c for c in checks if c["subject"] == "Table 8" and c["check"] == "VGG 16: mult-adds")
    assert vgg["verdict"] == "note" and "15,346.63 M without fc" in vgg["got"]


def test_corrupted_cost_formula_fails(run, monkeypatch, fresh_caches):
    dw = registry.REGISTRY["conv_dw"]
    honest = dw.cost

    def corrupted(layer, s, o):
        c = honest(layer, s, o)
        return replace(c, mult_adds=c.mult_adds + 1)  # one extra mult-add per depthwise conv

    monkeypatch.setitem(registry.REGISTRY, "conv_dw", replace(dw, cost=corrupted))
    code, out, _ = run("validate", "mobilenet_v1", "--format", "json")
    assert code == 1
    data = json.loads(out)
    failed = [c for c in data["checks"] if c["verdict"] == "FAIL"]
    names = {c["check"] for c in failed}
    assert "analytic mult_adds = fvcore conv + linear, layer by layer" in names
    cross = next(c for c in failed if c["section"] == "cross-check")
    assert "dw2: analytic 3,612,673 vs torch 3,612,672" in cross["why"]


def test_alpha_applied_to_the_classifier_fails(run, monkeypatch, fresh_caches):
    # A broken spec decoder that forgets which layer is the classifier: α then narrows the
    # classes too (0.75 → 750 classes), and the paper's params no longer match.
    monkeypatch.setattr(parse_module, "_mark_classifier", lambda layers, header, own: layers)
    monkeypatch.setattr(parse_module, "_check_classes", lambda *a: None)
    code, out, _ = run("validate", "mobilenet_v1", "--no-crosscheck")
    assert code == 1
    assert "FAIL" in out and "0.75 MobileNet-224: params" in out
    checks = validate.run(["mobilenet_v1"], cross=False)
    failing = {(c.subject, c.check) for c in validate.failed(checks)}
    # 0.25: FC 256·250 = 64,000 weights instead of 256,000 → 0.27 M instead of 0.46 M
    assert ("Table 6", "0.25 MobileNet-224: params (conv + FC weights)") in failing


def test_validate_unknown_spec_is_one_line(run):
    code, _out, err = run("validate", "resnet152")
    assert code == 2 and "unknown spec 'resnet152'" in err and len(err.splitlines()) == 1
