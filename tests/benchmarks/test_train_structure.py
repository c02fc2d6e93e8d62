"""benchmarks/train_structure.py: the accuracy goal is judged only against references in the same table."""

from __future__ import annotations

import train_structure as ts


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
