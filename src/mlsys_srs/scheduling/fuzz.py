"""Anki's review-interval rules on top of FSRS: the fuzz range, the minimums fed into it, the draw.

The rules are Anki's (``rslib/src/scheduler/states/fuzz.rs`` and ``review.rs``; see
docs/anki-rules.md), in Anki's arithmetic: f32, and ``round`` half away from zero.

- **The range.** ``fuzz_range(interval, minimum, maximum)`` is ``constrained_fuzz_bounds``:
  the interval (FSRS's, unrounded) is clamped into ``[minimum, maximum]``, moved by
  ``fuzz_delta`` (0 under 2.5 days; 1 day plus 15% of the days from 2.5 to 7, 10% of
  those from 7 to 20 and 5% of those beyond) both ways, rounded, clamped again, and
  widened to two days when it collapsed to one day above 2 and under the maximum.
- **Constraints go into the range, not after it.** A passing review's Hard is at least
  ``minimum_review_fuzz_interval`` (the last interval + 1 when FSRS says it grew, the
  last interval while that is within the fuzz range), Good at least the *chosen* Hard + 1,
  Easy at least the chosen Good + 1 (``passing_review_days``); a graduating Easy at least
  the Good fuzzed from its unrounded interval + 1. So Hard < Good < Easy always (unless the
  maximum caps them).
- **The draw.** A day inside the range: ``lower + floor(fraction * (upper - lower + 1))``,
  with ``fraction`` fixed by the card's uid and review count (``fuzz_fraction``), so a
  preview is what the grade schedules and a replay gives the same day on every device.
  Anki seeds its draw with the card id and review count; ours uses the uid instead of
  Anki's id, so the day differs, never the range. Without fuzz the day is
  ``clamp(round(interval), minimum, maximum)``, the range's unfuzzed target.
- **Learning steps** get up to 25% more (at most 5 minutes), as Anki does
  (``learning_step_fuzz``).

``ReviewTarget`` is one review interval to schedule, with its bounds: the load balancer
(``balance.choose_day``) chooses a day inside ``target.fuzz_range()``; without it the draw does.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_F32 = struct.Struct("f")
_F32_MAX = 3.4028234663852886e38


def f32(
    x: float,
    _pack: Callable[[float], bytes] = _F32.pack,
    _unpack: Callable[[bytes], tuple[Any, ...]] = _F32.unpack,
) -> float:
    """``x`` rounded to the nearest f32 (Anki computes in f32: an operation on f32 values done in
    f64 and then rounded with this is the f32 operation, for +, -, * and /)."""
    r: float = _unpack(_pack(x))[0]  # a float: struct gives C floats back as Python floats
    return r


def rust_round(x: float) -> int:
    """Rust's ``f32::round``: half away from zero (Python's ``round`` goes half to even)."""
    if x >= 0:
        return int(x + 0.5)
    return -int(0.5 - x)


FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, float("inf"), 0.05))
"""(start, end, factor) of each fuzz band, as Anki's ``FUZZ_RANGES`` (whose last band ends at
``f32::MAX``) and py-fsrs's (a test checks it)."""
_BANDS = tuple((f32(a), min(f32(b), _F32_MAX), f32(c)) for a, b, c in FUZZ_RANGES)


def fuzz_delta(interval: float) -> float:
    """How far the fuzz may move ``interval`` days either way (f32): 0 under 2.5 days, else 1 day
    plus the banded share of the interval."""
    interval = f32(interval)
    if interval < 2.5:
        return 0.0
    delta = 1.0
    for start, end, factor in _BANDS:
        delta = f32(delta + f32(factor * max(f32(min(interval, end) - start), 0.0)))
    return delta


_BAND1, _BAND2, _BAND3 = (factor for _, _, factor in _BANDS)
_DELTA7 = 1.0 + _BAND1 * 4.5
_DELTA20 = _DELTA7 + _BAND2 * 13.0


def _unconstrained_bounds(interval: float) -> tuple[int, int]:
    """``fuzz.rs`` ``fuzz_bounds`` of an f32 ``interval``: ``round(interval -/+ fuzz_delta)``.

    Computed in f64 and redone in f32 only when a result is within the two computations'
    difference of a half day (the rounding could go either way): the same result as f32 throughout,
    at a fraction of the cost (a test compares the two).
    """
    if interval < 2.5:
        r = rust_round(interval)
        return r, r
    if interval <= 7.0:
        delta = 1.0 + _BAND1 * (interval - 2.5)
    elif interval <= 20.0:
        delta = _DELTA7 + _BAND2 * (interval - 7.0)
    else:
        delta = _DELTA20 + _BAND3 * (interval - 20.0)
    lower, upper = interval - delta, interval + delta
    tolerance = 2e-6 * (upper + 2.0)
    if abs(lower % 1.0 - 0.5) > tolerance and abs(upper % 1.0 - 0.5) > tolerance:
        return int(lower + 0.5), int(upper + 0.5)
    delta = fuzz_delta(interval)
    return rust_round(f32(interval - delta)), rust_round(f32(interval + delta))


def fuzz_range(interval: float, minimum: int = 1, maximum: int = 36500) -> tuple[int, int]:
    """The days a fuzzed ``interval`` may become, inside ``[minimum, maximum]`` (Anki's
    ``constrained_fuzz_bounds``).

    Args:
        interval: FSRS's interval in days, unrounded (or a whole number of days).
        minimum: The least day allowed (e.g. Hard + 1 for Good); above ``maximum`` it is ``maximum``.
        maximum: The longest interval.

    Returns:
        ``(lower, upper)``, both inclusive, ``minimum <= lower <= upper <= maximum``.
    """
    if minimum > maximum:
        minimum = maximum
    iv = f32(interval)
    if iv < minimum:
        iv = float(minimum)
    elif iv > maximum:
        iv = float(maximum)
    lower, upper = _unconstrained_bounds(iv)
    lower = minimum if lower < minimum else maximum if lower > maximum else lower
    upper = minimum if upper < minimum else maximum if upper > maximum else upper
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


def unfuzzed_days(interval: float, minimum: int = 1, maximum: int = 36500) -> int:
    """The day ``interval`` becomes without fuzz: ``round(interval)`` clamped to ``[minimum, maximum]``."""
    return min(max(rust_round(f32(interval)), minimum), maximum)


def fuzzed_days(fraction: float | None, interval: float, minimum: int = 1, maximum: int = 36500) -> int:
    """``interval`` made whole days (Anki's ``with_review_fuzz``): the day ``fraction`` (in [0, 1))
    picks in ``fuzz_range``, or ``unfuzzed_days`` when ``fraction`` is None (fuzz off)."""
    if fraction is None:
        return unfuzzed_days(interval, minimum, maximum)
    lower, upper = fuzz_range(interval, minimum, maximum)
    return min(lower + int(fraction * (1 + upper - lower)), upper)


def minimum_review_fuzz_interval(interval: float, previous: int, maximum: int) -> int:
    """The least day a passing review may get given the card's last interval ``previous`` (Anki's
    ``minimum_review_fuzz_interval``): ``previous + 1`` when FSRS's ``interval`` rounds above it,
    ``previous`` while ``previous`` is within the interval's fuzz range (fuzz never shrinks it),
    else 0 (it really shrank: new parameters or desired retention)."""
    if rust_round(f32(interval)) > previous:
        return previous + 1
    if previous <= fuzz_range(interval, 1, maximum)[1]:
        return previous
    return 0


@dataclass(frozen=True, slots=True)
class ReviewTarget:
    """One review interval to schedule: FSRS's unrounded ``interval`` and the bounds Anki's rules
    put on it (``minimum`` already includes the ordering and last-interval rules)."""

    interval: float
    minimum: int
    maximum: int

    @property
    def days(self) -> int:
        """The unfuzzed day (fuzz off)."""
        return unfuzzed_days(self.interval, self.minimum, self.maximum)

    def fuzz_range(self) -> tuple[int, int]:
        """The days the fuzz (or a load balancer) may choose from, both inclusive."""
        return fuzz_range(self.interval, self.minimum, self.maximum)

    def fuzzed(self, fraction: float | None) -> int:
        """The day ``fraction`` picks (``fuzzed_days``)."""
        return fuzzed_days(fraction, self.interval, self.minimum, self.maximum)


def review_target(interval: float, minimum: int, maximum: int) -> ReviewTarget:
    """A passing interval with Anki's bounds (``constrain_passing_interval``): the maximum is at
    least 1 and the minimum is clamped into ``[1, maximum]``."""
    maximum = max(maximum, 1)
    return ReviewTarget(interval, min(max(minimum, 1), maximum), maximum)


def passing_review_days(
    intervals: Sequence[float],
    previous: int,
    maximum: int,
    fraction: float | None,
    choose: Callable[[int, float, int, int], int] | None = None,
) -> list[int]:
    """The days of Hard, Good and Easy for a card in review (Anki's ``passing_fsrs_review_intervals``).

    Args:
        intervals: FSRS's unrounded intervals of Hard, Good and Easy, or of the first one or two
            of them (each grade needs the ones before it).
        previous: The card's current interval in days.
        maximum: The longest interval.
        fraction: The fuzz draw (None: fuzz off).
        choose: Chooses the day of the ``k``-th interval (0 Hard, 1 Good, 2 Easy) given
            ``(k, interval, minimum, maximum)`` (the load balancer, ``balance.choose_day``);
            default: the fuzz draw (``fuzzed_days``). Good's minimum is the day chosen for
            Hard + 1, so the choice is threaded through, as Anki does.

    Returns:
        One day per interval given: each at least its last-interval minimum
        (``minimum_review_fuzz_interval``), Good at least the chosen Hard + 1, Easy at least the
        chosen Good + 1.
    """
    out: list[int] = []
    maximum = max(maximum, 1)
    floor = 1
    for k, interval in enumerate(intervals):
        minimum = max(minimum_review_fuzz_interval(interval, previous, maximum), floor)
        minimum = min(minimum, maximum)  # review_target's bounds, without building one
        if choose is None:
            days = fuzzed_days(fraction, interval, minimum, maximum)
        else:
            days = choose(k, interval, minimum, maximum)
        out.append(days)
        floor = days + 1
    return out


def fuzz_fraction(uid: str, reps: int) -> float:
    """A number in [0, 1) fixed by a card's identity and review count: the fuzz draw."""
    digest = hashlib.blake2b(f"fuzz\0{uid}\0{reps}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def learning_step_fuzz(fraction: float | None, secs: int) -> int:
    """A learning or relearning step of ``secs`` seconds with Anki's fuzz: up to 25% more, at
    most 5 minutes (``learning_ivl_with_fuzz``: ``[secs, secs + min(secs / 4, 300))``); ``secs``
    when ``fraction`` is None (fuzz off)."""
    if fraction is None:
        return secs
    span = int(min(math.floor(f32(f32(float(secs)) * 0.25)), 300.0))
    return secs + int(fraction * span) if span > 0 else secs
