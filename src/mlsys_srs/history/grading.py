"""Every change a person makes to a card's schedule: grade, undo, suspend, bury, reset.

Each function is one transaction, so a grade is stored whole or not at all;
the SQL is in ``store/``, the FSRS arithmetic in ``memory``. With a ``journal``,
each change is also an event appended to this device's review journal before
the commit (``history.record``): undo is an event too, never a silent delete.
Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..core.identity import event_id
from ..scheduling.memory import CardSchedule, is_new_leech
from ..store import cards as card_store
from ..store import review_log as review_store
from ..store.db import transaction
from .journal import Event
from .merge import card_key, record

if TYPE_CHECKING:
    from ..scheduling.memory import CardScheduler
    from .journal import Journal


@dataclass(frozen=True)
class GradeResult:
    """What one committed grade did."""

    review_id: int
    card_id: int
    rating: int
    before: CardSchedule
    after: CardSchedule
    duration_ms: int
    leech: bool = False


def grade_card(
    conn: sqlite3.Connection,
    scheduler: CardScheduler,
    card_id: int,
    rating: int,
    now: datetime,
    *,
    duration_ms: int = 0,
    leech_threshold: int = 8,
    journal: Journal | None = None,
    kind: str = "review",
    leech_action: str = "suspend",
    answer_id: str | None = None,
) -> GradeResult:
    """Grade a card and commit the review row and the card's new state in one transaction.

    The review row's ``before`` holds the card's scheduling columns exactly as
    they were, so ``undo_review`` can put them back. A lapse that makes the
    card a leech tags it ``leech`` and, with ``leech_action="suspend"``, suspends
    it, in the same transaction. ``answer_id``: the answer's own event id (the web page
    makes its answers' ids, so that an answer sent twice is taken once); default a new one.

    Raises:
        CardNotFound: no such card.
        DatabaseError: the database cannot be written.
    """
    if kind not in ("review", "cram"):
        raise ValueError(f"kind must be review or cram, not {kind!r}")
    with transaction(conn):
        raw = card_store.schedule_of(conn, card_id)
        key = card_key(conn, card_id)  # its uid seeds the fuzz; the journal names the card by it
        before = CardSchedule.from_raw(raw)
        if kind == "cram":
            after, leech = before, False
        else:
            after = scheduler.grade(key.uid, before, rating, now)
            leech = is_new_leech(before.lapses, after.lapses, leech_threshold)
        snapshot = dict(raw)
        if leech:
            if leech_action != "tag":
                after = replace(after, suspended=True)
            if card_store.add_tag(conn, card_id, card_store.LEECH_TAG):
                # Not a scheduling column: recorded so that undo removes the tag it added.
                snapshot["added_tags"] = [card_store.LEECH_TAG]
        review_id = review_store.insert_review(
            conn,
            card_id=card_id,
            rating=rating,
            reviewed_at=now,
            duration_ms=duration_ms,
            state_before=before.state,
            state_after=after.state,
            stability_after=after.stability,
            difficulty_after=after.difficulty,
            due_after=after.due,
            before=snapshot,
            uid=(eid := answer_id or event_id(now)),
            kind=kind,
        )
        card_store.set_schedule(conn, card_id, after.to_raw())
        data: dict[str, Any] = {"rating": rating, "ms": duration_ms}
        if kind == "review" and after.state == "review" and after.due is not None:
            # The day chosen (by the fuzz, the load balancer, a plan): a replay takes it as it is.
            data["due"] = scheduler.clock.day_of(after.due).isoformat()
        ev = Event(eid, kind, now, _device(journal), key, data)
        record(conn, journal, [(ev, card_id)])
    workload = scheduler.workload
    if workload is not None and kind == "review":
        workload.moved(_load_day(scheduler, before), _load_day(scheduler, after))
    return GradeResult(review_id, card_id, rating, before, after, duration_ms, leech)


def _load_day(scheduler: CardScheduler, s: CardSchedule) -> date | None:
    """The day a schedule counts toward the load of (None: it counts toward none)."""
    if s.state == "new" or s.due is None or s.suspended:
        return None
    return scheduler.clock.day_of(s.due)


def undo_review(
    conn: sqlite3.Connection, review_id: int, now: datetime, *, journal: Journal | None = None
) -> int:
    """Undo a review: its row goes, its card is put back exactly as before, and an ``undo`` event
    (a tombstone of the review's id) is recorded. Returns the card id.

    Raises:
        SrsError: no such review (already undone).
    """
    with transaction(conn):
        card_id, before, uid = review_store.pop_review(conn, review_id)
        card_store.set_schedule(conn, card_id, before)
        for tag in before.get("added_tags", []):
            card_store.remove_tag(conn, card_id, tag)
        ev = Event(event_id(now), "undo", now, _device(journal), card_key(conn, card_id), {"target": uid})
        record(conn, journal, [(ev, card_id)])
    return card_id


def _device(journal: Journal | None) -> str:
    return journal.device if journal is not None else "local"


def _events(
    conn: sqlite3.Connection,
    journal: Journal | None,
    ids: Sequence[int],
    kind: str,
    now: datetime,
    **data: Any,
) -> None:
    record(
        conn,
        journal,
        [(Event(event_id(now), kind, now, _device(journal), card_key(conn, i), dict(data)), i) for i in ids],
    )


def snapshot_card(conn: sqlite3.Connection, card_id: int) -> dict[str, Any]:
    """The card's scheduling columns as stored (for undoing a bury or suspend).

    Raises:
        CardNotFound: no such card.
    """
    return card_store.schedule_of(conn, card_id)


def restore_card(
    conn: sqlite3.Connection,
    card_id: int,
    raw: dict[str, Any],
    now: datetime,
    *,
    journal: Journal | None = None,
) -> None:
    """Put back the scheduling columns of ``snapshot_card`` (undo of a bury or suspend), in one
    transaction, recorded as the events that restore them (``unsuspend``, ``bury`` until the old time)."""
    with transaction(conn):
        current = card_store.schedule_of(conn, card_id)
        card_store.set_schedule(conn, card_id, raw)
        if bool(current["suspended"]) != bool(raw["suspended"]):
            _events(conn, journal, [card_id], "suspend" if raw["suspended"] else "unsuspend", now)
        if current["buried_until"] != raw["buried_until"]:
            _events(conn, journal, [card_id], "bury", now, until=raw["buried_until"])


def set_suspended(
    conn: sqlite3.Connection,
    ids: Sequence[int],
    suspended: bool,
    now: datetime,
    *,
    journal: Journal | None = None,
) -> None:
    """Suspend or unsuspend cards (all or none).

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        card_store.check_ids(conn, ids)
        card_store.set_suspended(conn, ids, suspended)
        _events(conn, journal, ids, "suspend" if suspended else "unsuspend", now)


def bury(
    conn: sqlite3.Connection,
    ids: Sequence[int],
    until: datetime,
    now: datetime,
    *,
    journal: Journal | None = None,
) -> None:
    """Hide cards until ``until`` (the start of the next review day).

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        card_store.check_ids(conn, ids)
        card_store.set_buried(conn, ids, until)
        _events(conn, journal, ids, "bury", now, until=until.isoformat())


def reset(
    conn: sqlite3.Connection, ids: Sequence[int], now: datetime, *, journal: Journal | None = None
) -> None:
    """Make cards new again (forget their memory state); their review history is kept.

    Suspension is kept; burial is cleared.

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        card_store.check_ids(conn, ids)
        card_store.set_new(conn, ids)
        _events(conn, journal, ids, "reset", now)


def card_states(conn: sqlite3.Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The scheduling columns of cards, for ``--json`` output (in the order given)."""
    out = []
    for d in card_store.schedules(conn, ids):
        d["suspended"] = bool(d["suspended"])
        out.append(d)
    return out
