"""``SweepConfig``: the grid of a sparsity sweep (saved as ``<root>/sweep.yaml``) and its expansion into points.

A sweep is methods x sparsity levels x architectures on one data set (x mask structures for ab-closed).
Not every combination is a network: the dense BNN has no sparsity knob (one point per architecture, at 0:
the reference every sparse point is compared with, there whether or not the levels list 0), SD-BNN's weight
self-distribution sets its own bit balance (one point per architecture), and the {alpha, beta} methods take
every level above 0. A listed method with no point is an error, not a silent omission.
Each point's name is ``<arch>-<method>[-<sparsity>]``, the same as ``benchmarks/train_fashion.py``'s run
directories, so a sweep can reuse that benchmark's trained networks (``reuse_train``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sbnn.config import StageConfig
from sbnn.ir import structure as mask_structure

Method = Literal["bnn", "ab-closed", "ab-learned", "sd-bnn", "ab-learned-tuned"]
Dataset = Literal["digits", "mnist", "fashion-mnist", "cifar10"]
#: the default grid's methods; "ab-learned-tuned" (the learned domain with sbnn's options, docs/learned-ab.md)
#: is selectable beside the faithful "ab-learned"
METHODS: tuple[str, ...] = ("bnn", "ab-closed", "ab-learned", "sd-bnn")


class ArchSpec(BaseModel):
    """One architecture of the grid: how to train it and the frames/s all its points are compared at."""

    model_config = ConfigDict(extra="forbid")

    #: dotted TrainConfig overrides for every point of this architecture (model.*, data.input, optim.epochs)
    train: dict[str, Any] = Field(default_factory=dict)
    #: extra overrides for the {alpha, beta} methods only (e.g. a denser first layer of a CNV)
    sparse_train: dict[str, Any] = Field(default_factory=dict)
    #: extra overrides for the points of the structure axis (e.g. row-structured first and last layers where
    #: the first conv's K = 9 inputs admit no N:M group)
    structured_train: dict[str, Any] = Field(default_factory=dict)
    #: common target frames/s: every point is also folded for this rate, so resources compare at equal speed
    target_fps: float = Field(gt=0)


def _default_archs() -> dict[str, ArchSpec]:
    return {
        # SFC-style MLP at a quarter width, binarized input (as FINN's SFC)
        "mlp": ArchSpec(train={"model.arch": "mlp", "model.hidden": [64, 64], "data.input": "binary",
                               "optim.epochs": 8}, target_fps=1_000_000),
        # CNV-style net scaled to 8x8 digits: conv 16,16, pool, FC 32, 8-bit (multibit) pixel input as FINN's CNV
        "cnv": ArchSpec(train={"model.arch": "cnv", "model.conv_channels": [16, 16], "model.pool_after": [1],
                               "model.fc": [32], "model.padding": "valid", "data.input": "multibit",
                               "optim.epochs": 8},
                        sparse_train={"quant.first_last_sparsity": 0.5}, target_fps=100_000),
    }


class SweepConfig(StageConfig):
    """The grid and the per-point pipeline options."""

    #: data set of every point; digits is embedded, the others are read from data_dir (never downloaded)
    dataset: Dataset = "digits"
    data_dir: str | None = None
    methods: list[Method] = Field(default_factory=lambda: list(METHODS))
    #: fractions of zero weight bits of the {alpha, beta} methods (levels > 0; the dense BNN is its own 0 point)
    sparsities: list[float] = Field(default_factory=lambda: [0.0, 0.5, 0.75, 0.9, 0.95])
    #: mask structures of the ab-closed points (sbnn.ir.structure): none, row and block:B take every sparsity
    #: level above 0; an N:M structure is one point at 1 - N/M zero bits
    structures: list[str] = Field(default_factory=lambda: ["none"])
    archs: dict[str, ArchSpec] = Field(default_factory=_default_archs)
    #: dotted TrainConfig overrides common to every point (applied before the architecture's)
    train: dict[str, Any] = Field(default_factory=lambda: {"optim.lr": 3e-3, "optim.batch_size": 128,
                                                           "optim.threads": 1, "optim.device": "cpu"})
    #: training epochs of every point (None: each architecture's optim.epochs)
    epochs: int | None = Field(default=None, ge=1)
    #: real inputs of the export's verification (and of the bit-exact accuracy)
    export_samples: int = Field(default=1000, ge=1)
    #: inputs of the RTL regression (Verilator) per point; 0 = none
    rtl_samples: int = Field(default=32, ge=0)
    #: synthesis clock for frames/s and the equal-throughput folding
    clock_mhz: float = Field(default=100.0, gt=0)
    #: run Yosys (False: RTL, folding and cycle model only; no resource figures)
    synth: bool = True
    #: also synthesize the design at the IR's own folding (False: only its RTL and cycle model; the IR's
    #: PE = SIMD = 1 turns a large layer into one huge weight ROM that takes Yosys a long time)
    synth_ir_folding: bool = True
    #: also fold and synthesize every point for its architecture's target_fps
    equal_throughput: bool = True
    #: MVU datapath of the equal-throughput designs: "auto" takes, per layer, the zero-skipping or the
    #: dense XNOR MVU (and the gather) with the smallest logic estimate that meets the target; "sparse"
    #: forces zero-skipping (the IR-folding design is always zero-skipping)
    fps_style: Literal["auto", "sparse", "dense"] = "auto"
    #: the equal-throughput designs' measured folding search (``sbnn synth --search``): synthesize the estimate's
    #: ``fps_search`` best foldings (and their per-layer mix) and keep the fewest LUTs among those meeting the
    #: clock by Yosys' timing estimate; 1: the estimate's own folding. The same for every point: equal effort
    fps_search: int = Field(default=1, ge=1, le=16)
    #: seconds before one synthesis is abandoned (the point then fails)
    synth_timeout: float | None = Field(default=1800, gt=0)
    #: a folder of run directories named like the points (e.g. runs/bench-fashion): a finished train/ whose
    #: config equals the point's is linked instead of trained again
    reuse_train: str | None = None

    @field_validator("sparsities")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("at least one sparsity level is needed")
        if any(not 0.0 <= s < 1.0 for s in v):
            raise ValueError(f"sparsity levels must be in [0, 1), got {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"sparsity levels repeat: {v}")
        return v

    @field_validator("structures")
    @classmethod
    def _structures(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one structure is needed (none = unstructured)")
        v = [mask_structure.canonical(s) for s in v]
        if len(set(v)) != len(v):
            raise ValueError(f"structures repeat: {v}")
        return v

    @model_validator(mode="after")
    def _grid(self) -> "SweepConfig":
        if not self.methods or not self.archs:
            raise ValueError("the grid needs at least one method and one architecture")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods repeat: {self.methods}")
        if self.dataset != "digits" and not self.data_dir:
            raise ValueError(f"dataset {self.dataset} is read from a data folder: pass --data-dir")
        if self.structures != ["none"] and "ab-closed" not in self.methods:
            raise ValueError("structures apply to the ab-closed method: add it to methods")
        have = {p["method"] for p in points(self)}
        for method in self.methods:
            if method not in have:
                raise ValueError(f"method {method} has no point: the {{alpha, beta}} methods take the sparsity levels "
                                 f"above 0{' (or an N:M structure)' if method == 'ab-closed' else ''}, and the levels "
                                 f"are {[_fmt(s) for s in self.sparsities]}; add a level above 0 or leave {method} out")
        return self


def _fmt(s: float) -> str:
    return f"{s:g}"


def points(cfg: SweepConfig) -> list[dict]:
    """Expand the grid: one dict per point (JSON-serialisable, so it travels to any executor)."""
    out: list[dict] = []
    for arch, spec in cfg.archs.items():
        for method in cfg.methods:
            if method in ("bnn", "sd-bnn"):
                levels = [0.0]
            else:
                levels = [s for s in cfg.sparsities if s > 0]
            for structure, s in _structured(method, levels, cfg.structures):
                name = f"{arch}-{method}" + (f"-{_fmt(s)}" if method.startswith("ab-") else "")
                if structure != "none":
                    st = mask_structure.parse(structure)
                    name = f"{arch}-{method}-{mask_structure.slug(st)}" + ("" if st.kind == "nm" else f"-{_fmt(s)}")
                values: dict[str, Any] = {"data.dataset": cfg.dataset, **cfg.train, **spec.train,
                                          "quant.method": method}
                if cfg.epochs is not None:
                    values["optim.epochs"] = cfg.epochs
                if cfg.dataset != "digits":
                    values.update({"data.data_dir": cfg.data_dir, "data.download": False})
                if method.startswith("ab-"):
                    values.update({"quant.sparsity": s, **spec.sparse_train})
                if method == "sd-bnn":
                    values["quant.asd"] = "static"
                point = {"name": name, "arch": arch, "method": method,
                         "sparsity": s if method.startswith("ab-") else None,
                         "train": values, "target_fps": spec.target_fps}
                if structure != "none":  # unstructured points keep their keys (and finished results)
                    values.update({"quant.structure": structure, **spec.structured_train})
                    point["structure"] = structure
                out.append(point)
    return out


def _structured(method: str, levels: list[float], structures: list[str]) -> list[tuple[str, float]]:
    """(structure, sparsity) pairs of one method: the structure axis applies to ab-closed only."""
    if method != "ab-closed":
        return [("none", s) for s in levels]
    out: list[tuple[str, float]] = []
    for structure in structures:
        st = mask_structure.parse(structure)
        if st.kind == "nm":
            out.append((structure, mask_structure.nm_zero_fraction(st.n, st.size)))
        else:
            out += [(structure, s) for s in levels]
    return out


def point_key(point: dict, cfg: SweepConfig) -> str:
    """Hash of everything that decides a point's results: a finished point is reused only if it matches."""
    relevant = {"point": point, "export_samples": cfg.export_samples, "rtl_samples": cfg.rtl_samples,
                "clock_mhz": cfg.clock_mhz, "equal_throughput": cfg.equal_throughput, "synth": cfg.synth,
                "synth_ir_folding": cfg.synth_ir_folding, "fps_style": cfg.fps_style}
    if cfg.fps_search != 1:  # keys of sweeps without a search stay what they were (their points stay done)
        relevant["fps_search"] = cfg.fps_search
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolve(yaml_path: str | os.PathLike | None, overrides: list[str], data_dir: str | None = None,
            **values: Any) -> SweepConfig:
    """Defaults <- YAML <- --set <- options; data_dir becomes absolute so point configs do not depend on cwd."""
    if data_dir is not None:
        values["data_dir"] = data_dir
    cfg = SweepConfig.resolve(yaml_path, overrides, **values)
    if cfg.data_dir is not None:
        cfg.data_dir = str(Path(cfg.data_dir).expanduser().resolve())
    return cfg
