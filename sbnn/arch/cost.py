"""The cost model: a LUT estimate per MVU implementation, used to rank foldings, gathers and styles
(synthesis gives the real numbers).

The estimate is linear in a few counts of what an implementation builds (:func:`features`: lane registers
and compares, threshold and weight memories that Yosys leaves in logic, the S'(x) adder, the slice
multiplexer, XNOR-popcount inputs, gather / pick / block multiplexer inputs, distributed-RAM ports ...),
weighted by :data:`COEFFS`, which are fitted by least squares (non-negative) to Yosys' ``synth_xilinx``
LUTs of the MVU instance of single-layer designs: ``python benchmarks/hw_cost_model.py --fit`` synthesizes
the grid, prints every design's estimate against Yosys with the error and writes
``benchmarks/results/hw_cost_model.{json,md}``; this module is the one place the numbers live.
"""

from __future__ import annotations

from collections.abc import Mapping

from sbnn.arch.arith import adjusted_field_bits, arith
from sbnn.arch.buffer import WordBuffer, buffer_control_luts, buffer_ram_luts, fed_buffer, word_buffer
from sbnn.arch.decompose import SUM_MIN_SAVING, decomposition
from sbnn.arch.device import DEVICE
from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import BLOCK_ROMS, LUTRAM_BUFFERS
from sbnn.arch.schedule import MVUPlan, index_bits, layer_structure, lutram_banks, schedule
from sbnn.ir.model import MVU, IRModel

#: LUTs per count of each feature. Fitted by ``benchmarks/hw_cost_model.py --fit`` (non-negative least
#: squares on relative errors over its grid of 57 single layers incl. the Fashion SFC's K = 784 first layer,
#: Yosys 0.70 synth_xilinx, MVU instance LUTs) on the generator of 2026-12-02 (state resets, pipelined sums,
#: register FIFOs, one comparator per lane): median error 7.0 %, 9.9 % leave-one-out (the coefficients before
#: this refit erred by a median 17 % on the same designs). Refit after any change to the generated RTL: after the
#: 2026-12-03 change to the XNOR lanes the stored model errs by a median 8.3 %; a refit did no better leave-one-out
#: (8.1 %, mean 17 %) and was not stored (hw/README.md, "Cost model vs Yosys"). Not refitted either after the
#: thresholds began to ride in the weight memory (:func:`thresholds_ride`, same day): the features still count a
#: riding layer's threshold ROM (see :func:`features`), and its lanes (no y adder where the thresholds are
#: adjusted by G) cost less than ``lanes`` says. On the generator of 2026-12-03 late night (N:M picks on MUXF7 /
#: MUXF8) they err by a median 12.1 %; a refit (9.1 % leave-one-out) priced the single-buffered distributed-RAM
#: gather above the double-buffered one and was not stored (hw/README.md, "Cost model vs Yosys").
#: Features the fit drives to 0 are kept (a refit may need them).
COEFFS: dict[str, float] = {
    "const": 0,  # handshake, address and fold counters of a folded MVU
    "lanes": 1.5753,  # per lane and bit of y: accumulator, y = G + (A << sh), compare
    "thr_rom": 1.8973,  # per 64 bits of a threshold memory left in logic
    "weight_rom": 4.6444,  # per 64 bits of a weight memory left in logic
    "s_tree": 2.4469,  # per input bit of the S'(x) adder tree
    "slice": 0.4406,  # per input bit the slice multiplexer of a sliced datapath (dense, nm) chooses from
    "xnor": 2.3686,  # per XNOR (AND) input bit of the dense lanes, popcount included
    "picks": 0,  # per value a zero-skipping lane sums each clock (sparse slot, N:M pick, block input)
    "gather": 0.426,  # per input bit of a flip-flop gather multiplexer (full / segmented), per slot
    "nm_mux": 0.2755,  # per input bit of the G:1 multiplexers of the N:M lanes
    "block_mux": 0.3397,  # per input bit of the block multiplexers
    "lutram1": 1.2894,  # per slot and bank bit of a single-buffered distributed-RAM gather
    "lutram2": 1.3626,  # per slot and bank bit of a double-buffered one
    "lut_load": 63.5862,  # per bank bit of a distributed-RAM loader (write multiplexers)
    "delta": 3.855,  # per pointer bit of the gap-code decoders
    "unrolled_ops": 0.8052,  # per summed input bit of an unrolled MVU
    "unrolled_lanes": 0.0057,  # per channel and bit of y of an unrolled MVU
}
#: LUTs of the collector and the vector FIFO in front of an MVU whose dense layer is fed pixel by pixel (outside
#: the MVU instance, not refitted by the MVU benchmark): the FIFO is a one-deep register wherever that costs no
#: throughput (its flip-flops are not counted here), the collector a shift register with a beat counter
#: (Yosys, K = 784: 23 + 1 LUT, instances u_L1_mvu0_col and u_fifo1 of the Fashion SFC designs of
#: benchmarks/hw_network_structure.py); a two-deep distributed-RAM FIFO
#: took ~0.68 LUT per bit before
VECTOR_FIFO_LUT = 24.0
#: Yosys' memory mapping cost of one RAMB18 / RAMB36 (techlibs/xilinx/brams_xc4v.txt) and of 64 ROM bits
#: left in logic: a ROM goes to block RAM when the cheapest block-RAM mapping costs less than its logic
BRAM_COST = {18: 129, 36: 257}
#: (width, depth) configurations of a RAMB18 / RAMB36 in simple dual-port mode
BRAM_SHAPES = {18: ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)),
               36: ((72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384), (1, 32768))}


def _bram_mapping(depth: int, width: int) -> tuple[int, float]:
    """Yosys' cheapest block-RAM configuration for a ``depth`` x ``width`` memory: (its mapping cost by
    :data:`BRAM_COST`, its RAMB36 equivalents with a RAMB18 counting 0.5)."""
    cost, kind, n = min((BRAM_COST[kind] * -(-width // w) * -(-depth // d), kind, -(-width // w) * -(-depth // d))
                        for kind, shapes in BRAM_SHAPES.items() for w, d in shapes)
    return cost, n * (0.5 if kind == 18 else 1.0)


def rom_in_bram(depth: int, width: int) -> bool:
    """Whether Yosys (synth_xilinx, no ``rom_style``) maps a ``depth`` x ``width`` ROM to block RAM: its
    memory mapper compares a logic cost of one per 64 bits with the cheapest block-RAM configuration
    (checked against Yosys 0.70 on ROMs from 16 x 1024 to 4096 x 2)."""
    return _bram_mapping(depth, width)[0] < depth * width / 64


def bram36_blocks(depth: int, width: int) -> float:
    """RAMB36 equivalents (a RAMB18 counts 0.5) of the block-RAM mapping Yosys picks for a ``depth`` x ``width``
    memory: its cheapest configuration by :data:`BRAM_COST`."""
    return _bram_mapping(depth, width)[1]


def threshold_bits(layer: MVU, plan: MVUPlan) -> int:
    """Bits of one fold's threshold word (PE lanes of {down, theta + down}, or offsets of a score layer), by the
    size class of :func:`lane_bits` (the RTL's exact width is at most this)."""
    return plan.pe * (lane_bits(layer) + (0 if layer.is_output else 1))


def threshold_layout(layer: MVU, plan: MVUPlan, weight_rom: str = "auto", g_ready: bool = True) -> tuple[int, bool]:
    """Where the thresholds ride in the weight memory: ``(bits per word, adjusted)``; ``(0, False)`` where they
    keep a memory of their own. Why: a fold's thresholds are read once per K/SIMD words, yet a threshold memory
    of its own is left in logic by Yosys (a LUT per 64 bits: 4,096 bits for a PE 4 x SIMD 32 N:M layer of
    256 x 256) while the weight memory's block RAM has unused width (a 48-bit word in a 72-bit RAMB36). So every
    word of a fold carries a piece of the fold's threshold word and a shift register assembles it while the fold
    accumulates (:mod:`sbnn.hw.rtl.thresholds`). Only where that costs no block RAM: folds of equal length (dense,
    N:M, block words; not the zero-skipping folds, whose words are decoded ahead), at least two words per fold and per
    vector, the weight memory in block RAM (placed so, or by Yosys' rule for "auto") with as many RAMB36 as without
    the thresholds (``weight_rom`` "block-wide": also where the word then needs more, which trades block RAM for the
    threshold memory in logic and each lane's wide y adder and compare). Adjusted (each lane's field of
    :func:`~sbnn.arch.arith.adjusted_field_bits` in whole pieces, G subtracted on the way in) where the layer is
    thresholded, a fold has at least as many words as lanes, G is known while the words stream by (``g_ready``: formed
    by the producer or over the whole vector; the cost model assumes so) and the wider piece is free too; else as
    stored (exact widths)."""
    per = int(plan.words[0]) if plan.style != "unrolled" else 0
    if plan.style not in ("dense", "nm", "block") or plan.folds.shape[0] < 2 or per < 2 or plan.fold_flag:
        return 0, False
    if not (weight_rom in BLOCK_ROMS or (weight_rom == "auto" and rom_in_bram(plan.T, plan.word_bits))):
        return 0, False
    ar = arith(layer, plan)
    r = per // plan.pe
    options = [(-(-adjusted_field_bits(ar) // r), True)] if r and ar.theta is not None and g_ready else []
    options.append((-(-(plan.pe * (ar.yw + (0 if ar.theta is None else 1))) // per), False))
    blocks = bram36_blocks(plan.T, plan.word_bits)
    for pc, adjusted in options:
        wide = plan.word_bits + pc
        if (weight_rom in BLOCK_ROMS or rom_in_bram(plan.T, wide)) and (
                weight_rom == "block-wide" or bram36_blocks(plan.T, wide) == blocks):
            return pc, adjusted
    return 0, False


def thresholds_ride(layer: MVU, plan: MVUPlan, weight_rom: str = "auto") -> bool:
    """Whether the thresholds ride in the weight memory (:func:`threshold_layout`)."""
    return threshold_layout(layer, plan, weight_rom)[0] > 0


def lane_bits(layer: MVU) -> int:
    """Bits of y, thresholds and scores (the exact widths are the RTL's; this is their size class)."""
    return int(layer.acc_bound()).bit_length() + 2


def window_sum_ok(layer: MVU, plan: MVUPlan) -> bool:
    """Whether a convolution fed by a folded MVU gets S' from its sliding window (the one rule of
    :func:`sbnn.arch.pipeline._link_window_sums` and of the estimate): a bipolar window whose S' the layer needs
    (``gmul != 0``), not read by a distributed-RAM gather (its load sums S' as it writes its banks), where the
    window's few narrow adders replace an adder of the layer's own over at least :data:`WINDOW_SUM_MIN` inputs
    (SIMD per clock when sliced, all K otherwise)."""
    k = layer.in_features
    own = plan.simd if plan.sliced and k > plan.simd else k
    lut = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    return (layer.kind == "conv" and layer.in_type.bipolar and bool(decomposition(layer, plan.skip_zeros)[0])
            and not lut and own >= WINDOW_SUM_MIN)


#: LUTs a sliding window spends on its window sums (the adders of the entering column's counts and of the
#: window, the counts in its delay lines; the producer's count is a few more): Yosys, the 1:8 CNV's two
#: convolutions after a convolution, 3 x 3 windows of 32- and 64-channel pixels: +37 and +41 LUT
WINDOW_SUM_LUT = 40.0
#: the consumer's own S' adder inputs from which the sliding window's sum pays: the window adds 2k - 2 narrow
#: counts or column sums per step (a 3 x 3 kernel: 4 adders of a few bits) and its delay lines carry each pixel's count
WINDOW_SUM_MIN = 2 * SUM_MIN_SAVING


def features(layer: MVU, plan: MVUPlan, weight_rom: str = "auto", vector_fed: bool = False) -> dict[str, float]:
    """What ``plan`` builds for ``layer``, counted in the units of :data:`COEFFS`; ``vector_fed``: the layer
    reads whole vectors from the MVU before it (:func:`vector_fed`)."""
    k, m, eb = layer.in_features, layer.out_channels, layer.in_type.bits
    lb = lane_bits(layer)
    gmul = decomposition(layer, plan.skip_zeros)[0]
    f = dict.fromkeys(COEFFS, 0.0)
    if plan.style == "unrolled":
        f["unrolled_ops"] = (int(layer.weight_bits.sum()) if plan.skip_zeros else m * k) * eb
        f["unrolled_lanes"] = m * lb
        # counted also where the sliding window forms S' (the pipeline links an unrolled consumer too): the two
        # unrolled features err low without it (the unstructured CNV's second conv unrolled, PE 32 x SIMD 288:
        # 971 LUT estimated without its 288-input tree, 1,804 measured), which ranked it above foldings half its size
        f["s_tree"] = k * eb if gmul else 0
        return f
    pe, simd, nf = plan.pe, plan.simd, plan.folds.shape[0]
    lut = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    f["const"] = 1
    f["lanes"] = pe * lb
    thr_w = threshold_bits(layer, plan)
    # counted also where the thresholds ride in the weight memory: crediting that with this coefficient ranked
    # foldings that ride above cheaper ones that do not (the main job's hidden layers at PE 2 x SIMD 128 instead of
    # PE 1 x SIMD 256: 1,578 instead of 1,261 LUT); the coefficients were fitted before the thresholds rode
    if nf > 1 and not rom_in_bram(nf, thr_w):
        f["thr_rom"] = nf * thr_w / 64
    if plan.T > 1 and (weight_rom == "distributed" or (weight_rom == "auto" and not rom_in_bram(plan.T, plan.word_bits))):
        f["weight_rom"] = plan.memory_bits / 64
    # S' over K at once, over the SIMD inputs of a slice (sliced datapaths), or serially during a RAM load;
    # over a pixel's c elements when the collector in front of a dense layer fed pixel by pixel forms it
    # (sbnn.arch.pipeline's S' link, with one pixel of c elements per beat); none when the MVU before it or
    # the sliding window in front of a convolution does
    if gmul:
        own = simd if plan.sliced and k > simd else (lutram_banks(k) if lut else k)
        h, w, c = layer.in_shape
        if not lut and layer.kind == "dense" and h * w > 1 and own - c >= SUM_MIN_SAVING:
            own = c  # the collector's adder of each pixel's c elements (the 1:8 CNV's FC layer after its last pool,
            # 64 channels: 232 LUT of collector against 73; counted as none, it took that over cheaper foldings)
        elif _window_summed(layer, plan, vector_fed):
            own = 0  # the sliding window adds its pixels' counts (sbnn.arch.pipeline._link_window_sums)
        elif plan.sliced and vector_fed and layer.kind == "dense" and h * w == 1 and own >= 2 * SUM_MIN_SAVING:
            # formed by the folded MVU before it (whose PE, unknown here, is assumed <= own - 16). Only for the
            # sliced datapaths (XNOR, N:M): counted for the gathers too, it makes full multiplexers look
            # cheaper than the distributed-RAM gathers that Yosys measures smaller (the main job: 1,892 vs
            # 1,847 LUT)
            own = 0
        f["s_tree"] = own * eb
    # a word buffer's MVU reads its slice: after a collector, or after a folded MVU when the buffer pays
    if plan.sliced and k > simd and fed_buffer(layer, plan) is None and _linked(layer, plan, vector_fed) is None:
        f["slice"] = (k - simd) * eb
    if plan.style == "dense":
        f["xnor"] = pe * simd * eb
    elif plan.style == "nm":
        f["picks"] = pe * plan.slots * eb
        f["nm_mux"] = pe * plan.slots * layer_structure(layer).size * eb
    elif plan.style == "block":
        b = layer_structure(layer).size
        f["picks"] = pe * plan.slots * b * eb
        f["block_mux"] = pe * plan.slots * (-(-k // b) + 1) * b * eb
    else:
        slots = pe * simd
        f["picks"] = slots * eb
        n = k // simd if plan.gather == "segmented" else k
        if lut:
            nb = lutram_banks(k)
            f[f"lutram{LUTRAM_BUFFERS[plan.gather]}"] = slots * nb * eb
            h, w, c = layer.in_shape
            direct = layer.kind == "dense" and h * w > 1 and c == 1 and LUTRAM_BUFFERS[plan.gather] == 2
            f["lut_load"] = 0 if direct else nb * eb
        else:
            f["gather"] = slots * (n + 1) * eb
        if plan.coding == "delta":
            f["delta"] = slots * index_bits(n)
    return f


def mvu_estimate(layer: MVU, plan: MVUPlan, weight_rom: str = "auto", vector_fed: bool = False) -> float:
    """Estimated LUTs of the MVU instance alone (what the cost-model benchmark compares with Yosys)."""
    return float(sum(COEFFS[name] * v for name, v in features(layer, plan, weight_rom, vector_fed).items()))


def _linked(layer: MVU, plan: MVUPlan, vector_fed: bool) -> WordBuffer | None:
    """The word buffer a vector-fed ``layer`` is estimated to read (one-element beats: the producer's PE is
    not known while one layer is folded; the pipeline decides with it, sbnn.arch.pipeline)."""
    wb = word_buffer(layer, plan, 1) if vector_fed and plan.sliced else None
    return wb if wb is not None and link_buffer_pays(layer, plan, wb) else None


def link_buffer_pays(layer: MVU, plan: MVUPlan, wb: WordBuffer) -> bool:
    """Whether a word buffer between a folded MVU and ``layer`` (read whole vectors) costs fewer LUTs than the
    slice multiplexer it removes: wide slices of short vectors leave a RAM mostly empty (K = 256 at SIMD 128, by
    this estimate: 88 LUT of RAM32M for a 56-LUT multiplexer), narrow ones fill it (SIMD 4: the Fashion SFC's
    score-layer buffer measured 31 LUT for an estimated 111-LUT multiplexer), and many
    narrow band memories of an interleaved N:M consumer pay a RAM each (16 bands of 2 bits: 101 LUT for 99)."""
    eb = layer.in_type.bits
    ram = buffer_ram_luts(wb, eb, vectors=2) + buffer_control_luts(wb) + COEFFS["slice"] * (wb.slices - 1) * plan.simd * eb
    return ram < COEFFS["slice"] * (layer.in_features - plan.simd) * eb


def vector_fifo_estimate(layer: MVU, plan: MVUPlan) -> float:
    """LUTs of the collector and K-element vector FIFO a dense layer fed pixel by pixel needs before its MVU
    (none when a double-buffered distributed-RAM gather loads the beats directly), or of the word buffer that
    replaces both in front of a sliced MVU (:mod:`sbnn.arch.buffer`)."""
    h, w, c = layer.in_shape
    if layer.kind != "dense" or h * w <= 1:
        return 0.0
    lut = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    if c == 1 and lut and LUTRAM_BUFFERS[plan.gather] == 2:
        return 0.0
    wb = fed_buffer(layer, plan)
    if wb is not None:  # its distributed RAM, and the slice multiplexer within a word of whole beats
        eb = layer.in_type.bits
        return (VECTOR_FIFO_LUT + buffer_ram_luts(wb, eb) + buffer_control_luts(wb)
                + COEFFS["slice"] * (wb.slices - 1) * plan.simd * eb)
    return VECTOR_FIFO_LUT


def logic_estimate(layer: MVU, plan: MVUPlan, weight_rom: str = "auto", vector_fed: bool = False) -> float:
    """The LUT estimate that ranks foldings, gathers and styles: the MVU instance plus the vector FIFO the
    implementation needs in front of it (or the sliding window's share of its S')."""
    wb = _linked(layer, plan, vector_fed)
    link = buffer_ram_luts(wb, layer.in_type.bits, vectors=2) + buffer_control_luts(wb) if wb is not None else 0.0
    if _window_summed(layer, plan, vector_fed):
        link += WINDOW_SUM_LUT
    return mvu_estimate(layer, plan, weight_rom, vector_fed) + vector_fifo_estimate(layer, plan) + link


def _window_summed(layer: MVU, plan: MVUPlan, vector_fed: bool) -> bool:
    """Whether the estimate credits the sliding window in front of ``layer`` with its S' (:func:`window_sum_ok`;
    not for an unrolled layer, whose estimate keeps its tree: see :func:`features`)."""
    return vector_fed and plan.style != "unrolled" and window_sum_ok(layer, plan)


#: LUTs one RAMB36 is worth when the folding step ranks implementations: the device's LUTs per BRAM36
#: (xc7z020: 53,200 / 140 = 380), so that an implementation costs the fraction of the device it takes, logic
#: and block RAM alike. Why: ranked by LUTs alone, the all-1:8 Fashion SFC's first layer took a 294-bit weight word (PE 1 x
#: SIMD 784: 623 LUT and 4.5 BRAM36) over PE 2 x SIMD 112 (630 LUT, 2.5 BRAM36)
LUT_PER_BRAM36 = DEVICE["LUT"] / DEVICE["BRAM36"]


def bram36_estimate(layer: MVU, plan: MVUPlan, weight_rom: str = "auto") -> float:
    """RAMB36 equivalents of the MVU's weight and threshold memories that go to block RAM (a ``weight_rom``
    of "block" / "block-wide" forces the weights there; "auto" follows Yosys' rule, :func:`rom_in_bram`)."""
    if plan.style == "unrolled":
        return 0.0
    nf = plan.folds.shape[0]
    thr_w = threshold_bits(layer, plan)
    piece = threshold_layout(layer, plan, weight_rom)[0]  # riding thresholds widen the word ("block-wide")
    n = bram36_blocks(nf, thr_w) if nf > 1 and rom_in_bram(nf, thr_w) and not piece else 0.0
    if plan.T > 1 and (weight_rom in BLOCK_ROMS or (weight_rom == "auto" and rom_in_bram(plan.T, plan.word_bits))):
        n += bram36_blocks(plan.T, plan.word_bits + piece)
    return n


def rank_estimate(layer: MVU, plan: MVUPlan, weight_rom: str = "auto", vector_fed: bool = False) -> float:
    """What the folding step minimizes: :func:`logic_estimate` plus the block RAM in LUT equivalents
    (:data:`LUT_PER_BRAM36`)."""
    return logic_estimate(layer, plan, weight_rom, vector_fed) + LUT_PER_BRAM36 * bram36_estimate(layer, plan, weight_rom)


def vector_fed(model: IRModel, layer: MVU) -> bool:
    """Whether ``layer`` reads the vectors or pixels of the MVU right before it (a dense layer after a dense MVU,
    a convolution after an MVU): then :mod:`sbnn.arch.pipeline` can move its S' adder into that producer (and,
    for a convolution, the sliding window between them)."""
    names = [lay.name for lay in model.layers]
    i = names.index(layer.name)
    return i > 0 and isinstance(model.layers[i - 1], MVU) and layer.kind in ("dense", "conv")


def design_estimate(model: IRModel, impls: Mapping[str, LayerImpl]) -> float:
    """The LUT estimate of a folded design: :func:`logic_estimate` of every MVU as ``impls`` builds it (the
    other stages - thresholds, windows, pools, stream FIFOs - are small next to them and left out)."""
    return float(sum(logic_estimate(layer, schedule(layer, impls[layer.name]), impls[layer.name].weight_rom,
                                    vector_fed(model, layer)) for layer in model.mvus))
