"""sbnn: sparse binary neural networks from Brevitas training to verified FPGA dataflow hardware.

The package is one importable namespace whose stage subpackages live in top-level folders of the
repository (``training/`` -> ``sbnn.training`` and so on). Data flows one way, stage to stage, through
files in a run directory and through the hardware IR in :mod:`sbnn.ir`.
"""

__version__ = "0.1.0"
