"""benchmarks/hw_network_structure.py: the variant that counts is the cheapest one that passed the RTL check, and
the goal lines are computed against the best dense BNN."""

from __future__ import annotations

import hw_network_structure as hns

from sbnn.arch.options import WEIGHT_ROMS


def _v(style: str, lut: int, bram: float, equal: bool = True, timing: bool = True) -> dict:
    return {"style": style, "LUT": lut, "BRAM36": bram, "FF": 1000, "frames_per_second": 1e5,
            "mvus": {"mvu0": {"PE": 2, "SIMD": 16, "style": style}},
            "layers": {"mvu0": {"LUT": lut, "FF": 1000, "BRAM18": 0, "BRAM36": bram}},
            "rtl": {"samples": 1000, "equal": equal, "mismatches": 0 if equal else 3, "timing_equals_cycle_model": timing}}


def test_selection_takes_the_fewest_luts_among_designs_that_pass_the_rtl_check():
    assert hns.select([_v("auto", 900, 4), _v("sparse", 800, 6)])["style"] == "sparse"
    assert hns.select([_v("auto", 900, 4), _v("sparse", 800, 6, equal=False)])["style"] == "auto"
    assert hns.select([_v("auto", 900, 4, timing=False), {"style": "nm", "error": "sbnn synth failed"}]) is None
    assert hns.select([_v("auto", 900, 5), _v("nm", 900, 4)])["style"] == "nm"


def test_ratios_and_goal_lines_use_the_best_dense_bnn():
    res = {"nets": [{"net": "mlp-bnn", "zero_bits": 0.5, "test_acc_seed0": 0.86, "structure": "dense BNN", "selected": "dense",
                     "variants": [_v("auto", 2500, 10), _v("dense", 2000, 10)]},
                    {"net": "mlp-1of8", "zero_bits": 0.875, "test_acc_seed0": 0.85, "structure": "1:8", "selected": "nm",
                     "variants": [_v("auto", 1300, 4), _v("nm", 1100, 6)]},
                    {"net": "mlp-none-0.875", "zero_bits": 0.875, "test_acc_seed0": 0.85, "structure": "none", "selected": None,
                     "variants": [{"style": "auto", "error": "sbnn synth failed"}]}]}
    hns.add_ratios(res)
    assert res["baseline"] == {"net": "mlp-bnn", "style": "dense", "LUT": 2000, "mvu_LUT": None, "BRAM36": 10}
    assert [(g["net"], g["lut_ratio"], g["bram_ratio"], g["lut_met"], g["bram_met"]) for g in res["goal"]] == \
        [("mlp-1of8", 0.55, 0.6, True, False)]
    assert "NOT met" in hns.markdown(res) and "sbnn synth failed" in hns.markdown(res)
    assert "Baseline: the dense BNN with `--style dense`, 2,000 LUT" in hns.markdown(res)


def test_the_baseline_is_named_as_it_was_built():
    """A variant that is not a style (the search, the benchmark's own designs) is not called ``--style X``."""
    res = {"nets": [{"net": "mlp-bnn", "zero_bits": 0.5, "test_acc_seed0": 0.86, "structure": "dense BNN",
                     "selected": "search", "variants": [_v("auto", 2500, 10), _v("search", 2000, 11)]}]}
    hns.add_ratios(res)
    md = hns.markdown(res)
    assert "Baseline: the dense BNN searched by synthesis (`--search 3`), 2,000 LUT, 11 BRAM36." in md
    assert "--style search" not in md


def test_missing_runs_are_one_clear_error(tmp_path, capsys):
    assert hns.main(["--runs", str(tmp_path)]) == 1
    assert "no exported run for mlp-bnn" in capsys.readouterr().err


def test_mvu_luts_count_the_mvu_instances_only():
    syn = {"instances": {"(top)": {"LUT": 1}, "u_L0_mvu0": {"LUT": 300}, "u_L0_mvu0_swu": {"LUT": 30},
                         "u_L1_mvu1": {"LUT": 200}, "u_L1_mvu1_col": {"LUT": 20}, "u_fifo3": {"LUT": 199}}}
    assert hns.mvu_luts(syn) == 500


def test_a_subset_writes_partial_files_and_never_the_full_table(tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(hns, "write_results", lambda name, data, md: written.append((name, md)))
    monkeypatch.setattr(hns, "figure", lambda res, acc, path: written.append((path.name, "")))
    res = {"partial": True, "nets": [{"net": "mlp-bnn", "zero_bits": 0.5, "test_acc_seed0": 0.86,
                                      "structure": "dense BNN", "selected": "auto", "variants": [_v("auto", 2000, 10)]}]}
    hns.write(res)
    assert [n for n, _ in written] == ["hw_network_structure_partial", "hw_network_structure_partial.png"]
    assert "(hw_network_structure_partial.png)" in written[0][1]
    written.clear()
    hns.write({**res, "partial": False})
    assert [n for n, _ in written] == ["hw_network_structure", "hw_network_structure.png"]


def test_the_cnv_table_has_its_own_baseline_rate_and_files(tmp_path, monkeypatch, capsys):
    res = {"arch": "cnv", "nets": [{"net": "cnv-bnn", "zero_bits": 0.5, "test_acc_seed0": 0.87, "structure": "dense BNN",
                                    "selected": "auto", "variants": [_v("auto", 3000, 8)]},
                                   {"net": "cnv-1of8i-flrow", "zero_bits": 0.87, "test_acc_seed0": 0.86, "structure": "1:8i",
                                    "selected": "auto", "variants": [_v("auto", 1500, 3)]}]}
    hns.add_ratios(res)
    assert res["baseline"]["net"] == "cnv-bnn" and [g["lut_ratio"] for g in res["goal"]] == [0.5]
    md = hns.markdown(res)
    assert md.startswith("# Whole networks at 3,000 frames/s") and "--target-fps 3000" in md
    assert "(hw_network_structure_cnv.png)" in md
    written = []
    monkeypatch.setattr(hns, "write_results", lambda name, data, md: written.append(name))
    monkeypatch.setattr(hns, "figure", lambda res, acc, path: written.append(path.name))
    hns.write(res)
    assert written == ["hw_network_structure_cnv", "hw_network_structure_cnv.png"]
    assert hns.main(["--arch", "cnv", "--nets", "mlp-bnn", "--runs", str(tmp_path)]) == 1
    assert "mlp-bnn not in the cnv table" in capsys.readouterr().err


def test_the_breakdown_groups_every_feature_of_the_cost_model_once():
    from sbnn.arch.cost import COEFFS

    grouped = [n for names in hns.PARTS.values() for n in names]
    assert sorted(grouped) == sorted(COEFFS)


def test_all_nm_networks_are_also_built_with_widened_weight_words():
    """nm-wide: every weight memory in block RAM, widened where the thresholds need it (a 1:16 layer's word);
    only all-N:M networks get it, and it passes a placement the CLI accepts. Every other sparse network gets the same
    placement with its default styles (wide), the dense BNN with its XNOR datapath (dense-wide)."""
    bench = hns.BENCHES["mlp"]
    assert hns.variants(bench, "mlp-1of16i") == ["auto", "search", "dense", "nm", "nm-wide"]
    assert hns.variants(bench, "mlp-block8-0.875") == ["auto", "search", "dense", "block", "wide"]
    assert hns.variants(bench, "mlp-1of16-flrow") == ["auto", "search", "dense", "wide"]
    assert hns.variants(hns.BENCHES["cnv"], "cnv-1of8-flrow") == ["auto", "search", "dense", "wide"]
    assert hns.VARIANT_ARGS["wide"] == hns.VARIANT_ARGS["nm-wide"][hns.VARIANT_ARGS["nm-wide"].index("--set"):]
    # the dense BNN too is searched by synthesis (its other variants build one design), and gets the same widened
    # block-RAM placement as the N:M networks' nm-wide
    assert hns.variants(bench, "mlp-bnn") == ["auto", "search", "dense", "dense-wide"]
    assert hns.variants(hns.BENCHES["cnv"], "cnv-bnn")[-1] == "dense-wide"
    assert hns.VARIANT_ARGS["dense-wide"][hns.VARIANT_ARGS["dense-wide"].index("--set") + 1:] == \
        hns.VARIANT_ARGS["nm-wide"][hns.VARIANT_ARGS["nm-wide"].index("--set") + 1:]
    assert hns.VARIANT_ARGS["search"] == ["--search", str(hns.SEARCH)] and hns.SEARCH >= 2
    args = hns.VARIANT_ARGS["nm-wide"]
    key, value = args[args.index("--set") + 1].split("=")
    assert args[args.index("--style") + 1] == "nm" and key == "weight_rom" and value in WEIGHT_ROMS
