"""The sweep's shortcuts give the counts they stand for: the plan's memo, the α passes taken together, the
liveness sweep in blocks — each against the same sweep without it."""

from __future__ import annotations

import numpy as np
import pytest

from archprof import sweep
from archprof.catalog import builtin_names
from archprof.sweep import compile_plan, count_grid, plan_for
from archprof.transforms import with_resolution

COLUMNS = ("alpha", "resolution", "params", "paper_params", "mult_adds", "peak_activation_bytes")


def fresh(ref: str):
    """A plan of ``ref`` compiled anew: its memo empty."""
    return compile_plan(plan_for(ref).spec)


def same(a, b) -> None:
    for c in COLUMNS:
        x, y = getattr(a, c), getattr(b, c)
        assert x.dtype == y.dtype and x.tolist() == y.tolist(), c
    assert (a.skipped, a.exact_path, a.notes) == (b.skipped, b.exact_path, b.notes)


# grids with α that leave rows without channels (0.01) and sizes that collapse (8), overlapping in part
GRIDS = [
    ((0.25, 0.5, 0.75, 1.0, 1.4), (96, 160, 224)),
    ((0.01, 0.5, 0.6, 1.0, 1.3), (8, 160, 192, 224)),
    ((1.3, 0.35), (224, 300, 8)),
]


@pytest.mark.parametrize("ref", ["mobilenet_v1", "mobilenet_v2", "resnet50", "googlenet", "alexnet"])
def test_memoised_passes_count_what_a_fresh_plan_counts(ref, monkeypatch):
    plan = fresh(ref)
    warm = [count_grid(plan, a, r) for a, r in GRIDS]  # each later grid partly from the memo
    assert plan.memo.channels and plan.memo.sizes and plan.memo.bounds
    again = [count_grid(plan, a, r) for a, r in GRIDS]  # every pass from the memo
    monkeypatch.setattr(sweep, "MEMO_ENTRIES", 0)  # nothing kept: every pass computed in the call
    for (a, r), w, g in zip(GRIDS, warm, again):
        cold = count_grid(fresh(ref), a, r)
        same(w, cold)
        same(g, cold)


def test_a_full_memo_keeps_what_it_has_and_still_counts(monkeypatch):
    monkeypatch.setattr(sweep, "MEMO_ENTRIES", 2)
    plan = fresh("mobilenet_v1")
    got = count_grid(plan, (0.25, 0.5, 0.75, 1.0), (128, 160, 192))
    assert len(plan.memo.channels) == 2 and len(plan.memo.sizes) == 2
    monkeypatch.setattr(sweep, "MEMO_ENTRIES", 4096)
    same(got, count_grid(fresh("mobilenet_v1"), (0.25, 0.5, 0.75, 1.0), (128, 160, 192)))


def test_alphas_together_equal_one_alpha_at_a_time():
    # The channel pass over many α at once (the shape rules on arrays) against the pass of each α alone, on
    # every built-in spec: equal wherever it applies, and where a rule refuses arrays it declines (None).
    alphas = [round(0.005 + 0.0137 * i, 4) for i in range(145)] + [0.25, 0.5, 0.75, 1.0]
    together_somewhere = []
    for name in builtin_names():
        plan = fresh(name)
        together = sweep._channels_together(plan, alphas)
        if together is None:
            continue
        together_somewhere.append(name)
        for a in alphas:
            try:
                alone = sweep._channels(plan, a)
            except sweep._StructureChange:
                pytest.fail(
                    f"{name}: α = {a} changes a block's structure but the arrays' pass did not decline"
                )
            assert together[a] == (None if alone is None else tuple(alone)), (name, a)
    assert "mobilenet_v1" in together_somewhere  # the pass is exercised, not only declined


# Keras-style rows the built-ins lack: asymmetric zero padding, TF 'same' padding (its rule takes a max, so
# the arrays' pass applies it one resolution at a time), a ceil-mode pool, a non-square input
KERAS = (
    "- input: 225 × 193 × 3\n- conv: batch norm, relu, no bias\n\n"
    "| Type / Stride | Filter Shape | Options |\n|---|---|---|\n"
    "| Zero Pad / s1 | Pad 0, 1, 0, 1 | |\n"
    "| Conv / s2 | 3 × 3 × 3 × 8 | padding valid |\n"
    "| Conv dw / s1 | 3 × 3 × 8 dw | padding same |\n"
    "| Conv / s2 | 3 × 3 × 8 × 8 | padding same |\n"
    "| Max Pool / s2 | Pool 3 × 3 | ceil mode |\n"
    "| Conv / s2 | 5 × 5 × 8 × 8 |  |\n"
)


def test_resolutions_together_equal_one_resolution_at_a_time():
    # The size pass over many resolutions at once against the pass of each resolution alone, on every built-in
    # spec and the Keras rows above, at resolutions from 1 pixel (every map collapses) up: equal everywhere,
    # None exactly where a map collapses or branches stop lining up.
    from archprof.parse import parse_spec

    resolutions = list(range(1, 80)) + list(range(80, 420, 8))  # 224 among them
    plans = {name: fresh(name) for name in builtin_names()}
    plans["keras"] = compile_plan(parse_spec(KERAS, "k.md", "k"))
    collapsing = []
    for name, plan in plans.items():
        together = sweep._spatial_together(plan, resolutions)
        assert together is not None, name  # channels never depend on the resolution in these specs
        for r in resolutions:
            assert together[r] == sweep._spatial(plan, r), (name, r)
        assert together[224] is not None, name
        if None in together.values():
            collapsing.append(name)
    # both outcomes exercised (MobileNet's padded 3 × 3 convs keep even a 1-pixel input at 1 × 1)
    assert {"alexnet", "vgg16", "googlenet", "keras"} <= set(collapsing)
    keras = plans["keras"]
    assert sweep._spatial_together(keras, [225])[225][0][1:4] == (226, 112, 112)  # pad, valid s2, same s1


def test_size_pass_together_or_alone_counts_the_same(monkeypatch):
    # count_grid takes the arrays' pass from SIZES_TOGETHER new resolutions on: both sides of that line count
    # the same grid alike.
    alphas, resolutions = (0.25, 0.5, 1.0), tuple(range(32, 300, 4))
    for name in ("mobilenet_v1", "googlenet", "resnet50"):
        together = count_grid(fresh(name), alphas, resolutions)
        monkeypatch.setattr(sweep, "SIZES_TOGETHER", 10**9)
        same(count_grid(fresh(name), alphas, resolutions), together)
        monkeypatch.undo()


def test_liveness_sweep_in_blocks_equals_one_block(monkeypatch):
    # Large grids split the liveness sweep into blocks of α and resolutions; tiny blocks must give the same peaks.
    plan = fresh("googlenet")
    alphas, resolutions = (0.3, 0.5, 0.8, 1.0, 1.2), tuple(range(64, 256, 24))
    whole = count_grid(plan, alphas, resolutions)
    for elements in (1, plan.tensors * 3, plan.tensors * 20):
        monkeypatch.setattr(sweep, "PEAK_ELEMENTS", elements)
        same(count_grid(fresh("googlenet"), alphas, resolutions), whole)


def test_int64_bound_memo_does_not_carry_over_to_larger_dimensions():
    # The bound is kept per largest dimensions: a grid whose counts pass int64 after one that fitted still
    # counts as Python ints (VGG16 at α = 100, 100,000 pixels: 3.1e19 mult-adds).
    plan = compile_plan(with_resolution(plan_for("vgg16").spec, 224))
    small = count_grid(plan, (1.0,), (224,))
    assert small.mult_adds.dtype == np.int64
    big = count_grid(plan, (100.0, 1.0), (100_000, 224))
    assert big.mult_adds[0] > 2**63 and isinstance(big.mult_adds[0], int)
    assert big.mult_adds[-1] == small.mult_adds[0] == 15_470_264_320
