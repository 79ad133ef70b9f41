"""Read-only review statistics: today, streaks, heatmap, forecast, retention, weak domains, leeches.

Everything here is a pure function of the store, a ``DayClock`` and a UTC
``now``; nothing is written and nothing is printed. ``compute_stats`` returns
one ``Stats`` value with every figure ``mlsys-srs stats`` shows (and
``--json`` prints).

Days are review days of the ``DayClock`` (local time, rollover hour), the same
days the review queue uses.

Definitions
-----------

- *True retention*: the share of reviews of cards in the ``review`` state
  (not new, learning or relearning) that were not graded Again.
- *Current retrievability* R: the FSRS-6 forgetting curve at the card's
  elapsed whole days since its last review,
  ``R = (1 + factor * t / S) ** decay`` with ``decay = -w[20]`` and
  ``factor = 0.9 ** (1 / decay) - 1`` (the configured parameters, else
  py-fsrs's defaults), exactly as ``fsrs.Scheduler.get_card_retrievability``.
- *Studied card*: an active (not retired, not suspended) card past ``new``
  with a memory state (stability and a last review).
- *Young* / *mature*: a ``review``-state card whose current interval
  (due - last review) is under / at least 21 days. ``learning`` counts
  include ``relearning`` cards.
- *Overdue*: a studied card due before today began.

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

A group without studied cards has no score ("not started"). The ``graph``
command's weak concepts add half of the weakest prerequisite's score (see
``graph.py``).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from .config import ScheduleConfig
from .days import DayClock
from .memory import ForgettingCurve
from .queue import due_summary
from .store import cards as card_store
from .store import reviews as review_store
from .store.cards import CardPass, CardRef
from .store.db import dt_to_db
from .store.filters import CardFilter

MATURE_DAYS = 21
"""A review card whose interval is at least this many days is mature (as in Anki)."""

RETENTION_WINDOWS = (7, 30, 365)
"""Retention is reported over these many last days (the last one is ``--days``)."""

FORECAST_DAYS = 30
TOP_LAPSED = 10
SMOOTHING_REVIEWS = 5.0
"""Pseudo-reviews at mean R added to observed retention in the weakness score."""

WEIGHT_RETENTION = 0.4
WEIGHT_RETRIEVABILITY = 0.3
WEIGHT_LAPSES = 0.2
WEIGHT_OVERDUE = 0.1

K = TypeVar("K", bound=Hashable)

# -- result values ------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    """Today's work: what was done and what is left."""

    day: date
    reviewed: int
    again: int
    time_ms: int
    due_left: int
    new_left: int

    @property
    def again_rate(self) -> float | None:
        """Share of today's answers graded Again."""
        return self.again / self.reviewed if self.reviewed else None

    @property
    def left(self) -> int:
        """Cards still to review today (due, then new within the daily limit)."""
        return self.due_left + self.new_left


@dataclass(frozen=True)
class Streak:
    """Runs of consecutive review days."""

    current: int
    longest: int
    longest_end: date | None
    studied_today: bool
    keep_on_empty_days: bool


@dataclass(frozen=True)
class Heatmap:
    """Reviews per day, ``first`` to ``last`` inclusive."""

    first: date
    last: date
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """Reviews in the whole window."""
        return sum(self.counts)

    @property
    def days_studied(self) -> int:
        """Days of the window with at least one review."""
        return sum(1 for c in self.counts if c)

    def days(self) -> Iterable[tuple[date, int]]:
        """``(day, reviews)`` pairs in order."""
        for i, c in enumerate(self.counts):
            yield self.first + timedelta(days=i), c


@dataclass(frozen=True)
class Forecast:
    """Cards falling due on each of the next days. Today's count includes the overdue ones."""

    first: date
    counts: tuple[int, ...]
    overdue: int

    def days(self) -> Iterable[tuple[date, int]]:
        """``(day, cards due)`` pairs in order."""
        for i, c in enumerate(self.counts):
            yield self.first + timedelta(days=i), c


@dataclass(frozen=True)
class CardCounts:
    """Cards by state; each card is in exactly one bucket (retired, then suspended, then state)."""

    new: int = 0
    learning: int = 0
    young: int = 0
    mature: int = 0
    suspended: int = 0
    retired: int = 0

    @property
    def total(self) -> int:
        """All cards, retired included."""
        return self.new + self.learning + self.young + self.mature + self.suspended + self.retired


@dataclass(frozen=True)
class Retention:
    """True retention over the last ``days`` days."""

    days: int
    reviews: int = 0
    passed: int = 0

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
            "score": _round(self.score),
            "cards": self.cards,
            "studied": self.studied,
            "retention": _retention_json(self.retention),
            "retrievability": _round(self.retrievability),
            "lapses": self.lapses,
            "lapses_per_card": _round(self.lapses_per_card),
            "overdue": self.overdue,
            "overdue_share": _round(self.overdue_share),
        }


@dataclass(frozen=True)
class DomainStats:
    """One domain: retention over each window and its weakness."""

    domain: str
    retention: tuple[Retention, ...]
    weakness: Weakness


@dataclass(frozen=True)
class CalibrationBin:
    """Reviews whose predicted recall fell in ``[lo, hi)``, and how many of them passed."""

    lo: float
    hi: float
    reviews: int = 0
    predicted_sum: float = 0.0
    passed: int = 0

    @property
    def predicted(self) -> float | None:
        """Mean predicted recall of the bin."""
        return self.predicted_sum / self.reviews if self.reviews else None

    @property
    def actual(self) -> float | None:
        """Share of the bin's reviews not graded Again."""
        return self.passed / self.reviews if self.reviews else None


@dataclass(frozen=True)
class WeekRetention:
    """True retention of the reviews of one week (seven review days from a Monday)."""

    week: date
    reviews: int
    passed: int

    @property
    def rate(self) -> float | None:
        """Share passed."""
        return self.passed / self.reviews if self.reviews else None


@dataclass(frozen=True)
class Calibration:
    """How well FSRS's predicted recall matches what happened.

    Predicted recall of a review: the forgetting curve of the parameters in use at
    the review days elapsed since the card's previous review, with the stability
    that review left (``review.stability_after``): the card's state before this
    review. Only reviews of cards in the ``review`` state count (as true retention).
    """

    bins: tuple[CalibrationBin, ...]
    weeks: tuple[WeekRetention, ...]
    desired_retention: float

    @property
    def reviews(self) -> int:
        """Reviews with a prediction."""
        return sum(b.reviews for b in self.bins)

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``stats --json``."""
        return {
            "desired_retention": self.desired_retention,
            "reviews": self.reviews,
            "bins": [
                {
                    "lo": b.lo,
                    "hi": b.hi,
                    "reviews": b.reviews,
                    "predicted": _round(b.predicted),
                    "actual": _round(b.actual),
                }
                for b in self.bins
            ],
            "weeks": [
                {"week": w.week.isoformat(), "reviews": w.reviews, "passed": w.passed, "rate": _round(w.rate)}
                for w in self.weeks
            ],
        }


CALIBRATION_BINS = 10


def compute_calibration(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    parameters: Sequence[float] = (),
    desired_retention: float = 0.9,
    days: int = 365,
) -> Calibration:
    """Predicted recall against pass rate (10 bins), and true retention per week over ``days``."""
    curve = ForgettingCurve.from_parameters(parameters)
    counts = [[0, 0.0, 0] for _ in range(CALIBRATION_BINS)]
    first_week = clock.today(now) - timedelta(days=days - 1)
    first_week -= timedelta(days=first_week.weekday())
    weeks: dict[date, list[int]] = {}
    prev: review_store.MemoryReview | None = None
    for r in review_store.memory_reviews(conn, flt):
        if prev is not None and prev.card_id != r.card_id:
            prev = None
        at = _parse(r.reviewed_at)
        passed = r.rating > 1
        if r.state_before == "review":
            day = clock.day_of(at)
            if day >= first_week:
                w = weeks.setdefault(day - timedelta(days=day.weekday()), [0, 0])
                w[0] += 1
                w[1] += passed
            if prev is not None and prev.stability_after:
                elapsed = (day - clock.day_of(_parse(prev.reviewed_at))).days
                p = curve.retrievability(elapsed, prev.stability_after)
                c = counts[min(CALIBRATION_BINS - 1, int(p * CALIBRATION_BINS))]
                c[0] += 1
                c[1] += p
                c[2] += passed
        prev = r
    bins = tuple(
        CalibrationBin(i / CALIBRATION_BINS, (i + 1) / CALIBRATION_BINS, int(n), float(ps), int(ok))
        for i, (n, ps, ok) in enumerate(counts)
    )
    return Calibration(
        bins=bins,
        weeks=tuple(WeekRetention(k, v[0], v[1]) for k, v in sorted(weeks.items())),
        desired_retention=desired_retention,
    )


@dataclass(frozen=True)
class Stats:
    """Every figure of ``mlsys-srs stats``."""

    now: datetime
    days: int
    today: Today
    streak: Streak
    heatmap: Heatmap
    forecast: Forecast
    counts: CardCounts
    retention: tuple[Retention, ...]
    domains: tuple[DomainStats, ...]
    leeches: tuple[CardRef, ...]
    most_lapsed: tuple[CardRef, ...]
    scope: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None

    @property
    def weak_domains(self) -> tuple[DomainStats, ...]:
        """Domains with a score, weakest first (ties by name)."""
        scored = [d for d in self.domains if d.weakness.score is not None]
        return tuple(sorted(scored, key=lambda d: (-(d.weakness.score or 0.0), d.domain)))

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``stats --json``."""
        t = self.today
        return {
            "now": dt_to_db(self.now),
            "scope": self.scope,
            "days": self.days,
            "today": {
                "day": t.day.isoformat(),
                "reviewed": t.reviewed,
                "again": t.again,
                "again_rate": _round(t.again_rate),
                "time_ms": t.time_ms,
                "left": t.left,
                "due_left": t.due_left,
                "new_left": t.new_left,
            },
            "streak": {
                "current": self.streak.current,
                "longest": self.streak.longest,
                "longest_end": self.streak.longest_end.isoformat() if self.streak.longest_end else None,
                "studied_today": self.streak.studied_today,
                "keep_on_empty_days": self.streak.keep_on_empty_days,
            },
            "heatmap": {
                "first": self.heatmap.first.isoformat(),
                "last": self.heatmap.last.isoformat(),
                "total": self.heatmap.total,
                "days_studied": self.heatmap.days_studied,
                "days": {d.isoformat(): c for d, c in self.heatmap.days() if c},
            },
            "forecast": {
                "overdue": self.forecast.overdue,
                "days": [{"day": d.isoformat(), "due": c} for d, c in self.forecast.days()],
            },
            "counts": {
                "new": self.counts.new,
                "learning": self.counts.learning,
                "young": self.counts.young,
                "mature": self.counts.mature,
                "suspended": self.counts.suspended,
                "retired": self.counts.retired,
                "total": self.counts.total,
            },
            "retention": [_retention_json(r) for r in self.retention],
            "domains": [
                {
                    "domain": d.domain,
                    "retention": [_retention_json(r) for r in d.retention],
                    "weakness": d.weakness.as_json(),
                }
                for d in self.domains
            ],
            "weak_domains": [
                {"rank": i, "domain": d.domain, **d.weakness.as_json()}
                for i, d in enumerate(self.weak_domains, 1)
            ],
            "leeches": [_card_json(c) for c in self.leeches],
            "most_lapsed": [_card_json(c) for c in self.most_lapsed],
            "calibration": self.calibration.as_json() if self.calibration is not None else None,
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _retention_json(r: Retention) -> dict[str, Any]:
    return {"days": r.days, "reviews": r.reviews, "passed": r.passed, "rate": _round(r.rate)}


def _card_json(c: CardRef) -> dict[str, Any]:
    return {
        "id": c.id,
        "note": c.note,
        "line": c.line,
        "domain": c.domain,
        "question": c.question,
        "lapses": c.lapses,
        "reps": c.reps,
        "state": c.state,
        "suspended": c.suspended,
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


# -- day boundaries -----------------------------------------------------------------


class DayIndex:
    """Review days ``first``..``last`` as boundaries in stored-text form, for bisecting.

    Stored instants are ISO 8601 UTC text of one fixed format, so they sort as
    text; bisecting them against day starts buckets thousands of instants by
    review day without converting each one to local time.
    """

    def __init__(self, clock: DayClock, first: date, last: date) -> None:
        self.first = first
        self.n = max(0, (last - first).days + 1)
        self.bounds = [str(dt_to_db(clock.day_start(first + timedelta(days=i)))) for i in range(self.n + 1)]

    def index(self, stamp: str) -> int:
        """Day offset of a stored instant: -1 before ``first``, ``n`` after ``last``."""
        return bisect_right(self.bounds, stamp) - 1

    def counts(self, sorted_stamps: Sequence[str]) -> list[int]:
        """Instants per day, for stamps sorted ascending."""
        cuts = [bisect_left(sorted_stamps, b) for b in self.bounds]
        return [cuts[i + 1] - cuts[i] for i in range(self.n)]


# -- card pass ----------------------------------------------------------------------


@dataclass
class CardAcc:
    """Running totals over the cards of one group."""

    cards: int = 0
    studied: int = 0
    r_sum: float = 0.0
    lapses: int = 0
    overdue: int = 0

    def weakness(self, retention: Retention) -> Weakness:
        """The group's weakness given its retention over the window."""
        r_mean = self.r_sum / self.studied if self.studied else None
        lpc = self.lapses / self.studied if self.studied else None
        share = self.overdue / self.studied if self.studied else None
        return Weakness(
            cards=self.cards,
            studied=self.studied,
            retention=retention,
            retrievability=r_mean,
            lapses=self.lapses,
            overdue=self.overdue,
            score=weakness_score(retention, r_mean, lpc, share),
        )


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
    for row in card_store.card_pass(conn, (flt or CardFilter()).scope(), active_only=True):
        k = key(row)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = CardAcc()
        _add_card(acc, row, now, today_start, curve)
    return groups


def _add_card(
    acc: CardAcc, row: CardPass, now: datetime, today_start: str, curve: ForgettingCurve
) -> None:
    state, stability, due, last_review = row.state, row.stability, row.due, row.last_review
    lapses, suspended = row.lapses, row.suspended
    acc.cards += 1
    if suspended or state == "new" or stability is None or last_review is None:
        return
    acc.studied += 1
    acc.r_sum += curve.at(now, _parse(last_review), float(stability))
    acc.lapses += int(lapses)
    if due is not None and due < today_start:
        acc.overdue += 1


def _parse(stamp: str) -> datetime:
    dt = datetime.fromisoformat(stamp)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


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
            Retention(days=w, reviews=int(row[1 + 2 * i] or 0), passed=int(row[2 + 2 * i] or 0))
            for i, w in enumerate(windows)
        )
    return out


def retention_windows(days: int) -> tuple[int, ...]:
    """7, 30 and ``days`` (the weakness window), shortest first, none longer than ``days``."""
    return tuple(sorted({w for w in RETENTION_WINDOWS[:-1] if w < days} | {days}))


# -- stats --------------------------------------------------------------------------


def compute_stats(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    days: int = 365,
    keep_streak_on_empty_days: bool = False,
    schedule: ScheduleConfig | None = None,
    parameters: Sequence[float] = (),
) -> Stats:
    """Every figure of ``mlsys-srs stats`` for the cards selected by ``flt``.

    Args:
        conn: the review database.
        clock: the review-day clock (zone and rollover hour).
        now: the current time, UTC-aware.
        flt: which cards (domains, tags, notes, deck); None means all.
        days: heatmap length and the longest retention window (the weakness window).
        keep_streak_on_empty_days: a day with nothing due and nothing reviewed
            does not break a streak.
        schedule: the queue settings; "left to do" is what today's review queue
            holds under them (``schedule.due_summary``), so stats, due and review agree.
        parameters: FSRS weights; empty means py-fsrs's defaults.

    Raises:
        ValueError: ``days`` is less than 1.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    curve = ForgettingCurve.from_parameters(parameters)
    today = clock.today(now)
    windows = retention_windows(days)

    # Review instants, oldest first: today's figures, heatmap and streak.
    stamps = review_store.review_times(conn, flt)
    heat_first = today - timedelta(days=days - 1)
    first = min(heat_first, clock.day_of(_parse(stamps[0]))) if stamps else heat_first
    index = DayIndex(clock, first, today)
    per_day = index.counts(stamps)
    offset = (heat_first - first).days
    heatmap = Heatmap(first=heat_first, last=today, counts=tuple(per_day[offset:]))

    due_days: list[bool] | None = None
    if keep_streak_on_empty_days:
        due_days = _due_days(conn, flt, index)
    streak = compute_streak(per_day, index.first, due_days, keep_streak_on_empty_days)

    # Cards: counts, forecast, today's work and per-domain weakness inputs in one pass.
    forecast_index = DayIndex(clock, today, today + timedelta(days=FORECAST_DAYS - 1))
    forecast = [0] * FORECAST_DAYS
    today_start = forecast_index.bounds[0]
    counts: dict[str, int] = dict.fromkeys(("new", "learning", "young", "mature", "suspended", "retired"), 0)
    overdue = 0
    domains: dict[str, CardAcc] = {}
    for row in card_store.card_pass(conn, (flt or CardFilter()).scope()):
        domain, state, due, last_review = row.domain, row.state, row.due, row.last_review
        suspended, retired = row.suspended, row.retired
        if retired:
            counts["retired"] += 1
            continue
        acc = domains.get(domain)
        if acc is None:
            acc = domains[domain] = CardAcc()
        _add_card(acc, row, now, today_start, curve)
        if suspended:
            counts["suspended"] += 1
            continue
        if state == "new":
            counts["new"] += 1
            continue
        if state == "review":
            young = (
                due is None
                or last_review is None
                or _parse(due) - _parse(last_review) < timedelta(days=MATURE_DAYS)
            )
            counts["young" if young else "mature"] += 1
        else:
            counts["learning"] += 1
        if due is None:
            continue
        if due < today_start:
            overdue += 1
        i = forecast_index.index(due)
        if i < FORECAST_DAYS:
            forecast[max(i, 0)] += 1

    # Today's work: done from the log, left from the review queue's own rules.
    day_start, day_end = index.bounds[-2], index.bounds[-1]
    reviewed, again, time_ms = review_store.day_totals(conn, flt, day_start, day_end)
    queue = due_summary(conn, schedule or ScheduleConfig(), clock, now, flt)
    due_left, new_left = queue.due_today, queue.new_available
    today_fig = Today(
        day=today, reviewed=reviewed, again=again, time_ms=time_ms, due_left=due_left, new_left=new_left
    )

    by_domain = retention_groups(conn, flt, clock, now, windows, "note.domain")
    empty = tuple(Retention(days=w) for w in windows)
    overall = tuple(
        Retention(
            days=w,
            reviews=sum(r[i].reviews for r in by_domain.values()),
            passed=sum(r[i].passed for r in by_domain.values()),
        )
        for i, w in enumerate(windows)
    )
    domain_stats = tuple(
        DomainStats(
            domain=d,
            retention=by_domain.get(d, empty),
            weakness=domains.get(d, CardAcc()).weakness(by_domain.get(d, empty)[-1]),
        )
        for d in sorted(set(domains) | set(by_domain))
    )

    leeches, most_lapsed = _lapse_lists(conn, flt)
    return Stats(
        now=now,
        days=days,
        today=today_fig,
        streak=streak,
        heatmap=heatmap,
        forecast=Forecast(first=today, counts=tuple(forecast), overdue=overdue),
        counts=CardCounts(**counts),
        retention=overall,
        domains=domain_stats,
        leeches=leeches,
        most_lapsed=most_lapsed,
        scope=_scope_json(flt),
        calibration=compute_calibration(
            conn,
            clock,
            now,
            flt=flt,
            parameters=parameters,
            desired_retention=(schedule or ScheduleConfig()).desired_retention,
            days=days,
        ),
    )


def _scope_json(flt: CardFilter | None) -> dict[str, Any]:
    f = flt or CardFilter()
    return {
        "domains": list(f.domains),
        "tags": list(f.tags),
        "notes": list(f.note_globs),
        "deck": f.deck.name if f.deck is not None else None,
    }


def _lapse_lists(
    conn: sqlite3.Connection, flt: CardFilter | None
) -> tuple[tuple[CardRef, ...], tuple[CardRef, ...]]:
    active = replace((flt or CardFilter()).scope(), include_retired=False)
    return tuple(card_store.leeches(conn, active)), tuple(card_store.most_lapsed(conn, active, TOP_LAPSED))


# -- streaks ------------------------------------------------------------------------


def review_streak(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    keep_streak_on_empty_days: bool = False,
) -> Streak:
    """The current and longest streak alone (what the end of a review session shows).

    The same rules as ``compute_stats``: review days by ``clock``, and with
    ``keep_streak_on_empty_days`` a day with nothing due and nothing reviewed
    neither breaks nor extends a run.
    """
    today = clock.today(now)
    first_stamp = review_store.first_review_time(conn, flt)
    first = clock.day_of(_parse(first_stamp)) if first_stamp else today
    index = DayIndex(clock, min(first, today), today)
    per_day = index.counts(review_store.review_times(conn, flt, since=index.bounds[0]))
    due_days = _due_days(conn, flt, index) if keep_streak_on_empty_days else None
    return compute_streak(per_day, index.first, due_days, keep_streak_on_empty_days)


def compute_streak(
    per_day: Sequence[int], first: date, due_days: Sequence[bool] | None, keep_on_empty_days: bool
) -> Streak:
    """Current and longest runs of review days; the last entry of ``per_day`` is today.

    Today without reviews yet does not end the current streak (the day is not
    over). With ``keep_on_empty_days``, a day with nothing due (``due_days``
    false) and no reviews neither breaks a run nor counts in it.
    """
    n = len(per_day)

    def neutral(i: int) -> bool:
        return keep_on_empty_days and due_days is not None and not per_day[i] and not due_days[i]

    longest = run = 0
    longest_end: int | None = None
    for i in range(n):
        if per_day[i]:
            run += 1
            if run > longest:
                longest, longest_end = run, i
        elif not neutral(i):
            run = 0
    current = 0
    i = n - 1
    if i >= 0 and not per_day[i]:
        i -= 1  # today is not over
    while i >= 0 and (per_day[i] or neutral(i)):
        current += 1 if per_day[i] else 0
        i -= 1
    return Streak(
        current=current,
        longest=longest,
        longest_end=first + timedelta(days=longest_end) if longest_end is not None else None,
        studied_today=bool(n and per_day[-1]),
        keep_on_empty_days=keep_on_empty_days,
    )


def _due_days(conn: sqlite3.Connection, flt: CardFilter | None, index: DayIndex) -> list[bool]:
    """For each day of ``index``: was any card due that day (from the review history)?

    After each review a card is due from its ``due_after`` day until its next
    review (or its retirement, or today). A card that is suspended now is
    taken as not due after its last review, since suspensions are not logged.
    """
    n = index.n
    diff = [0] * (n + 1)
    rows = review_store.due_spans(conn, flt)
    for k, (card_id, _, due_after, suspended, retired_at) in enumerate(rows):
        if due_after is None:
            continue
        nxt = rows[k + 1] if k + 1 < len(rows) and rows[k + 1][0] == card_id else None
        if nxt is not None:
            end = index.index(nxt[1])
        elif suspended:
            continue
        elif retired_at is not None:
            end = index.index(retired_at)
        else:
            end = n - 1
        start = max(0, index.index(due_after))
        end = min(end, n - 1)
        if start <= end:
            diff[start] += 1
            diff[end + 1] -= 1
    out: list[bool] = []
    level = 0
    for i in range(n):
        level += diff[i]
        out.append(level > 0)
    return out
