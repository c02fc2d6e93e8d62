"""The HTML report in a real browser: headless Chromium loads a test copy of the page with a script that
writes, after the load event, what it sees (images and whether each decoded, text, tables) into the DOM,
read back with --dump-dom; a screenshot must not be blank. Skips only when no Chromium can be found
(Debian: apt-get install chromium; or set SBNN_CHROMIUM)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sbnn.cli import main

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    env = os.environ.get("SBNN_CHROMIUM")
    if env:
        return env
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium, or set "
                                                          "SBNN_CHROMIUM to a Chromium/Chrome executable)")

#: runs after the load event (every image fetched and decoded or failed) and records what the page shows
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const out = {images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
               widths: imgs.map(i => i.naturalWidth), text: document.body.innerText.trim().length,
               tables: document.querySelectorAll('table').length, height: document.body.scrollHeight};
  const pre = document.createElement('pre'); pre.id = 'sbnn-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--hide-scrollbars"]


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def probe(report: Path, tmp_path: Path) -> dict:
    """Load a copy of ``report``'s page (the probe added) and return what the probe saw."""
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    page = copy / "index.html"
    page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    proc = chromium(["--virtual-time-budget=10000", "--dump-dom", page.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="sbnn-probe">(.*?)</pre>', proc.stdout)
    assert found, f"no probe result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    chromium(["--window-size=1280,1600", "--virtual-time-budget=10000", f"--screenshot={shot}",
              (report / "index.html").as_uri()], tmp_path / "profile-shot")
    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    gray = img[..., :3].mean(axis=2)
    dark = (gray < 0.5).mean()
    assert 0.005 < dark < 0.6, f"screenshot looks blank or broken ({100 * dark:.2f} % dark pixels)"


def _check(report: Path, tmp_path: Path, min_images: int, min_tables: int) -> None:
    seen = probe(report, tmp_path)
    in_page = len(re.findall(r"<img ", (report / "index.html").read_text()))
    assert seen["images"] == in_page >= min_images
    assert seen["broken"] == [], f"images that did not load: {seen['broken']}"
    assert all(w >= 300 for w in seen["widths"]), seen["widths"]
    assert seen["text"] > 500 and seen["tables"] >= min_tables and seen["height"] > 1000
    screenshot_is_not_blank(report, tmp_path)


def test_single_run_page_in_chromium(tiny_sweep, tmp_path):
    root, _ = tiny_sweep
    run = tmp_path / "run"
    shutil.copytree(root / "tiny-ab-closed-0.9", run, symlinks=True)
    assert main(["report", "--run", str(run)]) == 0
    _check(run / "report", tmp_path, min_images=4, min_tables=4)


def test_sweep_page_in_chromium(tiny_sweep, tmp_path):
    root, _ = tiny_sweep
    out = tmp_path / "sweep-report"
    assert main(["report", "--run", str(root), "--out", str(out)]) == 0
    _check(out, tmp_path, min_images=7, min_tables=2)
