"""Every architecture builds for every data set shape, trains a step, and is flagged for hardware."""

import pytest
import torch

from sbnn.errors import ConfigError
from sbnn.training.config import TrainConfig
from sbnn.training.models import PlainNet, build_model, layer_sparsity

SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def cfg(**kv):
    return TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in kv.items()])


@pytest.mark.parametrize("arch,width", [("tfc", 1), ("sfc", 1), ("lfc", 0.125), ("cnv", 0.25), ("vgg-small", 0.125),
                                        ("resnet20", 0.5), ("resnet18", 0.125)])
@pytest.mark.parametrize("data", list(SHAPES))
@pytest.mark.parametrize("method", ["bnn", "ab-closed", "ab-learned", "sd-bnn"])
def test_architectures_forward_backward(arch, width, data, method):
    c = cfg(**{"model.arch": arch, "model.width": width, "quant.method": method})
    torch.manual_seed(0)
    if arch == "vgg-small" and data == "mnist":  # 28 -> 14 -> 7: the third 2x2 pool has no even map
        with pytest.raises(ConfigError, match="even map"):
            build_model(c, SHAPES[data], 10, 255, 100)
        return
    model = build_model(c, SHAPES[data], 10, 255, 100)
    x = torch.randint(0, 256, (3, *SHAPES[data])).float()
    out = model(x)
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert model.hardware_ready == (arch not in ("resnet20", "resnet18"))
    sp = layer_sparsity(model)
    assert 0.0 <= sp["global"] <= 1.0


def test_cnv_padding_auto_is_valid_on_cifar_and_same_on_digits():
    big = build_model(cfg(**{"model.arch": "cnv", "model.width": 0.125}), (3, 32, 32), 10, 255, 100)
    small = build_model(cfg(**{"model.arch": "cnv", "model.width": 0.125}), (1, 8, 8), 10, 255, 100)
    assert all(b.pad is None for b in big.convs)
    assert all(b.pad is not None and b.pad.value in (-1.0, 0.0) for b in small.convs)


def test_binary_maps_are_padded_with_minus_one_and_pixels_with_zero():
    m = build_model(cfg(**{"model.arch": "cnv", "model.width": 0.125, "data.input": "multibit"}), (1, 8, 8), 10, 16, 5)
    assert isinstance(m, PlainNet)
    assert m.convs[0].pad.value == 0.0 and all(b.pad.value == -1.0 for b in m.convs[1:])
    m = build_model(cfg(**{"model.arch": "cnv", "model.width": 0.125}), (1, 8, 8), 10, 16, 5)
    assert m.convs[0].pad.value == -1.0


def test_impossible_valid_padding_is_a_clear_error():
    with pytest.raises(ConfigError, match="padding"):
        build_model(cfg(**{"model.arch": "cnv", "model.padding": "valid"}), (1, 8, 8), 10, 255, 100)


def test_first_last_sparsity_override():
    m = build_model(cfg(**{"model.arch": "tfc", "quant.sparsity": 0.9, "quant.first_last_sparsity": 0.5}),
                    (1, 8, 8), 10, 16, 5)
    sp = layer_sparsity(m)
    assert sp["dense.0.layer"] == pytest.approx(0.5, abs=1e-3) and sp["dense.3.layer"] == pytest.approx(0.5, abs=1e-2)
    assert sp["dense.1.layer"] == pytest.approx(0.9, abs=1e-3)
