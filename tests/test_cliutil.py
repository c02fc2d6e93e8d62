"""Console output that reads well at any width and in a pipe: tables fold instead of cutting cells, long
steps say how long they take. The CLIs themselves are run with stdout piped in tests/hw/test_hw_cli.py and
tests/report/test_terminal_output.py."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from sbnn import cliutil, fmt

WORDS = st.sampled_from(["layer", "op", "PE x SIMD", "datapath", "zero bits", "clocks/ frame", "LUT", "FF",
                         "BRAM36", "weight memory bits", "frames/s @ target", "of interval"])
CELLS = st.one_of(st.integers(0, 10**9).map(fmt.count), st.floats(0, 1).map(fmt.pct),
                  st.floats(1, 1e7).map(fmt.sig), st.sampled_from(["sparse lutram1", "dense", "-", "mvu12"]))


def render(monkeypatch, width: int, title: str, columns: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    con = Console(file=buf, width=width, highlight=False)
    monkeypatch.setattr(cliutil, "console", con)
    cliutil.print_table(title, columns, rows)
    return buf.getvalue()


@settings(max_examples=40, deadline=None)
@given(width=st.sampled_from([40, 60, 80, 100, 200]), ncols=st.integers(2, 12), nrows=st.integers(1, 6),
       data=st.data())
def test_tables_never_cut_a_cell(width, ncols, nrows, data):
    columns = data.draw(st.lists(WORDS, min_size=ncols, max_size=ncols, unique=True))
    rows = [data.draw(st.lists(CELLS, min_size=ncols, max_size=ncols)) for _ in range(nrows)]
    with pytest.MonkeyPatch.context() as mp:
        text = render(mp, width, "a title", columns, rows)
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines()), text
    tokens = {tok for line in text.splitlines() for tok in line.split()}
    for row in rows:  # every number whole on one line; text may wrap, at spaces only
        for cell in row:
            assert all(tok in tokens for tok in cell.split()), (cell, text)


def test_a_wide_table_is_folded_with_the_first_column_repeated(monkeypatch):
    columns = ["layer", "op", "PE x SIMD", "datapath", "zero bits", "clocks/ frame", "LUT", "FF", "BRAM36"]
    rows = [[f"mvu{i}", "mvu", "1x1", "sparse lutram1", "90.0 %", "10,332", "40,912", "12,345", "10.5"] for i in range(4)]
    wide = render(monkeypatch, 200, "t", columns, rows)
    assert "(continued)" not in wide and all(c.split()[0] in wide for c in columns)
    narrow = render(monkeypatch, 50, "t", columns, rows)
    assert "(continued)" in narrow
    for i in range(4):
        assert len(re.findall(rf"\bmvu{i}\b", narrow)) >= 2  # the key column in every part


def test_a_cell_wider_than_the_console_is_printed_plainly(monkeypatch):
    long = "x" * 70
    text = render(monkeypatch, 40, "t", ["name", "value"], [["a", long]])
    assert "  a: " + long in text.splitlines() and "…" not in text
    wrapped = render(monkeypatch, 40, "t", ["what", "value"], [["resources", "2,276 LUT (4.28 %), 1,348 FF (1.27 %), "
                                                                            "3.5 BRAM36 (2.50 %), 0 DSP"]])
    assert "2,276" in wrapped and "BRAM36" in wrapped and all(len(ln) <= 40 for ln in wrapped.splitlines())


def test_step_in_a_pipe_prints_start_heartbeat_and_elapsed(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(cliutil, "console", Console(file=buf, width=80))
    monkeypatch.setenv("SBNN_PROGRESS", "0")
    import time

    with cliutil.step("synthesizing", heartbeat_s=0.05):
        time.sleep(0.2)
    out = buf.getvalue().splitlines()
    assert out[0] == "synthesizing ..." and re.fullmatch(r"synthesizing: done in \d\.\d s", out[-1])
    assert any(line.startswith("... still synthesizing (") for line in out[1:-1])
    buf.truncate(0)
    buf.seek(0)
    with pytest.raises(RuntimeError):
        with cliutil.step("building", heartbeat_s=10):
            raise RuntimeError("boom")
    assert re.fullmatch(r"building: stopped after \d\.\d s", buf.getvalue().splitlines()[-1])
