"""Checks of the Docker set-up that need no Docker engine (they always run): the Dockerfile's shape,
the helper scripts in docker/, the make targets and the CI step.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys

import pytest

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _toml(dk, name):
    return dk.load_script("requirements").tomllib.loads((dk.repo / name).read_text(encoding="utf-8"))


def _args(dk, keyword):
    return [i for i in dk.instructions if i.keyword == keyword]


def test_starts_with_base_image_argument(dk):
    assert dk.dockerfile_text.splitlines()[:2] == ["ARG BASE_IMAGE=python:3.11-slim-bookworm", "FROM ${BASE_IMAGE}"]
    assert [i.args for i in _args(dk, "FROM")] == ["${BASE_IMAGE}"], "one stage, from the BASE_IMAGE argument"


def test_no_buildkit_only_syntax(dk):
    """The classic builder (DOCKER_BUILDKIT=0, as local-docker uses) must build it too."""
    first = dk.dockerfile_text.lstrip().splitlines()[0]
    assert not re.match(r"#\s*syntax\s*=", first, re.I), "no BuildKit frontend directive"
    for ins in dk.instructions:
        assert ins.keyword != "ADD", f"line {ins.line}: use COPY"
        if ins.keyword in ("RUN", "COPY"):
            flags = {f.split("=")[0] for f in re.match(r"((?:--\S+\s+)*)", ins.args).group(1).split()}
            assert flags <= {"--chown", "--from"}, f"line {ins.line}: BuildKit-only flag in {sorted(flags)}"
            assert not re.search(r"<<-?\s*['\"]?[A-Za-z_]+", ins.args), f"line {ins.line}: heredoc"


def test_runs_as_non_root_user(dk):
    users = _args(dk, "USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    last_run = max(i.line for i in _args(dk, "RUN"))
    assert users[-1].line > last_run, "the default command must run as the non-root user"
    assert any(re.search(rf"useradd\b.*\b{re.escape(user)}\b", i.args) for i in _args(dk, "RUN"))


def test_default_command_is_the_rtl_regression(dk):
    cmds = _args(dk, "CMD")
    assert len(cmds) == 1 and not _args(dk, "ENTRYPOINT")
    argv = cmds[0].exec_form()
    assert argv is not None, "CMD in exec form"
    assert argv[0] == "make" and "test-rtl" in argv, "the same make target as natively"
    venv = next(a.split("=", 1)[1] for a in argv if a.startswith("VENV="))
    assert argv[argv.index("-o") + 1] == f"{venv}/.installed", "the installed image is not set up again"
    makefile = (dk.repo / "Makefile").read_text()
    recipe = re.search(r"^test-rtl:.*\n\t(.*)$", makefile, re.M).group(1)
    assert '-m "rtl and not slow"' in recipe


def test_dependencies_before_sources(dk):
    ins = dk.instructions
    copies = [i for i in ins if i.keyword == "COPY"]
    source_copy = next(i for i in copies if re.search(r"(^|\s)\.\s+\S+$", i.args))
    pip_deps = next(i for i in ins if i.keyword == "RUN" and "pip install -r" in i.args)
    apt = next(i for i in ins if i.keyword == "RUN" and "apt-get install" in i.args)
    assert apt.line < pip_deps.line < source_copy.line
    early = [i for i in copies if i.line < source_copy.line]
    assert [i.args.split()[:-1] for i in early] == [["pyproject.toml", "docker/requirements.py"]]
    # the sources are installed without touching the dependency set (and offline)
    last_runs = [i for i in ins if i.keyword == "RUN" and i.line > source_copy.line]
    assert len(last_runs) == 1 and "--no-deps" in last_runs[0].args and "--no-build-isolation" in last_runs[0].args
    assert "rm -rf /var/lib/apt/lists" in apt.args and "--no-install-recommends" in apt.args
    for pkg in ("perl", "make", "g++"):
        assert re.search(rf"(^|[\s\"]){re.escape(pkg)}([\s\"]|$)", apt.args), f"Verilator needs {pkg}"


def test_torch_is_the_pinned_cpu_build(dk):
    pyproject = _toml(dk, "pyproject.toml")
    pin = next(r for r in pyproject["project"]["dependencies"] if r.startswith("torch"))
    args = dict(i.args.split("=", 1) for i in _args(dk, "ARG") if "=" in i.args)
    assert pin == f"torch=={args['TORCH_VERSION']}", "keep the Dockerfile's TORCH_VERSION equal to pyproject's pin"
    assert args["TORCH_INDEX_URL"] == CPU_INDEX
    torch_run = next(i for i in _args(dk, "RUN") if "TORCH_INDEX_URL" in i.args)
    assert '--index-url "$TORCH_INDEX_URL"' in torch_run.args, "the CPU index only, never PyPI's CUDA torch"
    assert "torch.version.cuda is None" in torch_run.args


def test_no_host_paths(dk):
    for ins in dk.instructions:
        for bad in ("/work", "/root", "/tmp/vt", "/opt/wheels", "/opt/pypi", "local/python", "../", "local-docker"):
            assert bad not in ins.args, f"line {ins.line}: host-specific {bad!r}"
        if ins.keyword == "COPY":
            for src in [a for a in ins.args.split()[:-1] if not a.startswith("--")]:
                assert src == "." or (dk.repo / src).is_file(), f"line {ins.line}: {src} is not in the repository"


def test_dockerignore_keeps_the_context_small_but_complete(dk):
    patterns = [p.strip() for p in (dk.repo / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    for needed in (".git", ".venv", "runs", "build"):
        assert needed in patterns
    for kept in ("Dockerfile", "pyproject.toml", "Makefile", "docker/requirements.py", "sbnn/__init__.py",
                 "tests/hw/conftest.py"):
        assert not any(fnmatch.fnmatch(kept, p) or kept.startswith(p.rstrip("/") + "/") for p in patterns), kept


def test_requirements_are_pyproject_pins(dk, capsys):
    req = dk.load_script("requirements")
    pyproject = _toml(dk, "pyproject.toml")
    project = pyproject["project"]
    want = (pyproject["build-system"]["requires"] + project["dependencies"]
            + project["optional-dependencies"]["hw"] + project["optional-dependencies"]["dev"])
    assert req.main(["--pyproject", str(dk.repo / "pyproject.toml")]) == 0
    assert capsys.readouterr().out.splitlines() == want
    assert "hls4ml==1.3.0" in req.requirements(dk.repo / "pyproject.toml", ["hls"])
    with pytest.raises(SystemExit, match="unknown extra"):
        req.requirements(dk.repo / "pyproject.toml", ["cuda"])


def _junit(tmp_path, name, cases):
    body = "".join(f'<testcase classname="tests.hw.test_x" name="{n}" time="0.1">{extra}</testcase>'
                   for n, extra in cases)
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
    return path


def test_compare_junit(dk, tmp_path, capsys):
    cj = dk.load_script("compare_junit")
    a = _junit(tmp_path, "a.xml", [("t1", ""), ("t2", '<skipped message="no tool"/>'), ("t3", '<failure message="x"/>'),
                                   ("t3", '<error message="teardown"/>')])
    assert cj.outcomes(a) == {"tests.hw.test_x::t1": "passed", "tests.hw.test_x::t2": "skipped",
                              "tests.hw.test_x::t3": "error"}
    assert cj.main([str(a), str(a)]) == 0
    assert "SAME: all 3 test ids" in capsys.readouterr().out
    b = _junit(tmp_path, "b.xml", [("t1", '<failure message="x"/>'), ("t2", '<skipped message="no tool"/>')])
    assert cj.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "tests.hw.test_x::t1: passed != failed" in out and "tests.hw.test_x::t3: error != absent" in out
    assert cj.main([str(a), str(tmp_path / "missing.xml")]) == 2


def _run_sh(dk, tmp_path, *args, **env):
    full = {**os.environ, "LOCAL_DOCKER": "none", "DOCKER_RESULTS": str(tmp_path), **env}
    return subprocess.run(["bash", str(dk.repo / "docker" / "run.sh"), *args], capture_output=True, text=True,
                          env=full, timeout=120)


@pytest.mark.parametrize("docker", ["/nonexistent/docker", "false"])
def test_no_engine_is_a_clear_error(dk, tmp_path, docker):
    for cmd in ("engine", "test"):
        proc = _run_sh(dk, tmp_path, cmd, DOCKER=docker)
        assert proc.returncode == 3, proc.stderr
        assert "no Docker engine can be had" in proc.stderr and "make test-rtl" in proc.stderr
    assert _run_sh(dk, tmp_path, "bogus").returncode == 2


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_targets(dk):
    proc = subprocess.run(["make", "-n", "docker-test", "docker-shell", "PYTEST_ARGS=-x"], cwd=dk.repo,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "docker/run.sh test" in proc.stdout and "docker/run.sh shell" in proc.stdout
    helptext = subprocess.run(["make", "help"], cwd=dk.repo, capture_output=True, text=True, timeout=60).stdout
    assert "docker-test" in helptext and "docker-shell" in helptext


def test_ci_runs_native_tests_first(dk):
    lines = [ln.strip() for ln in (dk.repo / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    commands = [ln for ln in lines if not ln.startswith(("set ", "cd ", "#!", ".ci/install-chromium || true"))]
    assert commands[0] == "make test", "the native suite runs first and unconditionally"
    assert any("docker-test" in ln for ln in commands)


def test_scripts_are_valid(dk):
    assert subprocess.run(["bash", "-n", str(dk.repo / "docker" / "run.sh")]).returncode == 0
    assert subprocess.run(["bash", "-n", str(dk.repo / ".ci" / "run")]).returncode == 0
    assert subprocess.run(["bash", "-n", str(dk.repo / ".ci" / "install-chromium")]).returncode == 0
    for name in ("requirements", "compare_junit"):
        proc = subprocess.run([sys.executable, str(dk.repo / "docker" / f"{name}.py"), "--help"], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and "usage" in proc.stdout


def _module_level_skips(path) -> list[int]:
    """Lines of top-level statements that skip the whole module at import (importorskip, skip)."""
    import ast

    lines = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) else ():
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr in ("importorskip", "skip") and getattr(sub.func.value, "id", "") == "pytest"):
                lines.append(sub.lineno)
    return lines


def test_no_module_level_skips(dk):
    """A module skipped at import is reported in JUnit XML even when ``-m rtl`` deselects every test in
    it, so the container run (which installs fewer extras) would list a test id that the native run does
    not, and the native-vs-container comparison fails. Use ``pytestmark = pytest.mark.skipif(...)``."""
    offenders = {str(p.relative_to(dk.repo)): lines for p in sorted((dk.repo / "tests").rglob("test_*.py"))
                 if (lines := _module_level_skips(p))}
    assert offenders == {}
