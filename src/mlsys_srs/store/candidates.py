"""The review queue's view of cards: candidates for today's queue and the study modes.

A ``Candidate`` is a tuple, built for thousands of cards per ``due``; the queue's rules
(``scheduling/queue.py``) decide what to do with them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from .cards import ids_json
from .db import dt_from_db, dt_to_db
from .filters import CardFilter

T = TypeVar("T")


class Candidate(NamedTuple):
    """What the review queue needs of a card (a tuple: built for thousands of cards per ``due``)."""

    id: int
    note_id: int
    line: int
    domain: str
    path: str
    state: str
    due: datetime | None
    stability: float | None
    last_review: datetime | None


_CANDIDATE_SELECT = """
SELECT card.id, card.note_id, card.line, note.domain, note.path, card.state, card.due,
       card.stability, card.last_review
FROM card JOIN note ON note.id = card.note_id
"""


def _candidate(r: Sequence[Any]) -> Candidate:
    if r[5] == "new":
        return Candidate(r[0], r[1], r[2], r[3], r[4], "new", None, None, None)
    return Candidate(r[0], r[1], r[2], r[3], r[4], r[5], dt_from_db(r[6]), r[7], dt_from_db(r[8]))


_AVAILABLE = (
    " AND card.retired = 0 AND card.suspended = 0 AND (card.buried_until IS NULL OR card.buried_until <= ?)"
)


def queue_candidates(
    conn: sqlite3.Connection,
    now: datetime,
    day_end: datetime,
    flt: CardFilter | None = None,
    *,
    new: bool = True,
) -> list[Candidate]:
    """Active cards that are new or due before ``day_end``, not suspended or buried at ``now``.

    Args:
        new: Include the new cards (False: only scheduled cards due before ``day_end``;
            ``new_card_notes`` and ``new_candidates`` then fetch new cards a note at a time).
    """
    return queue_rows(conn, now, day_end, flt, Candidate, new=new)


def queue_rows(
    conn: sqlite3.Connection,
    now: datetime,
    day_end: datetime,
    flt: CardFilter | None,
    make: Callable[[int, int, int, str, str, str, datetime | None, float | None, datetime | None], T],
    *,
    new: bool = True,
) -> list[T]:
    """``queue_candidates``, each made by ``make`` from a ``Candidate``'s fields (the queue's own tuple).

    Thousands of rows on every ``due`` and ``review``: each note's domain and path come from one
    read of the notes (not a join and two strings per card), the datetimes are read as stored.
    """
    where, params = (flt or CardFilter()).where()
    # The filter may name note columns (--domain, --note, a deck's folders): then the join stays.
    source = "card JOIN note ON note.id = card.note_id" if "note." in where else "card"
    sql = (
        "SELECT card.id, card.note_id, card.line, card.state, card.due, card.stability, card.last_review"
        f" FROM {source} WHERE {where}" + _AVAILABLE
    )
    sql += " AND (card.state = 'new' OR card.due < ?)" if new else " AND card.state != 'new' AND card.due < ?"
    names = {i: (d, p) for i, d, p in conn.execute("SELECT id, domain, path FROM note")}
    out = []
    for cid, nid, line, state, due, stability, last in conn.execute(
        sql, [*params, dt_to_db(now), dt_to_db(day_end)]
    ):
        name = names.get(nid)
        if name is None:
            continue  # as the join would (a card's note is always there)
        if state == "new":
            out.append(make(cid, nid, line, name[0], name[1], "new", None, None, None))
        else:
            out.append(
                make(cid, nid, line, name[0], name[1], state, _instant(due), stability, _instant(last))
            )
    return out


def _instant(value: str | None) -> datetime | None:
    """``dt_from_db``, with our own format read here (two per candidate, thousands of candidates)."""
    if value is not None and value.endswith("+00:00"):
        return datetime.fromisoformat(value)  # as parse_instant reads it
    return dt_from_db(value)


def new_card_notes(conn: sqlite3.Connection, now: datetime, flt: CardFilter | None = None) -> dict[int, int]:
    """Note id -> how many of its cards are new queue candidates at ``now`` (notes with none left out)."""
    where, params = (flt or CardFilter()).where()
    sql = (
        "SELECT card.note_id, count(*) FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where}" + _AVAILABLE + " AND card.state = 'new' GROUP BY card.note_id"
    )
    return {int(n): int(k) for n, k in conn.execute(sql, [*params, dt_to_db(now)])}


def new_candidates(
    conn: sqlite3.Connection, now: datetime, note_ids: Sequence[int], flt: CardFilter | None = None
) -> list[Candidate]:
    """The new queue candidates of the notes ``note_ids``, by line and id."""
    where, params = (flt or CardFilter()).where()
    sql = (
        _CANDIDATE_SELECT + " WHERE card.note_id IN (SELECT value FROM json_each(?))"
        f" AND {where}" + _AVAILABLE + " AND card.state = 'new' ORDER BY card.line, card.id"
    )
    return [_candidate(r) for r in conn.execute(sql, [ids_json(note_ids), *params, dt_to_db(now)])]


def new_candidate_groups(
    conn: sqlite3.Connection, now: datetime, note_ids: Sequence[int], flt: CardFilter | None = None
) -> list[tuple[int, int]]:
    """``(note id, line)`` of each new queue candidate of the notes ``note_ids`` (one per card)."""
    where, params = (flt or CardFilter()).where()
    sql = (
        "SELECT card.note_id, card.line FROM card JOIN note ON note.id = card.note_id"
        f" WHERE card.note_id IN (SELECT value FROM json_each(?)) AND {where}"
        + _AVAILABLE
        + " AND card.state = 'new'"
    )
    return [(int(n), int(ln)) for n, ln in conn.execute(sql, [ids_json(note_ids), *params, dt_to_db(now)])]


def study_candidates(
    conn: sqlite3.Connection,
    now: datetime,
    flt: CardFilter | None = None,
    *,
    due_before: datetime | None = None,
    lapsed_since: datetime | None = None,
    note_ids: Sequence[int] | None = None,
    new_only: bool = False,
) -> list[Candidate]:
    """Active, unsuspended, unburied cards for a study mode (cram, ahead, forgotten, weak, preview).

    Args:
        due_before: Only scheduled cards due before this time (review ahead).
        lapsed_since: Only cards failed (an Again review, cram answers aside) at or after this time.
        note_ids: Only the cards of these notes (the weakest concepts).
        new_only: Only new cards (preview).
    """
    where, params = (flt or CardFilter()).where()
    sql = (
        _CANDIDATE_SELECT + f" WHERE {where} AND card.retired = 0 AND card.suspended = 0"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
    )
    args: list[Any] = [*params, dt_to_db(now)]
    if new_only:
        sql += " AND card.state = 'new'"
    if due_before is not None:
        sql += " AND card.state != 'new' AND card.due < ?"
        args.append(dt_to_db(due_before))
    if lapsed_since is not None:
        sql += (
            " AND card.id IN (SELECT card_id FROM review WHERE rating = 1 AND kind != 'cram'"
            " AND reviewed_at >= ?)"
        )
        args.append(dt_to_db(lapsed_since))
    if note_ids is not None:
        sql += f" AND card.note_id IN ({','.join('?' * len(note_ids)) or 'NULL'})"
        args.extend(note_ids)
    return [_candidate(r) for r in conn.execute(sql, args)]


def due_between(
    conn: sqlite3.Connection, start: datetime, until: datetime, flt: CardFilter | None = None
) -> int:
    """Active, unsuspended scheduled cards due in ``[start, until)`` (e.g. during tomorrow)."""
    where, params = (flt or CardFilter()).where()
    row = conn.execute(
        f"SELECT count(*) FROM card JOIN note ON note.id = card.note_id WHERE {where} AND card.retired = 0"
        " AND card.suspended = 0 AND card.state != 'new' AND card.due >= ? AND card.due < ?",
        [*params, dt_to_db(start), dt_to_db(until)],
    ).fetchone()
    return int(row[0])


def linked_due_candidates(
    conn: sqlite3.Connection, note_id: int, now: datetime, start: datetime, until: datetime
) -> list[Candidate]:
    """Review cards of the notes ``note_id`` links to, due in ``[start, until)``, by due time."""
    sql = (
        _CANDIDATE_SELECT
        + " WHERE card.note_id IN (SELECT DISTINCT target_note_id FROM link WHERE link.note_id = ?"
        " AND target_note_id IS NOT NULL AND target_note_id != ?)"
        " AND card.retired = 0 AND card.suspended = 0 AND card.state = 'review'"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
        " AND card.due >= ? AND card.due < ? ORDER BY card.due, card.id"
    )
    return [
        _candidate(r)
        for r in conn.execute(sql, (note_id, note_id, dt_to_db(now), dt_to_db(start), dt_to_db(until)))
    ]


def next_due_after(
    conn: sqlite3.Connection, now: datetime, day_end: datetime, flt: CardFilter | None = None
) -> tuple[datetime | None, datetime | None]:
    """When active, scheduled cards next fall due (or are unburied), as ``(learning, review)``.

    ``learning``: the earliest learning or relearning card after ``now``; ``review``: the
    earliest card in review at or after ``day_end`` (review cards due before it are today's).
    """
    where, params = (flt or CardFilter()).where()
    row = conn.execute(
        "SELECT min(CASE WHEN card.state != 'review' AND eff > ? THEN eff END),"
        " min(CASE WHEN card.state = 'review' AND eff >= ? THEN eff END)"
        " FROM (SELECT card.state, max(card.due, coalesce(card.buried_until, '')) AS eff"
        " FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where} AND card.retired = 0 AND card.suspended = 0 AND card.state != 'new') AS card",
        [dt_to_db(now), dt_to_db(day_end), *params],
    ).fetchone()
    if not row:
        return None, None
    return dt_from_db(row[0]), dt_from_db(row[1])
