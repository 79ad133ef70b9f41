"""A simulated review history, shared by the benchmarks and the report's browser test.

``simulate`` writes about N review rows over the days before ``NOW`` into a
synced database, drawing each recall from the card's FSRS retrievability
(seeded), the way a person who reviews most days would leave it.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)


def patch_schedule(conn: Any, card_id: int, **values: Any) -> None:
    """Set some scheduling columns of a card (datetimes stored as the store stores them)."""
    from mlsys_srs.store import dt_to_db
    from mlsys_srs.store.cards import schedule_of, set_schedule

    raw = schedule_of(conn, card_id)
    unknown = set(values) - set(raw)
    if unknown:
        raise ValueError(f"not scheduling columns: {', '.join(sorted(unknown))}")
    for k, v in values.items():
        raw[k] = dt_to_db(v) if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v
    set_schedule(conn, card_id, raw)


def simulate(db: Path, reviews: int, days: int, seed: int, leech_threshold: int = 8) -> int:
    """Write about ``reviews`` review rows over the ``days`` days before ``NOW``; return how many."""
    import fsrs

    from mlsys_srs.core.identity import event_id
    from mlsys_srs.store import open_db, transaction
    from mlsys_srs.store.cards import add_tag
    from mlsys_srs.store.review_log import insert_review

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


CARDS_PER_BLOCK = 7 / 6
"""synth.py writes six syntaxes in turn; the cloze one makes two cards."""


def collection_args(ap: Any, runs: int) -> None:
    """Add the options every collection benchmark takes (size, history, runs, seed, ``--keep``)."""
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--reviews", type=int, default=100000)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="Build (or reuse) the collection in this folder and keep it.")


def build_collection(root: Path, cards: int, reviews: int, days: int, seed: int) -> tuple[Path, Path]:
    """A synced synthetic vault of about ``cards`` cards with a simulated history, under ``root``.

    Reused when ``root`` already holds one (``--keep``). Returns (vault, database).
    """
    from synth import make_vault

    from mlsys_srs.store import open_db
    from mlsys_srs.sync import sync_vault

    vault, db = root / "vault", root / "srs.db"
    if not db.exists():
        make_vault(vault, round(cards / CARDS_PER_BLOCK / 10), 10, seed)
        conn = open_db(db, NOW)
        sync_vault(conn, vault, NOW)
        conn.close()
        simulate(db, reviews, days, seed)
    return vault, db
