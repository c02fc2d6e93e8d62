"""Network architectures.

Hardware-ready (plain feed-forward, exportable): FINN's TFC/SFC/LFC MLPs, a custom MLP, the CNV-style
VGG net and VGG-Small. For reproducing the papers' accuracy only: ResNet-20 (CIFAR) and ResNet-18 with
binary 3x3 convolutions and real-valued residual paths; export refuses them because a real-valued
residual sum cannot fold into per-layer integer thresholds (methods.md 3.5).
"""

from __future__ import annotations

import torch
from torch import nn

from sbnn.errors import ConfigError
from sbnn.ir import structure as mask_structure
from sbnn.training.config import ModelConfig, QuantConfig, TrainConfig
from sbnn.training.layers import BinaryBlock, InputQuant, TensorNorm, make_shift, weight_quant_kwargs
from sbnn.training.quantizers import SignAct

MLP_PRESETS = {"tfc": [64, 64, 64], "sfc": [256, 256, 256], "lfc": [1024, 1024, 1024]}
CONV_PRESETS = {
    # FINN CNV: 64,64,pool,128,128,pool,256,256 then FC 512,512
    "cnv": ([64, 64, 128, 128, 256, 256], [1, 3], [512, 512]),
    # VGG-Small (IR-Net / SD-BNN): 128,128,pool,256,256,pool,512,512,pool then the classifier
    "vgg-small": ([128, 128, 256, 256, 512, 512], [1, 3, 5], []),
}


def _scaled(widths: list[int], factor: float) -> list[int]:
    return [max(1, int(round(w * factor))) for w in widths]


class PlainNet(nn.Module):
    """input quant -> conv blocks -> flatten -> dense blocks -> score layer -> head."""

    hardware_ready = True

    def __init__(self, convs: list[BinaryBlock], dense: list[BinaryBlock], head: nn.Module, input_quant: InputQuant,
                 in_shape: tuple[int, int, int]):
        super().__init__()
        self.input_quant = input_quant
        self.convs = nn.ModuleList(convs)
        self.dense = nn.ModuleList(dense)
        self.head = head
        self.in_shape = tuple(in_shape)

    def blocks(self) -> list[BinaryBlock]:
        return [*self.convs, *self.dense]

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """The score layer's real-valued accumulator (before the head)."""
        x = self.input_quant(x)
        for block in self.convs:
            x = block(x)
        x = x.flatten(1)
        for block in self.dense:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.scores(x))


def _plain(cfg: TrainConfig, in_shape, classes: int, pixel_max: int, threshold: int) -> PlainNet:
    m, q = cfg.model, cfg.quant
    c, h, w = in_shape
    binary_in = cfg.data.input == "binary"
    if m.arch in MLP_PRESETS or m.arch == "mlp":
        conv_ch, pools, fc = [], [], (m.hidden or MLP_PRESETS.get(m.arch))
        fc = list(fc) if m.hidden else _scaled(fc, m.width)
    else:
        p_conv, p_pool, p_fc = CONV_PRESETS[m.arch]
        conv_ch = m.conv_channels or _scaled(p_conv, m.width)
        pools = p_pool if m.pool_after is None else m.pool_after
        fc = m.fc if m.fc is not None else _scaled(p_fc, m.width)
    padding = m.padding
    if padding == "auto":
        padding = "valid" if _valid_fits(h, w, len(conv_ch), pools) else "same"
    n_layers = len(conv_ch) + len(fc) + 1
    first_last = q.sparsity if q.first_last_sparsity is None else q.first_last_sparsity

    def sparsity(i: int) -> float:
        return first_last if i in (0, n_layers - 1) else q.sparsity

    def structure(i: int, k: int) -> str:
        st = q.resolved_last_structure if i == n_layers - 1 else q.resolved_first_last_structure if i == 0 else q.structure
        try:  # an interleaved N:M needs M to divide the layer's K: say so before any training
            mask_structure.group_order(k, mask_structure.layer_structure(st, sparsity(i)))
        except ValueError as exc:
            hint = ""
            if i in (0, n_layers - 1):  # the first conv (K = 9 x channels) or the score layer: give it its own
                key = "last_structure" if i and i == n_layers - 1 else "first_last_structure"
                hint = f" (or give the {'first' if i == 0 else 'last'} layer its own: --set quant.{key}=row)"
            raise ConfigError(f"binary layer {i}: {exc}{hint}") from None
        return st

    convs, dense = [], []
    ch, size = c, (h, w)
    for i, out in enumerate(conv_ch):
        pad = 1 if padding == "same" else 0
        pad_value = -1.0 if (i > 0 or binary_in) else 0.0
        pool = i in pools
        convs.append(BinaryBlock("conv", ch, out, q, sparsity(i), kernel=3, pad=pad, pad_value=pad_value, pool=pool,
                                 structure=structure(i, 9 * ch)))
        size = (size[0] + 2 * pad - 2, size[1] + 2 * pad - 2)
        if min(size) < 1:
            raise ConfigError(f"model {m.arch}: a 3x3 conv shrinks the {h}x{w} input to nothing with "
                              f"padding '{padding}'; use --set model.padding=same")
        if pool:
            if size[0] % 2 or size[1] % 2:
                raise ConfigError(f"model {m.arch}: 2x2 max-pool after conv {i} needs an even map, got {size}")
            size = (size[0] // 2, size[1] // 2)
        ch = out
    features = ch * size[0] * size[1]
    in_map = (ch, size[0], size[1])  # what the first dense layer reads (a flat vector after it)
    for j, out in enumerate(fc):
        i = len(conv_ch) + j
        dense.append(BinaryBlock("dense", features, out, q, sparsity(i), in_map=in_map, structure=structure(i, features)))
        features, in_map = out, None
    dense.append(BinaryBlock("dense", features, classes, q, sparsity(n_layers - 1), output=True, in_map=in_map,
                             structure=structure(n_layers - 1, features)))
    head = TensorNorm() if m.head == "scalar" else nn.BatchNorm1d(classes)
    return PlainNet(convs, dense, head, InputQuant(cfg.data.input, threshold, pixel_max), in_shape)


def _valid_fits(h: int, w: int, n_convs: int, pools: list[int]) -> bool:
    for i in range(n_convs):
        h, w = h - 2, w - 2
        if min(h, w) < 1:
            return False
        if i in pools:
            if h % 2 or w % 2:
                return False
            h, w = h // 2, w // 2
    return True


class BinaryConvUnit(nn.Module):
    """Residual-net unit: [shift] -> sign -> binary 3x3 conv -> BN (Bi-Real / SD-BNN style)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, q: QuantConfig, sparsity: float):
        super().__init__()
        import brevitas.nn as qnn

        self.shift = make_shift(q, in_ch)
        self.act = qnn.QuantIdentity(act_quant=SignAct, act_ste_mode=q.act_ste, return_quant_tensor=False)
        self.conv = qnn.QuantConv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False,
                                    **weight_quant_kwargs(q, sparsity))
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift is not None:
            x = self.shift(x)
        return self.bn(self.conv(self.act(x)))


class ResidualBlock(nn.Module):
    """Two binary units, each with its own real-valued shortcut (Bi-Real: two residual adds)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, q: QuantConfig, sparsity: float, option_a: bool):
        super().__init__()
        self.unit1 = BinaryConvUnit(in_ch, out_ch, stride, q, sparsity)
        self.unit2 = BinaryConvUnit(out_ch, out_ch, 1, q, sparsity)
        self.down = None
        if stride != 1 or in_ch != out_ch:
            if option_a:  # subsample and zero-pad channels (ResNet-20 CIFAR)
                self.down = _OptionA(out_ch - in_ch, stride)
            else:
                self.down = nn.Sequential(nn.AvgPool2d(stride, ceil_mode=True, count_include_pad=False),
                                          nn.Conv2d(in_ch, out_ch, 1, bias=False),
                                          nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = x if self.down is None else self.down(x)
        x = nn.functional.hardtanh(self.unit1(x) + short)
        return nn.functional.hardtanh(self.unit2(x) + x)


class _OptionA(nn.Module):
    def __init__(self, extra: int, stride: int):
        super().__init__()
        self.extra, self.stride = extra, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra // 2
        return nn.functional.pad(x, (0, 0, 0, 0, half, self.extra - half))


class BinaryResNet(nn.Module):
    """Real-valued stem and classifier, binary residual body. Accuracy reference only."""

    hardware_ready = False

    def __init__(self, widths: list[int], blocks: int, q: QuantConfig, in_shape, classes: int, pixel_max: int,
                 option_a: bool):
        super().__init__()
        c = in_shape[0]
        self.in_shape = tuple(in_shape)
        self.pixel_max = pixel_max
        self.stem = nn.Sequential(nn.Conv2d(c, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.Hardtanh())
        layers, ch = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(ResidualBlock(ch, w, stride, q, q.sparsity, option_a))
                ch = w
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(ch),
                                        nn.Linear(ch, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(self.stem(x / self.pixel_max)))


def build_model(cfg: TrainConfig, in_shape: tuple[int, int, int], classes: int, pixel_max: int,
                input_threshold: int) -> nn.Module:
    """The network described by ``cfg`` for images of ``in_shape`` (C, H, W)."""
    arch = cfg.model.arch
    if arch in ("resnet20", "resnet18"):
        widths = [16, 32, 64] if arch == "resnet20" else [64, 128, 256, 512]
        widths = _scaled(widths, cfg.model.width)
        return BinaryResNet(widths, 3 if arch == "resnet20" else 2, cfg.quant, in_shape, classes, pixel_max,
                            option_a=arch == "resnet20")
    return _plain(cfg, in_shape, classes, pixel_max, input_threshold)


def weight_quant_of(layer: nn.Module):
    """The sbnn tensor_quant module of a Brevitas layer."""
    return layer.weight_quant.tensor_quant


def binary_layers(model: nn.Module) -> list[nn.Module]:
    """Every Brevitas layer with an sbnn binary weight quantizer, in forward order."""
    import brevitas.nn as qnn

    return [m for m in model.modules() if isinstance(m, (qnn.QuantConv2d, qnn.QuantLinear))]


def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """Fraction of zero weight bits per binary layer and overall ("global")."""
    out, zeros, total = {}, 0, 0
    names = {id(m): n for n, m in model.named_modules()}
    with torch.no_grad():
        for layer in binary_layers(model):
            bits = weight_quant_of(layer).bits(layer.weight)
            z = int((~bits).sum())
            out[names[id(layer)]] = z / bits.numel()
            zeros += z
            total += bits.numel()
    out["global"] = zeros / max(1, total)
    return out


# ModelConfig is re-exported for callers that build models from a config section only
__all__ = ["ModelConfig", "PlainNet", "BinaryResNet", "build_model", "binary_layers", "layer_sparsity"]
