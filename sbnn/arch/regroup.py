"""Interleaved N:M layers made contiguous before the hardware is planned: an IR-to-IR pass.

Why: an interleaved N:M layer (``N:Mi``) keeps N of every M inputs ``g, g + K/M, g + 2K/M, ...``, which
trains better than contiguous groups on images (each group spans the whole picture), but its MVU must see
those inputs side by side: the word buffer in front of it then keeps M band memories instead of one
(:mod:`sbnn.arch.buffer`; 20-30 LUT per layer in the Fashion SFC). Which input sits where is free wherever
the vector is produced by someone who can emit it in any order:

* a dense layer fed by a dense hidden layer: renumber the producer's output channels (its weight rows,
  thresholds and directions) so that output ``g * M + t`` is the old output ``g + t * K/M``; the consumer's
  columns follow, and its groups are contiguous (``N:M``). Nothing changes in hardware but memory contents;
* a dense first layer reading the input as a flat vector (directly, or through an input threshold equal
  for every channel): the host sends the image's elements in that order
  (:attr:`sbnn.ir.model.InputSpec.order`, applied by :func:`sbnn.hw.stream.pack_input`, a gather of one
  frame's bytes on the CPU, as a FINN driver packs its input for the accelerator).

The result computes the same scores as the input model on every input (the simulator honours the input
order; the tests check it with ``==``). Layers behind a convolution, a pool or a per-channel input
threshold keep their interleaved structure and the band memories.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from sbnn.ir.model import MVU, IRModel, reads_flat_input
from sbnn.ir.structure import Structure, group_order, parse


def _contiguous(layer: MVU) -> tuple[MVU, np.ndarray] | None:
    """``layer`` with its interleaved groups side by side, and the input order that makes it equivalent
    (None when its structure is not interleaved N:M)."""
    st = parse(layer.structure)
    if layer.kind != "dense" or st.kind != "nm" or not st.interleaved:
        return None
    order = group_order(layer.in_features, st)
    regrouped = dataclasses.replace(layer, weight_bits=layer.weight_bits[:, order],
                                    structure=str(Structure("nm", st.n, st.size)))
    return regrouped, order


def regroup(model: IRModel) -> IRModel:
    """An equivalent model in which every interleaved N:M dense layer whose input vector can be emitted in
    group order reads contiguous groups (``model`` itself when there is none)."""
    layers, spec = list(model.layers), model.input
    host_fed = model.mvus[0] if reads_flat_input(layers) else None  # its input order is the host's to choose
    for i, layer in enumerate(model.layers):
        prev = layers[i - 1] if i else None
        fed = layer is host_fed or (isinstance(prev, MVU) and prev.kind == "dense" and not prev.is_output)
        done = _contiguous(layer) if isinstance(layer, MVU) and fed else None
        if done is None:
            continue
        layers[i], order = done
        if layer is host_fed:
            spec = dataclasses.replace(spec, order=order if spec.order is None else spec.order[order])
        else:  # the producer emits its outputs in the consumer's group order
            layers[i - 1] = dataclasses.replace(prev, weight_bits=prev.weight_bits[order],
                                                thresholds=prev.thresholds[order], directions=prev.directions[order])
    if spec is model.input and all(a is b for a, b in zip(layers, model.layers)):
        return model
    out = copy.copy(model)
    out.layers, out.input = layers, spec
    return out.validate()


def regrouped(before: IRModel, after: IRModel) -> list[str]:
    """The MVUs whose interleaved groups :func:`regroup` made contiguous."""
    return [a.name for a, b in zip(before.mvus, after.mvus) if a.structure != b.structure]


def regroup_note(after: IRModel, names: list[str]) -> str:
    """One line for the user on what :func:`regroup` did to the MVUs ``names`` (:func:`regrouped`)."""
    mvus = [m.name for m in after.mvus]
    fed = [n for n in names if not (after.input.order is not None and n == mvus[0])]
    how = ([f"the host sends {mvus[0]}'s input in group order ('in_order' in hw/stream.json)"]
           if after.input.order is not None else [])
    if fed:
        producers = [mvus[mvus.index(n) - 1] for n in fed]
        how.append(f"{', '.join(producers)} emit{'s' if len(producers) == 1 else ''} {'its' if len(producers) == 1 else 'their'} "
                   "outputs in the consumer's group order")
    return (f"interleaved N:M layers {', '.join(names)} read contiguous groups: {'; '.join(how)} (no band memories; "
            "the scores are the IR's)")
