"""Anki export speed at 20,000 cards: whole-process ``mlsys-srs export anki``.

Builds a synthetic vault (benchmarks/synth.py: every card syntax, wikilinks,
a fenced code block in one card of six), syncs it, gives most cards a review
history (as bench_review.py does), then runs the command as a fresh process:

- ``export anki --no-sync``: read the cards, render Markdown (code highlighted
  by Pygments), write and zip the package;
- ``export anki`` (the default: an incremental sync of the unchanged vault first);
- ``export anki --no-sync --with-scheduling``: plus card states and the review log.

It then imports the package into a fresh Anki collection (with the ``anki``
package, if installed) to check the counts, outside the timings.

    python benchmarks/bench_export.py [--cards 20000] [--runs 5] [--keep DIR]

Target: under 5 s for the whole process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_review import build_collection, collection_env  # noqa: E402


def run_export(
    env: dict[str, str], out: Path, extra: list[str], runs: int, *, cached: bool = False
) -> tuple[list[float], dict[str, object]]:
    """Time ``runs`` fresh processes (after one warm-up); return the times and the last summary.

    Without ``cached`` each run is a full build (the export cache is emptied first); with it,
    each run finds the last one's cache (nothing changed in between).
    """
    script = Path(sys.executable).with_name("mlsys-srs")
    cmd = [str(script), "export", "anki", "--out", str(out), "--json", *extra]
    times = []
    summary: dict[str, object] = {}
    for i in range(runs + 1):
        if not cached:
            shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
        a = time.perf_counter()
        res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        if i:
            times.append(time.perf_counter() - a)
        summary = json.loads(res.stdout)
    return times, summary


def check_in_anki(package: Path, with_scheduling: bool) -> str:
    """Import the package into a fresh collection; report what Anki holds."""
    try:
        from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    except ImportError:
        return "anki not installed: import not checked"
    folder = Path(tempfile.mkdtemp(prefix="bench-export-anki-"))
    try:
        col = Collection(str(folder / "collection.anki2"))
        a = time.perf_counter()
        col.import_anki_package(
            ImportAnkiPackageRequest(
                package_path=str(package), options=ImportAnkiPackageOptions(with_scheduling=with_scheduling)
            )
        )
        took = time.perf_counter() - a
        counts = (col.note_count(), col.card_count(), col.db.scalar("SELECT count() FROM revlog"))
        col.close()
        return f"Anki import: {counts[0]} notes, {counts[1]} cards, {counts[2]} revlog rows ({took:.1f} s)"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    a = ap.parse_args()

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        vault, db = build_collection(root, a.cards, a.seed)
        env = collection_env(vault, db, XDG_CACHE_HOME=str(root / "cache"))
        out = root / "decks" / "bench.apkg"
        for label, extra, cached in (
            ("export anki --no-sync", ["--no-sync"], False),
            ("export anki (incremental sync first)", [], False),
            ("export anki --no-sync --with-scheduling", ["--no-sync", "--with-scheduling"], False),
            ("export anki --no-sync, again from its cache", ["--no-sync"], True),
        ):
            times, summary = run_export(env, out, extra, a.runs, cached=cached)
            print(
                f"{label}: median {statistics.median(times):.2f} s, max {max(times):.2f} s over {a.runs} runs "
                f"({summary['notes']} notes, {summary['cards']} cards, {summary['reviews']} reviews, "
                f"{int(summary['size']) / 1e6:.1f} MB)"  # type: ignore[call-overload]
            )
        print(check_in_anki(out, with_scheduling=True))
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
