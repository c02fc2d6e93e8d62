"""Shared fixtures: tiny trained runs (seconds on digits) and foreign Brevitas bnn_pynq exports."""

import warnings

import pytest
import torch

from sbnn.runs import RunDir
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import train


@pytest.fixture(scope="session")
def trained_run():
    """Factory: train a tiny model (seconds) into a run directory."""
    return _trained_run


def _trained_run(path, **overrides) -> RunDir:
    values = {"model.arch": "tfc", "optim.epochs": 2, "data.train_subset": 300, "optim.batch_size": 64, **overrides}
    cfg = TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])
    run = RunDir(path)
    train(cfg, run, log=lambda m: None)
    return run


@pytest.fixture(scope="session")
def bnn_pynq(tmp_path_factory):
    """Export FINN's reference topologies (random weights) with Brevitas, the standard way."""
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    out = {}
    folder = tmp_path_factory.mktemp("bnn_pynq")

    def make(name: str):
        if name not in out:
            torch.manual_seed(0)
            model, _ = model_with_cfg(name, pretrained=False)
            model.eval()
            shape = (1, 1, 28, 28) if "fc" in name else (1, 3, 32, 32)
            path = folder / f"{name}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_qonnx(model, input_t=torch.rand(shape), export_path=str(path), dynamo=False)
            out[name] = path
        return out[name]

    return make
