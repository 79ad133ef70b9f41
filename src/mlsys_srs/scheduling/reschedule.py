"""Recomputing schedules from review logs, and what that does to the coming workload.

Used when the rules of scheduling change (migration ``m003_review_days``: review
days, day-start due dates, seeded fuzz; done by the next ``sync``, after a backup)
and when ``optimize --reschedule`` adopts new parameters. A card's schedule is
``memory.replay`` of its log: its ``review`` rows of kind ``review`` in time
order; a review of a card in state ``new`` after earlier reviews marks a reset
(the log does not record resets themselves). Suspension and burial are kept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path

from ..store import schedules as schedule_store
from ..store.backup import backup_database
from ..store.db import dt_from_db, transaction
from .days import DayClock
from .memory import CardSchedule, CardScheduler, HistoryEvent, ResetEvent, ReviewEvent, replay


def history_from_log(rows: Sequence[schedule_store.LoggedReview]) -> list[HistoryEvent]:
    """A card's replay history from its logged reviews (time order), resets inferred."""
    events: list[HistoryEvent] = []
    for i, r in enumerate(rows):
        at = dt_from_db(r.reviewed_at)
        assert at is not None
        if i and r.state_before == "new":
            events.append(ResetEvent(at))
        events.append(ReviewEvent(r.rating, at))
    return events


def recompute(
    conn: sqlite3.Connection, scheduler: CardScheduler, now: datetime
) -> dict[int, tuple[CardSchedule, CardSchedule]]:
    """``{card id: (stored schedule, replayed schedule)}`` of every card with a review log.

    A card that is new now although its log has reviews was reset after them; it stays new.
    """
    logs = {
        cid: list(rows) for cid, rows in groupby(schedule_store.logged_reviews(conn), key=lambda r: r.card_id)
    }
    stored = schedule_store.schedule_rows(conn, list(logs))
    out: dict[int, tuple[CardSchedule, CardSchedule]] = {}
    for cid, rows in logs.items():
        if cid not in stored:
            continue
        before = CardSchedule.from_raw(stored[cid])
        events = history_from_log(rows)
        if before.state == "new":
            events.append(ResetEvent(max(now, events[-1].at)))
        start = CardSchedule(suspended=before.suspended, buried_until=before.buried_until)
        out[cid] = (before, replay(rows[0].uid, events, scheduler, start))
    return out


def write_recomputed(conn: sqlite3.Connection, result: dict[int, tuple[CardSchedule, CardSchedule]]) -> int:
    """Store replayed schedules that differ from the stored ones, in one transaction; return how many."""
    changed = [(cid, after.to_raw()) for cid, (before, after) in result.items() if before != after]
    with transaction(conn):
        schedule_store.write_schedules(conn, changed)
    return len(changed)


@dataclass(frozen=True)
class PendingRecompute:
    """What the recompute asked for by a migration did."""

    cards: int
    changed: int
    backup: Path


def run_pending_recompute(
    conn: sqlite3.Connection, scheduler: CardScheduler, now: datetime, backup_dir: Path
) -> PendingRecompute | None:
    """Do the recompute a migration asked for (None if none is pending): back up the database
    file into ``backup_dir``, replay every card's log with ``scheduler``, clear the request.

    Raises:
        DatabaseError: the backup or the writes failed (the request stays pending).
    """
    if not schedule_store.recompute_pending(conn):
        return None
    path = backup_database(conn, backup_dir, "review-days", now)
    result = recompute(conn, scheduler, now)
    changed = [(cid, after.to_raw()) for cid, (before, after) in result.items() if before != after]
    with transaction(conn):
        schedule_store.write_schedules(conn, changed)
        schedule_store.clear_recompute(conn)
    return PendingRecompute(len(result), len(changed), path)


@dataclass(frozen=True)
class Workload:
    """Reviews due in the coming days (overdue cards count on the first day)."""

    next_7_days: int
    next_30_days: int


def workload(dues: Sequence[datetime | None], clock: DayClock, now: datetime) -> Workload:
    """How many of ``dues`` fall before the end of the 7th and of the 30th review day from today."""
    today = clock.today(now)
    end7 = clock.day_end(today + timedelta(days=6))
    end30 = clock.day_end(today + timedelta(days=29))
    return Workload(
        sum(1 for d in dues if d is not None and d < end7),
        sum(1 for d in dues if d is not None and d < end30),
    )
