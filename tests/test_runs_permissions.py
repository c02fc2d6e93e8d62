"""Files sbnn writes get the permissions a plain ``open`` would create them with (0666 less the umask), not
``mkstemp``'s 0600: a teammate, a container user or a Vivado machine reading the run folder over a share must
be able to open the RTL and the reports."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sbnn import runs


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_of():
    """Run with a given umask, restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027, 0o077])
def test_written_files_have_the_mode_a_plain_open_gives(tmp_path, umask_of, mask):
    umask_of(mask)
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as fh:
        fh.write("x")
    assert runs.umask() == mask
    for name, write in [("a.txt", lambda p: runs.write_atomic(p, "text")),
                        ("b.bin", lambda p: runs.write_atomic(p, b"\x00\x01")),
                        ("c.json", lambda p: runs.write_json(p, {"k": 1})),
                        ("d.yaml", lambda p: runs.write_yaml(p, {"k": 1}))]:
        path = write(tmp_path / "sub" / name)
        assert _mode(path) == _mode(plain) == 0o666 & ~mask, name
    assert not list((tmp_path / "sub").glob(".*.tmp"))  # no temporary file left behind


def test_replacing_a_0600_file_gives_the_normal_mode(tmp_path, umask_of):
    """Files that an older sbnn wrote as 0600 become readable when the stage writes them again."""
    umask_of(0o022)
    path = tmp_path / "report.json"
    path.write_text("{}")
    path.chmod(0o600)
    runs.write_json(path, {"k": 2})
    assert _mode(path) == 0o644 and runs.read_json(path) == {"k": 2}


def test_generated_verilog_is_readable_by_others(tmp_path, umask_of):
    """The RTL folder ``sbnn synth`` writes (Design.write goes through write_atomic)."""
    import numpy as np

    from sbnn.hw.rtl.design import generate
    from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
    from sbnn.ir.synthetic import random_mvu

    umask_of(0o022)
    layer = random_mvu(np.random.default_rng(0), "mvu", "dense", (1, 1, 32), 4, sparsity=0.5, in_type=BIPOLAR,
                       output=True)
    model = IRModel("t", InputSpec((1, 1, 32), BIPOLAR), [layer], Head(np.ones(4), np.zeros(4))).validate()
    paths = generate(model).write(tmp_path / "rtl")
    assert paths and all(_mode(p) == 0o644 for p in [*paths, tmp_path / "rtl" / "filelist.f"])
