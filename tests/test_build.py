"""The built torch model agrees with the analytic counts, layer by layer.

Oracles: ``sum(p.numel())`` and the tensors' bytes of each named child, and fvcore's
traced conv + linear count (one fused multiply-add = one flop in fvcore).
"""

import pytest
import torch

from archprof import costs
from archprof.build import build_model, example_input
from archprof.catalog import load
from archprof.crosscheck import crosscheck

ALPHAS = (1.0, 0.75, 0.5, 0.25)
RESOLUTIONS = (224, 192, 160, 128)
REFS = (
    "mobilenet_v1",
    "mobilenet_v1:standard",
    "mobilenet_v1_shallow",
    "mobilenet_v1_shallow:standard",
    "vgg16",
)


def configured(ref, alpha, resolution):
    from archprof.transforms import configure

    name, _, variant = ref.partition(":")
    return configure(load(name), variant or "base", alpha, resolution)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("ref", REFS)
def test_built_model_matches_counts_layer_by_layer(ref, alpha, resolution):
    spec = configured(ref, alpha, resolution)
    analytic = costs.count(spec)
    traced = crosscheck(spec)
    assert list(traced["path"]) == list(analytic["path"])
    assert list(traced["params"]) == list(analytic["params"])
    assert list(traced["weight_bytes"]) == list(analytic["weight_bytes"])
    assert list(traced["mult_adds"]) == list(analytic["mult_adds"])


@pytest.mark.parametrize("ref", ("mobilenet_v1", "vgg16"))
def test_output_shapes_match_inferred_shapes(ref):
    # Run the real (initialised) model and compare every child's output with the inferred shape.
    spec = configured(ref, 0.25, 128)
    model = build_model(spec)
    analytic = costs.count(spec)
    x = example_input(spec)
    with torch.inference_mode():
        for (name, child), row in zip(model.named_children(), analytic.itertuples()):
            x = child(x)
            assert name == row.name
            assert tuple(x.shape) == (1, row.out_c, row.out_h, row.out_w)
    assert torch.allclose(x.sum(), torch.tensor(1.0))  # softmax over the classes


def test_model_is_in_eval_mode_with_spec_defaults():
    model = build_model(load("mobilenet_v1"))
    assert not model.training
    conv1 = model.conv1
    assert (
        conv1[0].bias is None
        and isinstance(conv1[1], torch.nn.BatchNorm2d)
        and isinstance(conv1[2], torch.nn.ReLU)
    )
    assert conv1[0].stride == (2, 2) and conv1[0].padding == (1, 1)
    assert model.dw2[0].groups == 32
    fc = model.fc29
    assert fc[1].bias is not None and not any(isinstance(m, torch.nn.ReLU) for m in fc)  # classifier: no ReLU
    vgg = build_model(load("vgg16"), device="meta")
    assert vgg.conv1[0].bias is not None and not any(isinstance(m, torch.nn.BatchNorm2d) for m in vgg.conv1)
    assert isinstance(vgg.dropout20, torch.nn.Dropout) and vgg.dropout20.p == 0.5
