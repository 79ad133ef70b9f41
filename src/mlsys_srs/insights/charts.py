"""The figures only charts draw: memorised cards per day, time per day, answer buttons,
distributions of stability, difficulty and recall now, calibration and retention by week.

What ``report`` draws beyond the terminal view; ``stats --json`` prints them too.
One read of the review log (``review_log``) and one of the cards feed them all.
Recall is the forgetting curve (``ForgettingCurve``) at elapsed review days.
"""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from ..core.instants import parse_instant
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..store import card_stats as stats_store
from ..store import review_log as review_store
from ..store.db import dt_to_db
from ..store.filters import CardFilter
from .day_index import DayIndex
from .weakness import Retention, rounded

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
            "predicted": rounded(self.predicted),
            "actual": rounded(self.actual),
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
            "rate": rounded(self.rate),
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
    """By card, then time and id."""
    offsets: list[int]
    """Review days from the window's first day (negative before it)."""
    first: date
    days: int
    places: dict[int, tuple[str, bool]]
    curve: ForgettingCurve
    index: DayIndex
    """Every review day from the first answer's (or the window's first day, if earlier) to today."""
    per_day: list[int]
    """Answers on each day of ``index`` (cram answers too)."""


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
    by_time = review_store.review_log(conn, flt)
    start = first
    if by_time:
        start = min(first, clock.day_of(parse_instant(by_time[0][1])))
    index = DayIndex(clock, start, today)
    # Read oldest first, the days come from one bisect per day; then (stably) by card.
    stamps = [r[1] for r in by_time]
    day_offsets = index.sorted_indexes(stamps, (first - start).days)
    order = sorted(range(len(by_time)), key=[r[0] for r in by_time].__getitem__)
    log = list(map(by_time.__getitem__, order))
    offsets = list(map(day_offsets.__getitem__, order))
    places = review_store.card_places(conn, flt)
    return LogView(
        log,
        offsets,
        first,
        days,
        places,
        ForgettingCurve.from_parameters(parameters),
        index,
        index.counts(stamps),
    )


@dataclass(frozen=True)
class LogFigures:
    """Every figure read from the review log, from one pass over it (``log_figures``)."""

    retention: dict[str, tuple[Retention, ...]]
    """True retention over each window, per domain (the domains with answers in the longest)."""
    calibration: tuple[CalibrationBin, ...]
    retention_by_week: RetentionByWeek
    memorised: tuple[float, ...] = ()
    """The chart series (``charts``): see ``chart_figures``."""
    time_ms: tuple[int, ...] = ()
    answer_buttons: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()
    answered: dict[date, tuple[int, ...]] = field(default_factory=dict)


def log_figures(
    view: LogView,
    clock: DayClock,
    now: datetime,
    *,
    windows: Sequence[int],
    desired: float = 0.9,
    charts: bool = False,
    answered: bool = False,
) -> LogFigures:
    """True retention, calibration and retention by week, and (``charts``) the chart series, in one
    pass over the log of ``view``, card by card, each card's answers in time order.

    - *Retention* over each of ``windows`` (the last N review days), per domain: answers to a
      card in the ``review`` state (and those not graded Again), and every answer.
    - *Calibration*: every answer in the window of ``view`` to a card in the ``review`` state
      whose previous scheduling answer left a stability; its prediction is the FSRS
      retrievability at that stability after the review days elapsed since, and it passed unless
      graded Again; in bins of 10 %.
    - *Retention by week*: the same answers, passed or not, per week of seven review days
      counted back from today (the last ends today, the first may be shorter), overall and per
      domain.
    - *memorised*: for each day of the window, the sum over active cards of the recall
      probability at the end of that day, from the memory state the log gives the card after
      its last answer up to that day (elapsed time in review days); retired cards add nothing;
    - *time per day*: answer time logged on each day (cram answers included);
    - *answer buttons*: answers by grade and the state the card was in;
    - *answered* (``answered`` too): the cards answered on each day (the report's calendar).

    Cram answers are no history: they count only in time per day and answered. Floating-point
    sums add in the log's order (card, then time and id), so they are the same on every run.
    """
    log, offsets, places, days, curve, first = (
        view.log,
        view.offsets,
        view.places,
        view.days,
        view.curve,
        view.first,
    )
    today = clock.today(now)
    since = str(dt_to_db(clock.day_start(first)))
    # Retention windows, counted by how many of them (the longest first) hold an answer.
    starts = sorted(str(dt_to_db(clock.day_start(today - timedelta(days=w - 1)))) for w in windows)
    low, end = starts[0], str(dt_to_db(clock.day_end(today)))
    held: dict[str, list[list[int]]] = {}
    n_bins = len(RECALL_EDGES) - 1
    reviews, passed, sums = [0] * n_bins, [0] * n_bins, [0.0] * n_bins
    n_weeks = -(-days // 7)
    overall = [[0, 0] for _ in range(n_weeks)]
    by_domain: dict[str, list[list[int]]] = {}
    acc = [0.0] * days
    add_daily = curve.add_daily
    time_ms = [0] * days
    buttons = {s: [0, 0, 0, 0] for s in ANSWER_STATES}
    cards_by_day: list[set[int]] | None = [set() for _ in range(days)] if charts and answered else None
    retired = {c for c, (_, gone) in places.items() if gone}

    card = None
    domain: str | None = None
    gone = False
    prev_at: str | None = None
    prev_stability: float | None = None
    prev_off = 0
    span: tuple[int, float] | None = None  # the card's open memorised span: (day, stability)
    for (card_id, at, _, rating, state_before, duration_ms, stability, kind), off in zip(
        log, offsets, strict=True
    ):
        if card_id != card:
            if span is not None:
                a, st = span
                if a < days:
                    add_daily(acc, a, st, max(a, 0), days)
            card = card_id
            place = places.get(card)
            domain = None if place is None else place[0]  # None: not a card of the selection
            gone = card in retired
            prev_at, prev_stability, prev_off, span = None, None, 0, None
        if charts and 0 <= off < days:
            time_ms[off] += duration_ms or 0
            if kind == "review" and state_before in buttons and 1 <= rating <= 4:
                buttons[state_before][rating - 1] += 1
            if cards_by_day is not None:
                cards_by_day[off].add(card)
        if kind != "review":
            continue
        if domain is not None:
            in_review = state_before == "review"
            if low <= at < end:
                rows = held.get(domain)
                if rows is None:
                    rows = held[domain] = [[0, 0, 0] for _ in starts]
                c = rows[bisect_right(starts, at) - 1]
                c[2] += 1
                if in_review:
                    c[0] += 1
                    c[1] += rating > 1
            if in_review and at >= since and off < days:
                ok = rating > 1
                w = n_weeks - 1 - (days - 1 - off) // 7
                cells = by_domain.get(domain)
                if cells is None:
                    cells = by_domain[domain] = [[0, 0] for _ in range(n_weeks)]
                cell = overall[w]
                cell[0] += 1
                cell[1] += ok
                cell = cells[w]
                cell[0] += 1
                cell[1] += ok
                if prev_at is not None and prev_stability:
                    # Review days between them: the offsets count days from the first answer on.
                    p = curve.retrievability(off - prev_off, prev_stability)
                    b = min(int(p * n_bins), n_bins - 1)
                    reviews[b] += 1
                    passed[b] += ok
                    sums[b] += p
        prev_at, prev_stability, prev_off = at, stability, off
        if charts and stability and not gone:
            if span is not None:
                a, st = span
                if a < off and a < days and off > 0:  # else no day of the window between them
                    add_daily(acc, a, st, max(a, 0), min(off, days))
            span = (off, stability)
    if span is not None:
        a, st = span
        if a < days:
            add_daily(acc, a, st, max(a, 0), days)

    def weeks(cells: list[list[int]]) -> tuple[WeekRetention, ...]:
        out = []
        for w, (n, good) in enumerate(cells):
            stop = days - 7 * (n_weeks - 1 - w)
            start = first + timedelta(days=max(0, stop - 7))
            out.append(
                WeekRetention(start=start, end=first + timedelta(days=stop - 1), reviews=n, passed=good)
            )
        return tuple(out)

    def retention(rows: list[list[int]]) -> tuple[Retention, ...]:
        # Row k holds the answers in the k+1 longest windows only: window w sums the rows of
        # every window at least as long.
        out = []
        for w in windows:
            start = str(dt_to_db(clock.day_start(today - timedelta(days=w - 1))))
            k = starts.index(start)
            out.append(
                Retention(
                    days=w,
                    reviews=sum(c[0] for c in rows[k:]),
                    passed=sum(c[1] for c in rows[k:]),
                    answers=sum(c[2] for c in rows[k:]),
                )
            )
        return tuple(out)

    figures = LogFigures(
        retention={d: retention(rows) for d, rows in held.items()},
        calibration=tuple(
            CalibrationBin(
                low=RECALL_EDGES[b],
                high=RECALL_EDGES[b + 1],
                reviews=reviews[b],
                passed=passed[b],
                predicted_sum=sums[b],
            )
            for b in range(n_bins)
        ),
        retention_by_week=RetentionByWeek(
            desired=desired,
            weeks=weeks(overall),
            domains=tuple((d, weeks(c)) for d, c in sorted(by_domain.items())),
        ),
    )
    if not charts:
        return figures
    return replace(
        figures,
        memorised=tuple(acc),
        time_ms=tuple(time_ms),
        answer_buttons=tuple((s, (c[0], c[1], c[2], c[3])) for s, c in buttons.items()),
        answered={
            first + timedelta(days=off): tuple(sorted(ids))
            for off, ids in enumerate(cards_by_day or ())
            if ids
        },
    )


def chart_figures(view: LogView, figures: LogFigures, studied: Iterable[StudiedCard]) -> Charts:
    """The chart-only figures over the window of ``view`` (today included): the series of
    ``log_figures(charts=True)`` and the *distributions* of the ``studied`` cards."""
    return Charts(
        first=view.first,
        memorised=figures.memorised,
        time_ms=figures.time_ms,
        answer_buttons=figures.answer_buttons,
        distributions=distributions(studied),
        answered=figures.answered,
    )


StudiedCard = tuple[float, float | None, float]
"""A studied card's stability, difficulty and recall now (see ``card_recall``)."""


def distributions(studied: Iterable[StudiedCard]) -> Distributions:
    """Histograms of stability (days), difficulty and recall now over the studied cards."""
    stability = [0] * (len(STABILITY_EDGES) - 1)
    difficulty = [0] * (len(DIFFICULTY_EDGES) - 1)
    recall = [0] * (len(RECALL_EDGES) - 1)
    n = 0
    # A value below the first edge counts in the first bin, one at or above the last in the last.
    top_s, top_d, top_r = len(stability) - 1, len(difficulty) - 1, len(recall) - 1
    for s, d, r in studied:
        n += 1
        b = bisect_right(STABILITY_EDGES, s) - 1
        stability[0 if b < 0 else top_s if b > top_s else b] += 1
        if d is not None:
            b = bisect_right(DIFFICULTY_EDGES, d) - 1
            difficulty[0 if b < 0 else top_d if b > top_d else b] += 1
        b = bisect_right(RECALL_EDGES, r) - 1
        recall[0 if b < 0 else top_r if b > top_r else b] += 1
    return Distributions(
        studied=n,
        stability=Histogram(STABILITY_EDGES, tuple(stability)),
        difficulty=Histogram(DIFFICULTY_EDGES, tuple(difficulty)),
        recall=Histogram(RECALL_EDGES, tuple(recall)),
    )


def card_recall(card: stats_store.CardMemory, now: datetime, curve: ForgettingCurve) -> float | None:
    """A card's recall now (FSRS retrievability); None unless it is studied (see the definitions)."""
    if card.suspended or card.state == "new" or card.stability is None or card.last_review is None:
        return None
    return curve.at(now, parse_instant(card.last_review), float(card.stability))
