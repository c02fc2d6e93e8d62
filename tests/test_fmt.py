"""Numbers for people: separators, three significant digits that never drop an integer digit, units."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn import fmt


@pytest.mark.parametrize("value, text", [
    (14530.659691950015, "14,531"), (0.8999973336177475, "0.900"), (97.2222, "97.2"), (2.25, "2.25"),
    (0.0123456, "0.0123"), (1.7e-115, "1.70e-115"), (999.6, "1,000"), (100.0, "100"), (0, "0"), (-3.14159, "-3.14"), (None, "-"),
    (float("nan"), "-")])
def test_sig(value, text):
    assert fmt.sig(value) == text


@pytest.mark.parametrize("value, text", [(2319, "2,319"), (3.5, "3.5"), (10.0, "10"), (0, "0"), (None, "-")])
def test_count(value, text):
    assert fmt.count(value) == text


@pytest.mark.parametrize("value, text", [(0.8999973336177475, "90.0 %"), (0.052, "5.20 %"), (1.0, "100 %"),
                                         (0.97222, "97.2 %"), (None, "-")])
def test_pct(value, text):
    assert fmt.pct(value) == text


@pytest.mark.parametrize("value, text", [(0.44, "0.4 s"), (12.3, "12 s"), (109, "1 min 49 s"),
                                         (3 * 3600 + 5 * 60, "3 h 05 min")])
def test_duration(value, text):
    assert fmt.duration(value) == text


@given(st.floats(1e-3, 1e12))
def test_sig_keeps_three_significant_digits_and_every_integer_digit(x):
    text = fmt.sig(x)
    back = float(text.replace(",", ""))
    assert abs(back - x) <= max(0.5, abs(x) * 5e-3)  # rounded to 3 significant digits, or to the unit
    if x >= 100:
        assert len(text.replace(",", "")) == len(str(int(round(x))))  # no integer digit lost
    digits = text.replace(",", "").replace(".", "").lstrip("0")
    assert len(digits) >= min(3, len(str(int(round(x)))) if x >= 1 else 3) or math.isclose(back, 0)
