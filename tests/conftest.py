"""Project-wide test settings: deterministic hypothesis profile, small torch thread pool; the ``piped_sbnn``
fixture (an ``sbnn`` command with stdout piped, as in CI logs)."""

import os
import subprocess
import sys

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see sbnn/__init__.py: must precede importing torch

from hypothesis import HealthCheck, settings

settings.register_profile(
    "sbnn", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("nightly", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("SBNN_HYPOTHESIS_PROFILE", "sbnn"))

try:  # keep tests to the two cores of the reference machine
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
except ImportError:  # torch-free test subsets
    pass


def _piped(args: list[str], columns: str | None) -> str:
    """``sbnn`` with stdout piped (as in CI logs or ``| tee``), $COLUMNS set or unset; it must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    proc = subprocess.run([sys.executable, "-m", "sbnn.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture
def piped_sbnn():
    """``piped_sbnn(args, columns)`` -> the stdout of ``sbnn *args`` run with stdout piped."""
    return _piped
