"""The hardware plan: how every layer is built, below both the simulator and the RTL generator.

* :mod:`sbnn.arch.options`: the names of every per-layer choice (``Literal`` types, defined once);
* :mod:`sbnn.arch.impl`: :class:`~sbnn.arch.impl.LayerImpl`, one MVU's implementation (PE, SIMD, style,
  gather, coding, ...), and the folding-file format it is written in;
* :mod:`sbnn.arch.schedule`: the schedule of an implemented MVU (:class:`~sbnn.arch.schedule.MVUPlan`),
  one function per style;
* :mod:`sbnn.arch.pipeline`: the stage chain of a design (:class:`~sbnn.arch.pipeline.Stage`);
* :mod:`sbnn.arch.cost`: the LUT estimate that ranks implementations (one place, to be refitted);
* :mod:`sbnn.arch.folding`: the folding step, which resolves every layer's implementation once.

Timing and FIFO sizing of a pipeline live in :mod:`sbnn.sim.cycles`, the Verilog in :mod:`sbnn.hw.rtl`.
This package imports neither, nor torch.
"""
