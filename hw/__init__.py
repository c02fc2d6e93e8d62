"""Hardware stage: zero-skipping dataflow RTL generation, Yosys/Vivado synthesis, Verilator runs.

Entry points: :func:`sbnn.hw.design.generate` (IR -> Verilog), :func:`sbnn.hw.api.run_rtl` (simulate any
IR model in Verilator), :func:`sbnn.hw.stage.run_stage` / ``sbnn synth`` (the pipeline stage), and
:mod:`sbnn.hw.stream` (AXI4-Stream formats for host drivers). Timing facts live in :mod:`sbnn.sim.cycles`.
"""
