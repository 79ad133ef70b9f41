"""Review rows: the log of answered cards, written by grading and read by stats and export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import SrsError
from .db import dt_to_db
from .filters import CardFilter
from .schema import REVIEW_COLUMNS, cols

_WRITE = REVIEW_COLUMNS[1:]


def insert_review(
    conn: sqlite3.Connection,
    *,
    card_id: int,
    rating: int,
    reviewed_at: datetime,
    duration_ms: int,
    state_before: str,
    state_after: str,
    stability_after: float | None,
    difficulty_after: float | None,
    due_after: datetime | None,
    before: dict[str, Any],
    uid: str,
    kind: str = "review",
) -> int:
    """Log one answer; ``before`` is the card's scheduling state before it (for undo); ``uid`` its id on
    every device (its journal event id). Returns the local row id."""
    cur = conn.execute(
        f"INSERT INTO review ({cols(_WRITE)}) VALUES ({','.join('?' * len(_WRITE))})",
        (
            card_id,
            rating,
            dt_to_db(reviewed_at),
            duration_ms,
            state_before,
            state_after,
            stability_after,
            difficulty_after,
            dt_to_db(due_after),
            json.dumps(before),
            uid,
            kind,
        ),
    )
    return int(cur.lastrowid or 0)


def pop_review(conn: sqlite3.Connection, review_id: int) -> tuple[int, dict[str, Any], str]:
    """Delete a review row; return its card id, the card's state before it and the review's uid.

    Raises:
        SrsError: no such review (already undone).
    """
    row = conn.execute('SELECT card_id, "before", uid FROM review WHERE id = ?', (review_id,)).fetchone()
    if row is None:
        raise SrsError(f"review {review_id} no longer exists; nothing to undo")
    conn.execute("DELETE FROM review WHERE id = ?", (review_id,))
    return int(row[0]), json.loads(row[1]), str(row[2])


def reviewed_groups(conn: sqlite3.Connection, since: datetime) -> set[tuple[int, int]]:
    """Sibling groups ``(note id, line)`` of the cards reviewed at or after ``since``."""
    return {
        (r[0], r[1])
        for r in conn.execute(
            "SELECT DISTINCT card.note_id, card.line FROM review JOIN card ON card.id = review.card_id "
            "WHERE review.reviewed_at >= ? AND review.kind != 'cram'",
            (dt_to_db(since),),
        )
    }


def cards_answered_since(conn: sqlite3.Connection, since: datetime, state_before: str) -> int:
    """Distinct cards answered at or after ``since`` while in ``state_before`` (``new``: introduced)."""
    row = conn.execute(
        "SELECT count(DISTINCT card_id) FROM review WHERE reviewed_at >= ? AND state_before = ?"
        " AND kind != 'cram'",
        (dt_to_db(since), state_before),
    ).fetchone()
    return int(row[0])


def of_cards(flt: CardFilter | None) -> tuple[str, list[Any]]:
    """SQL condition on ``review`` selecting the reviews of the filter's cards (retired included)."""
    where, params = (flt or CardFilter()).scope().where()
    if where == "1":
        return "1", []  # no join: the reviewed_at index alone serves the query
    return (
        f"review.card_id IN (SELECT card.id FROM card JOIN note ON note.id = card.note_id WHERE {where})",
        params,
    )


def review_times(conn: sqlite3.Connection, flt: CardFilter | None, since: str | None = None) -> list[str]:
    """Stored instants of the reviews of ``flt``'s cards (at or after ``since``), oldest first."""
    cond, params = of_cards(flt)
    if since is not None:
        cond += " AND reviewed_at >= ?"
        params = [*params, since]
    return [
        r[0]
        for r in conn.execute(f"SELECT reviewed_at FROM review WHERE {cond} ORDER BY reviewed_at", params)
    ]


def first_review_time(conn: sqlite3.Connection, flt: CardFilter | None) -> str | None:
    """The stored instant of the first review of ``flt``'s cards (None: never reviewed)."""
    cond, params = of_cards(flt)
    row = conn.execute(f"SELECT min(reviewed_at) FROM review WHERE {cond}", params).fetchone()
    return row[0] if row and row[0] else None


def day_totals(
    conn: sqlite3.Connection, flt: CardFilter | None, start: str, end: str
) -> tuple[int, int, int, int]:
    """Reviews, their Again answers, milliseconds spent (cram included) and cram answers in
    ``[start, end)``."""
    cond, params = of_cards(flt)
    row = conn.execute(
        "SELECT coalesce(sum(review.kind = 'review'), 0),"
        " coalesce(sum(review.kind = 'review' AND review.rating = 1), 0),"
        " coalesce(sum(review.duration_ms), 0), coalesce(sum(review.kind = 'cram'), 0) "
        f"FROM review WHERE review.reviewed_at >= ? AND review.reviewed_at < ? AND {cond}",
        [start, end, *params],
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def retention_counts(
    conn: sqlite3.Connection, flt: CardFilter | None, starts: Sequence[str], end: str, group_sql: str
) -> list[tuple[Any, ...]]:
    """Per ``group_sql`` value: (group, reviews since starts[0], passed since starts[0], answers since
    starts[0], ...).

    Reviews and passed count only answers of cards in the ``review`` state (true retention);
    answers count every answer (learning ones too); cram answers count nowhere.
    """
    where, params = (flt or CardFilter()).scope().where()
    rs = "review.state_before = 'review'"
    columns = ", ".join(
        f"sum({rs} AND review.reviewed_at >= ?), sum({rs} AND review.reviewed_at >= ? AND review.rating > 1),"
        " sum(review.reviewed_at >= ?)"
        for _ in starts
    )
    sql = (
        f"SELECT {group_sql}, {columns} FROM review JOIN card ON card.id = review.card_id "
        "JOIN note ON note.id = card.note_id "
        "WHERE review.kind = 'review' "
        "AND review.reviewed_at >= ? AND review.reviewed_at < ? "
        f"AND {where} GROUP BY {group_sql}"
    )
    args: list[Any] = [s for s in starts for _ in range(3)] + [min(starts), end, *params]
    return [tuple(r) for r in conn.execute(sql, args)]


DueRow = tuple[int, str, str | None]
"""A review and when it left the card due: card id, reviewed at and due after (as stored)."""


def due_spans(conn: sqlite3.Connection, flt: CardFilter | None) -> list[DueRow]:
    """Every review of ``flt``'s cards by card then time, with the due date it gave the card."""
    cond, params = of_cards(flt)
    return conn.execute(
        "SELECT review.card_id, review.reviewed_at, review.due_after FROM review "
        f"WHERE {cond} ORDER BY review.card_id, review.reviewed_at",
        params,
    ).fetchall()


def held_cards(conn: sqlite3.Connection, flt: CardFilter | None) -> dict[int, tuple[bool, str | None]]:
    """``{card id: (suspended, retired at)}`` of ``flt``'s suspended or retired cards."""
    where, params = (flt or CardFilter()).scope().where()
    return {
        r[0]: (bool(r[1]), r[2])
        for r in conn.execute(
            "SELECT card.id, card.suspended, card.retired_at FROM card JOIN note ON note.id = card.note_id "
            f"WHERE ({where}) AND (card.suspended OR card.retired_at IS NOT NULL)",
            params,
        )
    }


class HistoryRow(NamedTuple):
    """One review of a card, as an export writes it."""

    card_id: int
    rating: int
    reviewed_at: str
    duration_ms: int | None
    state_before: str
    state_after: str
    difficulty_after: float | None
    due_after: str | None


def review_history(conn: sqlite3.Connection, ids: Sequence[int] | None = None) -> dict[int, list[HistoryRow]]:
    """Every review of an active card (of ``ids``; None: every one), oldest first, by card id."""
    sql, args = (
        "SELECT review.card_id, review.rating, review.reviewed_at, review.duration_ms, review.state_before,"
        " review.state_after, review.difficulty_after, review.due_after"
        " FROM review JOIN card ON card.id = review.card_id WHERE card.retired = 0",
        [],
    )
    if ids is not None:
        sql += " AND card.id IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(list(ids)))
    rows = conn.execute(sql + " ORDER BY review.card_id, review.reviewed_at, review.id", args)
    out: dict[int, list[HistoryRow]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(HistoryRow(*row))
    return out


LogRow = tuple[int, str, str | None, int, str, int | None, float | None, str]
"""One review as the progress charts read it: card id, reviewed at (as stored), due after (as
stored), rating, state before, duration in ms, stability after, and kind (``review``, or ``cram``: a study-mode
answer that changes no schedule). A plain tuple, as the database gives it: one pass over the whole
log reads it by position."""


def review_log(conn: sqlite3.Connection, flt: CardFilter | None) -> list[LogRow]:
    """Every review of ``flt``'s cards (retired ones too), oldest first (by time, then id)."""
    cond, params = of_cards(flt)
    return conn.execute(
        "SELECT review.card_id, review.reviewed_at, review.due_after, review.rating, review.state_before,"
        f" review.duration_ms, review.stability_after, review.kind FROM review WHERE {cond}"
        " ORDER BY review.reviewed_at, review.id",
        params,
    ).fetchall()


def card_places(conn: sqlite3.Connection, flt: CardFilter | None) -> dict[int, tuple[str, bool]]:
    """``{card id: (domain, retired)}`` for ``flt``'s cards, retired ones too."""
    where, params = (flt or CardFilter()).scope().where()
    return {
        r[0]: (r[1], bool(r[2]))
        for r in conn.execute(
            f"SELECT card.id, note.domain, card.retired FROM card JOIN note ON note.id = card.note_id WHERE {where}",
            params,
        )
    }


class CardReview(NamedTuple):
    """One answer of one card, as ``mlsys-srs card`` lists it."""

    reviewed_at: str
    rating: int
    state_before: str
    state_after: str
    stability_after: float | None
    difficulty_after: float | None
    duration_ms: int | None
    kind: str


def card_reviews(conn: sqlite3.Connection, card_id: int) -> list[CardReview]:
    """Every answer of a card (cram answers too), oldest first."""
    return [
        CardReview(*r)
        for r in conn.execute(
            "SELECT reviewed_at, rating, state_before, state_after, stability_after, difficulty_after,"
            " duration_ms, kind FROM review WHERE card_id = ? ORDER BY reviewed_at, id",
            (card_id,),
        )
    ]
