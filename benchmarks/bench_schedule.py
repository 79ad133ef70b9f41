"""Whole-process time of ``mlsys-srs card`` and ``mlsys-srs optimize`` on a large collection.

Builds the collection of ``bench_stats.py`` (synthetic vault, a year of simulated
reviews), then times each command as a fresh process, several runs each::

    python benchmarks/bench_schedule.py [--cards 20000] [--reviews 100000] [--runs 5] [--keep DIR]

Targets: ``card`` under 0.3 s at 20,000 cards; ``optimize`` on 100,000 reviews and on
the real 12,580-review log (``../shared/data/review-log-real.csv``, if present) under 2 s.
Needs the optimizer extra (``pip install -e '.[optimizer]'``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stats import timed  # noqa: E402
from history import NOW, build_collection, collection_args  # noqa: E402

REAL_LOG = HERE.parent.parent / "shared" / "data" / "review-log-real.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    collection_args(ap, runs=5)
    a = ap.parse_args()

    from mlsys_srs.store import open_db

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    try:
        vault, db = build_collection(root, a.cards, a.reviews, a.days, a.seed)
        conn = open_db(db, NOW)
        n_cards, n_reviews = conn.execute(
            "SELECT (SELECT count(*) FROM card WHERE retired = 0), (SELECT count(*) FROM review)"
        ).fetchone()
        (card_id,) = conn.execute(
            "SELECT card_id FROM review GROUP BY card_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        conn.close()
        config = root / "config.toml"
        config.write_text('[schedule]\ntimezone = "America/Los_Angeles"\n', encoding="utf-8")
        env = {
            **os.environ,
            "MLSYS_SRS_NOW": NOW.isoformat(),
            "MLSYS_SRS_CONFIG": str(config),
            "COLUMNS": "120",
        }
        exe = shutil.which("mlsys-srs") or "mlsys-srs"
        base = [exe, "--vault", str(vault), "--db", str(db)]
        # The migration's recompute is done by the first sync; do it before timing.
        subprocess.run([*base, "sync"], env=env, check=True, capture_output=True)
        print(f"collection: {n_cards} cards, {n_reviews} reviews")
        runs = [
            ("card (most-reviewed card)", ["card", str(card_id)]),
            ("card --json", ["card", str(card_id), "--json"]),
            (f"optimize --dry-run ({n_reviews} reviews)", ["optimize", "--dry-run"]),
        ]
        if REAL_LOG.exists():
            runs.append(
                ("optimize --revlog real log (12,580)", ["optimize", "--revlog", str(REAL_LOG), "--dry-run"])
            )
            runs.append(
                (
                    "optimize --revlog real log --retention",
                    ["optimize", "--revlog", str(REAL_LOG), "--dry-run", "--retention"],
                )
            )
        for name, args in runs:
            median, best = timed([*base, *args], env, a.runs)
            print(f"{name:45s} median {median:.3f} s  best {best:.3f} s")
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
