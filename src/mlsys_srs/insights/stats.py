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
- *Current retrievability* R: the FSRS-6 forgetting curve (``ForgettingCurve``
  of ``scheduling/memory.py``) at the card's elapsed whole days since its last review,
  ``R = (1 + factor * t / S) ** decay`` with ``decay = -w[20]`` and
  ``factor = 0.9 ** (1 / decay) - 1`` (the configured parameters, else
  py-fsrs's defaults), exactly as ``fsrs.Scheduler.get_card_retrievability``.
- *Studied card*: an active (not retired, not suspended) card past ``new``
  with a memory state (stability and a last review).
- *Young* / *mature*: a ``review``-state card whose current interval
  (due - last review) is under / at least 21 days. ``learning`` counts
  include ``relearning`` cards.
- *Overdue*: a studied card due before today began.

The weakness score of a domain is ``weakness.py``'s; streaks are ``streaks.py``'s and the
figures only charts draw are ``charts.py``'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from ..config import ScheduleConfig
from ..core.instants import parse_instant
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..scheduling.queue import due_summary
from ..store import card_stats as stats_store
from ..store import review_log as review_store
from ..store.card_stats import CardRef
from ..store.db import dt_to_db
from ..store.filters import CardFilter
from .charts import (
    CalibrationBin,
    Charts,
    LogView,
    RetentionByWeek,
    StudiedCard,
    chart_figures,
    log_figures,
    read_log,
)
from .day_index import DayIndex
from .streaks import Streak, compute_streak, days_with_cards_due
from .weakness import (
    CardAcc,
    Retention,
    Weakness,
    add_card,
    retention_json,
    retention_windows,
    rounded,
)

MATURE_DAYS = 21
"""A review card whose interval is at least this many days is mature (as in Anki)."""

FORECAST_DAYS = 30
TOP_LAPSED = 10

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
    workload: dict[str, Any] = field(default_factory=dict)
    """How the days are chosen and what shapes them (load balancing, easy days, breaks, the active
    plan), as the application layer describes it (``app.workload.workload_summary``)."""

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
                "again_rate": rounded(t.again_rate),
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
            "retention": [retention_json(r) for r in self.retention],
            "domains": [
                {
                    "domain": d.domain,
                    "retention": [retention_json(r) for r in d.retention],
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
            "workload": self.workload,
            **(self.charts.as_json() if self.charts is not None else {}),
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
    workload: Mapping[str, Any] | None = None,
    answered: bool = False,
) -> Stats:
    """Every figure of ``mlsys-srs stats`` for the cards selected by ``flt``.

    ``workload``: what shapes the coming days (``Stats.workload``), shown with the forecast.

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
        answered: with ``charts``, also the cards answered on each day (the report's calendar;
            not in ``stats --json``).

    Raises:
        ValueError: ``days`` is less than 1.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    schedule = schedule or ScheduleConfig()
    curve = ForgettingCurve.from_parameters(parameters)
    today = clock.today(now)
    windows = retention_windows(days)
    studied: list[StudiedCard] | None = [] if charts else None
    tally = _tally_cards(conn, flt, clock, now, curve, studied)
    # The review log, read once: review days, retention, calibration and the chart series.
    view = read_log(conn, clock, now, flt=flt, days=days, parameters=parameters)
    index, heatmap, streak = _review_days(conn, flt, view, today, keep_streak_on_empty_days)
    logged = log_figures(
        view,
        clock,
        now,
        windows=windows,
        desired=schedule.desired_retention,
        charts=charts,
        answered=answered,
    )
    overall, domain_stats = _retention_by_domain(
        windows, logged.retention, tally.domains, tally.domain_counts
    )
    leeches, most_lapsed = _lapse_lists(conn, flt)
    return Stats(
        now=now,
        days=days,
        today=_today(conn, flt, clock, now, index, schedule),
        streak=streak,
        heatmap=heatmap,
        forecast=tally.forecast(today),
        counts=CardCounts(**tally.counts),
        retention=overall,
        domains=domain_stats,
        leeches=leeches,
        most_lapsed=most_lapsed,
        scope=_scope_json(flt),
        workload=dict(workload or {}),
        calibration=logged.calibration,
        retention_by_week=logged.retention_by_week,
        charts=chart_figures(view, logged, studied or []) if charts else None,
    )


def _review_days(
    conn: sqlite3.Connection, flt: CardFilter | None, view: LogView, today: date, keep: bool
) -> tuple[DayIndex, Heatmap, Streak]:
    """From the answers per day of the log: every review day since the first review (or the
    heatmap's first day), the heatmap over the window's days, and the streak."""
    index, per_day = view.index, view.per_day
    offset = (view.first - index.first).days
    heatmap = Heatmap(first=view.first, last=today, counts=tuple(per_day[offset:]))
    due_days = None
    if keep:  # the log is read by card, then time: its reviews are the spans
        rows = [(r[0], r[1], r[2]) for r in view.log]
        due_days = days_with_cards_due(rows, review_store.held_cards(conn, flt), index)
    return index, heatmap, compute_streak(per_day, index.first, due_days, keep)


@dataclass
class _CardTally:
    """Card counts, the due forecast and per-domain weakness inputs, from one pass over the cards."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("new", "learning", "young", "mature", "suspended", "retired"), 0
        )
    )
    due: list[int] = field(default_factory=lambda: [0] * FORECAST_DAYS)
    due_by_domain: dict[str, list[int]] = field(default_factory=dict)
    overdue: int = 0
    domains: dict[str, CardAcc] = field(default_factory=dict)
    domain_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Each domain's cards by state (retired left out), for the report's per-domain progress."""

    def forecast(self, today: date) -> Forecast:
        """The forecast from ``today`` on."""
        return Forecast(
            first=today,
            counts=tuple(self.due),
            overdue=self.overdue,
            by_domain=tuple((d, tuple(c)) for d, c in sorted(self.due_by_domain.items())),
        )


def _tally_cards(
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    clock: DayClock,
    now: datetime,
    curve: ForgettingCurve,
    studied: list[StudiedCard] | None = None,
) -> _CardTally:
    """Counts, forecast and per-domain weakness inputs in one pass over the cards of ``flt``
    (and, into ``studied``, the memory state and recall now of each studied active card)."""
    today = clock.today(now)
    forecast_index = DayIndex(clock, today, today + timedelta(days=FORECAST_DAYS - 1))
    today_start = forecast_index.bounds[0]
    tally = _CardTally()
    counts = tally.counts
    for row in stats_store.card_pass(conn, (flt or CardFilter()).scope()):
        domain, state, due, last_review = row.domain, row.state, row.due, row.last_review
        suspended, retired = row.suspended, row.retired
        if retired:
            counts["retired"] += 1
            continue
        acc = tally.domains.get(domain)
        if acc is None:
            acc = tally.domains[domain] = CardAcc()
        recall = add_card(acc, row, now, today_start, curve)
        if studied is not None and recall is not None and row.stability is not None:
            studied.append((row.stability, row.difficulty, recall))
        if suspended:
            bucket = "suspended"
        elif state == "new":
            bucket = "new"
        elif state == "review":
            young = (
                due is None
                or last_review is None
                or parse_instant(due) - parse_instant(last_review) < timedelta(days=MATURE_DAYS)
            )
            bucket = "young" if young else "mature"
        else:
            bucket = "learning"
        counts[bucket] += 1
        in_domain = tally.domain_counts.get(domain)
        if in_domain is None:
            in_domain = tally.domain_counts[domain] = dict.fromkeys(
                ("new", "learning", "young", "mature", "suspended"), 0
            )
        in_domain[bucket] += 1
        if bucket in ("suspended", "new"):
            continue
        if due is None:
            continue
        if due < today_start:
            tally.overdue += 1
        i = forecast_index.index(due)
        if i < FORECAST_DAYS:
            tally.due[max(i, 0)] += 1
            per_domain = tally.due_by_domain.get(domain)
            if per_domain is None:
                per_domain = tally.due_by_domain[domain] = [0] * FORECAST_DAYS
            per_domain[max(i, 0)] += 1
    return tally


def _today(
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    clock: DayClock,
    now: datetime,
    index: DayIndex,
    schedule: ScheduleConfig,
) -> Today:
    """Today's work: done from the log, left from the review queue's own rules."""
    day_start, day_end = index.bounds[-2], index.bounds[-1]
    reviewed, again, time_ms, crammed = review_store.day_totals(conn, flt, day_start, day_end)
    queue = due_summary(conn, schedule, clock, now, flt)
    return Today(
        day=clock.today(now),
        reviewed=reviewed,
        again=again,
        time_ms=time_ms,
        due_left=queue.due_today,
        new_left=queue.new_available,
        crammed=crammed,
    )


def _retention_by_domain(
    windows: Sequence[int],
    by_domain: dict[str, tuple[Retention, ...]],
    domains: dict[str, CardAcc],
    domain_counts: dict[str, dict[str, int]] | None = None,
) -> tuple[tuple[Retention, ...], tuple[DomainStats, ...]]:
    """True retention over each window, overall and per domain (``by_domain``: of the domains with
    answers, from ``log_figures``), and each domain's weakness."""
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
            counts=CardCounts(**(domain_counts or {}).get(d, {})),
        )
        for d in sorted(set(domains) | set(by_domain))
    )
    return overall, domain_stats


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
    return tuple(stats_store.leeches(conn, active)), tuple(stats_store.most_lapsed(conn, active, TOP_LAPSED))
