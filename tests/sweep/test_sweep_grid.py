"""The grid: expansion into points, keys, and one-line errors for bad grids (no training here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbnn.cli import main
from sbnn.errors import ConfigError
from sbnn.sweep import config as sc

CONFIGS = Path(__file__).parents[2] / "configs"


def test_default_grid_has_twenty_two_points():
    cfg = sc.resolve(CONFIGS / "sweep.yaml", [])
    names = [p["name"] for p in sc.points(cfg)]
    per_arch = ["bnn", "ab-closed-0.5", "ab-closed-0.75", "ab-closed-0.9", "ab-closed-0.95", "ab-closed-2of16i",
                "ab-learned-0.5", "ab-learned-0.75", "ab-learned-0.9", "ab-learned-0.95", "sd-bnn"]
    assert sorted(names) == sorted(f"{a}-{n}" for a in ("mlp", "cnv") for n in per_arch)
    from sbnn.training.config import TrainConfig

    for p in sc.points(cfg):
        TrainConfig.resolve(**p["train"])


@pytest.mark.parametrize("arch", ["mlp", "cnv"])
def test_default_grid_structured_points_train(tmp_path, arch):
    """The N:M point of each architecture builds its masks (the CNV's first conv, K = 9, keeps a row
    structure) and trains: one epoch on 128 images, every binary layer's bits then satisfy its structure."""
    from sbnn.runs import RunDir
    from sbnn.training.config import TrainConfig
    from sbnn.training.trainer import train

    cfg = sc.resolve(CONFIGS / "sweep.yaml", [])
    p = next(p for p in sc.points(cfg) if p["arch"] == arch and p.get("structure") == "2:16i")
    tc = TrainConfig.resolve(**{**p["train"], "optim.epochs": 1, "data.train_subset": 128})
    per_layer = list(train(tc, RunDir(tmp_path / arch), log=lambda m: None)["layer_sparsity"].values())
    inner = per_layer if arch == "mlp" else per_layer[1:-1]
    assert len(inner) >= 2 and all(z == 0.875 for z in inner)  # 14 of every 16 bits, exactly
    if arch == "cnv":  # row-structured first and last layers at the sweep's first/last sparsity
        assert all(abs(z - 0.5) < 0.07 for z in (per_layer[0], per_layer[-1]))


def test_point_train_overrides():
    cfg = sc.resolve(CONFIGS / "sweep.yaml", [], epochs=3)
    by_name = {p["name"]: p for p in sc.points(cfg)}
    p = by_name["cnv-ab-learned-0.9"]
    assert p["train"]["quant.sparsity"] == 0.9
    assert p["train"]["quant.first_last_sparsity"] == 0.5
    assert p["train"]["optim.epochs"] == 3
    assert p["target_fps"] == 100000
    assert by_name["mlp-sd-bnn"]["train"]["quant.asd"] == "static"
    assert "quant.sparsity" not in by_name["mlp-bnn"]["train"]
    assert by_name["mlp-bnn"]["sparsity"] is None


def test_structure_axis_adds_ab_closed_points_and_keeps_the_unstructured_ones():
    plain = sc.points(sc.resolve(CONFIGS / "sweep.yaml", ["structures=[none]"]))
    cfg = sc.resolve(CONFIGS / "sweep.yaml", ["structures=[none, 1:8, row, Block:8]"])
    pts = sc.points(cfg)
    by_name = {p["name"]: p for p in pts}
    assert cfg.structures == ["none", "1:8", "row", "block:8"]
    for p in plain:  # unstructured points are unchanged, keys included (finished sweeps stay valid)
        assert by_name[p["name"]] == p and "structure" not in p
        assert sc.point_key(by_name[p["name"]], cfg) == sc.point_key(p, cfg)
    nm = by_name["mlp-ab-closed-1of8"]  # N:M is one point at 1 - N/M zero bits, whatever the sparsities
    assert nm["structure"] == "1:8" and nm["sparsity"] == 0.875 and nm["train"]["quant.structure"] == "1:8"
    assert [n for n in by_name if n.startswith("cnv-ab-closed-row")] == [f"cnv-ab-closed-row-{s}" for s in
                                                                         ("0.5", "0.75", "0.9", "0.95")]
    assert by_name["cnv-ab-closed-block8-0.9"]["train"]["quant.first_last_sparsity"] == 0.5
    assert not any(n.startswith("mlp-ab-learned-row") or "1of8" in n and "learned" in n for n in by_name)
    assert len(pts) == len(plain) + 2 * (1 + 4 + 4)
    from sbnn.training.config import TrainConfig

    for p in pts:  # every point is a valid training config (N:M and first/last sparsity agree)
        TrainConfig.resolve(**p["train"])


def test_key_changes_with_what_decides_results():
    cfg = sc.resolve(CONFIGS / "sweep.yaml", [])
    p = sc.points(cfg)[0]
    assert sc.point_key(p, cfg) == sc.point_key(dict(p), cfg)
    assert sc.point_key(p, cfg) != sc.point_key(p, sc.resolve(CONFIGS / "sweep.yaml", ["rtl_samples=5"]))
    # the measured folding search decides the at-target design; without one the keys are those of earlier sweeps
    assert sc.point_key(p, cfg) != sc.point_key(p, sc.resolve(CONFIGS / "sweep.yaml", ["fps_search=3"]))
    assert sc.point_key(p, cfg) == sc.point_key(p, sc.resolve(CONFIGS / "sweep.yaml", ["fps_search=1"]))


def test_fashion_grid_reuses_the_benchmark_configs():
    """configs/sweep-fashion.yaml must produce the configs benchmarks/train_fashion.py trains with."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tf", CONFIGS.parent / "benchmarks" / "train_fashion.py")
    tf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tf)
    from sbnn.training.config import TrainConfig

    cfg = sc.resolve(CONFIGS / "sweep-fashion.yaml", [], data_dir="/data")
    ours = {p["name"]: TrainConfig.resolve(**p["train"]) for p in sc.points(cfg)}
    for arch, epochs in (("mlp", 10), ("cnv", 8)):
        for name, overrides in tf.points():
            assert ours[f"{arch}-{name}"] == tf.point_config(arch, overrides, epochs, "/data")


@pytest.mark.parametrize("args, message", [
    (["--methods", "bnn,xnor"], "invalid SweepConfig value for 'methods.1'"),
    (["--sparsities", "0,1.5"], "sparsity levels must be in [0, 1)"),
    (["--sparsities", "0,a"], "cannot read the list '0,a'"),
    (["--methods", "ab-closed", "--sparsities", "0", "--structures", "none"],
     "method ab-closed has no point: the {alpha, beta} methods take the sparsity levels above 0 (or an N:M"),
    (["--methods", "bnn,ab-learned", "--sparsities", "0", "--structures", "none"], "method ab-learned has no point"),
    (["--dataset", "fashion-mnist"], "dataset fashion-mnist is read from a data folder: pass --data-dir"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent/sbnn-data"], "data folder /nonexistent/sbnn-data does not exist"),
    (["--archs", "mlp,vgg"], "unknown architecture(s) vgg; the grid has mlp, cnv"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--structures", "zigzag"], "unknown mask structure 'zigzag'"),
    (["--structures", "1:8,1:8"], "structures repeat"),
    (["--methods", "bnn", "--structures", "none,row"], "structures apply to the ab-closed method"),
])
def test_bad_grid_is_a_one_line_error(tmp_path, capsys, args, message):
    rc = main(["sweep", "--root", str(tmp_path / "s"), "--config", str(CONFIGS / "sweep.yaml"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("sparsities", [[0.875], [0.0, 0.875]])
def test_listed_bnn_is_always_the_reference_point(sparsities):
    """The dense BNN is the sparsity-0 point whether or not the levels list 0: a sweep of sparse levels that
    names bnn gets its reference instead of losing it silently."""
    cfg = sc.resolve(CONFIGS / "sweep.yaml", ["methods=[bnn, ab-closed]", f"sparsities={sparsities}",
                                              "structures=[none, 1:8]"])
    mlp = [p for p in sc.points(cfg) if p["arch"] == "mlp"]
    assert sorted(p["name"] for p in mlp) == ["mlp-ab-closed-0.875", "mlp-ab-closed-1of8", "mlp-bnn"]
    bnn = next(p for p in mlp if p["method"] == "bnn")
    assert bnn["sparsity"] is None and "quant.sparsity" not in bnn["train"]


def test_unknown_method_in_yaml(tmp_path):
    bad = tmp_path / "g.yaml"
    bad.write_text("methods: [bnn, magic]\n")
    with pytest.raises(ConfigError, match="methods.1"):
        sc.resolve(bad, [])


def test_interleaved_n_m_is_a_structure_axis_point():
    cfg = sc.resolve(CONFIGS / "sweep.yaml", ["structures=[none, 1:8I]"])
    by_name = {p["name"]: p for p in sc.points(cfg)}
    assert cfg.structures == ["none", "1:8i"]
    p = by_name["mlp-ab-closed-1of8i"]
    assert p["structure"] == "1:8i" and p["sparsity"] == 0.875 and p["train"]["quant.structure"] == "1:8i"
