"""Run the sbnn accelerator on the PYNQ board (copy this folder to the board, then: python3 example.py).

Checks the board against the bit-exact simulator's scores shipped in samples.npz, prints the accuracy
on the labelled samples and the measured throughput. Needs only numpy and pynq (the PYNQ image).
"""

import sys

import numpy as np
from sbnn_pynq import load


def main() -> int:
    acc = load(".")  # programs sbnn.bit (sbnn.hwh must sit beside it)
    data = np.load(sys.argv[1] if len(sys.argv) > 1 else "samples.npz")
    x = data["x"]
    scores = acc.scores(x)
    if "scores" in data:
        bad = int((scores != data["scores"]).any(axis=1).sum())
        print(f"{len(x)} inputs: {len(x) - bad} equal to the bit-exact simulator, {bad} differ")
    if "y" in data:
        pred = np.argmax(scores.astype(np.float64) * acc.gain + acc.bias, axis=1)
        print(f"accuracy {np.mean(pred == data['y']):.4f} on {len(x)} labelled inputs")
    tp = acc.measure(x, repeats=3)
    print(f"{tp.frames_per_second:,.0f} frames/s (batches of {tp.batch}, packing and DMA included)")
    return 1 if "scores" in data and bad else 0


if __name__ == "__main__":
    sys.exit(main())
