"""The README's figures come from benchmarks/results/: its generated blocks equal the results files, and every
number in its marked quoting tables and claims occurs in the results files they quote."""

from __future__ import annotations

import readme_sync


def test_readme_blocks_and_quotes_match_the_results_files():
    assert [p for path in readme_sync.DOCS for p in readme_sync.problems(path)] == []


def test_the_quoting_regions_are_marked():
    """The regions that quote results stay marked (a removed marker would silently stop the check)."""
    results, quotes = readme_sync.blocks(readme_sync.ROOT / "README.md")
    assert {"main_job", "sim_throughput", "train_fashion"} <= set(results)
    assert {"hw_sparsity", "hw_finn_compare", "docs/sweep-fashion.md"} <= {n for names in quotes for n in names}
    _, hw_quotes = readme_sync.blocks(readme_sync.ROOT / "hw" / "README.md")
    assert len(hw_quotes) >= 5


def test_the_check_catches_a_drifted_figure(tmp_path, monkeypatch):
    """A hand-edited number in a generated block, and a quoted number that no results file holds, are both found."""
    text = (readme_sync.ROOT / "README.md").read_text()
    drifted = text.replace("<!-- results: main_job -->\n", "<!-- results: main_job -->\nLUT 2,743\n", 1)
    name = next(n for names in readme_sync.blocks(readme_sync.ROOT / "README.md")[1] for n in names
                if n == "hw_sparsity")
    drifted = drifted.replace(f"<!-- quotes: {name} -->\n", f"<!-- quotes: {name} -->\nabout 12,345,678 LUTs\n", 1)
    fake = tmp_path / "README.md"
    fake.write_text(drifted)
    found = readme_sync.problems(fake)
    assert any("results block main_job is not what main_job.md holds" in p for p in found)
    assert any(p.startswith("README.md: 12,345,678 (quoting hw_sparsity") for p in found)
    assert readme_sync.problems(fake) != [] and readme_sync.refresh(drifted).count("LUT 2,743") == 0


def test_canonical_numbers():
    assert readme_sync.canonical("1,234.50") == readme_sync.canonical("1234.5") == "1234.5"
    assert readme_sync.canonical("0.20") == readme_sync.canonical("0.2")
    assert readme_sync.canonical("100") == "100"
