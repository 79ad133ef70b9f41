"""Due dates moved by a command (``postpone``, ``advance``, ``break``, ``plan``), and their undo.

A move sets a card in review due on another day and nothing else (its memory state, interval
history and review log stay). Each moved card is one ``move`` event, ``{"due": day, "from": day,
"why": "postpone", "batch": id}``, recorded in the journal before the commit, so every device
and a ``rebuild`` replay it (``replay.replay_events``). All the moves of one command are one
transaction and one batch. Undo is an ``undo`` event per move (the journal's tombstone, as for a
review): a card still due on the day the move gave it goes back to the day it had; a card answered
since keeps what the answer gave it, as a replay would. Nothing here reads the clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..core.identity import event_id
from ..store import loads as store
from ..store.db import dt_from_db, dt_to_db, transaction
from .journal import Event
from .merge import card_key, record

if TYPE_CHECKING:
    from ..scheduling.days import DayClock
    from .journal import Journal

WHY = ("postpone", "advance", "break", "plan", "reschedule")
"""What moved a card (``reschedule``: ``optimize --reschedule``)."""


@dataclass(frozen=True)
class DueMove:
    """One card to move: from the day it is due to ``after``."""

    card_id: int
    before: date
    after: date


def apply_moves(
    conn: sqlite3.Connection,
    moves: Sequence[DueMove],
    why: str,
    clock: DayClock,
    now: datetime,
    *,
    journal: Journal | None = None,
    extra: dict[str, str] | None = None,
) -> str | None:
    """Move the cards' due dates, one ``move`` event each, in one transaction. Returns the batch id
    (None when there was nothing to move). A card no longer in review, or no longer due on the day
    the move starts from, is left alone (another process moved it meanwhile). ``extra``: more
    fields for each event (a break's ``period``)."""
    if why not in WHY:
        raise ValueError(f"why must be one of {WHY}, not {why!r}")
    if not moves:
        return None
    batch = event_id(now)
    device = journal.device if journal is not None else "local"
    with transaction(conn):
        current = store.dues_of(conn, [m.card_id for m in moves])
        rows: list[tuple[int, str]] = []
        events: list[tuple[Event, int | None]] = []
        for m in moves:
            state, due = current.get(m.card_id, ("", None))
            at = dt_from_db(due)
            if state != "review" or at is None or clock.day_of(at) != m.before or m.after == m.before:
                continue
            rows.append((m.card_id, dt_to_db(clock.day_start(m.after))))
            data = {"due": m.after.isoformat(), "from": m.before.isoformat(), "why": why, "batch": batch,
                    **(extra or {})}  # fmt: skip
            events.append(
                (Event(event_id(now), "move", now, device, card_key(conn, m.card_id), data), m.card_id)
            )
        if not rows:
            return None
        store.set_dues(conn, rows)
        record(conn, journal, events)
    return batch


def record_moves(
    conn: sqlite3.Connection,
    moves: Sequence[DueMove],
    why: str,
    now: datetime,
    *,
    journal: Journal | None = None,
) -> str | None:
    """Record, one ``move`` event each, due days the caller has already stored (``optimize
    --reschedule`` recomputes whole schedules), so that a replay gives the same. Returns the batch."""
    if not moves:
        return None
    batch = event_id(now)
    device = journal.device if journal is not None else "local"
    events: list[tuple[Event, int | None]] = []
    for m in moves:
        data = {"due": m.after.isoformat(), "from": m.before.isoformat(), "why": why, "batch": batch}
        events.append((Event(event_id(now), "move", now, device, card_key(conn, m.card_id), data), m.card_id))
    with transaction(conn):
        record(conn, journal, events)
    return batch


@dataclass(frozen=True)
class UndoneMoves:
    """What undoing a batch of moves did."""

    batch: str | None
    """The batch undone (None: there was none to undo)."""
    at: datetime | None
    """When the batch was made."""
    restored: int
    """Cards put back on the day they had."""
    kept: int
    """Cards answered since, which keep what the answer gave them."""
    data: dict[str, object] | None = None
    """The first undone event's fields (a break's ``period``)."""


def undo_moves(
    conn: sqlite3.Connection, why: str, clock: DayClock, now: datetime, *, journal: Journal | None = None
) -> UndoneMoves:
    """Undo the latest batch of moves of one kind not undone yet: an ``undo`` event per move; each card
    still due on the day the move gave it goes back to the day it had."""
    rows = store.move_events(conn, why)
    if not rows:
        return UndoneMoves(None, None, 0, 0)
    datas = [(r, json.loads(r.data)) for r in rows]
    batch = datas[0][1].get("batch")
    mine = [(r, d) for r, d in datas if d.get("batch") == batch and r.card_id is not None]
    at = dt_from_db(mine[0][0].at) if mine else None
    device = journal.device if journal is not None else "local"
    restored = kept = 0
    with transaction(conn):
        ids = [r.card_id for r, _ in mine if r.card_id is not None]
        current = store.dues_of(conn, ids)
        since = store.later_events(conn, ids, mine[-1][0].at) if mine else set()
        back: list[tuple[int, str]] = []
        events: list[tuple[Event, int | None]] = []
        for r, d in mine:
            cid = r.card_id
            assert cid is not None
            state, due = current.get(cid, ("", None))
            when = dt_from_db(due)
            if (
                cid not in since
                and state == "review"
                and when is not None
                and clock.day_of(when).isoformat() == d["due"]
            ):
                back.append((cid, dt_to_db(clock.day_start(date.fromisoformat(d["from"])))))
                restored += 1
            else:
                kept += 1
            events.append(
                (Event(event_id(now), "undo", now, device, card_key(conn, cid), {"target": r.id}), cid)
            )
        store.set_dues(conn, back)
        record(conn, journal, events)
    return UndoneMoves(str(batch) if batch else None, at, restored, kept, mine[0][1] if mine else None)
