"""Synthesis for the target device: Yosys (open source, per-layer resources) and Vivado (when installed),
with the device facts in :mod:`sbnn.arch.device`."""
