"""Whole-process time and file size of ``mlsys-srs report`` on a large collection, and its load in Chromium.

Builds (or reuses, with --keep) the collection of bench_stats.py: a synthetic
vault with about 20,000 cards and a simulated year of 100,000 reviews. Times
``report`` as a fresh process, several runs, and, when Chromium and Playwright
are installed, how long the page takes to draw every chart from file://::

    python benchmarks/bench_report.py [--cards 20000] [--reviews 100000] [--runs 3] [--keep DIR]

Targets: under 3 s to write the page; the file under 10 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stats import timed  # noqa: E402
from history import NOW, build_collection, collection_args  # noqa: E402


def browser_load(page: Path) -> float | None:
    """Seconds from navigation until every chart has drawn, in headless Chromium (None without it)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        pg = b.new_page(viewport={"width": 1280, "height": 800})
        t0 = time.perf_counter()
        pg.goto(page.as_uri())
        pg.wait_for_selector('body[data-ready="1"]', timeout=120_000)
        took = time.perf_counter() - t0
        b.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    collection_args(ap, runs=3)
    a = ap.parse_args()

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        vault, db = build_collection(root, a.cards, a.reviews, a.days, a.seed)
        config = root / "config.toml"
        config.write_text(
            '[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\n', encoding="utf-8"
        )
        env = {**os.environ, "MLSYS_SRS_NOW": NOW.isoformat(), "MLSYS_SRS_CONFIG": str(config)}
        exe = shutil.which("mlsys-srs") or str(Path(sys.executable).with_name("mlsys-srs"))
        page = root / "report.html"
        cmd = [exe, "--vault", str(vault), "--db", str(db), "report", "--out", str(page)]
        med, best = timed(cmd, env, a.runs)
        size = page.stat().st_size
        load = browser_load(page)
        subprocess.run([exe, "--help"], env=env, check=True, capture_output=True)
        results = {
            "report_median_s": round(med, 3),
            "report_best_s": round(best, 3),
            "size_mb": round(size / 1e6, 2),
            "chromium_load_s": None if load is None else round(load, 3),
        }
        print(f"report: median {med:.3f} s, best {best:.3f} s; file {size / 1e6:.2f} MB")
        if load is not None:
            print(f"Chromium: every chart drawn {load:.2f} s after navigation")
        print(json.dumps(results))
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
