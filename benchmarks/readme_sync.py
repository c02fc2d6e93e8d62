"""The README's figures come from benchmarks/results/: generated blocks are refreshed from the results files, and
hand-written tables and claims that quote results are checked number by number.

Two kinds of marked regions in README.md (and hw/README.md, docs/*.md):

    <!-- results: main_job -->            replaced by benchmarks/results/main_job.md without its "# " title
    ...                                   (``results: train_fashion table=1``: only its first Markdown table)
    <!-- /results -->

    <!-- quotes: hw_sparsity hw_finn_compare -->   every number in between must occur in one of the named
    ...                                            results files (.md or .json; a name with a "/" is a path
    <!-- /quotes -->                               from the repository root, e.g. docs/sweep-fashion.md)

    python benchmarks/readme_sync.py            # check (exit 1 naming every block out of sync / unquoted number)
    python benchmarks/readme_sync.py --write    # refresh the generated blocks (run_all.py does this after a full run)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = [ROOT / "README.md", ROOT / "hw" / "README.md", ROOT / "docs" / "learned-ab.md"]

BLOCK = re.compile(r"(<!-- results: *(?P<name>[\w./-]+)(?: +table=(?P<table>\d+))? *-->\n)(?P<body>.*?)(<!-- /results -->)",
                   re.S)
QUOTES = re.compile(r"<!-- quotes: *(?P<names>[^>]*?) *-->\n(?P<body>.*?)<!-- /quotes -->", re.S)
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def source(name: str) -> Path:
    return ROOT / name if "/" in name else RESULTS / f"{name}.md"


def generated(name: str, table: int | None = None) -> str:
    """The text a results block holds: the results Markdown without its title (or its ``table``-th table)."""
    text = source(name).read_text()
    lines = text.splitlines()
    if table is None:
        while lines and (lines[0].startswith("# ") or not lines[0].strip()):
            lines = lines[1:]
        return "\n".join(lines).rstrip() + "\n"
    tables, cur = [], []
    for ln in lines + [""]:
        if ln.startswith("|"):
            cur.append(ln)
        elif cur:
            tables.append(cur)
            cur = []
    return "\n".join(tables[table - 1]) + "\n"


def canonical(token: str) -> str | None:
    """"1,234.50" -> "1234.5": numbers compared by value, not by format."""
    try:
        d = Decimal(token.replace(",", ""))
    except InvalidOperation:
        return None
    return format(d.normalize(), "f")


def numbers(text: str) -> set[str]:
    return {c for c in map(canonical, NUMBER.findall(text)) if c is not None}


def quoted_numbers(name: str) -> set[str]:
    """Every number a results file states: in its Markdown and in its JSON (also rounded as the Markdown rounds)."""
    path = source(name)
    out = numbers(path.read_text()) if path.exists() else set()
    js = path.with_suffix(".json")
    if js.exists():
        def walk(v):
            if isinstance(v, bool):
                return
            if isinstance(v, (int, float)):
                for digits in range(0, 5):
                    c = canonical(f"{round(v, digits):.{digits}f}")
                    if c:
                        out.add(c)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(js.read_text()))
    return out


def refresh(text: str) -> str:
    def sub(m: re.Match) -> str:
        body = generated(m["name"], int(m["table"]) if m["table"] else None)
        return m.group(1) + body + m.group(5)

    return BLOCK.sub(sub, text)


def problems(path: Path) -> list[str]:
    text = path.read_text()
    out = []
    for m in BLOCK.finditer(text):
        if not source(m["name"]).exists():
            out.append(f"{path.name}: results block {m['name']}: {source(m['name'])} does not exist")
        elif m["body"] != generated(m["name"], int(m["table"]) if m["table"] else None):
            out.append(f"{path.name}: results block {m['name']} is not what {source(m['name']).name} holds "
                       "(python benchmarks/readme_sync.py --write)")
    for m in QUOTES.finditer(text):
        names = m["names"].split()
        missing = [n for n in names if not source(n).exists()]
        if missing:
            out.append(f"{path.name}: quotes of {', '.join(missing)}: no such results file")
            continue
        known = set().union(*(quoted_numbers(n) for n in names))
        for token in NUMBER.findall(m["body"]):
            c = canonical(token)
            if c is not None and c not in known:
                out.append(f"{path.name}: {token} (quoting {', '.join(names)}) is in none of those results files")
    return out


def blocks(path: Path) -> tuple[list[str], list[list[str]]]:
    """The names of the results blocks and of the quoted files of a document (for the tests)."""
    text = path.read_text()
    return [m["name"] for m in BLOCK.finditer(text)], [m["names"].split() for m in QUOTES.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="refresh the generated blocks from benchmarks/results/")
    args = ap.parse_args(argv)
    if args.write:
        for path in DOCS:
            text = path.read_text()
            new = refresh(text)
            if new != text:
                path.write_text(new)
                print(f"refreshed {path.relative_to(ROOT)}")
    bad = [p for path in DOCS for p in problems(path)]
    for p in bad:
        print(p, file=sys.stderr)
    if not bad:
        print(f"README figures in sync with {RESULTS.relative_to(ROOT)}/")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
