"""The store side of the workload: cards due per day, siblings, review cards to move, move events.

Used by ``scheduling.daily_load`` (the load a grade's day is chosen under) and by the commands that
move due dates (``postpone``, ``advance``, ``break``, ``plan``: ``history.moves``). A card counts
toward a day's load when it is active, not suspended, not new, and due on that day.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from .cards import ids_json
from .filters import CardFilter

_LOADED = "card.retired = 0 AND card.suspended = 0 AND card.state != 'new' AND card.due IS NOT NULL"


def due_counts(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[str, int]]:
    """``(due, cards)`` of the active, unsuspended, scheduled cards due in ``[start, end)`` (stored
    instants; review cards are due at the start of their day, so there are few distinct values)."""
    return [
        (str(d), int(n))
        for d, n in conn.execute(
            f"SELECT card.due, count(*) FROM card WHERE {_LOADED} AND card.due >= ? AND card.due < ? "
            "GROUP BY card.due",
            (start, end),
        )
    ]


def sibling_dues(conn: sqlite3.Connection, uid: str) -> list[str]:
    """The due instants of the siblings (same note and line) of the card ``uid`` that count toward a
    day's load."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT card.due FROM card JOIN card AS me ON me.note_id = card.note_id AND me.line = card.line "
            f"AND me.id != card.id WHERE me.uid = ? AND {_LOADED}",
            (uid,),
        )
    ]


def uid_matches(conn: sqlite3.Connection, flt: CardFilter, uid: str) -> bool:
    """Whether the card ``uid`` is one of the cards of ``flt``."""
    where, params = flt.where()
    row = conn.execute(
        f"SELECT 1 FROM card JOIN note ON note.id = card.note_id WHERE card.uid = ? AND {where} LIMIT 1",
        [uid, *params],
    ).fetchone()
    return row is not None


class ScheduledCard(NamedTuple):
    """A scheduled card, as moving its due date needs it (instants as stored)."""

    id: int
    uid: str
    note_id: int
    line: int
    domain: str
    state: str
    due: str | None
    last_review: str | None
    stability: float | None
    difficulty: float | None
    reps: int


def scheduled_cards(
    conn: sqlite3.Connection,
    flt: CardFilter | None = None,
    *,
    states: Sequence[str] = ("review",),
    due_from: str | None = None,
    due_to: str | None = None,
) -> list[ScheduledCard]:
    """Active, unsuspended cards of ``flt`` in ``states`` with a memory state, due in
    ``[due_from, due_to)`` (either bound may be open), by due then id."""
    where, params = (flt or CardFilter()).where()
    conds = [
        where,
        "card.retired = 0",
        "card.suspended = 0",
        "card.stability IS NOT NULL",
        "card.due IS NOT NULL",
    ]
    conds.append(f"card.state IN ({','.join('?' * len(states))})")
    params = [*params, *states]
    if due_from is not None:
        conds.append("card.due >= ?")
        params.append(due_from)
    if due_to is not None:
        conds.append("card.due < ?")
        params.append(due_to)
    sql = (
        "SELECT card.id, card.uid, card.note_id, card.line, note.domain, card.state, card.due, "
        "card.last_review, card.stability, card.difficulty, card.reps "
        "FROM card JOIN note ON note.id = card.note_id WHERE "
        + " AND ".join(conds)
        + " ORDER BY card.due, card.id"
    )
    return [ScheduledCard._make(r) for r in conn.execute(sql, params)]


def new_cards_of(conn: sqlite3.Connection, flt: CardFilter) -> list[tuple[int, str, str]]:
    """``(id, uid, domain)`` of the active, unsuspended new cards of ``flt``."""
    where, params = flt.where()
    return [
        (int(i), str(u), str(d))
        for i, u, d in conn.execute(
            "SELECT card.id, card.uid, note.domain FROM card JOIN note ON note.id = card.note_id "
            f"WHERE {where} AND card.retired = 0 AND card.suspended = 0 AND card.state = 'new' ORDER BY card.id",
            params,
        )
    ]


def first_answered_since(conn: sqlite3.Connection, flt: CardFilter, since: str) -> int:
    """How many cards of ``flt`` were answered for the first time (a review of a new card) since ``since``."""
    where, params = flt.where()
    row = conn.execute(
        "SELECT count(DISTINCT review.card_id) FROM review JOIN card ON card.id = review.card_id "
        "JOIN note ON note.id = card.note_id WHERE review.kind = 'review' AND review.state_before = 'new' "
        f"AND review.reviewed_at >= ? AND {where}",
        [since, *params],
    ).fetchone()
    return int(row[0])


def set_dues(conn: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Set cards' due instants: ``(card id, due as stored)``."""
    conn.executemany("UPDATE card SET due = ? WHERE id = ?", [(due, cid) for cid, due in rows])


def dues_of(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """``{card id: (state, due)}`` of cards."""
    return {
        int(i): (str(s), d)
        for i, s, d in conn.execute(
            "SELECT id, state, due FROM card WHERE id IN (SELECT value FROM json_each(?))", (ids_json(ids),)
        )
    }


class MoveRow(NamedTuple):
    """A stored ``move`` event (``data`` as JSON text, ``at`` as stored)."""

    id: str
    card_id: int | None
    at: str
    data: str


def move_events(conn: sqlite3.Connection, why: str) -> list[MoveRow]:
    """The ``move`` events of one kind of move (``postpone``...) that no ``undo`` event targets,
    latest first."""
    return [
        MoveRow(*r)
        for r in conn.execute(
            "SELECT id, card_id, at, data FROM event WHERE kind = 'move' AND json_extract(data, '$.why') = ? "
            "AND id NOT IN (SELECT json_extract(data, '$.target') FROM event WHERE kind = 'undo' "
            "AND json_extract(data, '$.target') IS NOT NULL) ORDER BY at DESC, id DESC",
            (why,),
        )
    ]


def later_events(conn: sqlite3.Connection, card_ids: Sequence[int], after: str) -> set[int]:
    """The cards among ``card_ids`` with an event (other than ``move``) after ``after``."""
    return {
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT card_id FROM event WHERE card_id IN (SELECT value FROM json_each(?)) "
            "AND at > ? AND kind != 'move'",
            (ids_json(card_ids), after),
        )
    }
