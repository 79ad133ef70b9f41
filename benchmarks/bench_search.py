"""``mlsys-srs cards --search`` at 20,000 cards: the whole process, Python start-up included.

Builds a synthetic vault (benchmarks/synth.py: 2,000 notes, 10 cards each), syncs
it, then times ``cards --search`` as a fresh process for a phrase that many cards
contain, a rare word and a word prefix (medians of several runs), and the search
query alone in-process.

    python benchmarks/bench_search.py [--notes 2000] [--cards 10] [--runs 7] [--keep DIR]

Target: under 0.3 s for the whole ``cards --search`` process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import make_vault  # noqa: E402

NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
QUERIES = ("ring all-reduce", "gradient", "shard")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    vault, db = work / "vault", work / "srs.db"
    if not db.exists():
        make_vault(vault, args.notes, args.cards)
        from mlsys_srs.store import open_db
        from mlsys_srs.sync import sync_vault

        conn = open_db(db, NOW)
        sync_vault(conn, vault, NOW)
        conn.close()
    from mlsys_srs.store import open_db
    from mlsys_srs.store.cards import search_cards

    conn = open_db(db, NOW)
    cards = conn.execute("SELECT count(*) FROM card WHERE retired = 0").fetchone()[0]
    print(f"{cards:,} cards")
    exe = Path(sys.executable).with_name("mlsys-srs")
    env = {**os.environ, "MLSYS_SRS_DB": str(db), "MLSYS_SRS_VAULT": str(vault), "COLUMNS": "120"}
    for q in QUERIES:
        t0 = time.perf_counter()
        hits = search_cards(conn, q, None, 50)
        query_ms = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run(
                [str(exe), "cards", "--search", q, "--limit", "50"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - t0)
        print(
            f"cards --search {q!r}: {statistics.median(times):.3f} s median "
            f"(query alone {query_ms:.1f} ms, {len(hits)} shown)"
        )
    conn.close()
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
