"""Review speed at 20,000 cards: keypress to next card, and whole-process ``mlsys-srs due``.

Builds a synthetic vault (benchmarks/synth.py), syncs it, gives most cards a
review history (seeded: review cards with stabilities and due dates spread
around today, some learning cards, the rest new, plus a year of review rows),
then measures:

- building today's queue (``schedule.todays_queue``);
- per answer in a ``Session``: the grade key (commit of the review row and the
  card, then choosing and loading the next card), the reveal key with the four
  interval previews, and rendering the next card's screen with rich;
- ``mlsys-srs due`` as a fresh process, several runs.

    python benchmarks/bench_review.py [--cards 20000] [--answers 300] [--runs 7] [--keep DIR]

Targets: under 20 ms from keypress to the next card in the session logic;
under 0.4 s for the whole ``due`` process.
"""

from __future__ import annotations

import argparse
import io
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from history import CARDS_PER_BLOCK, patch_schedule  # noqa: E402
from synth import make_vault  # noqa: E402

NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def give_history(db: Path, seed: int, reviews_per_card: int = 5) -> dict[str, int]:
    """Turn most cards into scheduled cards and add past review rows; return counts by state."""
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.store import open_db, transaction
    from mlsys_srs.store.review_log import insert_review

    rng = random.Random(seed)
    conn = open_db(db, NOW)
    ids = [r[0] for r in conn.execute("SELECT id FROM card WHERE retired = 0")]
    updates: list[tuple[int, dict[str, object]]] = []
    reviews: list[tuple[int, int, datetime]] = []
    counts = {"new": 0, "learning": 0, "review": 0}
    for cid in ids:
        x = rng.random()
        if x < 0.15:
            counts["new"] += 1
            continue
        if x < 0.17:
            state, stability = "learning", 0.5
            last = NOW - timedelta(minutes=rng.uniform(1, 600))
            due = last + timedelta(minutes=10)
        else:
            state, stability = "review", rng.lognormvariate(2.5, 1.0)
            last = NOW - timedelta(days=rng.uniform(0.5, 2 * stability))
            due = last + timedelta(days=stability)
        counts[state] += 1
        updates.append(
            (
                cid,
                {
                    "state": state,
                    "step": 0 if state == "learning" else None,
                    "stability": stability,
                    "difficulty": rng.uniform(2, 9),
                    "due": due,
                    "last_review": last,
                    "reps": 5,
                },
            )
        )
        t = last
        for _ in range(reviews_per_card):
            reviews.append((cid, rng.choice((1, 3, 3, 3, 4)), t))
            t -= timedelta(days=rng.uniform(1, 60))
    with transaction(conn):
        for cid, values in updates:
            patch_schedule(conn, cid, **values)
        for cid, rating, at in reviews:
            insert_review(
                conn,
                card_id=cid,
                rating=rating,
                reviewed_at=at,
                duration_ms=8000,
                state_before="review",
                state_after="review",
                stability_after=None,
                difficulty_after=None,
                due_after=None,
                before={},
                uid=event_id(at),
            )
    conn.close()
    counts["reviews"] = len(reviews)
    return counts


def build_collection(root: Path, cards: int, seed: int) -> tuple[Path, Path]:
    """A synthetic vault of about ``cards`` cards, synced, with a simulated review history.

    Reused when ``root`` already holds one (``--keep``). Returns (vault, database).
    """
    from mlsys_srs.store import open_db
    from mlsys_srs.sync import sync_vault

    vault, db = root / "vault", root / "srs.db"
    if not db.exists():
        make_vault(vault, max(1, round(cards / CARDS_PER_BLOCK / 10)), 10, seed)
        conn = open_db(db, NOW)
        sync_vault(conn, vault, NOW)
        conn.close()
        print(f"collection: {give_history(db, seed)}")
    conn = open_db(db, NOW)
    n = conn.execute("SELECT count(*) FROM card WHERE retired = 0").fetchone()[0]
    conn.close()
    print(f"cards: {n}; database in {root}")
    return vault, db


def ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return (
        f"median {statistics.median(xs) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {xs[-1] * 1000:.2f} ms"
    )


def bench_session(db: Path, answers: int, seed: int) -> None:
    from rich.console import Console, Group

    from mlsys_srs.config import ReviewConfig, ScheduleConfig
    from mlsys_srs.review.screen import layout
    from mlsys_srs.review.session import Session
    from mlsys_srs.scheduling.days import DayClock
    from mlsys_srs.scheduling.queue import todays_queue
    from mlsys_srs.store import open_db

    random.seed(seed)
    cfg = ScheduleConfig(new_per_day=20)
    clock = DayClock(UTC, 4)
    t = [NOW]

    def now() -> datetime:
        return t[0]

    conn = open_db(db, NOW)
    t0 = time.perf_counter()
    queue = todays_queue(conn, cfg, clock, NOW)
    t_queue = time.perf_counter() - t0
    t0 = time.perf_counter()
    session = Session(conn, queue, schedule=cfg, review=ReviewConfig(), clock=clock, now=now)
    t_start = time.perf_counter() - t0
    print(f"queue: {len(queue.learning)} learning, {queue.count('review')} review, {queue.count('new')} new")
    print(
        f"build today's queue: {t_queue * 1000:.1f} ms; start session (first card): {t_start * 1000:.1f} ms"
    )

    out = Console(file=io.StringIO(), width=100, force_terminal=True)
    grade_t, reveal_t, render_t = [], [], []
    rng = random.Random(seed)
    for _ in range(answers):
        if session.finished:
            break
        t[0] += timedelta(seconds=6)
        a = time.perf_counter()
        session.key(" ")
        session.intervals()
        reveal_t.append(time.perf_counter() - a)
        t[0] += timedelta(seconds=4)
        a = time.perf_counter()
        session.key(str(rng.choice((1, 2, 3, 3, 3, 4))))
        grade_t.append(time.perf_counter() - a)
        a = time.perf_counter()
        frame = layout(session, [], 100, Console(width=100))
        out.print(Group(*frame.header, *frame.body, *frame.footer))
        render_t.append(time.perf_counter() - a)
        out.file = io.StringIO()
    a = time.perf_counter()
    for _ in range(len(grade_t)):
        session.undo()
    undo_all = time.perf_counter() - a
    conn.close()
    print(f"answers timed: {len(grade_t)}")
    print(f"grade key -> next card loaded (commit included): {ms(grade_t)}")
    print(f"reveal key -> answer with 4 interval previews:  {ms(reveal_t)}")
    print(f"render next card screen (rich, Markdown):       {ms(render_t)}")
    total = [g + r for g, r in zip(grade_t, render_t, strict=True)]
    print(f"grade key -> next card rendered:                {ms(total)}")
    print(f"undo all {len(grade_t)} answers: {undo_all * 1000:.0f} ms")


def collection_env(vault: Path, db: Path, **extra: str) -> dict[str, str]:
    """The environment a benchmark runs ``mlsys-srs`` in: this collection, no config, the fixed clock."""
    return {
        **os.environ,
        "MLSYS_SRS_DB": str(db),
        "MLSYS_SRS_VAULT": str(vault),
        "MLSYS_SRS_CONFIG": str(db.parent / "none.toml"),
        "MLSYS_SRS_NOW": NOW.isoformat(),
        **extra,
    }


def bench_due(vault: Path, db: Path, runs: int) -> None:
    env = collection_env(vault, db)
    script = Path(sys.executable).with_name("mlsys-srs")
    times = []
    for _ in range(runs + 1):
        a = time.perf_counter()
        subprocess.run([str(script), "due"], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - a)
    times = times[1:]  # the first run warms the page cache
    res = subprocess.run([str(script), "due"], env=env, check=True, capture_output=True, text=True)
    print(res.stdout.splitlines()[0])
    print(f"`mlsys-srs due` whole process over {runs} runs: median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--answers", type=int, default=300)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    a = ap.parse_args()

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        vault, db = build_collection(root, a.cards, a.seed)
        bench_due(vault, db, a.runs)
        # Time answers on a copy, so re-runs with --keep start from the same state.
        work = root / "session.db"
        shutil.copy(db, work)
        bench_session(work, a.answers, a.seed)
        work.unlink()
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
