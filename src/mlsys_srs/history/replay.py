"""Replaying a card's history: its events, folded into its schedule and review rows.

``replay_events`` is pure (a card's events in, its state and review rows out): undone reviews
are left out, a reset makes the card new, cram answers are logged without changing the
schedule, and every review is the same grade a live answer would have been: the review day a
live grade chose (by the load balancer, easy days, a break or a plan, which depend on the other
cards' due dates) is recorded in its event as ``due`` and taken as it is, so devices that saw the
other cards in another order, and a rebuild, agree; an event without it (an older version's)
gets the plain fuzz draw. A ``move`` event (``postpone``, ``advance``, ``break``, ``plan``) sets
a card in review due on the day it records. ``replay_cards``
recomputes cards of the database from their stored events, spread over the cores when many
(``core.workers.fork_map``). A journal merge, an import, a rebuild and the web page's late
answers all replay through here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from ..core.instants import parse_instant
from ..scheduling.memory import CardSchedule, CardScheduler, is_new_leech
from ..store import cards as card_store
from ..store import events as event_store
from ..store.cards import LEECH_TAG
from ..store.db import dt_from_db, dt_to_db
from ..store.events import ReplayEvent, ReviewValues


@dataclass(frozen=True)
class Replayed:
    """A card's state and review rows after its history."""

    schedule: CardSchedule
    reviews: list[ReviewValues]
    """The card's review rows as ``event_store.add_reviews`` writes them."""
    leech: bool


def replay_events(
    events: Sequence[ReplayEvent],
    scheduler: CardScheduler,
    *,
    card_id: int,
    uid: str,
    leech_threshold: int,
    leech_action: str = "suspend",
    start: CardSchedule | None = None,
) -> Replayed:
    """Fold a card's events (any order: they are taken by time, then id) into its schedule and
    review rows; pure.

    Undone reviews are left out; a reset makes the card new (its suspension
    kept); cram answers are logged without changing the schedule.
    """
    parsed = [(e, _event_data(e.data)) for e in sorted(events, key=_BY_TIME)]
    undone = {data.get("target") for e, data in parsed if e.kind == "undo"}
    s = start or CardSchedule()
    raw: dict[str, Any] | None = None
    """``s.to_raw()`` when it is known already (after a review: the next one's ``before``)."""
    rows: list[ReviewValues] = []
    leech = False
    for e, data in parsed:
        if e.id in undone:
            continue
        if e.kind == "review":
            before = s
            rating = int(data.get("rating", 0))
            if rating not in (1, 2, 3, 4):
                continue
            at = _stored_instant(e.at)
            # The same grade as a live answer (review days, fuzz seeded by the uid and the review
            # count), on the day the live answer chose when its event records it.
            recorded = data.get("due")
            after = scheduler.replay_grade(uid, before, rating, at, _day(recorded) if recorded else None)
            if is_new_leech(before.lapses, after.lapses, leech_threshold):
                if leech_action != "tag":
                    after = CardSchedule(**{**after.__dict__, "suspended": True})
                leech = True
            # An event's ``at`` is stored as ``dt_to_db`` writes it; a card in review is due at a day's start.
            stamp, due = e.at, _day_start_text(after.due) if after.state == "review" else dt_to_db(after.due)
            rows.append(_review_row(card_id, e.id, stamp, data, rating, before, raw, after, due, "review"))
            s = after
            raw = {
                "state": after.state,
                "step": after.step,
                "stability": after.stability,
                "difficulty": after.difficulty,
                "due": due,
                "last_review": stamp,
                "reps": after.reps,
                "lapses": after.lapses,
                "suspended": int(after.suspended),
                "buried_until": dt_to_db(after.buried_until),
            }
        elif e.kind == "cram":
            rating = int(data.get("rating", 0))
            if rating in (1, 2, 3, 4):
                rows.append(
                    _review_row(card_id, e.id, e.at, data, rating, s, raw, s, dt_to_db(s.due), "cram")
                )
        else:
            raw = None
            if e.kind == "reset":
                s = CardSchedule(suspended=s.suspended)
            elif e.kind in ("suspend", "unsuspend"):
                s = CardSchedule(**{**s.__dict__, "suspended": e.kind == "suspend"})
            elif e.kind == "bury":
                until = data.get("until")
                s = CardSchedule(
                    **{
                        **s.__dict__,
                        "buried_until": parse_instant(until, require_offset=True) if until else None,
                    }
                )
            elif e.kind == "import" and isinstance(data.get("state"), dict):
                s = CardSchedule.from_raw({**CardSchedule().to_raw(), **data["state"]})
            elif e.kind == "move" and s.state == "review" and isinstance(data.get("due"), str):
                s = CardSchedule(**{**s.__dict__, "due": scheduler.day_start(_day(data["due"]))})
    return Replayed(s, rows, leech)


_BY_TIME = attrgetter("at", "id")
"""A replay takes a card's events by time, then id."""


def _stored_instant(text: str) -> datetime:
    """``dt_from_db`` of a stored instant, without its calls for the usual one (UTC offset)."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is UTC:
        return at
    other = dt_from_db(text)
    assert other is not None
    return other


_DAY_STARTS: dict[datetime | None, str | None] = {}


def _day_start_text(due: datetime | None) -> str | None:
    """``dt_to_db(due)`` of a day's start, remembered (the cards of a replay share their days)."""
    text = _DAY_STARTS.get(due)
    if text is None:
        text = dt_to_db(due)
        if len(_DAY_STARTS) < 100_000:
            _DAY_STARTS[due] = text
    return text


_DAYS: dict[str, date] = {}


def _day(text: str) -> date:
    """A recorded day (``YYYY-MM-DD``, checked by the journal reader), remembered by text."""
    day = _DAYS.get(text)
    if day is None:
        day = date.fromisoformat(text)
        if len(_DAYS) < 100_000:
            _DAYS[text] = day
    return day


_DATA: dict[str, dict[str, Any]] = {}


def _event_data(text: str) -> dict[str, Any]:
    """An event's data (JSON text) as a dict, remembered by text: most reviews carry the same few
    (``{"rating": 3}``). Shared between events: read, never change it."""
    data = _DATA.get(text)
    if data is None:
        data = json.loads(text)
        if len(_DATA) < 10_000:
            _DATA[text] = data
    return data


def _review_row(
    card_id: int,
    event_id: str,
    stamp: str,
    data: dict[str, Any],
    rating: int,
    before: CardSchedule,
    before_raw: dict[str, Any] | None,
    after: CardSchedule,
    due_after: str | None,
    kind: str,
) -> ReviewValues:
    """A review row; ``before_raw`` is ``before.to_raw()`` if known, ``due_after`` ``after.due`` as stored."""
    ms = data.get("ms")
    return (
        card_id,
        rating,
        stamp,
        int(ms) if isinstance(ms, int | float) else None,
        before.state,
        after.state,
        after.stability,
        after.difficulty,
        due_after,
        json.dumps(before.to_raw() if before_raw is None else before_raw),
        event_id,
        kind,
    )


def replay_cards(
    conn: sqlite3.Connection,
    card_ids: Sequence[int],
    scheduler: CardScheduler,
    leech_threshold: int,
    leech_action: str = "suspend",
    events: Mapping[int, Sequence[ReplayEvent]] | None = None,
    meanwhile: Callable[[], object] | None = None,
    meanwhile_weight: int = 0,
) -> int:
    """Recompute the schedule and review rows of cards from their stored events (caller's transaction).

    ``events``: the cards' events by card, when the caller has them already (else they are read).
    ``meanwhile``: more work of the caller's on the database (a merge stores its new events), done
    here while forked workers replay, before the results are stored; ``meanwhile_weight`` is its
    cost, in events replayed, so that this process replays that much less itself.
    A card whose history has no events keeps its state. Returns the number of cards replayed.
    """
    by_card = event_store.replay_events_of_cards(conn, card_ids) if events is None else events
    uids = card_store.uids_of(conn, list(by_card))
    work = [(cid, uids[cid], by_card[cid]) for cid in sorted(by_card) if by_card[cid]]
    event_store.delete_reviews(conn, [cid for cid, _, _ in work])
    n = 0

    def store(replayed: list[_Result]) -> None:
        nonlocal n
        for cid, _, _, leech in replayed:
            if leech:
                card_store.add_tag(conn, cid, LEECH_TAG)
        card_store.set_schedules(conn, [(cid, raw) for cid, raw, _, _ in replayed])
        event_store.add_reviews(conn, [row for _, _, rows, _ in replayed for row in rows])
        n += len(replayed)

    _replay_many(work, scheduler, leech_threshold, leech_action, store, meanwhile, meanwhile_weight)
    return n


PARALLEL_REPLAY_MIN = 4000
"""Cards to replay before forked workers are worth their start-up and pickling (a big merge,
an import or a rebuild; below it, or on one core, this process replays alone)."""

OWN_SHARE = 0.5
"""This process's share of a replay spread over the cores, relative to a worker's: it also stores
every card's results (its own while the workers replay, theirs as they come in)."""

WORKER_SHARE_EVENTS = 5000
"""The events of one share a worker replays: the workers' cards go in many small shares, so that
this process stores a share's results while the workers replay the next ones."""

_Result = tuple[int, dict[str, Any], list[ReviewValues], bool]
"""A replayed card as it travels back from a worker: plain data (id, schedule columns, review rows, leech)."""


@dataclass(frozen=True)
class _ReplayJob:
    """What the workers of a replay read (inherited when they are forked)."""

    work: Sequence[tuple[int, str, Sequence[ReplayEvent]]]
    scheduler: CardScheduler
    threshold: int
    action: str


def _replay_share(job: _ReplayJob, a: int, b: int) -> list[_Result]:
    out: list[_Result] = []
    for cid, uid, events in job.work[a:b]:
        r = replay_events(
            events,
            job.scheduler,
            card_id=cid,
            uid=uid,
            leech_threshold=job.threshold,
            leech_action=job.action,
        )
        out.append((cid, r.schedule.to_raw(), r.reviews, r.leech))
    return out


def _replay_many(
    work: Sequence[tuple[int, str, Sequence[ReplayEvent]]],
    scheduler: CardScheduler,
    threshold: int,
    action: str,
    store: Callable[[list[_Result]], object],
    here: Callable[[], object] | None = None,
    here_weight: int = 0,
) -> None:
    """Replay each ``(card id, uid, events)`` and hand the results to ``store``, share by share in
    the order of ``work``. Many cards are shared out over the cores (forked workers inherit the
    events; only the results come back); this process runs ``here`` (worth ``here_weight`` events
    replayed), then replays and stores its own first share while they work on theirs, then stores
    theirs as they come. The shares are cut by events, not cards (a card's replay costs by its
    events)."""
    from bisect import bisect_right
    from itertools import accumulate

    from ..core.workers import fork_map, fork_workers

    n = len(work)
    workers = fork_workers() if n >= PARALLEL_REPLAY_MIN else 1
    job = _ReplayJob(work, scheduler, threshold, action)
    if workers == 1:
        if here is not None:
            here()
        store(_replay_share(job, 0, n))
        return
    # Cut by events: this process's share, less what ``here`` costs, then the workers' small shares.
    ends = list(accumulate(len(w[2]) for w in work))
    events = ends[-1] if ends else 0
    mine = max(0, round((events + here_weight) * OWN_SHARE / (OWN_SHARE + workers - 1)) - here_weight)
    cuts = [bisect_right(ends, e) for e in range(mine, events, WORKER_SHARE_EVENTS)]
    bounds = [(0, cuts[0] if cuts else n)]
    for a, b in zip(cuts, [*cuts[1:], n], strict=True):
        if a < b:
            bounds.append((a, b))
    for part in fork_map(
        _replay_share, job, bounds, workers=workers - 1, here_first=True, ahead=len(bounds), meanwhile=here
    ):
        store(part)
