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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..core.instants import parse_instant
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..store import card_stats as stats_store
from ..store import review_log as review_store
from ..store.filters import CardFilter
from .day_index import DayIndex
from .weakness import rounded

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
        start = min(first, clock.day_of(parse_instant(min(r.reviewed_at for r in log))))
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
        distributions=distributions(stats_store.card_memory(conn, (flt or CardFilter()).scope()), now, curve),
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
    for i, j in _card_runs(log):
        if log[i].card_id in retired:
            continue
        spans = [
            (offsets[k], s) for k in range(i, j) if log[k].kind == "review" and (s := log[k].stability_after)
        ]
        for n, (a, s) in enumerate(spans):
            b = spans[n + 1][0] if n + 1 < len(spans) else days
            curve.add_daily(acc, a, s, max(a, 0), min(b, days))
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
            elapsed = (
                clock.day_of(parse_instant(r.reviewed_at)) - clock.day_of(parse_instant(r.prev_at))
            ).days
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
    cards: Iterable[stats_store.CardMemory], now: datetime, curve: ForgettingCurve
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


def card_recall(card: stats_store.CardMemory, now: datetime, curve: ForgettingCurve) -> float | None:
    """A card's recall now (FSRS retrievability); None unless it is studied (see the definitions)."""
    if card.suspended or card.state == "new" or card.stability is None or card.last_review is None:
        return None
    return curve.at(now, parse_instant(card.last_review), float(card.stability))


def _bin(edges: Sequence[float], x: float) -> int:
    """The bin of ``x``: values below the first edge go to the first, at or above the last to the last."""
    return min(max(bisect_right(edges, x) - 1, 0), len(edges) - 2)
