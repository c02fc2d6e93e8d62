"""The learned {alpha, beta} domain's training pieces (training/learned.py) and the per-step cache of the
closed-form bits: the faithful mode is the official start, the ramp gives the documented targets, the
projection ends at exactly the counts it promised, and caching changes nothing but the time."""

import json

import pytest
import torch

from sbnn.runs import METRICS, RunDir
from sbnn.training import formulas, quantizers
from sbnn.training.config import TrainConfig
from sbnn.training.learned import ECPenalty, init_learned, learned_layers, param_groups, projecting, projection_counts
from sbnn.training.models import binary_layers
from sbnn.training.trainer import evaluate, load_trained, model_from_meta, prepare_data, train

QUICK = {"model.arch": "tfc", "optim.epochs": 3, "data.train_subset": 300, "data.test_subset": 200,
         "optim.batch_size": 64}


def cfg(**kv) -> TrainConfig:
    values = {**QUICK, **kv}
    return TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])


def fresh_model(c: TrainConfig, seed: int = 0):
    torch.manual_seed(seed)
    return model_from_meta(c, prepare_data(c).meta)


def history(run: RunDir) -> list[dict]:
    return json.loads((run.path / "train" / METRICS).read_text())["history"]


@pytest.mark.parametrize("s", [0.5, 0.75, 0.9, 0.95])
def test_faithful_mode_is_the_official_start_and_schedule(s):
    """ab-learned: PyTorch's latent weights untouched, tau 1 / phi 0, one learning rate, the official gamma
    for the target ones-rate, no ramp, one pooled target, no projection epoch."""
    c = cfg(**{"quant.method": "ab-learned", "quant.sparsity": s, "optim.epochs": 4})
    plain, model = fresh_model(c), fresh_model(c)
    init_learned(model, c)
    layers = learned_layers(model)
    assert len(layers) == len(binary_layers(model)) == 4
    for (layer, q), (ref, _) in zip(layers, learned_layers(plain)):
        assert torch.equal(layer.weight, ref.weight)
        assert float(q.tau.detach()) == 1.0 and float(q.phi.detach()) == 0.0 and not q.exact
    groups = param_groups(model, c)
    assert [g.get("lr", c.optim.lr) for g in groups] == [c.optim.lr, c.optim.lr]
    assert not any(projecting(c, e) for e in range(c.optim.epochs + 1))
    ec = ECPenalty(model, c)
    assert ec.scope == "global" and ec.gamma == pytest.approx(formulas.official_ec_gamma(round(1 - s, 12)))
    assert ec.global_target == pytest.approx(1 - s)
    assert [ec.target(p) for p in (0.0, 0.5, 3.0)] == [ec.global_target] * 3


@pytest.mark.parametrize("s", [0.75, 0.9])
def test_tuned_mode_starts_at_the_target_and_projects_the_last_epoch(s):
    c = cfg(**{"quant.method": "ab-learned-tuned", "quant.sparsity": s, "optim.epochs": 4})
    model = fresh_model(c)
    init_learned(model, c)
    for layer, q in learned_layers(model):
        zeros = int((~formulas.positive_bits(layer.weight)).sum())
        assert zeros == round(q.sparsity * layer.weight.numel())  # the quantile start: exactly the target
    assert [projecting(c, e) for e in range(4)] == [False, False, False, True]


@pytest.mark.parametrize("ramp", [1.0, 2.5])
def test_ec_ramp_targets_in_the_penalty_and_in_the_metrics(tmp_path, ramp):
    """The pooled target goes linearly from 0.5 to the count-weighted target over ``ramp`` epochs; the
    metrics record the target at each epoch's end."""
    c = cfg(**{"quant.method": "ab-learned", "quant.sparsity": 0.9, "quant.first_last_sparsity": 0.5,
               "quant.ec_ramp_epochs": ramp, "optim.epochs": 3})
    model = fresh_model(c)
    ec = ECPenalty(model, c)
    sizes = [layer.weight.numel() for layer in binary_layers(model)]
    ones = [0.5, 0.1, 0.1, 0.5]
    target = sum(n * e for n, e in zip(sizes, ones)) / sum(sizes)
    assert ec.global_target == pytest.approx(target, abs=1e-12)
    for p in (0.0, 0.25 * ramp, 0.5 * ramp, ramp, ramp + 1):
        want = 0.5 + (target - 0.5) * min(p, ramp) / ramp
        assert ec.target(p) == pytest.approx(want, abs=1e-12)
    run = RunDir(tmp_path / "ramp")
    train(c, run, log=lambda m: None)
    got = [h["ec"]["target"] for h in history(run)]
    assert got == pytest.approx([0.5 + (target - 0.5) * min(e, ramp) / ramp for e in (1, 2, 3)], abs=1e-12)


def test_layer_scope_ramps_every_layer_to_its_own_target():
    c = cfg(**{"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9, "quant.ec_scope": "layer",
               "quant.ec_ramp_epochs": 2.0, "quant.ec_gamma": 0.5})
    model = fresh_model(c)
    ec = ECPenalty(model, c)
    loss = torch.tensor(1.0)
    # at progress 0 every layer's target is 0.5: a ones-rate of 0.5 costs nothing, 0.6 costs
    with torch.no_grad():
        for layer, _ in ec.layers:
            layer.weight.copy_(torch.linspace(-1, 1, layer.weight.numel()).reshape(layer.weight.shape))
    pen, ones = ec(loss, 0.0)
    assert float(pen.detach()) == 0.0
    assert [float(o.detach()) for o in ones] == pytest.approx([n / 2 for n in ec.totals], abs=1)
    pen_late, _ = ec(loss, 2.0)  # the same ones-rate against the 0.1 targets: penalised, gamma/(1-gamma) * L
    assert float(pen_late.detach()) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("counts", ["layer", "learned"])
def test_projection_gives_exactly_the_target_zero_count_in_every_layer(tmp_path, counts):
    """After training with a projection epoch, the trained model's bits (read back from the checkpoint)
    have exactly the projection's counts: per layer for "layer", in total for "learned"."""
    c = cfg(**{"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9, "quant.project_counts": counts,
               "quant.project_epochs": 1, "optim.epochs": 2, "quant.ec_gamma": 0.3})
    run = RunDir(tmp_path / "p")
    train(c, run, log=lambda m: None)
    model, _, _ = load_trained(run)
    layers = learned_layers(model)
    zeros = [int((~q.bits(layer.weight)).sum()) for layer, q in layers]
    targets = [round(0.9 * layer.weight.numel()) for layer, _ in layers]
    assert sum(zeros) == sum(targets)
    if counts == "layer":
        assert zeros == targets
    assert all(q.exact for _, q in layers)
    # the bits are the closed form's mask at those counts: the smallest latent weights are the zeros
    for (layer, q), k in zip(layers, zeros):
        assert torch.equal(q.bits(layer.weight), formulas.exact_count_bits(layer.weight, k / layer.weight.numel()))


def test_learned_projection_counts_follow_what_the_layers_learned():
    c = cfg(**{"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9, "quant.project_counts": "learned"})
    model = fresh_model(c)
    layers = learned_layers(model)
    wanted = [0.95, 0.85, 0.9, 0.6]  # a learned allocation away from the 0.9 targets
    with torch.no_grad():
        for (layer, _), s in zip(layers, wanted):
            layer.weight.sub_(formulas.quantile_shift(layer.weight, s))
    got = projection_counts(model, c)
    sizes = [layer.weight.numel() for layer, _ in layers]
    assert sum(got) == sum(round(0.9 * n) for n in sizes)
    current = [round(s * n) for s, n in zip(wanted, sizes)]
    # the gap to the total is spread over the layers, none moves by more than its share plus rounding
    gap = sum(got) - sum(current)
    for g, cur, n in zip(got, current, sizes):
        assert abs((g - cur) - gap * n / sum(sizes)) <= 1.0 + 1e-9


def _uncached(monkeypatch):
    monkeypatch.setattr(quantizers._PerStepCache, "get", lambda self, w, compute: compute())


@pytest.mark.parametrize("method", ["ab-closed", "ab-learned-tuned"])
def test_cached_training_is_bit_identical_to_uncached(tmp_path, monkeypatch, method):
    """The per-step cache of the closed-form bits (and of the projection's mask) only saves time: a run
    with it and one that recomputes on every forward end with the same weights and the same metrics."""
    c = cfg(**{"quant.method": method, "quant.sparsity": 0.9, "optim.epochs": 2})
    cached = RunDir(tmp_path / "cached")
    m1 = train(c, cached, log=lambda m: None)
    with monkeypatch.context() as mp:
        _uncached(mp)
        plain = RunDir(tmp_path / "plain")
        m2 = train(c, plain, log=lambda m: None)
    a = torch.load(cached.path / "train" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(plain.path / "train" / "checkpoint.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    drop = {"seconds"}
    assert {k: v for k, v in m1.items() if k not in drop} == {k: v for k, v in m2.items() if k not in drop}
    model, _, _ = load_trained(cached)
    x = prepare_data(c).x_test[:50]
    with torch.no_grad():
        y1 = model(x)
        _uncached(monkeypatch)
        assert torch.equal(y1, model(x))


def test_closed_form_sorts_once_per_optimizer_step(tmp_path, monkeypatch):
    """Counting the closed form's level computations: one per optimizer step and one per evaluation (the
    first forward of an epoch reuses the evaluation's, the weights being unchanged), per layer."""
    calls = []
    original = quantizers.ClosedFormWeightQuant._quantized
    monkeypatch.setattr(quantizers.ClosedFormWeightQuant, "_quantized",
                        lambda self, w: calls.append(id(self)) or original(self, w))
    epochs, subset, batch = 2, 300, 64
    c = cfg(**{"quant.method": "ab-closed", "quant.sparsity": 0.9, "optim.epochs": epochs,
               "data.train_subset": subset, "optim.batch_size": batch})
    train(c, RunDir(tmp_path / "count"), log=lambda m: None)
    steps = -(-subset // batch)  # the last batch is partial
    per_layer = {i: calls.count(i) for i in set(calls)}
    assert len(per_layer) == 4
    assert set(per_layer.values()) == {epochs * steps + 1}
    # evaluation in several batches computes once for all of them
    model, _, _ = load_trained(RunDir(tmp_path / "count"))
    data = prepare_data(c)
    calls.clear()
    acc, _ = evaluate(model, data.x_test, data.y_test, batch=50)
    assert len(data.x_test) == 200 and 0 < acc <= 1
    assert sorted(calls.count(i) for i in set(calls)) == [1, 1, 1, 1]
    with monkeypatch.context() as mp:  # without the cache: once per batch
        _uncached(mp)
        calls.clear()
        evaluate(model, data.x_test, data.y_test, batch=50)
        assert sorted(calls.count(i) for i in set(calls)) == [4, 4, 4, 4]
