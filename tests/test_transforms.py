"""Width, resolution and standard-conv transforms: pure, checked, and the paper's scaling laws."""

import pytest

from archprof import costs
from archprof.catalog import load, split_ref
from archprof.errors import ConfigError
from archprof.shapes import resolve
from archprof.transforms import (
    configure,
    keras_round,
    rho_to_resolution,
    standard_conv,
    with_alpha,
    with_resolution,
)


def test_keras_rounding():
    assert [keras_round(c, 0.75) for c in (32, 64, 1000)] == [24, 48, 750]
    assert keras_round(1024, 0.25) == 256
    assert keras_round(10, 0.29) == 2  # int(2.9), not round
    assert keras_round(100, 0.29) == 28  # 0.29·100 = 28.999999999999996 in floating point, as in Keras


def test_alpha_leaves_image_channels_and_classes_alone():
    spec = with_alpha(load("mobilenet_v1"), 0.5)
    rows = resolve(spec)
    assert rows[0].in_shape == (3, 224, 224) and rows[0].out_shape == (16, 112, 112)
    assert rows[-2].in_shape == (512, 1, 1) and rows[-2].out_shape == (1000, 1, 1)
    assert spec.alpha == 0.5 and spec.label == "0.5 MobileNetV1-224"
    # the declared numbers of the file are dropped: they describe α = 1
    assert all(l.declared_in is None and l.declared_input is None for l in spec.layers)


def test_transforms_do_not_change_their_input():
    spec = load("mobilenet_v1")
    before = spec.layers
    with_alpha(spec, 0.25), with_resolution(spec, 128), standard_conv(spec)
    assert spec.layers == before and spec.layers[1].kind == "conv_dw" and spec.alpha == 1.0


@pytest.mark.parametrize("rho, resolution", [(1, 224), (0.857, 192), (0.714, 160), (0.571, 128)])
def test_rho_gives_the_papers_resolutions(rho, resolution):
    assert rho_to_resolution(load("mobilenet_v1"), rho) == resolution


def test_resolution_changes_mult_adds_not_params():
    spec = load("mobilenet_v1")
    base = costs.totals(costs.count(spec))
    for r in (192, 160, 128):
        t = costs.totals(costs.count(with_resolution(spec, r)))
        assert t["params"] == base["params"]
        # ~ρ²: feature maps are ceil(r/32)·… so the ratio is close to (r/224)², not exact
        assert t["mult_adds"] / base["mult_adds"] == pytest.approx((r / 224) ** 2, rel=0.02)


def test_vgg_params_grow_with_resolution_through_the_flatten():
    vgg = load("vgg16")
    small = costs.count(with_resolution(vgg, 192))
    # 192 → 6 × 6 × 512 after five pools: the first FC has 18,432·4,096 weights (+4,096 bias)
    assert small.loc[small["name"] == "fc19", "params"].item() == 6 * 6 * 512 * 4096 + 4096


def test_standard_conv_merges_every_dw_pw_pair():
    spec = standard_conv(load("mobilenet_v1"))
    kinds = [l.kind for l in spec.layers]
    assert "conv_dw" not in kinds and kinds.count("conv") == 14  # conv1 + 13 merged pairs
    rows = resolve(spec)
    assert [r.name for r in rows[:3]] == ["conv1", "conv2", "conv3"]
    assert (
        rows[1].layer.kernel == (3, 3)
        and rows[1].in_shape == (32, 112, 112)
        and rows[1].out_shape == (64, 112, 112)
    )
    assert rows[2].layer.stride == 2 and rows[2].out_shape == (128, 56, 56)
    assert spec.ref == "mobilenet_v1:standard"


def test_split_ref():
    assert split_ref("mobilenet_v1:standard") == ("mobilenet_v1", "standard")
    assert split_ref("mobilenet_v1") == ("mobilenet_v1", "base")
    assert split_ref("dir/my:spec.md") == ("dir/my:spec.md", "base")


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda s: with_alpha(s, 0), ["α must be a number greater than 0", "0"]),
        (lambda s: with_alpha(s, -0.5), ["greater than 0"]),
        (lambda s: with_alpha(s, float("nan")), ["greater than 0"]),
        (lambda s: with_alpha(s, 0.01), ["row 1", "32 × 0.01 < 1 channels"]),
        (lambda s: with_resolution(s, 0), ["whole number of pixels ≥ 1"]),
        (lambda s: rho_to_resolution(s, 0), ["ρ must be a number greater than 0"]),
    ],
)
def test_bad_configurations(call, words):
    with pytest.raises(ConfigError) as e:
        call(load("mobilenet_v1"))
    for w in words:
        assert w in str(e.value)


def test_resolution_too_small_names_the_collapsing_row():
    with pytest.raises(ConfigError) as e:
        with_resolution(load("vgg16"), 16)
    # 16 → 8 → 4 → 2 → 1 → the fifth 2×2 pool (row 18) has nothing left
    assert (
        "row 18" in str(e.value)
        and "collapses" in str(e.value)
        and "1 × 1 × 512 in gives 0 × 0 × 512" in str(e.value)
    )


def test_vgg_has_no_standard_variant():
    with pytest.raises(ConfigError, match="no depthwise conv"):
        configure(load("vgg16"), "standard")
