"""Whole-process time of ``mlsys-srs stats`` and ``mlsys-srs graph`` on a large collection.

Builds a synthetic vault (benchmarks/synth.py), syncs it, simulates a year of
reviews with py-fsrs (recall drawn from the card's retrievability, seeded),
then times each command as a fresh process, several runs each::

    python benchmarks/bench_stats.py [--cards 20000] [--reviews 100000] [--runs 5] [--keep DIR]

Targets: under 1 s each at 20,000 cards with 100,000 reviews.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from history import NOW, build_collection, collection_args  # noqa: E402


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median and best wall time of ``runs`` fresh processes (after one warm-up)."""
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    collection_args(ap, runs=5)
    a = ap.parse_args()

    from mlsys_srs.store import open_db

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-stats-"))
    try:
        vault, db = build_collection(root, a.cards, a.reviews, a.days, a.seed)
        conn = open_db(db, NOW)
        n_cards, n_reviews, n_notes, n_links = conn.execute(
            "SELECT (SELECT count(*) FROM card WHERE retired = 0), (SELECT count(*) FROM review), "
            "(SELECT count(*) FROM note WHERE present = 1), (SELECT count(*) FROM link)"
        ).fetchone()
        conn.close()
        config = root / "config.toml"
        config.write_text(
            '[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\n', encoding="utf-8"
        )
        keep = root / "config-keep-streak.toml"
        keep.write_text(config.read_text() + "[stats]\nkeep_streak_on_empty_days = true\n", encoding="utf-8")
        env = {
            **os.environ,
            "MLSYS_SRS_NOW": NOW.isoformat(),
            "MLSYS_SRS_CONFIG": str(config),
            "COLUMNS": "120",
        }
        exe = shutil.which("mlsys-srs") or "mlsys-srs"
        base = [exe, "--vault", str(vault), "--db", str(db)]
        print(f"collection: {n_notes} notes, {n_cards} cards, {n_reviews} reviews, {n_links} links")
        results = {}
        for name, args in (
            ("stats", ["stats"]),
            ("stats --json", ["stats", "--json"]),
            ("graph", ["graph"]),
            ("graph --json", ["graph", "--json"]),
            ("graph NOTE", ["graph", "note-00001"]),
            ("stats, keep_streak_on_empty_days", ["stats"]),
            ("--help (start-up floor)", ["--help"]),
        ):
            run_env = {**env, "MLSYS_SRS_CONFIG": str(keep)} if "keep_streak" in name else env
            med, best = timed(base + args, run_env, a.runs)
            results[name] = {"median_s": round(med, 3), "best_s": round(best, 3)}
            print(f"{name:34s} median {med:.3f} s  best {best:.3f} s")
        print(json.dumps(results))
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
