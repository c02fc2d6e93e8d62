"""The report's figures: N:M point labels that would print over each other are moved apart."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.report.plots import LABEL_H, LABEL_W, NM_LABEL, declutter


def _label_boxes(ax) -> list[tuple[float, float]]:
    """Each N:M label's position (anchor + offset) in points."""
    to_pt = 72.0 / ax.figure.dpi
    out = []
    for t in ax.texts:
        if t.get_gid() == NM_LABEL:
            x, y = ax.transData.transform(t.xy) * to_pt
            out.append((x + t.xyann[0], y + t.xyann[1]))
    return out


def _figure(points: list[tuple[float, float]]):
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot([0.5, 0.95], [100, 2000], "s")  # fixes the limits, as the other series of a panel do
    ax.set_yscale("log")
    for i, (x, y) in enumerate(points):
        ax.plot([x], [y], "X")
        ax.annotate(f"{i + 1}:16", (x, y), fontsize=6, xytext=(3, -8), textcoords="offset points", gid=NM_LABEL)
    return fig, ax


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.875, 0.9, 0.9375]), st.floats(600, 640)), min_size=2, max_size=6))
def test_no_two_labels_overlap(points):
    fig, ax = _figure(points)
    declutter(fig)
    boxes = _label_boxes(ax)
    plt.close(fig)
    for (ax_, ay), (bx, by) in itertools.combinations(boxes, 2):
        assert abs(ax_ - bx) >= LABEL_W or abs(ay - by) >= LABEL_H - 1e-6


@pytest.mark.parametrize("points", [[(0.875, 800)], [(0.6, 150), (0.9, 1500)]])
def test_labels_that_do_not_touch_keep_their_place(points):
    fig, ax = _figure(points)
    declutter(fig)
    offsets = [t.xyann for t in ax.texts if t.get_gid() == NM_LABEL]
    plt.close(fig)
    assert offsets == [(3, -8)] * len(points)


def test_coincident_labels_stack_one_label_height_apart():
    fig, ax = _figure([(0.875, 620.0), (0.875, 620.0), (0.875, 620.0)])
    declutter(fig)
    dys = sorted(t.xyann[1] for t in ax.texts if t.get_gid() == NM_LABEL)
    plt.close(fig)
    assert dys == [-8 - 2 * LABEL_H, -8 - LABEL_H, -8]
