"""sbnn: sparse binary neural networks from Brevitas training to verified FPGA dataflow hardware.

The package is one importable namespace whose stage subpackages live in top-level folders of the
repository (``training/`` -> ``sbnn.training`` and so on). Data flows one way, stage to stage, through
files in a run directory and through the hardware IR in :mod:`sbnn.ir`.
"""

import os as _os

# PyTorch's OpenMP workers busy-wait between operations. On a shared or small machine (the reference
# machine has 2 cores) a second busy process then slows small training steps down a hundredfold
# (measured: 1.5 s instead of 15 ms per SFC step). Passive waiting costs nothing measurable alone.
# Must be set before torch is imported; a value chosen by the user wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
