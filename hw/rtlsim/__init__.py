"""Verilator runs of generated designs: the harness (:mod:`~sbnn.hw.rtlsim.verilator`), the one-line
:func:`~sbnn.hw.rtlsim.api.run_rtl`, and the RTL check of ``sbnn sim --rtl`` (:mod:`~sbnn.hw.rtlsim.check`)."""
