"""Training: determinism, exact resume of a killed run, EC behaviour, clear errors."""

import pytest
import torch

from sbnn.errors import CheckpointError, ConfigError
from sbnn.runs import RunDir
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import load_trained, train

QUICK = {"model.arch": "tfc", "optim.epochs": 3, "data.train_subset": 400, "data.test_subset": 200,
         "optim.batch_size": 64}


def cfg(**kv):
    values = {**QUICK, **kv}
    return TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])


class Killed(Exception):
    pass


def killer(after_epoch):
    def log(msg):
        if msg.startswith(f"epoch {after_epoch:3d}/"):
            raise Killed()
    return log


def state(run):
    return torch.load(run.path / "train" / "checkpoint.pt", weights_only=True)["model"]


@pytest.mark.parametrize("method", ["ab-closed", "ab-learned", "sd-bnn"])
def test_resume_after_a_kill_is_bit_identical(tmp_path, method):
    c = cfg(**{"quant.method": method, "quant.weight_ste": "ede", "quant.act_ste": "approxsign"})
    straight = RunDir(tmp_path / "straight")
    train(c, straight, log=lambda m: None)
    killed = RunDir(tmp_path / "killed")
    with pytest.raises(Killed):
        train(c, killed, log=killer(1))
    with pytest.raises(CheckpointError, match="--resume"):
        train(c, killed, log=lambda m: None)
    train(c, killed, resume=True, log=lambda m: None)
    a, b = state(straight), state(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_training_is_deterministic_and_idempotent(tmp_path):
    c = cfg()
    r1, r2 = RunDir(tmp_path / "a"), RunDir(tmp_path / "b")
    m1 = train(c, r1, log=lambda m: None)
    m2 = train(c, r2, log=lambda m: None)
    assert m1["test_acc"] == m2["test_acc"] and m1["train_loss"] == m2["train_loss"]
    msgs = []
    again = train(c, r1, log=msgs.append)  # already done: no retraining
    assert again["test_acc"] == m1["test_acc"] and "already trained" in msgs[0]
    model, cfg_loaded, meta = load_trained(r1)
    assert cfg_loaded == c and meta["dataset"] == "digits" and not model.training


def test_incompatible_resume_and_corrupted_checkpoint(tmp_path):
    run = RunDir(tmp_path / "r")
    train(cfg(), run, log=lambda m: None)
    with pytest.raises(CheckpointError, match="different config"):
        train(cfg(**{"quant.sparsity": 0.5}), run, resume=True, log=lambda m: None)
    ckpt = run.path / "train" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_trained(run)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(cfg(), RunDir(tmp_path / "empty"), resume=True, log=lambda m: None)


def test_learned_ec_reaches_the_target_ones_rate(tmp_path):
    c = cfg(**{"quant.method": "ab-learned", "quant.sparsity": 0.9, "quant.ec_gamma": 0.6, "model.arch": "sfc",
               "optim.epochs": 30, "data.train_subset": "null", "data.input": "multibit"})
    final = train(c, RunDir(tmp_path / "ec"), log=lambda m: None)
    assert 1 - final["sparsity"] <= 0.1 + 0.02  # ones-rate below EC + tolerance
    assert final["ec_penalty"] is not None and final["test_acc"] > 0.8


def test_closed_form_sparsity_is_exact_after_training(tmp_path):
    final = train(cfg(**{"quant.sparsity": 0.75}), RunDir(tmp_path / "cf"), log=lambda m: None)
    assert all(abs(v - 0.75) < 1e-3 for v in final["layer_sparsity"].values())


@pytest.mark.parametrize("bad", ["quant.sparsity=1.0", "quant.sparsity=-0.1", "model.arch=alexnet",
                                 "data.dataset=imagenet", "optim.epochs=0", "nonsense.key=1"])
def test_bad_config_values_are_one_line_errors(bad):
    with pytest.raises(ConfigError) as err:
        TrainConfig.resolve(overrides=[bad])
    assert "\n" not in str(err.value)
