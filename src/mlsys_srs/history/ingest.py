"""Answers given away from the database, taken in later: the web page's answers made offline.

A page that lost its server keeps answering the cards it fetched ahead and queues each answer
with its own id and the time it was given. When the server is back the answers arrive, maybe
twice (a reply lost on the way), maybe after the same card was answered at the terminal. Each
answer is one event of this device, taken once by its id:

- an answer already stored (by id) changes nothing;
- an answer later than everything the card's history holds is graded as a live answer at its
  own time (``grading.grade_card``: the same review row, journal line and leech rule);
- an earlier one (the card was answered elsewhere after it) is stored as an event at its own
  time and the card's history is replayed in time order, as a journal merge does
  (``merge.replay_cards``), so both answers count, each at its time.

A card whose review rows are not all events (history from before the journal) cannot be
replayed without losing them: an earlier answer is then graded on top, at the card's last
review. Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..store import cards as card_store
from ..store import events as event_store
from ..store.db import dt_from_db, dt_to_db, transaction
from .grading import grade_card
from .journal import Event
from .merge import card_key, record
from .replay import replay_cards

if TYPE_CHECKING:
    from ..scheduling.memory import CardScheduler
    from .journal import Journal

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Answers dated before this are refused (a device whose clock was never set)."""

MAX_ID = 64
"""The longest answer id taken (a ULID has 26 characters)."""


@dataclass(frozen=True)
class Answer:
    """One answer given on another front end, to be taken in."""

    id: str
    """The answer's own id (made where it was given; a ULID), the event id it is stored by."""
    card_id: int
    rating: int
    at: datetime
    """When it was given (UTC-aware)."""
    ms: int = 0
    """Time spent on the card, in milliseconds (capped by the caller)."""
    kind: str = "review"
    """``review``, or ``cram`` (a study mode's answer: logged, no schedule change)."""


@dataclass
class IngestReport:
    """What taking a batch of answers did, by answer id."""

    taken: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    """Already stored: sent again after a lost reply."""
    refused: dict[str, str] = field(default_factory=dict)
    """Answer id -> why (no such card, a bad rating or time)."""
    replayed: list[int] = field(default_factory=list)
    """Cards whose history was replayed because an answer came before their latest event."""

    def as_dict(self) -> dict[str, object]:
        """Plain data for the page."""
        return {
            "taken": list(self.taken),
            "duplicates": list(self.duplicates),
            "refused": dict(self.refused),
            "replayed": list(self.replayed),
        }


def check_answer(answer: Answer, now: datetime) -> tuple[Answer | None, str]:
    """The answer as it will be stored (a time ahead of ``now`` is taken as ``now``: a device
    clock running fast), or None and why it is refused."""
    if not answer.id or len(answer.id) > MAX_ID or not answer.id.isascii() or not answer.id.isalnum():
        return None, "the answer id is not a ULID-like text"
    if answer.rating not in (1, 2, 3, 4):
        return None, f"rating {answer.rating!r}: use 1-4"
    if answer.kind not in ("review", "cram"):
        return None, f"kind {answer.kind!r}: review or cram"
    if answer.at.tzinfo is None:
        return None, "the answer's time has no UTC offset"
    at = answer.at.astimezone(UTC)
    if at < EARLIEST:
        return None, f"answered at {at.isoformat()}: before 2000, the device's clock is wrong"
    at = min(at, now)
    return Answer(answer.id, answer.card_id, answer.rating, at, max(0, answer.ms), answer.kind), ""


def ingest_answers(
    conn: sqlite3.Connection,
    scheduler: CardScheduler,
    answers: list[Answer],
    now: datetime,
    *,
    journal: Journal | None,
    leech_threshold: int,
    leech_action: str = "suspend",
) -> IngestReport:
    """Take in answers given elsewhere, oldest first, each in its own transaction (see the module).

    Returns what became of each answer; none is taken twice, whatever the number of times sent.
    """
    report = IngestReport()
    known = event_store.known_event_ids(conn, [a.id for a in answers])
    for raw in sorted(answers, key=lambda a: (a.at, a.id)):
        if raw.id in known:
            report.duplicates.append(raw.id)
            continue
        answer, why = check_answer(raw, now)
        if answer is None:
            report.refused[raw.id] = why
            continue
        if card_store.load_card(conn, answer.card_id) is None:
            report.refused[answer.id] = f"no card with id {answer.card_id}"
            continue
        replayed = _take(conn, scheduler, answer, journal, leech_threshold, leech_action)
        known.add(answer.id)
        report.taken.append(answer.id)
        if replayed:
            report.replayed.append(answer.card_id)
    return report


def _take(
    conn: sqlite3.Connection,
    scheduler: CardScheduler,
    answer: Answer,
    journal: Journal | None,
    leech_threshold: int,
    leech_action: str,
) -> bool:
    """Store one checked answer; True when the card's history was replayed."""
    cid = answer.card_id
    at = answer.at
    events = event_store.replay_events_of_cards(conn, [cid]).get(cid, [])
    latest = max((e.at for e in events), default=None)
    last_review = dt_from_db(card_store.schedule_of(conn, cid)["last_review"])
    after_all = (latest is None or dt_to_db(at) >= latest) and (last_review is None or at >= last_review)
    if not after_all and event_store.reviews_without_events(conn, cid):
        assert last_review is not None or latest is not None
        at = max(t for t in (last_review, dt_from_db(latest)) if t is not None)
        after_all = True
    if after_all:
        grade_card(
            conn,
            scheduler,
            cid,
            answer.rating,
            at,
            duration_ms=answer.ms,
            leech_threshold=leech_threshold,
            journal=journal,
            kind=answer.kind,
            leech_action=leech_action,
            answer_id=answer.id,
        )
        return False
    device = journal.device if journal is not None else "local"
    data: dict[str, object] = {"rating": answer.rating, "ms": answer.ms}
    with transaction(conn):
        record(conn, journal, [(Event(answer.id, answer.kind, at, device, card_key(conn, cid), data), cid)])
        replay_cards(conn, [cid], scheduler, leech_threshold, leech_action)
    return True
