"""`sbnn train` from the command line: bad input is one line on stderr and a non-zero exit code."""

import subprocess
import sys

import numpy as np
import pytest

from sbnn.cli import main
from sbnn.data.idx import write_idx


def run(*args):
    return subprocess.run([sys.executable, "-m", "sbnn.cli", *args], capture_output=True, text=True)


def one_error_line(proc):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("args,message", [
    (["train", "--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--arch", "alexnet"], "invalid choice: 'alexnet'"),
    (["train", "--sparsity", "1.0"], "quant.sparsity"),
    (["train", "--sparsity", "-0.2"], "quant.sparsity"),
    (["train", "--set", "optim.epochs"], "key=value"),
    (["train", "--config", "/nonexistent.yaml"], "not found"),
])
def test_bad_training_input_is_one_line(tmp_path, args, message):
    line = one_error_line(run(*args, "--run", str(tmp_path / "r")))
    assert message in line


@pytest.mark.parametrize("args,message", [
    (["--structure", "zigzag"], "unknown mask structure 'zigzag'"),
    (["--structure", "3:2"], "N:M needs M >= 2 and 1 <= N <= M"),
    (["--structure", "1:8", "--sparsity", "0.9"], "quant.sparsity 0.9 contradicts structure 1:8"),
    (["--structure", "row", "--method", "bnn"], "needs method ab-closed"),
    (["--structure", "1:16", "--set", "quant.first_last_sparsity=0.3"], "quant.first_last_sparsity: sparsity 0.3"),
    (["--method", "bnn", "--set", "quant.last_structure=row"], "quant.last_structure row needs method ab-closed"),
    (["--structure", "1:8", "--set", "quant.last_structure=1:4"], "quant.last_structure: sparsity 0.875"),
])
def test_bad_structure_is_one_line_before_any_training(tmp_path, capsys, args, message):
    code = main(["train", "--run", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message, hint", [
    (["--structure", "1:16i", "--set", "model.hidden=[24]"],
     "binary layer 1: interleaved 1:16i needs M = 16 to divide the layer's K = 24", "--set quant.last_structure=row"),
    (["--structure", "1:8i", "--arch", "cnv"],  # the first conv reads 3 x 3 x 1 = 9 inputs
     "binary layer 0: interleaved 1:8i needs M = 8 to divide the layer's K = 9", "--set quant.first_last_structure=row"),
])
def test_an_interleaved_group_that_does_not_divide_k_is_one_line(tmp_path, capsys, args, message, hint):
    code = main(["train", "--run", str(tmp_path / "r"), *args, "--set", "optim.epochs=1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert message in err and hint in err
    assert not (tmp_path / "r" / "train" / "checkpoint.pt").exists()


def test_missing_and_corrupted_data_files(tmp_path, capsys):
    data = tmp_path / "data"
    code = main(["train", "--run", str(tmp_path / "r"), "--dataset", "mnist", "--data-dir", str(data),
                 "--set", "data.download=false"])
    err = capsys.readouterr().err
    assert code == 2 and "missing files" in err and "train-images-idx3-ubyte.gz" in err
    folder = data / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-40])  # truncated gzip
    code = main(["train", "--run", str(tmp_path / "r"), "--dataset", "mnist", "--data-dir", str(data),
                 "--set", "data.download=false"])
    err = capsys.readouterr().err
    assert code == 2 and "train-images-idx3-ubyte.gz" in err and len(err.strip().splitlines()) == 1


def test_train_resume_and_corruption_from_the_cli(tmp_path, capsys):
    args = ["train", "--run", str(tmp_path / "r"), "--epochs", "1", "--set", "data.train_subset=100",
            "--set", "model.arch=tfc"]
    assert main(args) == 0
    assert main(args) == 0 and "already trained" in capsys.readouterr().out
    assert main([*args, "--sparsity", "0.5", "--resume"]) == 2
    assert "different config" in capsys.readouterr().err
    ckpt = tmp_path / "r" / "train" / "checkpoint.pt"
    ckpt.write_bytes(b"garbage" * 100)
    assert main([*args, "--resume"]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
