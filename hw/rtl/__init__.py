"""The Verilog backend: one module per pipeline stage and FIFO, from the hardware plan of :mod:`sbnn.arch`.

:func:`sbnn.hw.rtl.design.generate` is the entry point (IR + per-layer implementations -> a
:class:`~sbnn.hw.rtl.design.Design`); the MVU datapaths are :mod:`~sbnn.hw.rtl.mvu` (unrolled and the
emitter dispatch), :mod:`~sbnn.hw.rtl.folded` (folded MVUs), :mod:`~sbnn.hw.rtl.lanes` (their lanes, one
function per style) and :mod:`~sbnn.hw.rtl.lutram` (the distributed-RAM gather).
"""
