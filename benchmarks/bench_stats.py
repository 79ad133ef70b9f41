"""Whole-process time of ``mlsys-srs stats`` and ``mlsys-srs graph`` on a large collection.

Builds a synthetic vault (benchmarks/synth.py), syncs it, simulates a year of
reviews with py-fsrs (recall drawn from the card's retrievability, seeded),
then times each command as a fresh process, several runs each::

    python benchmarks/bench_stats.py [--cards 20000] [--reviews 100000] [--runs 5] [--keep DIR]

Targets: under 1 s each at 20,000 cards with 100,000 reviews.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import make_vault  # noqa: E402

NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
CARDS_PER_BLOCK = 7 / 6
"""synth.py writes six syntaxes in turn; the cloze one makes two cards."""


def simulate(db: Path, reviews: int, days: int, seed: int, leech_threshold: int = 8) -> int:
    """Write about ``reviews`` review rows over the ``days`` days before ``NOW``; return how many."""
    import fsrs

    from mlsys_srs.identity import event_id
    from mlsys_srs.store import open_db, transaction
    from mlsys_srs.store.cards import add_tag, patch_schedule
    from mlsys_srs.store.reviews import insert_review

    rng = random.Random(seed)
    random.seed(seed)  # py-fsrs fuzzing draws from the global generator
    sched = fsrs.Scheduler()
    conn = open_db(db, NOW)
    ids = [r[0] for r in conn.execute("SELECT id FROM card WHERE retired = 0 ORDER BY id")]
    rng.shuffle(ids)
    new_per_day = -(-len(ids) // max(1, days - 60))
    # A daily cap spreads the reviews over the whole period; what it leaves is a backlog.
    per_day_cap = -(-reviews // round(days * 0.85))
    cards: dict[int, fsrs.Card] = {}
    lapses: dict[int, int] = {}
    due: list[tuple[datetime, int]] = []
    rows: list[dict[str, Any]] = []
    start = NOW - timedelta(days=days)
    fresh = iter(ids)
    for d in range(days):
        if len(rows) >= reviews:
            break
        if rng.random() < 0.08:
            continue  # a day off
        t = start + timedelta(days=d, hours=rng.uniform(0, 8))
        for _ in range(new_per_day):
            cid = next(fresh, None)
            if cid is None:
                break
            cards[cid] = fsrs.Card(card_id=cid, due=t)
            heapq.heappush(due, (t, cid))
        day_end = start + timedelta(days=d + 1)
        done_today = 0
        while due and due[0][0] <= t and len(rows) < reviews and done_today < per_day_cap:
            done_today += 1
            _, cid = heapq.heappop(due)
            card = cards[cid]
            before = card.state.name.lower() if card.last_review else "new"
            recall = card.last_review is None or rng.random() < sched.get_card_retrievability(card, t)
            rating = (
                fsrs.Rating.Again
                if not recall or rng.random() < 0.05
                else rng.choices([fsrs.Rating.Hard, fsrs.Rating.Good, fsrs.Rating.Easy], [1, 8, 1])[0]
            )
            card, _ = sched.review_card(card, rating, t)
            cards[cid] = card
            if rating == fsrs.Rating.Again and before == "review":
                lapses[cid] = lapses.get(cid, 0) + 1
            rows.append(
                {
                    "card_id": cid,
                    "rating": int(rating),
                    "reviewed_at": t,
                    "duration_ms": rng.randint(2000, 20000),
                    "state_before": before,
                    "state_after": card.state.name.lower(),
                    "stability_after": card.stability,
                    "difficulty_after": card.difficulty,
                    "due_after": card.due,
                    "before": {},
                    "uid": event_id(t),
                }
            )
            if lapses.get(cid, 0) < leech_threshold:
                heapq.heappush(due, (card.due, cid))
            t += timedelta(seconds=rng.randint(3, 30))
            if t >= day_end:
                break
    with transaction(conn):
        reps: dict[int, int] = {}
        for r in rows:
            insert_review(conn, **r)
            reps[r["card_id"]] = reps.get(r["card_id"], 0) + 1
        for cid, c in cards.items():
            if c.last_review is None:
                continue
            patch_schedule(
                conn,
                cid,
                state=c.state.name.lower(),
                step=c.step,
                stability=c.stability,
                difficulty=c.difficulty,
                due=c.due,
                last_review=c.last_review,
                reps=reps.get(cid, 0),
                lapses=lapses.get(cid, 0),
                suspended=lapses.get(cid, 0) >= leech_threshold,
            )
        for cid, n in lapses.items():
            if n >= leech_threshold:
                add_tag(conn, cid, "leech")
    conn.close()
    return len(rows)


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
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--reviews", type=int, default=100000)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="Build (or reuse) the collection in this folder and keep it.")
    a = ap.parse_args()

    from mlsys_srs.store import open_db
    from mlsys_srs.sync import sync_vault

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-stats-"))
    vault, db = root / "vault", root / "srs.db"
    try:
        if not db.exists():
            blocks_per_note = 10
            notes = round(a.cards / CARDS_PER_BLOCK / blocks_per_note)
            make_vault(vault, notes, blocks_per_note, a.seed)
            conn = open_db(db, NOW)
            sync_vault(conn, vault, NOW)
            conn.close()
            simulate(db, a.reviews, a.days, a.seed)
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
