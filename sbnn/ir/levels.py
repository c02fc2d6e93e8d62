"""Integer weight levels: the one function that turns a binary weight's two real values into the IR's
integers ``w0, w1 = w0 + 2**F`` (lowest terms) and a real scale.

Export calls it on the trained levels (snapped in training to a known ``2**-F`` grid,
:func:`sbnn.training.formulas.snap_levels`), the QONNX lowering on a foreign model's levels (grid unknown).
"""

from __future__ import annotations

import numpy as np

#: the finest grid ``2**-F`` on which a foreign model's level ratio is searched
MAX_LEVEL_BITS = 12


def integer_levels(level0, level1, level_bits: int | None = None):
    """``(w0, w1, scale)`` with ``w1 - w0 = 2**F`` and ``level = scale * w`` for the bit-0 / bit-1 real values
    ``level0`` / ``level1``.

    ``level_bits`` given: the ratio ``level0 / (level1 - level0)`` was snapped to the ``2**-level_bits``
    grid in training and is rounded onto it (float32 noise, within 1e-3). None: a foreign model's levels,
    whose grid is found - the coarsest ``2**-F``, ``F <= MAX_LEVEL_BITS``, holding the ratio within 1e-6.
    Common factors of two are divided out either way (``{-2, 14}`` becomes ``{-1, 7}``) so hardware words
    stay narrow; the scale is negative when level1 < level0. Per-output-channel arrays must share one ratio
    (channels that differ by a scale only); the scale is then per channel. Raises ValueError with the
    reason otherwise.
    """
    scalar = np.ndim(level0) == 0 and np.ndim(level1) == 0
    l0, l1 = np.asarray(level0), np.asarray(level1)
    d = l1 - l0
    if np.any(d == 0):
        raise ValueError("both weight bits map to the same value (degenerate quantizer)")
    ratios = np.atleast_1d(l0 / d)
    if np.ptp(ratios) > 1e-6 * max(1.0, float(np.abs(ratios).max())):
        raise ValueError("the weight levels differ between output channels by more than a scale (per-channel zero points)")
    r = float(ratios[0])
    if level_bits is None:
        for f in range(MAX_LEVEL_BITS + 1):
            x = r * (1 << f)
            if abs(x - round(x)) < 1e-6 * max(1.0, abs(x)):
                w0, q = int(round(x)), 1 << f
                break
        else:
            raise ValueError(f"the weight level ratio {r:.6g} is not a multiple of 2^-{MAX_LEVEL_BITS}")
    else:
        q = 1 << level_bits
        x = r * q
        w0 = round(x)
        if abs(x - w0) > 1e-3 * max(1.0, abs(x)):
            raise ValueError(f"level ratio {r!r} is not on the 2^-{level_bits} grid")
        w0 = int(w0)
    while q > 1 and w0 % 2 == 0:
        w0, q = w0 // 2, q // 2
    scale = d / q
    return w0, w0 + q, float(scale) if scalar else scale
