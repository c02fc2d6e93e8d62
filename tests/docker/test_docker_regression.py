"""The RTL regression in the Docker image gives the same results as natively (needs a Docker engine).

Builds the image and runs its default command exactly as ``make docker-test`` does, runs the same
pytest selection as ``make test-rtl`` natively, and compares the two JUnit reports test id by test id,
and the two pytest summaries. Minutes, and the first build downloads about a gigabyte: marked ``slow``
as well as ``docker``, so that it runs with ``make test-slow`` or ``pytest -m docker``, not ``make test``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SELECTION = "rtl and not slow"  # the Makefile's test-rtl selection (test_docker_files checks the CMD uses it)


def _engine_answers() -> bool:
    docker = os.environ.get("DOCKER", "docker")
    if not shutil.which(docker):
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def engine():
    if not _engine_answers():
        pytest.skip("no Docker engine answers 'docker info' (start one; on the reference machine, as root: "
                    "../shared/tools/local-docker engine)")


def _summary(output: str) -> str:
    """pytest's final counts line without its timing, e.g. '50 passed, 377 deselected, 2 warnings'."""
    lines = [ln for ln in output.splitlines() if re.search(r"\b\d+ (passed|failed|error|skipped|deselected)", ln)]
    assert lines, output[-3000:]
    return re.sub(r"\s+in [\d.]+s.*$", "", lines[-1].strip("= "))


def test_container_results_equal_native(engine, dk, tmp_path):
    env = {**os.environ, "DOCKER_RESULTS": str(tmp_path), "PYTEST_ARGS": ""}
    container = subprocess.run(["bash", str(dk.repo / "docker" / "run.sh"), "test"], cwd=dk.repo, env=env,
                               capture_output=True, text=True, timeout=3600)
    assert container.returncode == 0, (container.stdout + container.stderr)[-5000:]

    native_xml = tmp_path / "rtl-native.xml"
    native = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", SELECTION, f"--junitxml={native_xml}"],
                            cwd=dk.repo, capture_output=True, text=True, timeout=3600,
                            env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")})
    assert native.returncode == 0, native.stdout[-5000:]

    cj = dk.load_script("compare_junit")
    ours, theirs = cj.outcomes(native_xml), cj.outcomes(tmp_path / "rtl-container.xml")
    assert ours, "the native run selected no test"
    assert cj.differences(ours, theirs) == []
    assert _summary(native.stdout) == _summary(container.stdout)
