"""Hardware stage (``sbnn synth``, ``sbnn deploy``), one subpackage per backend.

* :mod:`sbnn.hw.rtl`: zero-skipping dataflow Verilog (:func:`sbnn.hw.rtl.design.generate`);
* :mod:`sbnn.hw.synth`: Yosys / Vivado synthesis and the device facts;
* :mod:`sbnn.hw.rtlsim.verilator`: Verilator runs (:func:`sbnn.hw.rtlsim.api.run_rtl`) and the ``sbnn sim --rtl`` check;
* :mod:`sbnn.hw.hls4ml`: the hls4ml backend; :mod:`sbnn.hw.pynq`: PYNQ-Z2 deployment;
* :mod:`sbnn.hw.stage` / :mod:`sbnn.hw.cli`: the pipeline stage; :mod:`sbnn.hw.stream`: AXI4-Stream formats.

How every layer is built, the schedules and the pipeline structure are the hardware plan of
:mod:`sbnn.arch`; timing facts live in :mod:`sbnn.sim.cycles`.
"""
