"""Review streaks: runs of consecutive review days, current and longest.

A day is a review day of the ``DayClock``; today without reviews yet does not end the
current streak (the day is not over). With ``keep_streak_on_empty_days`` a day with
nothing due and nothing reviewed neither breaks nor extends a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..core.instants import parse_instant
from ..scheduling.days import DayClock
from ..store import review_log as review_store
from ..store.filters import CardFilter
from .day_index import DayIndex


@dataclass(frozen=True)
class Streak:
    """Runs of consecutive review days."""

    current: int
    longest: int
    longest_end: date | None
    studied_today: bool
    keep_on_empty_days: bool


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
    first = clock.day_of(parse_instant(first_stamp)) if first_stamp else today
    index = DayIndex(clock, min(first, today), today)
    per_day = index.counts(review_store.review_times(conn, flt, since=index.bounds[0]))
    due_days = (
        days_with_cards_due(review_store.due_spans(conn, flt), review_store.held_cards(conn, flt), index)
        if keep_streak_on_empty_days
        else None
    )
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


def days_with_cards_due(
    rows: Sequence[review_store.DueRow], held: Mapping[int, tuple[bool, str | None]], index: DayIndex
) -> list[bool]:
    """For each day of ``index``: was any card due that day (from the review history)?

    After each review a card is due from its ``due_after`` day until its next
    review (or its retirement, or today). A card that is suspended now is
    taken as not due after its last review, since suspensions are not logged.

    Args:
        rows: Every review by card, then time (``review_log.due_spans``).
        held: The suspended and retired cards (``review_log.held_cards``).
        index: The review days.
    """
    n = index.n
    diff = [0] * (n + 1)
    day = index.index
    last = len(rows) - 1
    for k, (card_id, _, due_after) in enumerate(rows):
        if due_after is None:
            continue
        if k < last and rows[k + 1][0] == card_id:
            end = day(rows[k + 1][1])
        else:
            suspended, retired_at = held.get(card_id, (False, None))
            if suspended:
                continue
            end = n - 1 if retired_at is None else day(retired_at)
        start = max(0, day(due_after))
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
