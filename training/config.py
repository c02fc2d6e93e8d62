"""The training stage's configuration (saved as ``<run>/train/config.yaml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from sbnn.config import StageConfig
from sbnn.ir import structure as mask_structure

Method = Literal["bnn", "ab-closed", "ab-learned", "sd-bnn", "ab-learned-tuned"]
#: the learned {alpha, beta} domain: "ab-learned" as the official code trains it (faithful), "ab-learned-tuned"
#: with sbnn's options for short budgets at high sparsity (docs/learned-ab.md)
LEARNED_METHODS = ("ab-learned", "ab-learned-tuned")
Arch = Literal["tfc", "sfc", "lfc", "mlp", "cnv", "vgg-small", "resnet20", "resnet18"]
SteMode = Literal["identity", "clipped", "ede", "approxsign"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    #: digits (scikit-learn, embedded), mnist, fashion-mnist, cifar10
    dataset: Literal["digits", "mnist", "fashion-mnist", "cifar10"] = "digits"
    #: folder holding <dataset>/ files; default $SBNN_DATA_DIR or ~/.cache/sbnn/data
    data_dir: str | None = None
    #: download missing files from the official mirrors
    download: bool = True
    #: first-layer input: "binary" (pixel >= threshold -> +1) or "multibit" (raw integer pixels)
    input: Literal["binary", "multibit"] = "binary"
    #: binary input threshold in pixel units; None = mean pixel of the training set, rounded
    input_threshold: int | None = None
    #: random crop (pad 4) and horizontal flip, for CIFAR-10-size images
    augment: bool = False
    #: train on the first N training images only (quick runs and tests)
    train_subset: int | None = Field(default=None, ge=1)
    #: evaluate on the first N test images only
    test_subset: int | None = Field(default=None, ge=1)


class ModelConfig(_Section):
    arch: Arch = "tfc"
    #: hidden layer widths of an MLP (tfc/sfc/lfc presets: 64/256/1024 x 3)
    hidden: list[PositiveInt] | None = None
    #: conv widths and the conv indices followed by a 2x2 max-pool (cnv / vgg-small presets)
    conv_channels: list[PositiveInt] | None = None
    pool_after: list[NonNegativeInt] | None = None
    #: fully-connected widths after the convs
    fc: list[PositiveInt] | None = None
    #: conv padding: valid (FINN CNV), same (pad binary maps with -1), auto = valid if it fits
    padding: Literal["auto", "valid", "same"] = "auto"
    #: multiply every preset width by this factor (rounded, >= 1)
    width: float = Field(default=1.0, gt=0)
    #: score head: scalar TensorNorm (argmax-preserving, hardware gives the class) or per-class BN
    head: Literal["scalar", "bn"] = "scalar"


class QuantConfig(_Section):
    method: Method = "ab-closed"
    #: fraction of weight bits equal to 0 (the alpha level, skipped by the hardware); for the learned
    #: methods the EC target is 1 - sparsity (pooled over the layers: their count-weighted mean)
    sparsity: float = Field(default=0.75, ge=0.0, lt=1.0)
    #: sparsity of the first and last binary layers (None = same as sparsity)
    first_last_sparsity: float | None = Field(default=None, ge=0.0, lt=1.0)
    #: closed-form levels: l2 (conditional means), moment (keep mean/std), zero (alpha = 0)
    levels: Literal["l2", "moment", "zero"] = "l2"
    #: alpha / (beta - alpha) is snapped to a 2^-level_bits grid (integer hardware levels); 4 bits
    #: cost 1.4 points on Fashion-MNIST SFC at 90 % zero bits (small alphas round to 0), 6 bits 0.1
    level_bits: int = Field(default=6, ge=1, le=8)
    #: learned-domain options (ab-learned, ab-learned-tuned); None takes the method's value: the official
    #: code's for ab-learned, sbnn's for ab-learned-tuned (LEARNED_DEFAULTS; measured in docs/learned-ab.md).
    #: latent-weight start: "official" (PyTorch's symmetric init, ~50 % ones; the penalty pulls the
    #: ones-rate down during training) or "quantile" (each layer shifted once to start at its target)
    learned_init: Literal["official", "quantile"] | None = None
    #: strength of the EC penalty; None: ab-learned takes the official CIFAR-10 grid's gamma for the target
    #: (0.02 at EC 0.25, 0.04 at 0.10, 0.07 at 0.05; tuned for 300-500 epochs), ab-learned-tuned its own
    ec_gamma: float | None = Field(default=None, ge=0.0, lt=1.0)
    #: epochs over which the EC target ramps linearly from 0.5 to the target (0: imposed at once, official)
    ec_ramp_epochs: float | None = Field(default=None, ge=0.0)
    #: what the EC penalty constrains: "global" (the ones-rate pooled over all binary layers, official)
    #: or "layer" (each layer's ones-rate against its own target: no layer can be emptied for another)
    ec_scope: Literal["global", "layer"] | None = None
    #: tau/phi start: "official" (tau 1, phi 0: symmetric levels) or "closed" (tau 1 and the closed
    #: form's L2 level ratio alpha / (beta - alpha) of the starting bits)
    level_init: Literal["official", "closed"] | None = None
    #: learning rate of tau/phi relative to optim.lr (they never get weight decay); 1 = official
    level_lr: float | None = Field(default=None, gt=0)
    #: last epochs trained with the closed form's exact-count mask (learned levels): the achieved zero
    #: bits then equal the targets; 0 = none (official)
    project_epochs: int | None = Field(default=None, ge=0)
    #: the projection's per-layer counts: "layer" (each layer at its own target, as the closed form) or
    #: "learned" (each layer keeps the zero bits it learned under the pooled EC target, moved in proportion
    #: to its size until the network total equals the targets' total)
    project_counts: Literal["layer", "learned"] | None = None
    #: straight-through estimators for weights and activations
    weight_ste: SteMode = "clipped"
    act_ste: SteMode = "clipped"
    #: EDE temperature range (used when an STE is "ede")
    ede_t_min: float = Field(default=0.1, gt=0)
    ede_t_max: float = Field(default=10.0, gt=0)
    #: activation shift before each sign: none, static (foldable), dynamic (SD-BNN's SE branch);
    #: None = static for sd-bnn, none otherwise
    asd: Literal["none", "static", "dynamic"] | None = None
    asd_reduction: int = Field(default=16, ge=1)
    #: where the zero bits may lie, along the input order the hardware streams (sbnn.ir.structure):
    #: none (a global exact count), row (round(s*K) zeros in every row), N:M (N ones in every M
    #: consecutive inputs; quant.sparsity is then 1 - N/M, derived when unset) or block:B (rows keep whole
    #: blocks of B inputs, the same number in every row); ab-closed only
    structure: str = "none"
    #: structure of the first and last binary layers (None = same as structure, an N:M structure then takes
    #: N from first_last_sparsity); the first layer of an MLP reads raw pixels in raster order, where N:M
    #: spreads every neuron's inputs evenly over the image (row costs nothing there)
    first_last_structure: str | None = None
    #: structure of the last (output) layer alone (None = as first_last_structure); its zero-bit fraction is
    #: the first/last one. Why: 10 class scores that each read a few of the last hidden features lose the
    #: most to a structure, and the output layer is the network's smallest (256 x 10 weights in an SFC), so
    #: a row mask there costs almost no hardware while N:M keeps the large first layer's savings
    last_structure: str | None = None

    @field_validator("structure", "first_last_structure", "last_structure")
    @classmethod
    def _structure(cls, v: str | None) -> str | None:
        return None if v is None else mask_structure.canonical(v)

    @property
    def resolved_first_last_structure(self) -> str:
        return self.structure if self.first_last_structure is None else self.first_last_structure

    @property
    def resolved_last_structure(self) -> str:
        return self.resolved_first_last_structure if self.last_structure is None else self.last_structure

    @model_validator(mode="before")
    @classmethod
    def _nm_sparsity(cls, data: Any) -> Any:
        """An N:M mask fixes the zero-bit fraction: fill in quant.sparsity = 1 - N/M when it is unset (and
        quant.first_last_sparsity from an N:M first_last_structure)."""
        if not isinstance(data, dict):
            return data
        for skey, fkey in (("structure", "sparsity"), ("first_last_structure", "first_last_sparsity")):
            if data.get(skey) is not None and data.get(fkey) is None:
                try:
                    st = mask_structure.parse(data[skey])
                except ValueError:
                    continue  # the field validator reports it
                if st.kind == "nm":
                    data = {**data, fkey: mask_structure.nm_zero_fraction(st.n, st.size)}
        return data

    @model_validator(mode="after")
    def _structure_fits(self) -> "QuantConfig":
        if self.structure == self.resolved_first_last_structure == self.resolved_last_structure == "none":
            return self
        if self.method != "ab-closed":
            key = next(k for k, v in (("structure", self.structure), ("first_last_structure",
                       self.resolved_first_last_structure), ("last_structure", self.resolved_last_structure))
                       if v != "none")
            raise ValueError(f"quant.{key} {getattr(self, key)} needs method ab-closed (exact-count masks), not "
                             f"{self.method}: bnn/sd-bnn weights are signs without a zero-bit target, the learned "
                             "methods' zero bits come from the EC penalty")
        for skey, fkey in (("structure", "sparsity"), ("first_last_structure", "first_last_sparsity")):
            st = mask_structure.parse(getattr(self, skey) or "none")
            if st.kind == "nm":
                want = mask_structure.nm_zero_fraction(st.n, st.size)
                if abs(getattr(self, fkey) - want) > 1e-9:
                    raise ValueError(f"quant.{fkey} {getattr(self, fkey):g} contradicts {skey} {st} ({want:g} zero "
                                     f"bits): leave quant.{fkey} unset or set it to {want:g}")
        first_last = self.sparsity if self.first_last_sparsity is None else self.first_last_sparsity
        for skey, st in (("first_last_structure", self.resolved_first_last_structure),
                         ("last_structure", self.resolved_last_structure)):
            try:  # first/last N':M layers: N' must be whole
                mask_structure.layer_structure(st, first_last)
            except ValueError as exc:
                key = "first_last_sparsity" if self.first_last_sparsity is not None else skey
                raise ValueError(f"quant.{key}: {exc}") from None
        return self

    def learned(self, name: str):
        """A learned-domain option, resolved: the set value, else the method's default."""
        value = getattr(self, name)
        if value is not None:
            return value
        if name == "ec_gamma" and self.method == "ab-learned":
            from sbnn.training.formulas import official_ec_gamma

            return official_ec_gamma(round(1.0 - self.sparsity, 12))
        return LEARNED_DEFAULTS["ab-learned-tuned" if self.method == "ab-learned-tuned" else "ab-learned"][name]

    @property
    def resolved_asd(self) -> str:
        if self.asd is not None:
            return self.asd
        return "static" if self.method == "sd-bnn" else "none"


#: the learned-domain options' values per method (None fields of QuantConfig take these)
LEARNED_DEFAULTS = {
    "ab-learned": {"learned_init": "official", "ec_gamma": None, "ec_ramp_epochs": 0.0, "ec_scope": "global",
                   "level_init": "official", "level_lr": 1.0, "project_epochs": 0, "project_counts": "layer"},
    "ab-learned-tuned": {"learned_init": "quantile", "ec_gamma": 0.02, "ec_ramp_epochs": 0.0, "ec_scope": "global",
                         "level_init": "closed", "level_lr": 1.0, "project_epochs": 1, "project_counts": "learned"},
}


class OptimConfig(_Section):
    epochs: int = Field(default=30, ge=1)
    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=3e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    #: latent weights are clamped to [-clamp, clamp] after every step (0 = no clamp)
    clamp: float = Field(default=1.0, ge=0)
    #: seeds torch's generators, which take 64-bit values
    seed: int = Field(default=0, ge=0, lt=2**63)
    #: torch CPU threads (None = torch's default)
    threads: int | None = Field(default=None, ge=1)
    #: where to train: auto = a CUDA GPU when present, else the CPU (results on a GPU are not
    #: bit-identical to CPU runs; resume is exact on the same device)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class TrainConfig(StageConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    quant: QuantConfig = QuantConfig()
    optim: OptimConfig = OptimConfig()

    @model_validator(mode="after")
    def _consistent(self) -> "TrainConfig":
        if self.quant.ede_t_min > self.quant.ede_t_max:
            raise ValueError("quant.ede_t_min must not exceed quant.ede_t_max")
        if self.model.arch == "mlp" and not self.model.hidden:
            raise ValueError("model.arch 'mlp' needs model.hidden, e.g. --set model.hidden=[256,256]")
        return self
