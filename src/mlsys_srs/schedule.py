"""Scheduling: the py-fsrs wrapper, today's queue and the writes a review makes.

The pure part maps a card's stored scheduling columns (``CardSchedule``) to and
from ``fsrs.Card``, grades it, previews the interval of each grade, orders and
limits today's queue (``build_queue``) and counts what is due. The functions
that take a ``sqlite3.Connection`` load candidates and save results; each
write is one transaction, so a grade is either stored whole or not at all.

Every function takes a UTC-aware ``now`` and a ``DayClock``; nothing here reads
the clock, the environment or the terminal. ``fsrs`` is imported only where a
card is graded, so ``mlsys-srs due`` does not pay for it.

Queue rules (today = the ``DayClock`` review day of ``now``):

- learning and relearning cards due before the end of today, by due time;
- review cards due before the end of today, lowest retrievability first
  (most overdue relative to their stability), up to the daily review limit;
- new cards, up to the daily new-card limit minus the cards introduced today;
- reviews and new cards interleaved across domains (round robin);
- never suspended, buried (until later) or retired cards;
- siblings (same note and line: both sides of ``:::``/``??``, the clozes of one
  paragraph) are not shown on the same day: a review or new card is held back
  when a sibling was reviewed today or is already in today's queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from itertools import zip_longest
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import CardNotFound
from .store.db import dt_from_db, dt_to_db, transaction
from .store.queries import CARD_SELECT, CardView, card_from_row

if TYPE_CHECKING:
    import fsrs

    from .config import ScheduleConfig
    from .days import DayClock
    from .store.queries import CardFilter

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
"""Grade number -> name, as FSRS and Anki call them."""

SCHEDULE_COLUMNS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "suspended",
    "buried_until",
)
"""The card columns a review, bury or suspend may change; ``review.before`` snapshots them."""

DEFAULT_DECAY = 0.1542
"""FSRS-6 default decay (``fsrs.scheduler.FSRS_DEFAULT_DECAY``), kept here so queue
ordering does not need to import fsrs."""

LEECH_TAG = "leech"

Group = tuple[int, int]
"""A sibling group: (note id, line)."""


# -- the card's memory state ------------------------------------------------------------


@dataclass(frozen=True)
class CardSchedule:
    """A card's scheduling columns, parsed."""

    state: str = "new"
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CardSchedule:
        """From the stored column values (``SCHEDULE_COLUMNS`` -> value as stored)."""
        return cls(
            state=str(raw["state"]),
            step=raw["step"],
            stability=raw["stability"],
            difficulty=raw["difficulty"],
            due=dt_from_db(raw["due"]),
            last_review=dt_from_db(raw["last_review"]),
            reps=int(raw["reps"]),
            lapses=int(raw["lapses"]),
            suspended=bool(raw["suspended"]),
            buried_until=dt_from_db(raw["buried_until"]),
        )

    def to_raw(self) -> dict[str, Any]:
        """The column values as they are stored."""
        return {
            "state": self.state,
            "step": self.step,
            "stability": self.stability,
            "difficulty": self.difficulty,
            "due": dt_to_db(self.due),
            "last_review": dt_to_db(self.last_review),
            "reps": self.reps,
            "lapses": self.lapses,
            "suspended": int(self.suspended),
            "buried_until": dt_to_db(self.buried_until),
        }


def make_scheduler(cfg: ScheduleConfig, *, fuzz: bool | None = None) -> fsrs.Scheduler:
    """A py-fsrs ``Scheduler`` with the configured retention, steps, interval cap and weights.

    ``fuzz`` overrides ``cfg.enable_fuzzing`` (previews use an unfuzzed copy).
    """
    import fsrs

    kw: dict[str, Any] = {}
    if cfg.parameters:
        kw["parameters"] = cfg.parameters
    return fsrs.Scheduler(
        desired_retention=cfg.desired_retention,
        learning_steps=cfg.learning_steps,
        relearning_steps=cfg.relearning_steps,
        maximum_interval=cfg.maximum_interval,
        enable_fuzzing=cfg.enable_fuzzing if fuzz is None else fuzz,
        **kw,
    )


def decay_of(cfg: ScheduleConfig) -> float:
    """The FSRS decay (weight 20) of the configured parameters."""
    return cfg.parameters[20] if len(cfg.parameters) > 20 else DEFAULT_DECAY


_TO_FSRS_STATE = {"new": 1, "learning": 1, "review": 2, "relearning": 3}
_FROM_FSRS_STATE = {1: "learning", 2: "review", 3: "relearning"}


def to_fsrs_card(card_id: int, s: CardSchedule, now: datetime) -> fsrs.Card:
    """The ``fsrs.Card`` of a stored card; a new card is a Learning card at step 0."""
    import fsrs

    if s.state == "new":
        return fsrs.Card(card_id=card_id, state=fsrs.State.Learning, step=0, due=now)
    state = fsrs.State(_TO_FSRS_STATE[s.state])
    step = s.step if s.step is not None or state == fsrs.State.Review else 0
    return fsrs.Card(
        card_id=card_id,
        state=state,
        step=None if state == fsrs.State.Review else step,
        stability=s.stability,
        difficulty=s.difficulty,
        due=s.due or now,
        last_review=s.last_review,
    )


def apply_rating(
    scheduler: fsrs.Scheduler, card_id: int, s: CardSchedule, rating: int, now: datetime
) -> CardSchedule:
    """The card's schedule after grading it ``rating`` (1-4) at ``now``.

    ``reps`` counts every review; ``lapses`` counts Again on a card in review.
    Suspension and burial are left as they were.
    """
    import fsrs

    if rating not in RATINGS:
        raise ValueError(f"rating must be 1-4, not {rating!r}")
    card, _ = scheduler.review_card(to_fsrs_card(card_id, s, now), fsrs.Rating(rating), now)
    return replace(
        s,
        state=_FROM_FSRS_STATE[int(card.state)],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=s.reps + 1,
        lapses=s.lapses + (1 if s.state == "review" and rating == 1 else 0),
    )


def preview_intervals(
    scheduler: fsrs.Scheduler, card_id: int, s: CardSchedule, now: datetime
) -> dict[int, timedelta]:
    """The interval each grade would give, ``{1: 10m, 2: ..., 3: ..., 4: ...}``."""
    out = {}
    for rating in RATINGS:
        after = apply_rating(scheduler, card_id, s, rating, now)
        assert after.due is not None
        out[rating] = after.due - now
    return out


def format_interval(delta: timedelta) -> str:
    """A short interval as Anki shows it: ``45s``, ``10m``, ``5h``, ``3d``, ``1.5mo``, ``2.1y``."""
    secs = max(0.0, delta.total_seconds())
    if secs < 60:
        return f"{round(secs)}s"
    if secs < 3600:
        return f"{round(secs / 60)}m"
    if secs < 86400:
        return f"{round(secs / 3600)}h"
    days = secs / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y".replace(".0y", "y")


def format_duration(ms: int) -> str:
    """Time spent, for people: ``45s``, ``3m 07s``, ``1h 02m``."""
    secs = round(ms / 1000)
    if secs < 60:
        return f"{secs}s"
    mins, secs = divmod(secs, 60)
    if mins < 60:
        return f"{mins}m {secs:02d}s"
    hours, mins = divmod(mins, 60)
    return f"{hours}h {mins:02d}m"


def format_when(at: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """A due time for people: ``14:05 (in 2h)``, ``Tue 24 Nov 09:00 (in 3d)`` or ``now``."""
    delta = at - now
    if delta <= timedelta(0):
        return "now"
    local = at.astimezone(tz)
    stamp = local.strftime("%H:%M") if delta < timedelta(hours=20) else local.strftime("%a %d %b %H:%M")
    return f"{stamp} (in {format_interval(delta)})"


def is_new_leech(lapses_before: int, lapses_after: int, threshold: int) -> bool:
    """True when this lapse makes the card a leech.

    As in Anki: at the threshold, then again every half threshold (a leech that
    was unsuspended and keeps failing is caught again). ``threshold`` 0 disables.
    """
    if threshold <= 0 or lapses_after <= lapses_before or lapses_after < threshold:
        return False
    return (lapses_after - threshold) % max(1, threshold // 2) == 0


def retrievability(
    stability: float | None, last_review: datetime | None, now: datetime, decay: float
) -> float:
    """FSRS probability of recall at ``now`` (0 for a card never reviewed)."""
    if stability is None or last_review is None or stability <= 0:
        return 0.0
    elapsed = max(0.0, (now - last_review).total_seconds() / 86400)
    factor = 0.9 ** (1 / -decay) - 1
    return float((1 + factor * elapsed / stability) ** -decay)


# -- today's queue (pure) ----------------------------------------------------------------


class QueueItem(NamedTuple):
    """A card in today's queue: what ordering needs, not the card's text.

    A named tuple rather than a dataclass: a queue is built from some 10,000
    rows on every ``due`` and ``review``, and tuples are several times faster
    to create.
    """

    id: int
    note_id: int
    line: int
    domain: str
    path: str
    state: str
    due: datetime | None
    stability: float | None = None
    last_review: datetime | None = None
    reason: str = ""
    """Why the card is shown out of turn (e.g. ``prerequisite of Ring all-reduce``)."""

    @property
    def group(self) -> Group:
        """The sibling group: cards of one note line (``:::``/``??`` sides, clozes)."""
        return (self.note_id, self.line)

    @property
    def kind(self) -> str:
        """``new``, ``learning`` (learning and relearning) or ``review``."""
        return "learning" if self.state in ("learning", "relearning") else self.state


@dataclass(frozen=True)
class Queue:
    """Today's cards in the order they are shown."""

    learning: tuple[QueueItem, ...]
    """Learning and relearning cards due before the end of today, by due time."""
    main: tuple[QueueItem, ...]
    """Review cards, then new cards, each interleaved across domains."""
    groups: frozenset[Group] = frozenset()
    """Sibling groups already taken today (reviewed today or in the queue)."""
    held_new: int = 0
    """New cards left out by the new-card limit."""
    held_reviews: int = 0
    """Review cards left out by the review limit or the session limit."""
    held_siblings: int = 0
    """Cards left out because a sibling is shown today."""

    @property
    def empty(self) -> bool:
        """No card to show today."""
        return not self.learning and not self.main

    def count(self, kind: str) -> int:
        """Cards of a kind (``new``, ``learning``, ``review``) in the queue."""
        return sum(1 for it in (*self.learning, *self.main) if it.kind == kind)


def interleave_by_domain(items: Sequence[QueueItem]) -> list[QueueItem]:
    """Round robin across domains, keeping each domain's order.

    Domains take turns in the order their first card appears, so the head of a
    priority-sorted list stays near the head.
    """
    buckets: dict[str, list[QueueItem]] = {}
    for it in items:
        buckets.setdefault(it.domain, []).append(it)
    if len(buckets) < 2:
        return list(items)
    return [it for row in zip_longest(*buckets.values()) for it in row if it is not None]


def build_queue(
    candidates: Iterable[QueueItem],
    *,
    now: datetime,
    day_end: datetime,
    reviewed_groups: Iterable[Group] = (),
    new_left: int | None = None,
    reviews_left: int | None = None,
    total_limit: int | None = None,
    decay: float = DEFAULT_DECAY,
) -> Queue:
    """Order and limit today's cards.

    Args:
        candidates: Active, unsuspended, unburied cards that are new or due before
            ``day_end`` (``load_candidates``).
        now: The current time (orders reviews by retrievability).
        day_end: The end of today.
        reviewed_groups: Sibling groups of cards reviewed earlier today.
        new_left: New cards still allowed today (None: no limit).
        reviews_left: Review cards still allowed today (None: no limit).
        total_limit: At most this many cards in the queue (None: no limit).
        decay: FSRS decay, for retrievability.
    """
    learning: list[QueueItem] = []
    reviews: list[QueueItem] = []
    new: list[QueueItem] = []
    for it in candidates:
        if it.state == "new":
            new.append(it)
        elif it.due is not None and it.due < day_end:
            (learning if it.kind == "learning" else reviews).append(it)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    learning.sort(key=lambda it: (it.due or far, it.id))
    reviews.sort(
        key=lambda it: (retrievability(it.stability, it.last_review, now, decay), it.due or far, it.id)
    )
    new.sort(key=lambda it: (it.domain, it.path, it.line, it.id))

    # Learning cards are always shown (their steps are in progress); they and
    # cards reviewed today claim their sibling groups first.
    taken = set(reviewed_groups)
    taken.update(it.group for it in learning)
    held_siblings = 0

    def claim(items: list[QueueItem]) -> list[QueueItem]:
        nonlocal held_siblings
        out = []
        for it in items:
            if it.group in taken:
                held_siblings += 1
                continue
            taken.add(it.group)
            out.append(it)
        return out

    reviews = claim(reviews)
    held_reviews = 0
    if total_limit is not None:
        room = max(0, total_limit - len(learning))
        reviews_left = room if reviews_left is None else min(reviews_left, room)
    if reviews_left is not None and len(reviews) > reviews_left:
        held_reviews = len(reviews) - max(0, reviews_left)
        reviews = reviews[: max(0, reviews_left)]

    new_order = interleave_by_domain(new)
    if total_limit is not None:
        room = max(0, total_limit - len(learning) - len(reviews))
        new_left = room if new_left is None else min(new_left, room)
    chosen: list[QueueItem] = []
    held_new = 0
    for it in new_order:
        if it.group in taken:
            held_siblings += 1
            continue
        if new_left is not None and len(chosen) >= new_left:
            held_new += 1
            continue
        taken.add(it.group)
        chosen.append(it)
    main = (*interleave_by_domain(reviews), *interleave_by_domain(chosen))
    return Queue(
        learning=tuple(learning),
        main=main,
        groups=frozenset(taken),
        held_new=held_new,
        held_reviews=held_reviews,
        held_siblings=held_siblings,
    )


# -- loading (connection in, values out) -------------------------------------------------

_CANDIDATE_SELECT = """
SELECT card.id, card.note_id, card.line, note.domain, note.path, card.state, card.due,
       card.stability, card.last_review
FROM card JOIN note ON note.id = card.note_id
"""


def _item(r: Sequence[Any]) -> QueueItem:
    if r[5] == "new":
        return QueueItem(r[0], r[1], r[2], r[3], r[4], "new", None)
    return QueueItem(r[0], r[1], r[2], r[3], r[4], r[5], dt_from_db(r[6]), r[7], dt_from_db(r[8]))


def load_candidates(
    conn: sqlite3.Connection, now: datetime, day_end: datetime, flt: CardFilter | None = None
) -> list[QueueItem]:
    """Active cards that are new or due before ``day_end``, not suspended or buried at ``now``."""
    from .store.queries import CardFilter

    where, params = (flt or CardFilter()).where()
    sql = (
        _CANDIDATE_SELECT + f" WHERE {where} AND card.retired = 0 AND card.suspended = 0"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
        " AND (card.state = 'new' OR card.due < ?)"
    )
    return [_item(r) for r in conn.execute(sql, [*params, dt_to_db(now), dt_to_db(day_end)])]


def reviewed_groups(conn: sqlite3.Connection, since: datetime) -> set[Group]:
    """Sibling groups of the cards reviewed at or after ``since``."""
    return {
        (r[0], r[1])
        for r in conn.execute(
            "SELECT DISTINCT card.note_id, card.line FROM review JOIN card ON card.id = review.card_id "
            "WHERE review.reviewed_at >= ?",
            (dt_to_db(since),),
        )
    }


def introduced_since(conn: sqlite3.Connection, since: datetime) -> int:
    """Cards whose first review (as a new card) happened at or after ``since``."""
    row = conn.execute(
        "SELECT count(DISTINCT card_id) FROM review WHERE reviewed_at >= ? AND state_before = 'new'",
        (dt_to_db(since),),
    ).fetchone()
    return int(row[0])


def reviews_since(conn: sqlite3.Connection, since: datetime) -> int:
    """Review-state cards answered at or after ``since`` (what the daily review limit counts)."""
    row = conn.execute(
        "SELECT count(DISTINCT card_id) FROM review WHERE reviewed_at >= ? AND state_before = 'review'",
        (dt_to_db(since),),
    ).fetchone()
    return int(row[0])


def todays_queue(
    conn: sqlite3.Connection,
    cfg: ScheduleConfig,
    clock: DayClock,
    now: datetime,
    flt: CardFilter | None = None,
    *,
    new_limit: int | None = None,
    total_limit: int | None = None,
) -> Queue:
    """Today's queue for the cards of ``flt``.

    Args:
        new_limit: New cards for this session, replacing what is left of the
            daily new-card limit (``--new N``).
        total_limit: At most this many cards (``--limit N``).
    """
    today = clock.today(now)
    start, end = clock.day_start(today), clock.day_end(today)
    if new_limit is None:
        new_limit = max(0, cfg.new_per_day - introduced_since(conn, start))
    reviews_left = None
    if cfg.reviews_per_day > 0:
        reviews_left = max(0, cfg.reviews_per_day - reviews_since(conn, start))
    return build_queue(
        load_candidates(conn, now, end, flt),
        now=now,
        day_end=end,
        reviewed_groups=reviewed_groups(conn, start),
        new_left=max(0, new_limit),
        reviews_left=reviews_left,
        total_limit=total_limit,
        decay=decay_of(cfg),
    )


def load_card(conn: sqlite3.Connection, card_id: int) -> CardView | None:
    """One card with its note's title and domain, tags and links (None if no such card)."""
    row = conn.execute(CARD_SELECT + " WHERE card.id = ?", (card_id,)).fetchone()
    return card_from_row(row) if row is not None else None


def prerequisite_candidates(
    conn: sqlite3.Connection, note_id: int, now: datetime, start: datetime, until: datetime
) -> list[QueueItem]:
    """Review cards of the notes ``note_id`` links to, due in ``[start, until)``.

    A link from note A to note B makes B's cards prerequisites of A's; a lapse
    on an A card may bring B's soon-due cards forward.
    """
    sql = (
        _CANDIDATE_SELECT
        + " WHERE card.note_id IN (SELECT DISTINCT target_note_id FROM link WHERE link.note_id = ?"
        " AND target_note_id IS NOT NULL AND target_note_id != ?)"
        " AND card.retired = 0 AND card.suspended = 0 AND card.state = 'review'"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
        " AND card.due >= ? AND card.due < ? ORDER BY card.due, card.id"
    )
    return [
        _item(r)
        for r in conn.execute(sql, (note_id, note_id, dt_to_db(now), dt_to_db(start), dt_to_db(until)))
    ]


# -- writes: one transaction each ---------------------------------------------------------


def _raw_schedule(conn: sqlite3.Connection, card_id: int) -> dict[str, Any]:
    row = conn.execute(f"SELECT {', '.join(SCHEDULE_COLUMNS)} FROM card WHERE id = ?", (card_id,)).fetchone()
    if row is None:
        raise CardNotFound(f"no card with id {card_id}")
    return dict(zip(SCHEDULE_COLUMNS, row, strict=True))


def _restore(conn: sqlite3.Connection, card_id: int, raw: dict[str, Any]) -> None:
    cols = ", ".join(f"{c} = ?" for c in SCHEDULE_COLUMNS)
    conn.execute(f"UPDATE card SET {cols} WHERE id = ?", (*(raw[c] for c in SCHEDULE_COLUMNS), card_id))


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
    scheduler: fsrs.Scheduler,
    card_id: int,
    rating: int,
    now: datetime,
    *,
    duration_ms: int = 0,
    leech_threshold: int = 8,
) -> GradeResult:
    """Grade a card and commit the review row and the card's new state in one transaction.

    The review row's ``before`` holds the card's scheduling columns exactly as
    they were, so ``undo_review`` can put them back. A lapse that makes the
    card a leech tags it ``leech`` and suspends it in the same transaction.

    Raises:
        CardNotFound: no such card.
        DatabaseError: the database cannot be written.
    """
    with transaction(conn):
        raw = _raw_schedule(conn, card_id)
        before = CardSchedule.from_raw(raw)
        after = apply_rating(scheduler, card_id, before, rating, now)
        leech = is_new_leech(before.lapses, after.lapses, leech_threshold)
        snapshot = dict(raw)
        if leech:
            after = replace(after, suspended=True)
            added = conn.execute(
                "INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (?, ?)", (card_id, LEECH_TAG)
            ).rowcount
            if added:
                # Not a scheduling column: recorded so that undo removes the tag it added.
                snapshot["added_tags"] = [LEECH_TAG]
        cur = conn.execute(
            "INSERT INTO review (card_id, rating, reviewed_at, duration_ms, state_before, state_after, "
            'stability_after, difficulty_after, due_after, "before") VALUES (?,?,?,?,?,?,?,?,?,?)',
            (
                card_id,
                rating,
                dt_to_db(now),
                duration_ms,
                before.state,
                after.state,
                after.stability,
                after.difficulty,
                dt_to_db(after.due),
                json.dumps(snapshot),
            ),
        )
        _restore(conn, card_id, after.to_raw())
    return GradeResult(int(cur.lastrowid or 0), card_id, rating, before, after, duration_ms, leech)


def undo_review(conn: sqlite3.Connection, review_id: int) -> int:
    """Delete a review row and put its card back exactly as it was before; return the card id.

    Raises:
        SrsError: no such review (already undone).
    """
    from .errors import SrsError

    with transaction(conn):
        row = conn.execute('SELECT card_id, "before" FROM review WHERE id = ?', (review_id,)).fetchone()
        if row is None:
            raise SrsError(f"review {review_id} no longer exists; nothing to undo")
        card_id, before = int(row[0]), json.loads(row[1])
        _restore(conn, card_id, before)
        for tag in before.get("added_tags", []):
            conn.execute("DELETE FROM card_tag WHERE card_id = ? AND tag = ?", (card_id, tag))
        conn.execute("DELETE FROM review WHERE id = ?", (review_id,))
    return card_id


def snapshot_card(conn: sqlite3.Connection, card_id: int) -> dict[str, Any]:
    """The card's scheduling columns as stored (for undoing a bury or suspend).

    Raises:
        CardNotFound: no such card.
    """
    return _raw_schedule(conn, card_id)


def restore_card(conn: sqlite3.Connection, card_id: int, raw: dict[str, Any]) -> None:
    """Put back the scheduling columns of ``snapshot_card``, in one transaction."""
    with transaction(conn):
        _restore(conn, card_id, raw)


def _check_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    found = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM card WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise CardNotFound(f"no card with id {', '.join(map(str, missing))}")


def set_suspended(conn: sqlite3.Connection, ids: Sequence[int], suspended: bool) -> None:
    """Suspend or unsuspend cards (all or none).

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        _check_ids(conn, ids)
        conn.executemany("UPDATE card SET suspended = ? WHERE id = ?", [(int(suspended), i) for i in ids])


def bury(conn: sqlite3.Connection, ids: Sequence[int], until: datetime) -> None:
    """Hide cards until ``until`` (the start of the next review day).

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        _check_ids(conn, ids)
        conn.executemany("UPDATE card SET buried_until = ? WHERE id = ?", [(dt_to_db(until), i) for i in ids])


def reset(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Make cards new again (forget their memory state); their review history is kept.

    Suspension is kept; burial is cleared.

    Raises:
        CardNotFound: an id names no card; nothing is changed.
    """
    with transaction(conn):
        _check_ids(conn, ids)
        conn.executemany(
            "UPDATE card SET state = 'new', step = NULL, stability = NULL, difficulty = NULL, due = NULL, "
            "last_review = NULL, reps = 0, lapses = 0, buried_until = NULL WHERE id = ?",
            [(i,) for i in ids],
        )


def card_states(conn: sqlite3.Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The scheduling columns of cards, for ``--json`` output (in the order given)."""
    rows = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, {', '.join(SCHEDULE_COLUMNS)} FROM card WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    }
    out = []
    for i in ids:
        if i in rows:
            d = dict(zip(("id", *SCHEDULE_COLUMNS), rows[i], strict=True))
            d["suspended"] = bool(d["suspended"])
            out.append(d)
    return out


# -- what is due ------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainDue:
    """Due counts of one domain."""

    domain: str
    due_now: int = 0
    due_today: int = 0
    new: int = 0


@dataclass(frozen=True)
class DueSummary:
    """What ``mlsys-srs due`` shows."""

    now: datetime
    today: date
    due_now: int
    due_today: int
    learning_today: int
    new_available: int
    new_left: int
    held_new: int
    domains: tuple[DomainDue, ...]
    next_due: datetime | None
    """The earliest time after ``now`` at which a card becomes due (None: nothing scheduled)."""

    def as_json(self) -> dict[str, Any]:
        """The summary as ``due --json`` prints it."""
        return {
            "now": dt_to_db(self.now),
            "today": self.today.isoformat(),
            "due_now": self.due_now,
            "due_today": self.due_today,
            "learning_today": self.learning_today,
            "new_available": self.new_available,
            "new_limit_left": self.new_left,
            "new_held_back": self.held_new,
            "next_due": dt_to_db(self.next_due),
            "domains": [
                {"domain": d.domain, "due_now": d.due_now, "due_today": d.due_today, "new": d.new}
                for d in self.domains
            ],
        }


def next_due_after(conn: sqlite3.Connection, now: datetime, flt: CardFilter | None = None) -> datetime | None:
    """The earliest time after ``now`` at which an active, scheduled card falls due (or is unburied)."""
    from .store.queries import CardFilter

    where, params = (flt or CardFilter()).where()
    stamp = dt_to_db(now)
    row = conn.execute(
        "SELECT min(max(card.due, coalesce(card.buried_until, ''))) FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where} AND card.retired = 0 AND card.suspended = 0 AND card.state != 'new'"
        " AND max(card.due, coalesce(card.buried_until, '')) > ?",
        [*params, stamp],
    ).fetchone()
    return dt_from_db(row[0]) if row and row[0] else None


def due_summary(
    conn: sqlite3.Connection,
    cfg: ScheduleConfig,
    clock: DayClock,
    now: datetime,
    flt: CardFilter | None = None,
) -> DueSummary:
    """Due now, due today and new cards available, overall and by domain (the queue's own rules)."""
    today = clock.today(now)
    start = clock.day_start(today)
    new_left = max(0, cfg.new_per_day - introduced_since(conn, start))
    queue = todays_queue(conn, cfg, clock, now, flt)
    by_domain: dict[str, dict[str, int]] = {}
    due_now = due_today = learning = new = 0
    for it in (*queue.learning, *queue.main):
        d = by_domain.setdefault(it.domain, {"due_now": 0, "due_today": 0, "new": 0})
        if it.state == "new":
            d["new"] += 1
            new += 1
            continue
        d["due_today"] += 1
        due_today += 1
        learning += it.kind == "learning"
        if it.due is not None and it.due <= now:
            d["due_now"] += 1
            due_now += 1
    later = [it.due for it in queue.learning if it.due is not None and it.due > now]
    nxt = next_due_after(conn, now, flt)
    if queue.held_new or queue.held_siblings:
        # Held-back new cards and siblings become available when the next day starts.
        later.append(clock.day_end(today))
    if nxt is not None:
        later.append(nxt)
    return DueSummary(
        now=now,
        today=today,
        due_now=due_now,
        due_today=due_today,
        learning_today=learning,
        new_available=new,
        new_left=new_left,
        held_new=queue.held_new,
        domains=tuple(DomainDue(k, **v) for k, v in sorted(by_domain.items())),
        next_due=min(later) if later else None,
    )


def due_by(conn: sqlite3.Connection, until: datetime, flt: CardFilter | None = None) -> int:
    """Active, unsuspended scheduled cards due before ``until`` (e.g. the end of tomorrow)."""
    from .store.queries import CardFilter

    where, params = (flt or CardFilter()).where()
    row = conn.execute(
        f"SELECT count(*) FROM card JOIN note ON note.id = card.note_id WHERE {where} AND card.retired = 0"
        " AND card.suspended = 0 AND card.state != 'new' AND card.due < ?",
        [*params, dt_to_db(until)],
    ).fetchone()
    return int(row[0])
