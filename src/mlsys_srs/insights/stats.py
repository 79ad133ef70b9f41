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

A group without studied cards has no score ("not started"), and neither has one
without evidence ("not enough data yet"): no review-card answer in the window
and no review card answered before today (cards still learning, or first
answered today, would show recall 100% and a score of 0). The ``graph``
command's weak concepts add half of the weakest prerequisite's score (see
``graph.py``).
"""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from ..config import ScheduleConfig
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..scheduling.queue import due_summary
from ..store import cards as card_store
from ..store import review_log as review_store
from ..store.cards import CardPass, CardRef
from ..store.db import dt_to_db
from ..store.filters import CardFilter

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
    crammed: int = 0
    """Study-mode answers (``review --cram`` and friends): not reviews, no schedule change."""

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
    by_domain: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """The same counts split by domain, domains by name."""

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
            "score": _round(self.score),
            "enough_data": self.enough_data,
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
    """One domain: retention over each window, its weakness and its cards by state (retired left out)."""

    domain: str
    retention: tuple[Retention, ...]
    weakness: Weakness
    counts: CardCounts = CardCounts()


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
    calibration: tuple[CalibrationBin, ...] = ()
    """Predicted recall against the pass rate, in bins (``calibration``)."""
    retention_by_week: RetentionByWeek | None = None
    """True retention per week against the desired retention, overall and per domain."""
    charts: Charts | None = None
    """The figures only charts need (``compute_stats(charts=True)``; ``stats --json``, ``report``)."""

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
                "crammed": t.crammed,
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
                "domains": [{"domain": d, "due": list(c)} for d, c in self.forecast.by_domain],
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
                    "counts": {
                        "new": d.counts.new,
                        "learning": d.counts.learning,
                        "young": d.counts.young,
                        "mature": d.counts.mature,
                        "suspended": d.counts.suspended,
                        "total": d.counts.total,
                    },
                }
                for d in self.domains
            ],
            "weak_domains": [
                {"rank": i, "domain": d.domain, **d.weakness.as_json()}
                for i, d in enumerate(self.weak_domains, 1)
            ],
            "leeches": [_card_json(c) for c in self.leeches],
            "most_lapsed": [_card_json(c) for c in self.most_lapsed],
            "calibration": [b.as_json() for b in self.calibration],
            "retention_by_week": self.retention_by_week.as_json() if self.retention_by_week else None,
            **(self.charts.as_json() if self.charts is not None else {}),
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _retention_json(r: Retention) -> dict[str, Any]:
    return {
        "days": r.days,
        "reviews": r.reviews,
        "passed": r.passed,
        "rate": _round(r.rate),
        "answers": r.answers,
    }


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
    for row in card_store.card_pass(conn, (flt or CardFilter()).scope(), active_only=True):
        k = key(row)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = CardAcc()
        _add_card(acc, row, now, today_start, curve)
    return groups


def _add_card(acc: CardAcc, row: CardPass, now: datetime, today_start: str, curve: ForgettingCurve) -> None:
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
    if state == "review" and last_review < today_start:
        acc.aged += 1


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
    charts: bool = False,
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
        charts: also compute the figures only charts draw (``chart_figures``):
            ``stats --json`` and ``report`` ask for them, the terminal view does not.

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
    forecast_by_domain: dict[str, list[int]] = {}
    domains: dict[str, CardAcc] = {}
    domain_counts: dict[str, dict[str, int]] = {}
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
            bucket = "suspended"
        elif state == "new":
            bucket = "new"
        elif state == "review":
            young = (
                due is None
                or last_review is None
                or _parse(due) - _parse(last_review) < timedelta(days=MATURE_DAYS)
            )
            bucket = "young" if young else "mature"
        else:
            bucket = "learning"
        counts[bucket] += 1
        in_domain = domain_counts.get(domain)
        if in_domain is None:
            in_domain = domain_counts[domain] = dict.fromkeys(
                ("new", "learning", "young", "mature", "suspended"), 0
            )
        in_domain[bucket] += 1
        if bucket in ("suspended", "new"):
            continue
        if due is None:
            continue
        if due < today_start:
            overdue += 1
        i = forecast_index.index(due)
        if i < FORECAST_DAYS:
            forecast[max(i, 0)] += 1
            per_domain = forecast_by_domain.get(domain)
            if per_domain is None:
                per_domain = forecast_by_domain[domain] = [0] * FORECAST_DAYS
            per_domain[max(i, 0)] += 1

    # Today's work: done from the log, left from the review queue's own rules.
    day_start, day_end = index.bounds[-2], index.bounds[-1]
    reviewed, again, time_ms, crammed = review_store.day_totals(conn, flt, day_start, day_end)
    queue = due_summary(conn, schedule or ScheduleConfig(), clock, now, flt)
    due_left, new_left = queue.due_today, queue.new_available
    today_fig = Today(
        day=today,
        reviewed=reviewed,
        again=again,
        time_ms=time_ms,
        due_left=due_left,
        new_left=new_left,
        crammed=crammed,
    )

    by_domain = retention_groups(conn, flt, clock, now, windows, "note.domain")
    empty = tuple(Retention(days=w) for w in windows)
    overall = tuple(
        Retention(
            days=w,
            reviews=sum(r[i].reviews for r in by_domain.values()),
            passed=sum(r[i].passed for r in by_domain.values()),
            answers=sum(r[i].answers for r in by_domain.values()),
        )
        for i, w in enumerate(windows)
    )
    domain_stats = tuple(
        DomainStats(
            domain=d,
            retention=by_domain.get(d, empty),
            weakness=domains.get(d, CardAcc()).weakness(by_domain.get(d, empty)[-1]),
            counts=CardCounts(**domain_counts.get(d, {})),
        )
        for d in sorted(set(domains) | set(by_domain))
    )

    leeches, most_lapsed = _lapse_lists(conn, flt)
    recall = recall_figures(
        conn,
        clock,
        now,
        flt=flt,
        days=days,
        desired=(schedule or ScheduleConfig()).desired_retention,
        parameters=parameters,
    )
    return Stats(
        now=now,
        days=days,
        today=today_fig,
        streak=streak,
        heatmap=heatmap,
        forecast=Forecast(
            first=today,
            counts=tuple(forecast),
            overdue=overdue,
            by_domain=tuple((d, tuple(c)) for d, c in sorted(forecast_by_domain.items())),
        ),
        counts=CardCounts(**counts),
        retention=overall,
        domains=domain_stats,
        leeches=leeches,
        most_lapsed=most_lapsed,
        scope=_scope_json(flt),
        calibration=recall[0],
        retention_by_week=recall[1],
        charts=(
            chart_figures(
                conn, now, read_log(conn, clock, now, flt=flt, days=days, parameters=parameters), flt=flt
            )
            if charts
            else None
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


# -- figures for charts -------------------------------------------------------------
#
# What ``report`` draws beyond the terminal view; ``stats --json`` prints them too.
# One read of the review log (``review_log``) and one of the cards feed them all.

ANSWER_STATES = ("new", "learning", "relearning", "review")
"""The states a card can be answered in, as ``review.state_before`` stores them."""

STABILITY_EDGES = (0.0, 1.0, 2.0, 4.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0, 730.0, math.inf)
"""Stability histogram bins, in days (the last is open-ended)."""
DIFFICULTY_EDGES = tuple(float(x) for x in range(1, 11))
"""FSRS difficulty runs from 1 to 10: nine bins of width 1."""
RECALL_EDGES = tuple(i / 10 for i in range(11))
"""Retrievability bins of 10 %, for recall now and for calibration."""


@dataclass(frozen=True)
class Histogram:
    """Counts of values in ``[edges[i], edges[i+1])`` (the last bin includes its upper edge)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        """Plain data; an infinite edge is ``null``."""
        return {"edges": [None if math.isinf(e) else e for e in self.edges], "counts": list(self.counts)}


@dataclass(frozen=True)
class Distributions:
    """How the studied cards' stability, difficulty and recall now are spread."""

    studied: int
    stability: Histogram
    difficulty: Histogram
    recall: Histogram


@dataclass(frozen=True)
class CalibrationBin:
    """Review-state answers whose predicted recall fell in ``[low, high)``."""

    low: float
    high: float
    reviews: int
    passed: int
    predicted_sum: float

    @property
    def predicted(self) -> float | None:
        """Mean predicted recall (FSRS retrievability at the moment of the answer)."""
        return self.predicted_sum / self.reviews if self.reviews else None

    @property
    def actual(self) -> float | None:
        """Share of these answers not graded Again."""
        return self.passed / self.reviews if self.reviews else None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``stats --json``."""
        return {
            "low": self.low,
            "high": self.high,
            "reviews": self.reviews,
            "passed": self.passed,
            "predicted": _round(self.predicted),
            "actual": _round(self.actual),
        }


@dataclass(frozen=True)
class WeekRetention:
    """True retention over the review days ``start``..``end``."""

    start: date
    end: date
    reviews: int
    passed: int

    @property
    def rate(self) -> float | None:
        """Share of review-state answers not graded Again (None without any)."""
        return self.passed / self.reviews if self.reviews else None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reviews": self.reviews,
            "passed": self.passed,
            "rate": _round(self.rate),
        }


@dataclass(frozen=True)
class RetentionByWeek:
    """True retention per week of the window, overall and per domain, against the desired retention."""

    desired: float
    weeks: tuple[WeekRetention, ...]
    domains: tuple[tuple[str, tuple[WeekRetention, ...]], ...]

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``stats --json``."""
        return {
            "desired": self.desired,
            "weeks": [w.as_json() for w in self.weeks],
            "domains": [{"domain": name, "weeks": [w.as_json() for w in ws]} for name, ws in self.domains],
        }


@dataclass(frozen=True)
class Charts:
    """The figures the report's charts draw that the terminal view does not.

    Day series cover the heatmap's window (``Stats.heatmap.first`` .. ``last``).
    """

    first: date
    memorised: tuple[float, ...]
    time_ms: tuple[int, ...]
    answer_buttons: tuple[tuple[str, tuple[int, int, int, int]], ...]
    distributions: Distributions
    answered: dict[date, tuple[int, ...]]
    """Distinct cards answered on each day of the window with answers (for the report; not in JSON)."""

    def as_json(self) -> dict[str, Any]:
        """The keys these figures add to ``stats --json``."""
        d = self.distributions
        return {
            "memorised": {"first": self.first.isoformat(), "cards": [round(x, 2) for x in self.memorised]},
            "time_per_day": {"first": self.first.isoformat(), "ms": list(self.time_ms)},
            "answer_buttons": [
                {"state": s, "again": c[0], "hard": c[1], "good": c[2], "easy": c[3]}
                for s, c in self.answer_buttons
            ],
            "distributions": {
                "studied": d.studied,
                "stability_days": d.stability.as_json(),
                "difficulty": d.difficulty.as_json(),
                "recall": d.recall.as_json(),
            },
        }


@dataclass(frozen=True)
class LogView:
    """The review log of a selection, read once, with each answer's review-day offset in the window."""

    log: list[review_store.LogRow]
    offsets: list[int]
    """Review days from the window's first day (negative before it)."""
    first: date
    days: int
    places: dict[int, tuple[str, bool]]
    curve: ForgettingCurve


def read_log(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    days: int = 365,
    parameters: Sequence[float] = (),
) -> LogView:
    """The review log of ``flt``'s cards over a window of ``days`` review days ending today."""
    today = clock.today(now)
    first = today - timedelta(days=days - 1)
    log = review_store.review_log(conn, flt)
    start = first
    if log:
        start = min(first, clock.day_of(_parse(min(r.reviewed_at for r in log))))
    index = DayIndex(clock, start, today)
    shift = (first - start).days
    offsets = [index.index(r.reviewed_at) - shift for r in log]
    places = review_store.card_places(conn, flt)
    return LogView(log, offsets, first, days, places, ForgettingCurve.from_parameters(parameters))


def chart_figures(
    conn: sqlite3.Connection, now: datetime, view: LogView, *, flt: CardFilter | None = None
) -> Charts:
    """The chart-only figures over the window of ``view`` (today included).

    - *memorised*: for each day, the sum over active cards of the recall
      probability at the end of that day, from the memory state the review
      log gives the card after its last answer up to that day (elapsed time
      in review days);
    - *time per day*: answer time logged on each day (cram answers included);
    - *answer buttons*: answers by grade and the state the card was in (cram answers left out);
    - *distributions*: stability, difficulty and recall now of studied cards.
    """
    log, offsets, days, curve = view.log, view.offsets, view.days, view.curve
    time_ms = [0] * days
    buttons = {s: [0, 0, 0, 0] for s in ANSWER_STATES}
    answered: dict[int, set[int]] = {}
    for r, off in zip(log, offsets, strict=True):
        if 0 <= off < days:
            time_ms[off] += r.duration_ms or 0
            if r.kind == "review" and r.state_before in buttons and 1 <= r.rating <= 4:
                buttons[r.state_before][r.rating - 1] += 1
            answered.setdefault(off, set()).add(r.card_id)
    retired = {c for c, (_, gone) in view.places.items() if gone}
    return Charts(
        first=view.first,
        memorised=tuple(memorised(log, offsets, days, curve, retired)),
        time_ms=tuple(time_ms),
        answer_buttons=tuple((s, (c[0], c[1], c[2], c[3])) for s, c in buttons.items()),
        distributions=distributions(card_store.card_memory(conn, (flt or CardFilter()).scope()), now, curve),
        answered={
            view.first + timedelta(days=off): tuple(sorted(ids)) for off, ids in sorted(answered.items())
        },
    )


def _card_runs(log: Sequence[review_store.LogRow]) -> Iterable[tuple[int, int]]:
    """``(start, end)`` index ranges of each card's rows in a log sorted by card."""
    i, n = 0, len(log)
    while i < n:
        j = i + 1
        while j < n and log[j].card_id == log[i].card_id:
            j += 1
        yield i, j
        i = j


def memorised(
    log: Sequence[review_store.LogRow],
    offsets: Sequence[int],
    days: int,
    curve: ForgettingCurve,
    retired: Collection[int] = (),
) -> list[float]:
    """Sum of recall probabilities of the active cards at the end of each day ``0..days-1``.

    After an answer on day ``a`` that leaves stability ``S``, the card adds
    ``R(d - a, S)`` to every day ``d`` until the day of its next answer. Retired
    cards and cards never answered add nothing.
    """
    acc = [0.0] * days
    power = -curve.decay
    for i, j in _card_runs(log):
        if log[i].card_id in retired:
            continue
        spans = [
            (offsets[k], s) for k in range(i, j) if log[k].kind == "review" and (s := log[k].stability_after)
        ]
        for n, (a, s) in enumerate(spans):
            b = spans[n + 1][0] if n + 1 < len(spans) else days
            k = curve.factor / s
            base = 1 - k * a  # 1 + k * (d - a), one multiply per day
            for d in range(max(a, 0), min(b, days)):
                acc[d] += (base + k * d) ** power
    return acc


def recall_figures(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    days: int = 365,
    desired: float = 0.9,
    parameters: Sequence[float] = (),
) -> tuple[tuple[CalibrationBin, ...], RetentionByWeek]:
    """Calibration and true retention per week over the last ``days`` review days (today included).

    *Calibration*: every answer in the window to a card in the ``review`` state whose previous
    scheduling answer left a stability; its prediction is the FSRS retrievability at that stability
    after the review days elapsed since, and it passed unless graded Again; in bins of 10 %.

    *Retention by week*: the same answers, passed or not, per week of seven review days counted back
    from today (the last ends today, the first may be shorter), overall and per domain.
    Cram answers are neither (they change no schedule).
    """
    curve = ForgettingCurve.from_parameters(parameters)
    today = clock.today(now)
    first = today - timedelta(days=days - 1)
    index = DayIndex(clock, first, today)
    since = index.bounds[0]
    n_bins = len(RECALL_EDGES) - 1
    reviews, passed, sums = [0] * n_bins, [0] * n_bins, [0.0] * n_bins
    n_weeks = -(-days // 7)
    overall = [[0, 0] for _ in range(n_weeks)]
    by_domain: dict[str, list[list[int]]] = {}
    for r in review_store.recall_checks(conn, flt, since):
        off = index.index(r.reviewed_at)
        if not 0 <= off < days:
            continue
        ok = r.rating > 1
        w = n_weeks - 1 - (days - 1 - off) // 7
        cells = by_domain.get(r.domain)
        if cells is None:
            cells = by_domain[r.domain] = [[0, 0] for _ in range(n_weeks)]
        for c in (overall[w], cells[w]):
            c[0] += 1
            c[1] += ok
        if r.prev_at is None or not r.prev_stability:
            continue
        if r.prev_at >= since:
            elapsed = off - index.index(r.prev_at)
        else:
            elapsed = (clock.day_of(_parse(r.reviewed_at)) - clock.day_of(_parse(r.prev_at))).days
        p = curve.retrievability(elapsed, r.prev_stability)
        b = min(int(p * n_bins), n_bins - 1)
        reviews[b] += 1
        passed[b] += ok
        sums[b] += p

    def weeks(cells: list[list[int]]) -> tuple[WeekRetention, ...]:
        out = []
        for w, (n, good) in enumerate(cells):
            end = days - 7 * (n_weeks - 1 - w)
            start = first + timedelta(days=max(0, end - 7))
            out.append(
                WeekRetention(start=start, end=first + timedelta(days=end - 1), reviews=n, passed=good)
            )
        return tuple(out)

    bins = tuple(
        CalibrationBin(
            low=RECALL_EDGES[b],
            high=RECALL_EDGES[b + 1],
            reviews=reviews[b],
            passed=passed[b],
            predicted_sum=sums[b],
        )
        for b in range(n_bins)
    )
    by_week = RetentionByWeek(
        desired=desired,
        weeks=weeks(overall),
        domains=tuple((d, weeks(c)) for d, c in sorted(by_domain.items())),
    )
    return bins, by_week


def distributions(
    cards: Iterable[card_store.CardMemory], now: datetime, curve: ForgettingCurve
) -> Distributions:
    """Histograms of stability (days), difficulty and recall now over the studied cards."""
    stability = [0] * (len(STABILITY_EDGES) - 1)
    difficulty = [0] * (len(DIFFICULTY_EDGES) - 1)
    recall = [0] * (len(RECALL_EDGES) - 1)
    studied = 0
    for c in cards:
        r = card_recall(c, now, curve)
        if r is None or c.stability is None:
            continue
        studied += 1
        stability[_bin(STABILITY_EDGES, c.stability)] += 1
        if c.difficulty is not None:
            difficulty[_bin(DIFFICULTY_EDGES, c.difficulty)] += 1
        recall[_bin(RECALL_EDGES, r)] += 1
    return Distributions(
        studied=studied,
        stability=Histogram(STABILITY_EDGES, tuple(stability)),
        difficulty=Histogram(DIFFICULTY_EDGES, tuple(difficulty)),
        recall=Histogram(RECALL_EDGES, tuple(recall)),
    )


def card_recall(card: card_store.CardMemory, now: datetime, curve: ForgettingCurve) -> float | None:
    """A card's recall now (FSRS retrievability); None unless it is studied (see the definitions)."""
    if card.suspended or card.state == "new" or card.stability is None or card.last_review is None:
        return None
    return curve.at(now, _parse(card.last_review), float(card.stability))


def _bin(edges: Sequence[float], x: float) -> int:
    """The bin of ``x``: values below the first edge go to the first, at or above the last to the last."""
    return min(max(bisect_right(edges, x) - 1, 0), len(edges) - 2)
