"""cocotb bench (run by test_hw_cocotb.py inside Verilator): AXI4-Stream with random bubbles/back-pressure.

The case file (``SBNN_COCOTB_CASE``, npz) holds the input beats as byte rows, the expected outputs of the
bit-exact simulator and the stream format. The bench drives ``s_axis`` with random gaps (holding a
presented beat until it is accepted, as AXI requires), toggles ``m_axis_tready`` at random, and checks
every output value and ``tlast``.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from sbnn.hw.stream import StreamFormat, unpack_output


@cocotb.test()
async def axis_random_handshakes(dut):
    case = np.load(os.environ["SBNN_COCOTB_CASE"])
    fmt = StreamFormat.from_json(json.loads(str(case["stream"])))
    beats = [int.from_bytes(row.tobytes(), "little") for row in case["beats"]]
    want = case["expected"]
    rng = random.Random(int(case["seed"]))
    p_in, p_out = float(case["p_in"]), float(case["p_out"])
    n_out = want.shape[0] * fmt.out_beats

    cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
    dut.ap_rst_n.value = 0
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tlast.value = 0
    dut.s_axis_tdata.value = 0
    dut.m_axis_tready.value = 0
    for _ in range(5):
        await FallingEdge(dut.ap_clk)
    dut.ap_rst_n.value = 1

    got, lasts = [], []
    i, presenting, stalls_in, stalls_out = 0, False, 0, 0
    for _cycle in range(200 * n_out * max(1, fmt.in_beats) + 100000):
        await FallingEdge(dut.ap_clk)
        if not presenting and i < len(beats) and rng.random() < p_in:
            presenting = True
            dut.s_axis_tdata.value = beats[i]
            dut.s_axis_tlast.value = int((i + 1) % fmt.in_beats == 0)
        dut.s_axis_tvalid.value = int(presenting)
        ready = rng.random() < p_out
        dut.m_axis_tready.value = int(ready)
        await ReadOnly()
        if presenting:
            if int(dut.s_axis_tready.value):
                i += 1
                presenting = False
            else:
                stalls_in += 1
        if int(dut.m_axis_tvalid.value):
            if ready:
                got.append(int(dut.m_axis_tdata.value))
                lasts.append(int(dut.m_axis_tlast.value))
            else:
                stalls_out += 1
        if len(got) == n_out:
            break
    assert len(got) == n_out, f"only {len(got)} of {n_out} output beats arrived"
    data = np.array([list(v.to_bytes(fmt.out_width // 8, "little")) for v in got], dtype=np.uint8)
    out = unpack_output(fmt, data)
    bad = np.flatnonzero((out != want).any(axis=1))
    assert bad.size == 0, f"{bad.size} frames differ from the bit-exact simulator (first {bad[:5]})"
    assert lasts == [int((j + 1) % fmt.out_beats == 0) for j in range(n_out)], "tlast misplaced"
    assert stalls_in > 0 and stalls_out > 0, "the random handshakes never stalled"
    dut._log.info("ok: %d frames, %d input stalls, %d output stalls", want.shape[0], stalls_in, stalls_out)
