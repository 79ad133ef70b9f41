"""Review logs: ours as Anki's ``revlog`` rows and as the fsrs-optimizer's CSV, and Anki's read back.

One builder, ``answer``, reads an answer of our review history once: when it was
given (in milliseconds, Anki's revlog id), its rating, how long it took, and the
state the card was in. Each format takes what it needs from it:

- ``anki_revlog_rows``: the rows of an exported package's ``revlog`` table, with
  Anki's intervals (days after a review outcome, negative seconds for a
  (re)learning step), FSRS difficulty in ``factor``, and ids made unique;
- ``revlog_rows``: ``export revlog``'s CSV in the fsrs-optimizer schema, whose
  ``review_state`` is the card type before the answer (``CardState.anki_type``).

The codes of the states come from ``core.states.CardState``. Coming back (``import
anki``), ``revlog_kind`` says what an Anki row is, and ``revlog_event_id`` names
the journal event it becomes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from ..core.identity import event_id
from ..core.states import CardState, state_of
from ..store.db import dt_from_db

if TYPE_CHECKING:
    import sqlite3

    from ..scheduling.days import DayClock
    from ..store.review_log import HistoryRow
    from .collection import Revlog

_INT32_MAX = 2**31 - 1

# Anki's ``revlog.type`` beyond the answer states (``CardState.anki_revlog_type``: 0 learn,
# 1 review, 2 relearn).
REVLOG_FILTERED = 3
"""An answer in a filtered deck that did not reschedule (cramming)."""
REVLOG_MANUAL = 4
"""A manual change (set due date, forget)."""
REVLOG_RESCHEDULED = 5
"""A reschedule by the FSRS helper."""


class Answer(NamedTuple):
    """One answer of our review history, as every review log records it."""

    at: datetime
    at_ms: int
    """When it was given, in milliseconds since 1970 (UTC)."""
    rating: int
    duration_ms: int
    before: CardState | None
    """The card's state when it was answered (None: unknown)."""


def answer(reviewed_at: datetime, rating: int, duration_ms: int | None, state_before: str | None) -> Answer:
    """One answer as the review logs record it."""
    return Answer(
        reviewed_at,
        int(reviewed_at.timestamp() * 1000),
        int(rating),
        int(duration_ms or 0),
        state_of(state_before),
    )


def anki_revlog_rows(
    reviews: Iterable[HistoryRow], anki_card_id: int, clock: DayClock, used_ids: set[int]
) -> list[tuple[int, ...]]:
    """Anki revlog rows ``(id, cid, usn, ease, ivl, lastIvl, factor, time, type)`` for one card.

    ``ivl`` is in days for a review outcome and negative seconds for a
    (re)learning step, as Anki writes it; ``factor`` carries FSRS difficulty the
    way Anki's FSRS reviews do.

    Args:
        used_ids: The ids the collection's revlog holds; each row's id is the answer's
            millisecond, moved on past those taken, and added to it.
    """
    out: list[tuple[int, ...]] = []
    last_ivl = 0
    for _, rating, reviewed_at_s, duration_ms, before, after, difficulty, due_after_s in reviews:
        reviewed_at = dt_from_db(reviewed_at_s)
        assert reviewed_at is not None
        a = answer(reviewed_at, rating, duration_ms, before)
        due_after = dt_from_db(due_after_s)
        if due_after is None:
            ivl = 0
        elif after == "review":
            ivl = max(1, (clock.day_of(due_after) - clock.day_of(a.at)).days)
        else:
            ivl = -max(1, int((due_after - a.at).total_seconds()))
        factor = round(((difficulty - 1) / 9 + 0.1) * 1000) if difficulty is not None else 0
        rid = a.at_ms
        while rid in used_ids:
            rid += 1
        used_ids.add(rid)
        taken = min(max(a.duration_ms, 0), _INT32_MAX)
        kind = a.before.anki_revlog_type if a.before else 0
        out.append((rid, anki_card_id, -1, a.rating, ivl, last_ivl, factor, taken, kind))
        last_ivl = ivl
    return out


def revlog_card_id(uid: str) -> int:
    """A card's number in an exported review log: from its uid, so the same on every device."""
    return int(hashlib.blake2b(uid.encode(), digest_size=7).hexdigest(), 16)


def revlog_rows(conn: sqlite3.Connection) -> list[tuple[int, int, int, int, int]]:
    """The review log in the fsrs-optimizer schema: (card_id, review_time ms, rating, state before, duration ms).

    Cram answers are left out: they do not change a schedule.
    """
    from ..store.events import all_reviews

    out = []
    for r in all_reviews(conn):
        if r.kind != "review":
            continue
        a = answer(r.reviewed_at, r.rating, r.duration_ms, r.state_before)
        out.append(
            (
                revlog_card_id(r.card_uid),
                a.at_ms,
                a.rating,
                a.before.anki_type if a.before else 0,
                a.duration_ms,
            )
        )
    return out


# --- Anki's review log, read back ----------------------------------------------------------------


def answered_at(entry: Revlog) -> datetime:
    """When an Anki review log row was written (its id is the time in milliseconds)."""
    return datetime.fromtimestamp(entry.id / 1000, UTC)


def revlog_kind(entry: Revlog) -> str | None:
    """``review``, ``cram``, ``reset`` (Forget) or None (a manual entry that is not history)."""
    if entry.ease == 0:
        return "reset" if entry.ivl == 0 and entry.factor == 0 else None
    if entry.type in (REVLOG_MANUAL, REVLOG_RESCHEDULED) or not 1 <= entry.ease <= 4:
        return None
    return "cram" if entry.type == REVLOG_FILTERED else "review"


def revlog_event_id(entry: Revlog, guid: str, ord_: int) -> str:
    """A journal event id per Anki review: the same for the same answer, whatever collection holds it."""
    key = f"anki-revlog\0{guid}\0{ord_}\0{entry.id}".encode()
    return event_id(answered_at(entry), hashlib.blake2b(key, digest_size=10).digest())
