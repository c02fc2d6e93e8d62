"""The cost model: a LUT estimate per MVU implementation, used only to rank foldings, gathers and styles
(synthesis gives the real numbers). Its coefficients are fitted to Yosys' ``synth_xilinx`` on single
layers; this module is the one place to refit them.
"""

from __future__ import annotations

import numpy as np

from sbnn.arch.decompose import decomposition
from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.schedule import MVUPlan, index_bits, lutram_banks
from sbnn.ir.model import MVU

#: LUTs per input element and slot of a multiplexer gather (Yosys, xc7: a 785:1 bit multiplexer ~ 400 LUTs)
MUX_LUT_PER_INPUT = 0.51
#: LUTs per bank and slot of a distributed-RAM gather, by buffers (RAM64M copies per 3 read ports plus the
#: bank multiplexer), and per bank of its loader (a 64:1 write multiplexer); Yosys, K = 784 and 256
LUTRAM_LUT_PER_BANK_SLOT = {1: 1.7, 2: 3.9}
LUTRAM_LUT_PER_BANK_LOAD = 23.0
#: LUTs per bit of a two-deep vector FIFO (distributed RAM) between a collector and its MVU
FIFO_LUT_PER_BIT = 0.68
#: LUTs per input bit of the adder tree forming S'(x) (over all K inputs at once; over the SIMD inputs of a
#: slice in a dense folded MVU; a distributed-RAM gather sums it during the load)
S_TREE_LUT_PER_BIT = 1.0


def logic_estimate(layer: MVU, plan: MVUPlan) -> float:
    """A LUT estimate used only to rank foldings and gathers (synthesis gives the real numbers); its
    gather coefficients are fitted to Yosys' synth_xilinx on single layers."""
    k, eb = layer.in_features, layer.in_type.bits
    per_lane = 2 * (int(np.log2(max(2, k))) + 6)  # accumulator, compare
    lut = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    # S' at once over K inputs, or serially: over SIMD inputs (dense, several slices) / during the load
    s_inputs = plan.simd if plan.style == "dense" and k > plan.simd else (0 if lut else k)
    s_tree = s_inputs * eb * S_TREE_LUT_PER_BIT if decomposition(layer, plan.skip_zeros)[0] else 0.0
    # a dense layer fed pixel by pixel (one channel): a double-buffered RAM gather loads the beats directly;
    # every other datapath collects them into a K-element vector FIFO first
    h, w, c = layer.in_shape
    beats = layer.kind == "dense" and h * w > 1
    direct = beats and c == 1 and lut and LUTRAM_BUFFERS[plan.gather] == 2
    vector_fifo = k * eb * FIFO_LUT_PER_BIT if beats and not direct else 0.0
    if plan.style == "unrolled":
        ops = int(layer.weight_bits.sum()) if plan.skip_zeros else layer.out_channels * k
        return ops * eb * 0.8 + layer.out_channels * per_lane + s_tree + vector_fifo
    slots = plan.pe * plan.simd
    if lut:
        nb = lutram_banks(k)
        per_slot = eb * nb * LUTRAM_LUT_PER_BANK_SLOT[LUTRAM_BUFFERS[plan.gather]] + index_bits(k)
        load = 0.0 if direct else eb * nb * LUTRAM_LUT_PER_BANK_LOAD
        return load + slots * per_slot + plan.pe * per_lane + vector_fifo
    if plan.style == "dense":
        return plan.pe * plan.simd * eb + (k * eb / 4 if k > plan.simd else 0) + plan.pe * per_lane + s_tree + vector_fifo
    n = k if plan.gather == "full" else k // plan.simd
    mux = (n + 1) * eb * MUX_LUT_PER_INPUT + index_bits(n)
    return slots * mux + plan.pe * per_lane + s_tree + vector_fifo
