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
from .schedule import due_summary
from .store.db import dt_to_db
from .store.queries import CardFilter

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

LEECH_TAG = "leech"

K = TypeVar("K", bound=Hashable)

# FSRS-4.5 and FSRS-5 parameter sets (17 or 19 weights) use a fixed decay of -0.5.
_LEGACY_DECAY = 0.5


# -- the forgetting curve -----------------------------------------------------------


@dataclass(frozen=True)
class ForgettingCurve:
    """The FSRS-6 forgetting curve of one parameter set."""

    decay: float
    factor: float

    @classmethod
    def from_parameters(cls, parameters: Sequence[float] = ()) -> ForgettingCurve:
        """The curve of ``parameters``; empty means py-fsrs's defaults."""
        if not parameters:
            from fsrs.scheduler import DEFAULT_PARAMETERS

            parameters = DEFAULT_PARAMETERS
        w20 = parameters[20] if len(parameters) > 20 else _LEGACY_DECAY
        decay = -float(w20)
        return cls(decay=decay, factor=0.9 ** (1 / decay) - 1)

    def retrievability(self, elapsed_days: float, stability: float) -> float:
        """Probability of recall ``elapsed_days`` after the last review at ``stability``."""
        if stability <= 0:
            return 0.0
        return float((1 + self.factor * max(0.0, elapsed_days) / stability) ** self.decay)

    def at(self, now: datetime, last_review: datetime, stability: float) -> float:
        """Retrievability at ``now``, counting whole elapsed days as py-fsrs does."""
        return self.retrievability(max(0, (now - last_review).days), stability)


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
class CardRef:
    """A card named by its note path and line, for leech and lapse lists."""

    id: int
    note: str
    line: int
    domain: str
    question: str
    lapses: int
    reps: int
    state: str
    suspended: bool


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


def _scope(flt: CardFilter | None) -> CardFilter:
    """The filter's card selection (domains, tags, notes, deck, ids) with retired cards kept."""
    return replace(flt or CardFilter(), include_retired=True, only_retired=False, state=None, due_before=None)


def _reviews_of(flt: CardFilter | None) -> tuple[str, list[Any]]:
    """SQL condition on ``review`` selecting the reviews of the filter's cards (retired included)."""
    where, params = _scope(flt).where()
    if where == "1":
        return "1", []  # no join: the reviewed_at index alone serves the query
    return (
        f"review.card_id IN (SELECT card.id FROM card JOIN note ON note.id = card.note_id WHERE {where})",
        params,
    )


CARD_PASS_SELECT = """
SELECT card.id, card.note_id, note.domain, card.state, card.stability, card.due, card.last_review,
       card.lapses, card.suspended, card.retired, card.buried_until
FROM card JOIN note ON note.id = card.note_id
"""


def card_groups(
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    now: datetime,
    clock: DayClock,
    curve: ForgettingCurve,
    key: Callable[[tuple[Any, ...]], K],
) -> dict[K, CardAcc]:
    """Per-group weakness inputs over active cards; ``key`` maps a ``CARD_PASS_SELECT`` row to a group."""
    where, params = _scope(flt).where()
    today_start = str(dt_to_db(clock.day_start(clock.today(now))))
    groups: dict[K, CardAcc] = {}
    for row in conn.execute(CARD_PASS_SELECT + f" WHERE {where} AND card.retired = 0", params):
        k = key(row)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = CardAcc()
        _add_card(acc, row, now, today_start, curve)
    return groups


def _add_card(
    acc: CardAcc, row: Sequence[Any], now: datetime, today_start: str, curve: ForgettingCurve
) -> None:
    _, _, _, state, stability, due, last_review, lapses, suspended, _, _ = row
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
    where, params = _scope(flt).where()
    today = clock.today(now)
    starts = [str(dt_to_db(clock.day_start(today - timedelta(days=w - 1)))) for w in windows]
    end = str(dt_to_db(clock.day_end(today)))
    cols = ", ".join(
        "sum(review.reviewed_at >= ?), sum(review.reviewed_at >= ? AND review.rating > 1)" for _ in windows
    )
    sql = (
        f"SELECT {group_sql}, {cols} FROM review JOIN card ON card.id = review.card_id "
        "JOIN note ON note.id = card.note_id "
        f"WHERE review.state_before = 'review' AND review.reviewed_at >= ? AND review.reviewed_at < ? "
        f"AND {where} GROUP BY {group_sql}"
    )
    args: list[Any] = [s for s in starts for _ in range(2)] + [min(starts), end, *params]
    out: dict[Any, tuple[Retention, ...]] = {}
    for row in conn.execute(sql, args):
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
    where, params = _scope(flt).where()
    windows = retention_windows(days)

    # Review instants, oldest first: today's figures, heatmap and streak.
    of_cards, of_params = _reviews_of(flt)
    stamps = [
        r[0]
        for r in conn.execute(
            f"SELECT reviewed_at FROM review WHERE {of_cards} ORDER BY reviewed_at", of_params
        )
    ]
    heat_first = today - timedelta(days=days - 1)
    first = min(heat_first, clock.day_of(_parse(stamps[0]))) if stamps else heat_first
    index = DayIndex(clock, first, today)
    per_day = index.counts(stamps)
    offset = (heat_first - first).days
    heatmap = Heatmap(first=heat_first, last=today, counts=tuple(per_day[offset:]))

    due_days: list[bool] | None = None
    if keep_streak_on_empty_days:
        due_days = _due_days(conn, of_cards, of_params, index)
    streak = compute_streak(per_day, index.first, due_days, keep_streak_on_empty_days)

    # Cards: counts, forecast, today's work and per-domain weakness inputs in one pass.
    forecast_index = DayIndex(clock, today, today + timedelta(days=FORECAST_DAYS - 1))
    forecast = [0] * FORECAST_DAYS
    today_start = forecast_index.bounds[0]
    counts: dict[str, int] = dict.fromkeys(("new", "learning", "young", "mature", "suspended", "retired"), 0)
    overdue = 0
    domains: dict[str, CardAcc] = {}
    for row in conn.execute(CARD_PASS_SELECT + f" WHERE {where}", params):
        _, _, domain, state, _, due, last_review, _, suspended, retired, _buried = row
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
    row = conn.execute(
        "SELECT count(*), coalesce(sum(review.rating = 1), 0), coalesce(sum(review.duration_ms), 0) "
        f"FROM review WHERE review.reviewed_at >= ? AND review.reviewed_at < ? AND {of_cards}",
        [day_start, day_end, *of_params],
    ).fetchone()
    reviewed, again, time_ms = (int(x) for x in row)
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
    where, params = replace(_scope(flt), include_retired=False).where()
    select = (
        "SELECT card.id, note.path, card.line, note.domain, card.question, card.lapses, card.reps, "
        "card.state, card.suspended FROM card JOIN note ON note.id = card.note_id "
    )
    leeches = conn.execute(
        select + f"WHERE {where} AND card.suspended = 1 AND EXISTS (SELECT 1 FROM card_tag "
        "WHERE card_tag.card_id = card.id AND card_tag.tag = ?) "
        "ORDER BY card.lapses DESC, note.path, card.line, card.id",
        [*params, LEECH_TAG],
    ).fetchall()
    lapsed = conn.execute(
        select + f"WHERE {where} AND card.lapses > 0 "
        f"ORDER BY card.lapses DESC, note.path, card.line, card.id LIMIT {TOP_LAPSED}",
        params,
    ).fetchall()

    def ref(r: Sequence[Any]) -> CardRef:
        return CardRef(
            id=r[0],
            note=r[1],
            line=r[2],
            domain=r[3],
            question=r[4],
            lapses=r[5],
            reps=r[6],
            state=r[7],
            suspended=bool(r[8]),
        )

    return tuple(ref(r) for r in leeches), tuple(ref(r) for r in lapsed)


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
    of_cards, of_params = _reviews_of(flt)
    row = conn.execute(f"SELECT min(reviewed_at) FROM review WHERE {of_cards}", of_params).fetchone()
    first = clock.day_of(_parse(row[0])) if row and row[0] else today
    index = DayIndex(clock, min(first, today), today)
    stamps = [
        r[0]
        for r in conn.execute(
            f"SELECT reviewed_at FROM review WHERE {of_cards} AND reviewed_at >= ? ORDER BY reviewed_at",
            [*of_params, index.bounds[0]],
        )
    ]
    per_day = index.counts(stamps)
    due_days = _due_days(conn, of_cards, of_params, index) if keep_streak_on_empty_days else None
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


def _due_days(conn: sqlite3.Connection, of_cards: str, params: list[Any], index: DayIndex) -> list[bool]:
    """For each day of ``index``: was any card due that day (from the review history)?

    After each review a card is due from its ``due_after`` day until its next
    review (or its retirement, or today). A card that is suspended now is
    taken as not due after its last review, since suspensions are not logged.
    """
    n = index.n
    diff = [0] * (n + 1)
    rows = conn.execute(
        "SELECT review.card_id, review.reviewed_at, review.due_after, card.suspended, card.retired_at "
        f"FROM review JOIN card ON card.id = review.card_id WHERE {of_cards} "
        "ORDER BY review.card_id, review.reviewed_at",
        params,
    ).fetchall()
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
