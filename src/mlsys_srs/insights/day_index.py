"""Review days as boundaries in stored-text form (``DayIndex``): bucketing stored instants by day.

The statistics, streaks and chart figures count answers per review day of a ``DayClock``;
they do it by bisecting stored instants (ISO 8601 UTC text, which sorts as time) against
the day starts, without converting each instant to local time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import chain, repeat

from ..scheduling.days import DayClock
from ..store.db import dt_to_db


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

    def indexes(self, stamps: Iterable[str], shift: int = 0) -> list[int]:
        """``index(s) - shift`` of each stored instant (one C-level pass over a whole log)."""
        return [i - 1 - shift for i in map(bisect_right, repeat(self.bounds), stamps)]

    def counts(self, sorted_stamps: Sequence[str]) -> list[int]:
        """Instants per day, for stamps sorted ascending."""
        cuts = [bisect_left(sorted_stamps, b) for b in self.bounds]
        return [cuts[i + 1] - cuts[i] for i in range(self.n)]

    def sorted_indexes(self, sorted_stamps: Sequence[str], shift: int = 0) -> list[int]:
        """``indexes(sorted_stamps, shift)`` for stamps sorted ascending: one bisect per day, not per
        instant (each day's offset repeated over its run of instants)."""
        cuts = [0, *(bisect_left(sorted_stamps, b) for b in self.bounds), len(sorted_stamps)]
        return list(
            chain.from_iterable(repeat(i - 1 - shift, cuts[i + 1] - cuts[i]) for i in range(len(cuts) - 1))
        )
