"""The training loop: deterministic, resumable, with per-epoch metrics on disk.

Determinism: the model is initialised from ``torch.manual_seed(seed)``, batches are drawn from a
seeded ``torch.Generator``, and every state that influences later steps (model, optimizer, scheduler,
generator, global RNG) is checkpointed at each epoch boundary. Resuming therefore replays exactly the
steps an uninterrupted run would have taken, and the final state_dict is bit-identical.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn
from tqdm import tqdm

from sbnn import provenance, runlock
from sbnn.data import Dataset, load_dataset
from sbnn.errors import CheckpointError, TrainingError
from sbnn.runs import CHECKPOINT, CONFIG, METRICS, RunDir, write_json
from sbnn.training.checkpoint import config_diff, load_checkpoint, save_checkpoint
from sbnn.training.config import LEARNED_METHODS, TrainConfig
from sbnn.training.diagnostics import EpochDiagnostics
from sbnn.training.formulas import ede_schedule
from sbnn.training.learned import (
    ECPenalty,
    apply_projection_counts,
    init_learned,
    learned_layers,
    param_groups,
    projecting,
    projection_counts,
    set_mask_schedule,
)
from sbnn.training.models import binary_layers, build_model, layer_sparsity
from sbnn.training.ste import StePolicy


@dataclass
class Prepared:
    """Tensors and facts derived from the data set that the model depends on."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict


def prepare_data(cfg: TrainConfig, dataset: Dataset | None = None, progress: bool = False) -> Prepared:
    """Load the data set and derive the input threshold; images stay integer pixel values."""
    d = cfg.data
    ds = dataset or load_dataset(d.dataset, d.data_dir, download=d.download, progress=progress)
    xtr, ytr, xte, yte = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    if d.train_subset:
        xtr, ytr = xtr[: d.train_subset], ytr[: d.train_subset]
    if d.test_subset:
        xte, yte = xte[: d.test_subset], yte[: d.test_subset]
    threshold = d.input_threshold
    if threshold is None:
        threshold = int(round(float(ds.x_train.mean())))
    meta = {
        "dataset": ds.name,
        "in_shape": list(ds.shape),
        "classes": list(ds.classes),
        "pixel_max": int(ds.pixel_max),
        "input_threshold": int(threshold),
        "input": d.input,
    }
    return Prepared(torch.from_numpy(xtr.astype(np.float32)), torch.from_numpy(ytr),
                    torch.from_numpy(xte.astype(np.float32)), torch.from_numpy(yte), meta)


def model_from_meta(cfg: TrainConfig, meta: dict) -> nn.Module:
    return build_model(cfg, tuple(meta["in_shape"]), len(meta["classes"]), meta["pixel_max"], meta["input_threshold"])


def select_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise CheckpointError("optim.device=cuda but no CUDA device is available: use optim.device=auto or cpu")
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def set_ste_schedule(model: nn.Module, cfg: TrainConfig, epoch: int) -> None:
    k, t = ede_schedule(epoch, cfg.optim.epochs, cfg.quant.ede_t_min, cfg.quant.ede_t_max)
    for m in model.modules():
        if isinstance(m, StePolicy):
            m.set_ede(k, t)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop with 4 pixels of zero padding and random horizontal flip (CIFAR recipe)."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, x.shape[1], h, w + 8)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, x.shape[1], h, w)
    out = out.gather(3, cols)
    return torch.where(flip[:, None, None, None], out.flip(3), out)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) in eval mode."""
    model.eval()
    correct, loss = 0, 0.0
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    for i in range(0, len(x), batch):
        out = model(x[i : i + batch])
        loss += float(nn.functional.cross_entropy(out, y[i : i + batch], reduction="sum"))
        correct += int((out.argmax(1) == y[i : i + batch]).sum())
    return correct / max(1, len(x)), loss / max(1, len(x))


def train(cfg: TrainConfig, run: RunDir, *, resume: bool = False, force: bool = False, progress: bool = False,
          log: Callable[[str], None] = print, dataset: Dataset | None = None) -> dict:
    """Train (or resume) the run's model; returns the final metrics. Writes train/{config,checkpoint,metrics}
    and, after every epoch, train/manifest.json; holds the run's lock throughout."""
    with runlock.locked(run):
        return _train(cfg, run, resume=resume, force=force, progress=progress, log=log, dataset=dataset)


def _check_finite(value: float, what: str, epoch: int, cfg: TrainConfig) -> None:
    """Stop a diverged run before it writes a NaN model over the last good checkpoint."""
    if not math.isfinite(value):
        raise TrainingError(f"training diverged in epoch {epoch + 1}: {what} is {value} (optim.lr={cfg.optim.lr:g}): "
                            "lower optim.lr or check the data (nothing of this epoch was saved)")


def _train(cfg: TrainConfig, run: RunDir, *, resume: bool, force: bool, progress: bool, log: Callable[[str], None],
           dataset: Dataset | None) -> dict:
    out = run.stage("train")
    ckpt_path = out / CHECKPOINT
    cfg_dict = cfg.model_dump(mode="json")
    state = None
    if ckpt_path.exists() and not force:
        state = load_checkpoint(ckpt_path)
        try:  # compare resolved configs: fields added since the checkpoint take their defaults
            stored = TrainConfig.model_validate(state["config"]).model_dump(mode="json")
        except ValidationError:
            stored = state["config"]
        diff = config_diff(stored, cfg_dict)
        if diff:
            raise CheckpointError(
                f"{ckpt_path} was trained with a different config ({', '.join(diff[:5])} differ): "
                "use another --run, or --force to start over"
            )
        if state.get("done"):
            log(f"already trained: {ckpt_path} (use --force to train again)")
            return state["history"][-1] if state["history"] else {}
        if not resume:
            raise CheckpointError(
                f"{ckpt_path} holds an unfinished run (epoch {state['epoch']}/{cfg.optim.epochs}): "
                "pass --resume to continue it or --force to start over"
            )
    elif resume and not ckpt_path.exists():
        raise CheckpointError(f"nothing to resume: no checkpoint at {ckpt_path}")

    if cfg.optim.threads:
        torch.set_num_threads(cfg.optim.threads)
    data = prepare_data(cfg, dataset, progress)
    torch.manual_seed(cfg.optim.seed)
    model = model_from_meta(cfg, data.meta)
    if state is None:
        init_learned(model, cfg)
    steps_per_epoch = math.ceil(len(data.x_train) / cfg.optim.batch_size)
    gen = torch.Generator().manual_seed(cfg.optim.seed)
    history: list[dict] = []
    start = 0
    projection = None  # the learned layers' zero counts of the final projection, fixed when it starts
    if state is not None:
        if state["meta"] != data.meta:
            raise CheckpointError(f"{ckpt_path} was trained on different data ({state['meta']['dataset']}); cannot resume")
        # Brevitas re-creates quantizer parameters on load: the optimizer must be built afterwards
        _load_model_state(model, state["model"], ckpt_path)
    device = select_device(cfg.optim.device)
    model.to(device)
    optimizer = torch.optim.Adam(param_groups(model, cfg), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.optim.epochs * steps_per_epoch)
    if state is not None:
        try:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            gen.set_state(state["rng"]["generator"])
            torch.set_rng_state(state["rng"]["torch"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{ckpt_path} does not match this model: {str(exc).splitlines()[0][:160]}") from None
        history, start = list(state["history"]), int(state["epoch"])
        projection = state.get("projection")
        apply_projection_counts(model, projection)
        log(f"resuming {ckpt_path} at epoch {start + 1}/{cfg.optim.epochs}")

    learned = cfg.quant.method in LEARNED_METHODS
    ec = ECPenalty(model, cfg) if learned else None
    names = {id(m): n for n, m in model.named_modules()}
    learned_named = [(names[id(layer)], layer) for layer, _ in learned_layers(model)]
    latent = [layer.weight for layer in binary_layers(model)]
    for epoch in range(start, cfg.optim.epochs):
        t0 = time.perf_counter()
        model.train()
        set_ste_schedule(model, cfg, epoch)
        if projecting(cfg, epoch) and projection is None:
            projection = projection_counts(model, cfg)
            apply_projection_counts(model, projection)
        set_mask_schedule(model, cfg, epoch)
        penalised = learned and not projecting(cfg, epoch)
        diag = EpochDiagnostics(model)
        perm = torch.randperm(len(data.x_train), generator=gen)
        total_loss, correct, seen, penalty_sum = 0.0, 0, 0, 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.optim.epochs}", leave=False,
                   disable=not progress, unit="batch")
        for step in bar:
            idx = perm[step * cfg.optim.batch_size : (step + 1) * cfg.optim.batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]
            if cfg.data.augment:
                xb = _augment(xb, gen)
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            out_b = model(xb)
            loss = nn.functional.cross_entropy(out_b, yb)
            loss_value = float(loss.detach())
            _check_finite(loss_value, "the training loss", epoch, cfg)
            objective, pen, consts = loss, None, []
            if penalised:
                pen, ones = ec(loss, epoch + step / steps_per_epoch)
                objective = loss + pen
                penalty_sum += float(pen.detach())
                consts = diag.penalty_grads(pen, ones)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            diag.step(loss, pen, consts, learned_named)
            optimizer.step()
            scheduler.step()
            if cfg.optim.clamp:
                with torch.no_grad():
                    for w in latent:
                        w.clamp_(-cfg.optim.clamp, cfg.optim.clamp)
            total_loss += loss_value * len(idx)
            correct += int((out_b.argmax(1) == yb).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        bar.close()
        test_acc, test_loss = evaluate(model, data.x_test, data.y_test)
        _check_finite(test_loss, "the test loss", epoch, cfg)
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            _check_finite(float("nan"), "a weight", epoch, cfg)
        sp = layer_sparsity(model)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": total_loss / seen,
            "train_acc": correct / seen,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "sparsity": sp["global"],
            "layer_sparsity": {k: v for k, v in sp.items() if k != "global"},
            "ec_penalty": penalty_sum / steps_per_epoch if learned else None,
            "lr": scheduler.get_last_lr()[0],
            "seconds": time.perf_counter() - t0,
            **diag.finish(optimizer, ec.target(epoch + 1) if penalised else None),
        }
        history.append(metrics)
        done = epoch + 1 == cfg.optim.epochs
        cfg.save(out / CONFIG)  # with the checkpoint: a run that fails before its first epoch changes nothing
        save_checkpoint(ckpt_path, {
            "config": cfg_dict, "meta": data.meta, "epoch": epoch + 1, "done": done,
            "model": {k: v.cpu() for k, v in model.state_dict().items()}, "optimizer": _to_cpu(optimizer.state_dict()),
            "scheduler": scheduler.state_dict(),
            "rng": {"generator": gen.get_state(), "torch": torch.get_rng_state()}, "history": history,
            "projection": projection,
        })
        write_json(out / METRICS, {"meta": data.meta, "history": history, "final": history[-1] if done else None})
        provenance.record(out, "train", {}, [CHECKPOINT, METRICS, CONFIG], config=cfg)
        log(f"epoch {epoch + 1:3d}/{cfg.optim.epochs}  loss {metrics['train_loss']:.4f}  train {metrics['train_acc']:.4f}  "
            f"test {test_acc:.4f}  sparsity {sp['global']:.3f}  {metrics['seconds']:.1f}s")
    return history[-1]


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


def _load_model_state(model: nn.Module, state: dict, path) -> None:
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not match its model: {str(exc).splitlines()[0][:160]}") from None


def load_trained(run: RunDir) -> tuple[nn.Module, TrainConfig, dict]:
    """Rebuild the trained model of a run in eval mode, with its config and data meta."""
    ckpt = load_checkpoint(run.path / "train" / CHECKPOINT)
    try:
        cfg = TrainConfig.model_validate(ckpt["config"])
    except ValidationError as exc:  # the stored config is not one this sbnn understands
        raise CheckpointError(f"the checkpoint's config is not valid for this sbnn: {str(exc).splitlines()[0]}") from None
    if not ckpt.get("done"):
        raise CheckpointError(f"{run.path}/train/checkpoint.pt is unfinished (epoch {ckpt['epoch']}): resume training first")
    torch.manual_seed(cfg.optim.seed)
    model = model_from_meta(cfg, ckpt["meta"])
    _load_model_state(model, ckpt["model"], run.path / "train" / CHECKPOINT)
    apply_projection_counts(model, ckpt.get("projection"))
    set_mask_schedule(model, cfg, cfg.optim.epochs)
    model.eval()
    return model, cfg, ckpt["meta"]
