"""The weakness score of a group of cards, and what goes into it: retention, recall now, lapses, overdue.

Shared by ``stats`` (per domain) and ``graph`` (per note). Definitions (retention,
recall now, studied, overdue) are those of ``stats.py``.

Weakness score
--------------

For a group of cards (a domain, or a note's cards in ``graph``), higher is
weaker, between 0 and 1::

    weakness = 0.4 * (1 - retention*)
             + 0.3 * (1 - mean R)
             + 0.2 * L / (1 + L)
             + 0.1 * overdue share

- ``retention*`` is the true retention over the window (``--days``, default
  365) smoothed toward mean R with 5 pseudo-reviews:
  ``(passed + 5 * mean R) / (reviews + 5)``, so that two unlucky reviews do
  not top the list while a long record speaks for itself.
- ``mean R`` is the average current retrievability of the studied cards.
- ``L`` is lapses per studied card (``L / (1 + L)`` is 0.5 at one lapse per card).
- ``overdue share`` is overdue cards / studied cards.

A group without studied cards has no score ("not started"), and neither has one
without evidence ("not enough data yet"): no review-card answer in the window
and no review card answered before today (cards still learning, or first
answered today, would show recall 100% and a score of 0). The ``graph``
command's weak concepts add half of the weakest prerequisite's score (see
``graph.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..core.instants import parse_instant
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..store import card_stats as stats_store
from ..store import review_log as review_store
from ..store.card_stats import CardPass
from ..store.db import dt_to_db
from ..store.filters import CardFilter

RETENTION_WINDOWS = (7, 30, 365)
"""Retention is reported over these many last days (the last one is ``--days``)."""

SMOOTHING_REVIEWS = 5.0
"""Pseudo-reviews at mean R added to observed retention in the weakness score."""

WEIGHT_RETENTION = 0.4
WEIGHT_RETRIEVABILITY = 0.3
WEIGHT_LAPSES = 0.2
WEIGHT_OVERDUE = 0.1

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Retention:
    """True retention over the last ``days`` days."""

    days: int
    reviews: int = 0
    passed: int = 0
    answers: int = 0
    """Every answer in the window, learning ones included (``reviews`` counts review-card answers only)."""

    @property
    def rate(self) -> float | None:
        """Share of review-state reviews not graded Again (None without reviews)."""
        return self.passed / self.reviews if self.reviews else None


@dataclass(frozen=True)
class Weakness:
    """How weak a group of cards is, with every number that makes up the score."""

    cards: int
    studied: int
    retention: Retention
    retrievability: float | None
    lapses: int
    overdue: int
    score: float | None
    aged: int = 0
    """Studied review-state cards last answered before today: their recall now is a real prediction."""

    @property
    def enough_data(self) -> bool:
        """Whether anything speaks to a score: a review-card answer in the window, or a review card
        answered before today. Cards still learning, or first answered today, do not (recall 100%)."""
        return self.studied > 0 and (self.retention.reviews > 0 or self.aged > 0)

    @property
    def lapses_per_card(self) -> float | None:
        """Lapses per studied card."""
        return self.lapses / self.studied if self.studied else None

    @property
    def overdue_share(self) -> float | None:
        """Overdue cards per studied card."""
        return self.overdue / self.studied if self.studied else None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "score": rounded(self.score),
            "enough_data": self.enough_data,
            "cards": self.cards,
            "studied": self.studied,
            "retention": retention_json(self.retention),
            "retrievability": rounded(self.retrievability),
            "lapses": self.lapses,
            "lapses_per_card": rounded(self.lapses_per_card),
            "overdue": self.overdue,
            "overdue_share": rounded(self.overdue_share),
        }


def rounded(x: float | None, digits: int = 4) -> float | None:
    """``x`` rounded for ``--json`` (None stays None)."""
    return None if x is None else round(x, digits)


def retention_json(r: Retention) -> dict[str, Any]:
    """Plain data for ``--json``."""
    return {
        "days": r.days,
        "reviews": r.reviews,
        "passed": r.passed,
        "rate": rounded(r.rate),
        "answers": r.answers,
    }


# -- the weakness score -------------------------------------------------------------


def weakness_score(
    retention: Retention,
    retrievability: float | None,
    lapses_per_card: float | None,
    overdue_share: float | None,
) -> float | None:
    """The documented weakness score (module docstring); None without studied cards."""
    if retrievability is None:
        return None
    smoothed = (retention.passed + SMOOTHING_REVIEWS * retrievability) / (
        retention.reviews + SMOOTHING_REVIEWS
    )
    lapses = lapses_per_card or 0.0
    return (
        WEIGHT_RETENTION * (1 - smoothed)
        + WEIGHT_RETRIEVABILITY * (1 - retrievability)
        + WEIGHT_LAPSES * lapses / (1 + lapses)
        + WEIGHT_OVERDUE * (overdue_share or 0.0)
    )


@dataclass
class CardAcc:
    """Running totals over the cards of one group."""

    cards: int = 0
    studied: int = 0
    r_sum: float = 0.0
    lapses: int = 0
    overdue: int = 0
    aged: int = 0

    def weakness(self, retention: Retention) -> Weakness:
        """The group's weakness given its retention over the window (no score without evidence)."""
        r_mean = self.r_sum / self.studied if self.studied else None
        lpc = self.lapses / self.studied if self.studied else None
        share = self.overdue / self.studied if self.studied else None
        w = Weakness(
            cards=self.cards,
            studied=self.studied,
            retention=retention,
            retrievability=r_mean,
            lapses=self.lapses,
            overdue=self.overdue,
            score=None,
            aged=self.aged,
        )
        return replace(w, score=weakness_score(retention, r_mean, lpc, share)) if w.enough_data else w


def card_groups(
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    now: datetime,
    clock: DayClock,
    curve: ForgettingCurve,
    key: Callable[[CardPass], K],
) -> dict[K, CardAcc]:
    """Per-group weakness inputs over active cards; ``key`` maps a ``CardPass`` row to a group."""
    today_start = str(dt_to_db(clock.day_start(clock.today(now))))
    groups: dict[K, CardAcc] = {}
    for row in stats_store.card_pass(conn, (flt or CardFilter()).scope(), active_only=True):
        k = key(row)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = CardAcc()
        add_card(acc, row, now, today_start, curve)
    return groups


def add_card(
    acc: CardAcc, row: CardPass, now: datetime, today_start: str, curve: ForgettingCurve
) -> float | None:
    """Count one card of a group (``today_start``: the start of today, as stored).

    Returns:
        The card's recall now when it is studied (not new, not suspended, with a memory state),
        else None.
    """
    state, stability, due, last_review = row.state, row.stability, row.due, row.last_review
    lapses, suspended = row.lapses, row.suspended
    acc.cards += 1
    if suspended or state == "new" or stability is None or last_review is None:
        return None
    acc.studied += 1
    recall = curve.at(now, parse_instant(last_review), float(stability))
    acc.r_sum += recall
    acc.lapses += int(lapses)
    if due is not None and due < today_start:
        acc.overdue += 1
    if state == "review" and last_review < today_start:
        acc.aged += 1
    return recall


def retention_groups(
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    clock: DayClock,
    now: datetime,
    windows: Sequence[int],
    group_sql: str,
) -> dict[Any, tuple[Retention, ...]]:
    """True retention over each window (last N review days), per ``group_sql`` value."""
    today = clock.today(now)
    starts = [str(dt_to_db(clock.day_start(today - timedelta(days=w - 1)))) for w in windows]
    end = str(dt_to_db(clock.day_end(today)))
    out: dict[Any, tuple[Retention, ...]] = {}
    for row in review_store.retention_counts(conn, flt, starts, end, group_sql):
        out[row[0]] = tuple(
            Retention(
                days=w,
                reviews=int(row[1 + 3 * i] or 0),
                passed=int(row[2 + 3 * i] or 0),
                answers=int(row[3 + 3 * i] or 0),
            )
            for i, w in enumerate(windows)
        )
    return out


def retention_windows(days: int) -> tuple[int, ...]:
    """7, 30 and ``days`` (the weakness window), shortest first, none longer than ``days``."""
    return tuple(sorted({w for w in RETENTION_WINDOWS[:-1] if w < days} | {days}))
