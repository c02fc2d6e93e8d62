"""Compare two pytest JUnit XML reports test by test: the same test ids with the same outcomes?

Used to show that the regression suite gives the same results natively and in the container:

    make test-rtl PYTEST_ARGS=--junitxml=build/docker/rtl-native.xml
    make docker-test                                  # writes build/docker/rtl-container.xml
    python docker/compare_junit.py build/docker/rtl-native.xml build/docker/rtl-container.xml

Prints one line per outcome count and every difference; exit status 0 when every test id has the
same outcome (passed, failed, error, skipped) in both reports, 1 otherwise, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def outcomes(path: str | Path) -> dict[str, str]:
    """Test id (``classname::name``) -> passed | failed | error | skipped, from a pytest JUnit XML file.

    pytest writes a second <testcase> for a test whose teardown fails; the worse outcome wins.
    """
    root = ET.parse(path).getroot()
    result: dict[str, str] = {}
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        outcome = ("error" if "error" in tags else "failed" if "failure" in tags
                   else "skipped" if "skipped" in tags else "passed")
        if _RANK[outcome] >= _RANK.get(result.get(test_id, "passed"), 0):
            result[test_id] = outcome
    return result


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Human-readable differences between two outcome maps (empty when they agree)."""
    lines = []
    for test_id in sorted(a.keys() | b.keys()):
        oa, ob = a.get(test_id, "absent"), b.get(test_id, "absent")
        if oa != ob:
            lines.append(f"{test_id}: {oa} != {ob}")
    return lines


def summary(result: dict[str, str]) -> str:
    counts = Counter(result.values())
    return ", ".join(f"{counts[k]} {k}" for k in _RANK if counts[k]) or "no tests"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path, help="JUnit XML, e.g. the native run")
    ap.add_argument("second", type=Path, help="JUnit XML, e.g. the container run")
    ap.add_argument("--names", default="native,container", help="labels of the two reports (default: native,container)")
    args = ap.parse_args(argv)
    name_a, name_b = (args.names.split(",") + ["second"])[:2]
    try:
        a, b = outcomes(args.first), outcomes(args.second)
    except (OSError, ET.ParseError) as exc:
        print(f"compare_junit: cannot read a report: {exc}", file=sys.stderr)
        return 2
    print(f"{name_a:>10}: {len(a)} tests: {summary(a)}  ({args.first})")
    print(f"{name_b:>10}: {len(b)} tests: {summary(b)}  ({args.second})")
    diff = differences(a, b)
    if not a or not b:
        print("compare_junit: a report holds no test cases", file=sys.stderr)
        return 1
    if diff:
        print(f"DIFFERENT: {len(diff)} test id(s) differ ({name_a} != {name_b}):")
        print("\n".join("  " + line for line in diff))
        return 1
    print(f"SAME: all {len(a)} test ids have the same outcome in both runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
