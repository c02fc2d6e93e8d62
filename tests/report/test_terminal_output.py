"""``sbnn report`` and ``sbnn sim`` with stdout piped (CI logs, ``| tee``), $COLUMNS unset or narrow: no cell
cut with an ellipsis, every number whole (text may wrap at spaces). ``sbnn synth``: tests/hw/test_hw_cli.py."""

from __future__ import annotations

import json
import shutil

import pytest

from sbnn import fmt


def tokens(text: str) -> set[str]:
    return {t.strip(",;:()") for line in text.splitlines() for t in line.split()}


@pytest.fixture(scope="module")
def run(tiny_sweep, tmp_path_factory):
    root, _ = tiny_sweep
    run = tmp_path_factory.mktemp("piped") / "run"
    shutil.copytree(root / "tiny-ab-closed-0.9", run, symlinks=True)
    return run


@pytest.mark.parametrize("columns", [None, "80", "60"])
def test_report_in_a_pipe(run, columns, piped_sbnn):
    out = piped_sbnn(["report", "--run", str(run)], columns)
    width = int(columns or 80)
    assert "…" not in out
    table = out[out.index("sbnn report"):out.index("report: ")]
    assert all(len(line) <= width for line in table.splitlines()), table
    syn = json.loads((run / "synth" / "report.json").read_text())
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    sim = json.loads((run / "sim" / "report.json").read_text())
    seen = tokens(out)
    for value in (fmt.count(syn["total"]["LUT"]), fmt.count(syn["total"]["FF"]), fmt.count(cyc["interval_cycles"]),
                  fmt.count(cyc["latency_cycles"]), fmt.sig(cyc["frames_per_second"]),
                  fmt.pct(sim["test_accuracy"]).split()[0]):
        assert value in seen, (value, out)
    assert "6 of 6 links hold" in " ".join(out.split())


@pytest.mark.parametrize("columns", [None, "50"])
def test_sim_in_a_pipe(run, columns, piped_sbnn):
    out = piped_sbnn(["sim", "--run", str(run)], columns)
    assert "…" not in out
    rep = json.loads((run / "sim" / "report.json").read_text())
    seen = tokens(out)
    assert fmt.count(rep["samples"]) in seen and fmt.pct(rep["test_accuracy"]).split()[0] in seen
