"""Journal events, journal read positions and ``meta`` facts: the store side of history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from .db import dt_from_db, dt_to_db
from .schema import EVENT_COLUMNS, REVIEW_COLUMNS, cols


class EventRow(NamedTuple):
    """An event as stored (``card_key`` and ``data`` as JSON text)."""

    id: str
    device: str
    kind: str
    at: datetime
    card_uid: str
    card_key: str
    data: str
    card_id: int | None


def _row(r: Sequence[Any]) -> EventRow:
    at = dt_from_db(r[3])
    assert at is not None
    return EventRow(r[0], r[1], r[2], at, r[4], r[5], r[6], r[7])


EventValues = tuple[str, str, str, str, str, str, str, int | None]
"""An event row as written: the values of ``EVENT_COLUMNS`` (``at`` as stored)."""


def insert_events(conn: sqlite3.Connection, rows: Iterable[EventRow]) -> list[str]:
    """Store events not already known (by id); return the ids that were new, in order."""
    batch: dict[str, EventRow] = {}
    for r in rows:
        batch.setdefault(r.id, r)
    if not batch:
        return []
    have = known_event_ids(conn, list(batch))
    new = [r for r in batch.values() if r.id not in have]
    add_events(
        conn,
        [(r.id, r.device, r.kind, dt_to_db(r.at), r.card_uid, r.card_key, r.data, r.card_id) for r in new],
    )
    return [r.id for r in new]


def add_events(conn: sqlite3.Connection, rows: Sequence[EventValues]) -> None:
    """Store events the caller knows to be new (one stored already is left as it is)."""
    conn.executemany(
        f"INSERT OR IGNORE INTO event ({cols(EVENT_COLUMNS)}) VALUES ({','.join('?' * len(EVENT_COLUMNS))})",
        rows,
    )


def known_event_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are stored already."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT id FROM event WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
        )
    }


class ReplayEvent(NamedTuple):
    """What replaying a card needs of one of its events (``at`` as stored; ``data`` as JSON text)."""

    id: str
    kind: str
    at: str
    data: str


def replay_events_of_cards(conn: sqlite3.Connection, card_ids: Sequence[int]) -> dict[int, list[ReplayEvent]]:
    """The events of the cards that have any, by card, in no particular order (a replay sorts them)."""
    out: dict[int, list[ReplayEvent]] = {}
    make = ReplayEvent._make
    for cid, *rest in conn.execute(
        "SELECT card_id, id, kind, at, data FROM event WHERE card_id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(card_ids)),),
    ):
        events = out.get(cid)
        if events is None:
            events = out[cid] = []
        events.append(make(rest))
    return out


def pending_events(conn: sqlite3.Connection) -> list[EventRow]:
    """Events whose card is not known here (yet). A purge never waits: its card is gone for good."""
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {cols(EVENT_COLUMNS)} FROM event WHERE card_id IS NULL AND kind != 'purge' ORDER BY at, id"
        )
    ]


def purge_times(conn: sqlite3.Connection) -> dict[str, datetime]:
    """The card uids purged on any device, with the time of the latest purge of each."""
    out: dict[str, datetime] = {}
    for uid, at in conn.execute("SELECT card_uid, max(at) FROM event WHERE kind = 'purge' GROUP BY card_uid"):
        when = dt_from_db(at)
        assert when is not None
        out[uid] = when
    return out


def kept_after_purge(conn: sqlite3.Connection) -> set[str]:
    """The card uids some device kept after another purged them (events with ``data.kept``)."""
    return {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT card_uid FROM event WHERE json_extract(data, '$.kept') IS NOT NULL"
        )
    }


def kept_purges(conn: sqlite3.Connection) -> set[str]:
    """The ids of the purges that some device kept its card after."""
    return {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT json_extract(data, '$.kept') FROM event WHERE json_extract(data, '$.kept') IS NOT NULL"
        )
    }


def delete_events(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Forget events (those of a purged card that arrive after it went)."""
    conn.execute("DELETE FROM event WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),))


def attach_events(conn: sqlite3.Connection, pairs: Iterable[tuple[int, str]]) -> None:
    """Record ``(card id, event id)``: the event's card is now known."""
    conn.executemany("UPDATE event SET card_id = ? WHERE id = ?", list(pairs))


def all_events(conn: sqlite3.Connection) -> list[EventRow]:
    """Every stored event in time order."""
    return [_row(r) for r in conn.execute(f"SELECT {cols(EVENT_COLUMNS)} FROM event ORDER BY at, id")]


# -- cards by key ------------------------------------------------------------------------


class KeyedCard(NamedTuple):
    """What matching an event to a card needs."""

    id: int
    uid: str
    block_id: str | None
    direction: str
    cloze: int | None
    path: str
    fingerprint: str
    question: str
    retired: bool = False


_KEYED_SELECT = (
    "SELECT card.id, card.uid, card.block_id, card.direction, card.cloze, note.path, card.fingerprint, "
    "card.question, card.retired FROM card JOIN note ON note.id = card.note_id"
)


def _keyed(r: Sequence[Any]) -> KeyedCard:
    return KeyedCard(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))


def keyed_cards(conn: sqlite3.Connection) -> list[KeyedCard]:
    """Every card (retired ones too) with its keys."""
    return [_keyed(r) for r in conn.execute(_KEYED_SELECT)]


def keyed_card(conn: sqlite3.Connection, card_id: int) -> KeyedCard | None:
    """One card with its keys (None if there is no such card)."""
    row = conn.execute(_KEYED_SELECT + " WHERE card.id = ?", (card_id,)).fetchone()
    return _keyed(row) if row is not None else None


def has_uid(conn: sqlite3.Connection, uid: str) -> bool:
    """Whether any stored event names this card uid (the card has a history under it)."""
    return bool(conn.execute("SELECT 1 FROM event WHERE card_uid = ? LIMIT 1", (uid,)).fetchone())


def set_uid(conn: sqlite3.Connection, card_id: int, uid: str) -> None:
    """Give a card the uid another device knows it by."""
    conn.execute("UPDATE card SET uid = ? WHERE id = ?", (uid, card_id))


# -- review rows derived from events ----------------------------------------------------


ReviewValues = tuple[
    int, int, str, int | None, str, str, float | None, float | None, str | None, str, str, str
]
"""A review row as written: the values of ``REVIEW_COLUMNS`` after ``id`` (datetimes as stored,
``before`` as JSON text)."""


def reviews_without_events(conn: sqlite3.Connection, card_id: int) -> int:
    """How many of a card's review rows have no stored event (history from before the journal):
    a card with any cannot be replayed from its events without losing them."""
    row = conn.execute(
        "SELECT count(*) FROM review WHERE card_id = ? AND uid NOT IN (SELECT id FROM event WHERE card_id = ?)",
        (card_id, card_id),
    ).fetchone()
    return int(row[0])


def delete_reviews(conn: sqlite3.Connection, card_ids: Sequence[int]) -> None:
    """Delete every review row of the cards."""
    conn.execute(
        "DELETE FROM review WHERE card_id IN (SELECT value FROM json_each(?))", (json.dumps(list(card_ids)),)
    )


def add_reviews(conn: sqlite3.Connection, rows: Sequence[ReviewValues]) -> None:
    """Insert review rows."""
    names = REVIEW_COLUMNS[1:]
    conn.executemany(f"INSERT INTO review ({cols(names)}) VALUES ({','.join('?' * len(names))})", rows)


class ReviewRow(NamedTuple):
    """A stored review with its card's uid and keys, for seeding the journal and comparing databases."""

    uid: str
    card_id: int
    card_uid: str
    rating: int
    reviewed_at: datetime
    duration_ms: int | None
    kind: str
    state_before: str
    state_after: str


def all_reviews(conn: sqlite3.Connection) -> list[ReviewRow]:
    """Every review row, oldest first."""
    out = []
    for r in conn.execute(
        "SELECT review.uid, review.card_id, card.uid, review.rating, review.reviewed_at, review.duration_ms, "
        "review.kind, review.state_before, review.state_after FROM review JOIN card ON card.id = review.card_id "
        "ORDER BY review.reviewed_at, review.id"
    ):
        at = dt_from_db(r[4])
        assert at is not None
        out.append(ReviewRow(r[0], r[1], r[2], r[3], at, r[5], r[6], r[7], r[8]))
    return out


# -- journal read positions and meta ------------------------------------------------------


def journal_cursor(conn: sqlite3.Connection, path: str) -> tuple[int, int, str, int] | None:
    """``(size, mtime_ns, head, consumed)`` recorded for a journal file, if any."""
    row = conn.execute(
        "SELECT size, mtime_ns, head, consumed FROM journal_file WHERE path = ?", (path,)
    ).fetchone()
    return (int(row[0]), int(row[1]), str(row[2]), int(row[3])) if row else None


def set_journal_cursor(
    conn: sqlite3.Connection, path: str, device: str, size: int, mtime_ns: int, head: str, consumed: int
) -> None:
    """Record how far a journal file has been read."""
    conn.execute(
        "INSERT INTO journal_file (path, device, size, mtime_ns, head, consumed) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET device=excluded.device, size=excluded.size, mtime_ns=excluded.mtime_ns, "
        "head=excluded.head, consumed=excluded.consumed",
        (path, device, size, mtime_ns, head, consumed),
    )


PROBLEMS_KEPT = 1000
"""Quarantined lines listed per journal file; the rest are counted (``journal_file.problems``)."""


def add_journal_problems(
    conn: sqlite3.Connection,
    path: str,
    problems: Sequence[tuple[int, str]],
    *,
    reread: bool,
    count: int | None = None,
) -> list[tuple[int, str]]:
    """Record a file's quarantined lines (``reread``: the file was read from its start, so the
    old ones are dropped first; ``count``: how many there were, when only the first are named).
    Returns the named lines not recorded before (to report once)."""
    if reread:
        conn.execute("DELETE FROM journal_problem WHERE path = ?", (path,))
        conn.execute("UPDATE journal_file SET problems = 0 WHERE path = ?", (path,))
    if not problems:
        return []
    known = {int(r[0]) for r in conn.execute("SELECT line FROM journal_problem WHERE path = ?", (path,))}
    new = [(line, reason) for line, reason in problems if line not in known]
    room = max(0, PROBLEMS_KEPT - len(known))
    conn.executemany(
        "INSERT OR IGNORE INTO journal_problem (path, line, reason) VALUES (?, ?, ?)",
        [(path, line, reason[:500]) for line, reason in new[:room]],
    )
    extra = max(0, (count or 0) - len(problems))
    conn.execute("UPDATE journal_file SET problems = problems + ? WHERE path = ?", (len(new) + extra, path))
    return new


def journal_problems(conn: sqlite3.Connection, limit: int = 50) -> tuple[int, list[tuple[str, int, str]]]:
    """How many journal lines are quarantined in all, and the first ``limit`` as ``(path, line, reason)``."""
    total = conn.execute("SELECT coalesce(sum(problems), 0) FROM journal_file").fetchone()[0]
    rows = conn.execute(
        "SELECT path, line, reason FROM journal_problem ORDER BY path, line LIMIT ?", (limit,)
    ).fetchall()
    return int(total), [(str(p), int(n), str(r)) for p, n, r in rows]


def add_waiting(
    conn: sqlite3.Connection, path: str, waiting: Sequence[tuple[int, str, str, str | None, str]]
) -> int:
    """Keep lines that wait: ``(line, id, reason, due, text)``. Returns how many were not kept before."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO waiting_event (id, path, line, reason, due, text) VALUES (?, ?, ?, ?, ?, ?)",
        [(eid, path, line, reason, due, text) for line, eid, reason, due, text in waiting],
    )
    return conn.total_changes - before


def waiting_events(conn: sqlite3.Connection) -> list[tuple[str, str, int, str, str]]:
    """Every waiting line: ``(id, path, line, reason, text)``."""
    return [
        (str(a), str(b), int(c), str(d), str(e))
        for a, b, c, d, e in conn.execute("SELECT id, path, line, reason, text FROM waiting_event")
    ]


def drop_waiting(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Forget waiting lines (applied now, or quarantined after all)."""
    conn.executemany("DELETE FROM waiting_event WHERE id = ?", [(i,) for i in ids])


def waiting_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Waiting lines by reason (``future``, ``newer``)."""
    return {
        str(r): int(n) for r, n in conn.execute("SELECT reason, count(*) FROM waiting_event GROUP BY reason")
    }


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """A ``meta`` value."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set a ``meta`` value."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
