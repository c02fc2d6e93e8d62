"""benchmarks/train_structure.py: the accuracy goal is judged only against references in the same table."""

from __future__ import annotations

from pathlib import Path

import network_tables as nt
import pytest
import train_structure as ts
from common import run_name


def _row(point: str, structure: str | None, fraction: float | None, acc: float, seed: int = 0) -> dict:
    return {"arch": "mlp", "point": point, "method": "bnn" if structure is None else "ab-closed",
            "structure": structure, "first_last_structure": structure, "last_structure": structure,
            "target_sparsity": fraction, "epochs": 10, "seed": seed, "test_acc": acc, "sparsity": fraction or 0.5,
            "train_seconds": 60.0}


def test_goals_against_the_references_of_the_same_table():
    rows = [_row("bnn", None, None, 0.865), _row("none-0.875", "none", 0.875, 0.860),
            _row("1:8i", "1:8i", 0.875, 0.856), _row("1:16i", "1:16i", 0.9375, 0.849)]
    by = {s["point"]: s for s in ts.summarize(rows)}
    assert by["1:8i"]["goal_unstructured"] is True and by["1:8i"]["goal_dense"] is True
    assert round(by["1:8i"]["vs_unstructured_pt"], 6) == -0.4
    assert by["1:16i"]["goal_unstructured"] is None  # no unstructured 93.75 % point here: not judged
    assert by["1:16i"]["goal_dense"] is False  # -1.6 points
    md = ts.markdown(ts.summarize(rows))
    assert "no reference / MISSED" in md and "met / met" in md


def test_the_last_layer_structure_is_named_in_the_table():
    row = {**_row("1:8/last-row", "1:8", 0.875, 0.83), "last_structure": "row"}
    assert ts.structure_note(ts.summarize([row])[0]) == " (last layer: row)"
    row = {**_row("1:8/row", "1:8", 0.875, 0.86), "first_last_structure": "row", "last_structure": "row"}
    assert ts.structure_note(ts.summarize([row])[0]) == " (first/last layer: row)"


def test_the_unstructured_reference_is_at_the_achieved_zero_bits():
    denser = {**_row("1:16i/2:16i", "1:16i", 0.9375, 0.854), "first_last_structure": "2:16i", "sparsity": 0.8995}
    rows = [_row("bnn", None, None, 0.865), _row("none-0.9375", "none", 0.9375, 0.850), denser]
    s = {x["point"]: x for x in ts.summarize(rows)}["1:16i/2:16i"]
    assert s["vs_unstructured_pt"] is None and s["goal_unstructured"] is None  # 0.8995 is not 0.9375
    assert s["goal_dense"] is True


@pytest.mark.parametrize("point, seed, name", [
    ("1:8", 0, "mlp-1of8"), ("block:8/row-0.875", 0, "mlp-block8-flrow-0.875"), ("1:8/last-row", 0, "mlp-1of8-lastrow"),
    ("2:16/row", 1, "mlp-2of16-flrow-s1"), ("none-0.9375/0.875", 0, "mlp-none-0.9375-fl0.875"),
])
def test_a_point_trains_in_the_run_folder_the_tables_name(point, seed, name):
    assert run_name("mlp", point, seed) == name
    assert ts.run_dir(Path("runs"), "mlp", point, seed).path == Path("runs") / name


def test_the_cnv_points_are_the_networks_of_the_cnv_hardware_table():
    assert {run_name("cnv", p) for p in ts.ARCH_POINTS["cnv"]} == set(nt.BENCHES["cnv"].nets)


def test_an_accuracy_point_takes_the_family_of_its_measured_network():
    """The figure's accuracy panel and its LUT / BRAM panels give a network one colour and marker."""
    cnv = nt.BENCHES["cnv"]
    s = {"arch": "cnv", "point": "2:16/row", "method": "ab-closed", "structure": "2:16", "first_last_structure": "row",
         "last_structure": "row"}
    assert nt.accuracy_family(cnv, s) == cnv.nets["cnv-2of16-flrow"][1] == "N:M 2:16, first/last row"
    assert nt.accuracy_family(cnv, {**s, "point": "1:8/row", "structure": "1:8"}) == "N:M 1:8, first/last row"
    # a point no hardware table measured is named by its structure and its first/last-layer variant
    last = {**s, "arch": "mlp", "point": "1:8/last-row", "structure": "1:8", "first_last_structure": "1:8"}
    assert nt.accuracy_family(nt.BENCHES["mlp"], last) == "N:M, last layer row"
    assert nt.accuracy_family(nt.BENCHES["mlp"], {**s, "arch": "mlp"}) == "N:M, first/last row"


@pytest.mark.parametrize("only, points, seeds, stem", [
    ("cnv", None, [0, 1], "train_structure_cnv"),
    ("cnv", None, [1, 0, 1], "train_structure_cnv"),
    ("cnv", None, [1], "train_structure_cnv_partial"),  # one seed of two: never the committed table
    ("mlp", None, [0, 1, 2], "train_structure_mlp_partial"),
    ("mlp", {"bnn", "1:8i"}, [0, 1], "train_structure_mlp_partial"),
    (None, None, [0, 1], "train_structure"),
])
def test_a_subset_of_points_or_seeds_never_replaces_the_committed_table(only, points, seeds, stem):
    assert ts.results_stem(only, points, seeds) == stem


def test_a_point_another_process_is_training_is_left_out_in_one_line(monkeypatch, capsys):
    """Two of these scripts side by side (say one per seed) meet at a shared point: the second one says so in one
    line and goes on with its other points instead of stopping on a traceback."""
    from sbnn.runlock import RunLocked

    def run_point(root, arch, name, extra, epochs, data_dir, seed, threads, collect_only=False):
        if name == "1:8i":
            raise RunLocked("run directory runs/bench-structure/mlp-1of8i is in use by pid 4242")
        return _row(name, None, None, 0.865)

    written = {}
    monkeypatch.setattr(ts, "run_point", run_point)
    monkeypatch.setattr(ts, "write_results", lambda stem, data, md: written.update(stem=stem, data=data, md=md))
    monkeypatch.setattr("sys.argv", ["train_structure.py", "--only", "mlp", "--points", "bnn,1:8i", "--seeds", "0"])
    ts.main()
    out = capsys.readouterr().out
    assert "mlp  1:8i           seed 0: run directory runs/bench-structure/mlp-1of8i is in use by pid 4242 " \
           "(left out)" in out
    assert written["stem"] == "train_structure_mlp_partial"
    assert written["data"]["missing"] == ["mlp 1:8i seed 0"]
    assert [r["point"] for r in written["data"]["rows"]] == ["bnn"]
    assert "Not trained (left out): mlp 1:8i seed 0." in written["md"]
