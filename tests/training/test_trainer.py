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


#: the tuned learned mode with every option that has state across epochs: ramp, per-layer EC, quantile and
#: level start, own level LR, and a projection epoch at the end
TUNED = {"quant.method": "ab-learned-tuned", "quant.learned_init": "quantile", "quant.level_init": "closed",
         "quant.ec_ramp_epochs": 1.5, "quant.ec_scope": "layer", "quant.level_lr": 3.0, "quant.project_epochs": 2,
         "quant.project_counts": "learned", "quant.ec_gamma": 0.3}


@pytest.mark.parametrize("method", ["ab-closed", "ab-learned", "sd-bnn", "tuned"])
def test_resume_after_a_kill_is_bit_identical(tmp_path, method):
    extra = TUNED if method == "tuned" else {"quant.method": method}
    c = cfg(**{**extra, "quant.weight_ste": "ede", "quant.act_ste": "approxsign"})
    straight = RunDir(tmp_path / "straight")
    train(c, straight, log=lambda m: None)
    killed = RunDir(tmp_path / "killed")
    with pytest.raises(Killed):  # the tuned run is killed inside its projection (epochs 2-3)
        train(c, killed, log=killer(2 if method == "tuned" else 1))
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


@pytest.mark.parametrize("counts", ["layer", "learned"])
def test_projection_ends_at_the_exact_counts_and_the_trained_model_keeps_them(tmp_path, counts):
    from sbnn.training.models import binary_layers, layer_sparsity

    c = cfg(**{**TUNED, "quant.sparsity": 0.9, "quant.first_last_sparsity": 0.5, "optim.epochs": 2,
               "quant.project_epochs": 1, "quant.project_counts": counts, "quant.ec_scope": "global"})
    run = RunDir(tmp_path / "p")
    final = train(c, run, log=lambda m: None)
    model, _, _ = load_trained(run)  # rebuilt with the exact-count mask and the run's counts
    sizes = [layer.weight.numel() for layer in binary_layers(model)]
    targets = [round(s * n) for s, n in zip([0.5, 0.9, 0.9, 0.5], sizes)]
    zeros = [round(v * n) for v, n in zip(final["layer_sparsity"].values(), sizes)]
    assert sum(zeros) == sum(targets)
    if counts == "layer":
        assert zeros == targets
    loaded = layer_sparsity(model)
    assert loaded["global"] == final["sparsity"]
    assert {k: v for k, v in loaded.items() if k != "global"} == final["layer_sparsity"]


def test_learned_diagnostics_are_in_the_metrics(tmp_path):
    c = cfg(**{"quant.method": "ab-learned", "quant.sparsity": 0.9, "quant.ec_gamma": 0.5, "optim.epochs": 2})
    train(c, RunDir(tmp_path / "d"), log=lambda m: None)
    import json

    hist = json.loads((tmp_path / "d" / "train" / "metrics.json").read_text())["history"]
    for h in hist:
        assert set(h["layers"]) == set(h["layer_sparsity"])
        for rec in h["layers"].values():
            assert 0 <= rec["flipped"] <= 1 and {"tau", "phi", "alpha", "beta", "ratio", "ce_grad", "adam_rms"} <= set(rec)
            assert abs(rec["alpha"] - (rec["phi"] - rec["tau"])) < 0.05  # snapped levels near phi -+ tau
        assert 0 < h["ec"]["active_steps"] <= 1 and abs(h["ec"]["share"] - 0.5 * h["ec"]["active_steps"]) < 0.26
        assert h["ec"]["target"] == pytest.approx(0.1)
    assert hist[0]["layers"]["dense.0.layer"]["flipped"] > 0


def test_learned_starts_follow_the_options(tmp_path):
    from sbnn.training.learned import init_learned, learned_layers
    from sbnn.training.trainer import model_from_meta, prepare_data

    c = cfg(**{"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9, "quant.first_last_sparsity": 0.5,
               "quant.learned_init": "quantile", "quant.level_init": "closed"})
    data = prepare_data(c)
    torch.manual_seed(0)
    model = model_from_meta(c, data.meta)
    init_learned(model, c)
    for layer, q in learned_layers(model):
        zeros = float((layer.weight <= 0).float().mean())
        assert abs(zeros - q.sparsity) < 2 / layer.weight.numel() + 1e-9
        alpha, beta = (float(v.detach()) for v in q.levels())
        ratio = alpha / (beta - alpha)
        assert abs(ratio + (1 - q.sparsity)) < 0.06  # ~ -(1 - s) for PyTorch's uniform start
        assert float(q.tau.detach()) == 1.0
    official = cfg(**{"quant.method": "ab-learned", "quant.sparsity": 0.9})
    assert official.quant.learned("ec_gamma") == pytest.approx(0.04)
    assert official.quant.learned("learned_init") == "official" and official.quant.learned("project_epochs") == 0
