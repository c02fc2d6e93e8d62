"""The target device's facts, in one place: the PYNQ-Z1/Z2's xc7z020clg400-1 (part name and capacities).

Synthesis reports (:mod:`sbnn.hw.synth.report`) and ``synth/report.json`` carry them, the Vivado scripts
and the PYNQ board description name the part from here, and the folding step's cost (:mod:`sbnn.arch.cost`)
weighs block RAM against LUTs by the device's totals; hence it lives with the hardware plan, which imports
nothing from ``hw``.
"""

#: xc7z020clg400-1 (PYNQ-Z1/Z2): part, short name and totals
DEVICE = {"part": "xc7z020clg400-1", "name": "xc7z020", "LUT": 53200, "LUTRAM": 17400, "FF": 106400, "BRAM36": 140,
          "DSP": 220}
