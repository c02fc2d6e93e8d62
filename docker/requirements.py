"""Print sbnn's pinned requirements from pyproject.toml, one per line, for a pip install -r.

The Dockerfile installs these in a layer of their own before it copies the sources, so that editing
the code rebuilds only the last, small layer. The list is: the build-system requirements (sbnn is then
installed with --no-build-isolation, offline), the dependencies, and the optional extras named with
--extras (default: hw,dev = the hardware tools and the test tools).

    python docker/requirements.py [--extras hw,dev] [--pyproject pyproject.toml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pip vendors a TOML reader
    from pip._vendor import tomli as tomllib


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"requirements.py: unknown extra(s) {', '.join(unknown)}; pyproject.toml has {', '.join(optional)}")
    reqs = list(data.get("build-system", {}).get("requires", [])) + list(project.get("dependencies", []))
    for extra in extras:
        reqs += optional[extra]
    return list(dict.fromkeys(reqs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extras", default="hw,dev", help="comma-separated optional extras (default: hw,dev)")
    ap.add_argument("--pyproject", type=Path, default=Path(__file__).resolve().parent.parent / "pyproject.toml")
    args = ap.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    sys.stdout.write("".join(r + "\n" for r in requirements(args.pyproject, extras)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
