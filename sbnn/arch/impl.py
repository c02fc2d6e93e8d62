"""``LayerImpl``: how one MVU is built, decided once and passed down whole; and the folding files.

The folding step (:func:`sbnn.arch.folding.resolve_impls`) resolves every choice of a layer - PE, SIMD,
datapath style, input gather, weight coding, gap-code width, weight-memory placement - into one
:class:`LayerImpl`. The schedule (:mod:`sbnn.arch.schedule`), the pipeline, the cycle model and the
Verilog are all derived from it, and ``sbnn synth`` writes it whole to ``<run>/hw/folding.json``.

A folding file maps layer names to entries; an entry may be partial, as in FINN
(``{"mvu0": {"PE": 4, "SIMD": 8}}``): what it leaves out is resolved from the configuration. A
``"Defaults"`` entry is accepted and ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sbnn.arch.options import CODINGS, GATHERS, STYLES, WEIGHT_ROMS, Coding, Gather, Style, WeightRom
from sbnn.errors import ConfigError


@dataclass(frozen=True)
class LayerImpl:
    """One MVU's implementation. ``gather`` and ``coding`` (with ``delta_bits`` for gap codes) apply to
    folded zero-skipping layers only and are None otherwise; PE = M and SIMD = K is *unrolled* (the
    weights become wiring)."""

    pe: int
    simd: int
    style: Style = "sparse"
    gather: Gather | None = None
    coding: Coding | None = None
    delta_bits: int | None = None
    weight_rom: WeightRom = "auto"

    def to_json(self) -> dict:
        """The folding-file entry (FINN's PE / SIMD keys, then every other choice that applies)."""
        out: dict = {"PE": self.pe, "SIMD": self.simd, "style": self.style}
        for key in ("gather", "coding", "delta_bits"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["weight_rom"] = self.weight_rom
        return out


#: folding-file keys besides PE and SIMD, with the values they accept (None: an integer)
ENTRY_CHOICES: dict[str, tuple[str, ...] | None] = {"style": STYLES, "gather": GATHERS, "coding": CODINGS,
                                                    "delta_bits": None, "weight_rom": WEIGHT_ROMS}


def load(path: str | os.PathLike) -> dict[str, dict]:
    """Read and check a folding JSON file (structure only; the folding step checks it against a model)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"folding file {path} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"folding file {path} is not valid JSON ({exc})") from None
    return parse(raw, str(path))


def parse(raw: object, where: str = "folding") -> dict[str, dict]:
    """Folding entries (layer -> {"PE", "SIMD", "style", "gather", "coding", "delta_bits", "weight_rom"},
    any subset); PE / SIMD are matched case-insensitively, like FINN's files."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object mapping layer names to {{\"PE\": n, \"SIMD\": n}}")
    out = {}
    for name, entry in raw.items():
        if name == "Defaults":
            continue
        if not isinstance(entry, dict) or not entry:
            raise ConfigError(f"{where}: entry {name!r} must be an object such as {{\"PE\": 4, \"SIMD\": 8}}")
        fold = {}
        for key, value in entry.items():
            low = key.lower()
            if low in ENTRY_CHOICES:
                allowed = ENTRY_CHOICES[low]
                if allowed is None:
                    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
                        raise ConfigError(f"{where}: {name}.{low} must be an integer >= 2, got {value!r}")
                elif value not in allowed:
                    raise ConfigError(f"{where}: {name}.{low} must be one of {', '.join(allowed)}, got {value!r}")
                fold[low] = value
                continue
            k = key.upper()
            if k not in ("PE", "SIMD"):
                raise ConfigError(f"{where}: entry {name!r} has unknown key {key!r} (only PE, SIMD, "
                                  f"{', '.join(ENTRY_CHOICES)})")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: {name}.{key} must be a positive integer, got {value!r}")
            fold[k] = value
        out[name] = fold
    return out


def to_json(impls: dict[str, LayerImpl]) -> dict[str, dict]:
    """A whole design's implementations as a folding file (what ``sbnn synth`` writes)."""
    return {name: impl.to_json() for name, impl in impls.items()}
