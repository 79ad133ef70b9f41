"""One card in full, for ``mlsys-srs card``: memory state, recall now, what each grade would do,
the review history in review days, and the forgetting curve ahead.

Read-only. Recall and elapsed time follow the scheduler's rule (review days of the
``DayClock``); the intervals and ``next`` are ``CardScheduler.outcomes``, what a grade
given now would schedule (the same computation as the grade itself).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import CardNotFound
from ..store import cards as card_store
from ..store import review_log as review_store
from ..store.cards import CardView
from ..store.db import dt_from_db, dt_to_db
from .memory import CardSchedule, CardScheduler, ForgettingCurve, Outcome, review_days_between

CURVE_POINTS = 40


@dataclass(frozen=True)
class HistoryLine:
    """One answer of the card."""

    at: datetime
    rating: int
    elapsed_days: int | None
    """Review days since the previous answer (None for the first)."""
    state_before: str
    state_after: str
    stability_after: float | None
    kind: str


@dataclass(frozen=True)
class CardReport:
    """What ``mlsys-srs card`` shows."""

    card: CardView
    retrievability: float | None
    intervals: dict[int, timedelta]
    history: tuple[HistoryLine, ...]
    curve_days: int
    curve: tuple[float, ...]
    """Predicted recall from the last review to ``curve_days`` review days after it."""
    next: dict[int, Outcome] | None = None
    """What each grade given now would do (the schedule it stores, its interval as shown)."""

    def as_json(self) -> dict[str, Any]:
        """The report as ``card --json`` prints it."""
        data = self.card.as_json()
        data["uid"] = self.card.uid
        data["retrievability"] = None if self.retrievability is None else round(self.retrievability, 4)
        data["intervals"] = {str(r): int(d.total_seconds()) for r, d in self.intervals.items()}
        data["next"] = {
            str(r): {
                "state": o.schedule.state,
                "interval": int(o.interval.total_seconds()),
                "due": dt_to_db(o.schedule.due),
            }
            for r, o in (self.next or {}).items()
        }
        data["history"] = [
            {
                "at": dt_to_db(h.at),
                "rating": h.rating,
                "elapsed_days": h.elapsed_days,
                "state_before": h.state_before,
                "state_after": h.state_after,
                "stability_after": h.stability_after,
                "kind": h.kind,
            }
            for h in self.history
        ]
        data["curve"] = {"days": self.curve_days, "recall": [round(r, 4) for r in self.curve]}
        return data


def find_card(conn: sqlite3.Connection, ref: str) -> CardView:
    """The card named by its local id (as ``cards`` shows it) or its uid.

    Raises:
        CardNotFound: no such card.
    """
    view = load_card_ref(conn, ref)
    if view is None:
        shown = ref if len(ref) <= 40 else ref[:40] + "…"
        raise CardNotFound(f"no card with id or uid {shown!r}")
    return view


def load_card_ref(conn: sqlite3.Connection, ref: str) -> CardView | None:
    """``find_card`` without the error."""
    ref = ref.strip()
    if ref.isdigit() and len(ref) <= 18:  # a row id fits in 64 bits; a longer number names no card
        view = card_store.load_card(conn, int(ref))
        if view is not None:
            return view
    ids = card_store.card_ids_by_uid(conn, [ref])
    return card_store.load_card(conn, ids[ref]) if ref in ids else None


def card_report(conn: sqlite3.Connection, ref: str, scheduler: CardScheduler, now: datetime) -> CardReport:
    """Everything ``mlsys-srs card`` shows about one card.

    Raises:
        CardNotFound: no such card.
    """
    card = find_card(conn, ref)
    clock = scheduler.clock
    schedule = CardSchedule(card.state, card.step, card.stability, card.difficulty, card.due,
                            card.last_review, card.reps, card.lapses, card.suspended, card.buried_until)  # fmt: skip
    curve = ForgettingCurve.from_parameters(scheduler.parameters)
    lines = []
    prev: datetime | None = None
    for r in review_store.card_reviews(conn, card.id):
        at = dt_from_db(r.reviewed_at)
        assert at is not None
        elapsed = None if prev is None else review_days_between(clock, prev, at)
        lines.append(
            HistoryLine(at, r.rating, elapsed, r.state_before, r.state_after, r.stability_after, r.kind)
        )
        if r.kind == "review":
            prev = at
    recall = None
    points: tuple[float, ...] = ()
    days = 0
    if card.state != "new" and card.stability:
        recall = curve.at(now, card.last_review, card.stability, clock)
        interval = 1
        if card.due is not None and card.last_review is not None:
            interval = max(1, review_days_between(clock, card.last_review, card.due))
        days = max(30, 2 * interval)
        points = tuple(
            curve.retrievability(days * i / (CURVE_POINTS - 1), card.stability) for i in range(CURVE_POINTS)
        )
    outcomes = scheduler.outcomes(card.uid, schedule, now)
    return CardReport(
        card=card,
        retrievability=recall,
        intervals={r: o.interval for r, o in outcomes.items()},
        history=tuple(lines),
        curve_days=days,
        curve=points,
        next=outcomes,
    )
