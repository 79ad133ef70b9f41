"""What recomputing schedules reads and writes: the review log by card, the pending flag, bulk updates.

A schedule recompute replays every card's review log (``review`` rows of kind
``review``; cram answers do not schedule) and writes the resulting scheduling
columns back. Migrations cannot see the user's config, so one that changes how
schedules are computed only sets ``meta.recompute_schedules``; the next command
that has the config does the work.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from .schema import CARD_SCHEDULE_COLUMNS

RECOMPUTE_KEY = "recompute_schedules"


class LoggedReview(NamedTuple):
    """One scheduling review of a card as the log holds it."""

    card_id: int
    uid: str
    rating: int
    reviewed_at: str
    state_before: str
    stability_after: float | None


def recompute_pending(conn: sqlite3.Connection) -> bool:
    """A migration asked for every schedule to be recomputed."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (RECOMPUTE_KEY,)).fetchone()
    return bool(row and row[0] == "1")


def clear_recompute(conn: sqlite3.Connection) -> None:
    """The recompute is done (inside the caller's transaction)."""
    conn.execute("DELETE FROM meta WHERE key = ?", (RECOMPUTE_KEY,))


def logged_reviews(conn: sqlite3.Connection, card_ids: Sequence[int] | None = None) -> Iterator[LoggedReview]:
    """Scheduling reviews (kind ``review``), by card then time; of ``card_ids`` only, if given."""
    sql = (
        "SELECT review.card_id, card.uid, review.rating, review.reviewed_at, review.state_before,"
        " review.stability_after FROM review JOIN card ON card.id = review.card_id"
        " WHERE review.kind = 'review'"
    )
    params: list[Any] = []
    if card_ids is not None:
        sql += " AND review.card_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(card_ids)))
    sql += " ORDER BY review.card_id, review.reviewed_at, review.id"
    for r in conn.execute(sql, params):
        yield LoggedReview(*r)


def schedule_rows(conn: sqlite3.Connection, card_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The scheduling columns of cards as stored, by id."""
    cols = ", ".join(CARD_SCHEDULE_COLUMNS)
    return {
        int(r[0]): dict(zip(CARD_SCHEDULE_COLUMNS, r[1:], strict=True))
        for r in conn.execute(
            f"SELECT id, {cols} FROM card WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(card_ids)),),
        )
    }


def write_schedules(conn: sqlite3.Connection, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Write scheduling columns (as ``CardSchedule.to_raw`` gives them) of many cards (caller's transaction)."""
    assignments = ", ".join(f"{c} = ?" for c in CARD_SCHEDULE_COLUMNS)
    conn.executemany(
        f"UPDATE card SET {assignments} WHERE id = ?",
        [(*(raw[c] for c in CARD_SCHEDULE_COLUMNS), cid) for cid, raw in rows],
    )
