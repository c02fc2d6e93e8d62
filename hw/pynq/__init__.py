"""PYNQ-Z2 deployment (``sbnn deploy``): the AXI DMA shell, the Vivado project, the board driver and a
simulated overlay that runs the driver against the RTL in Verilator."""
