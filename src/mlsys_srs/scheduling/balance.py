"""The day a review card gets inside its fuzz range: load balancing, easy days, days off, a plan's cap.

The fuzz range (``fuzz.fuzz_range``) says which days a review interval may become; this module
chooses one of them. The rules are Anki's load balancer (``rslib/src/scheduler/states/
load_balancer.rs``, 26.x; docs/anki-rules.md, section 9), with three changes of ours:

- **Weights.** Each day of the range weighs ``(1 / cards due)^2.15 * (1 / interval)^3``, as Anki's
  code does (its doc comment still shows an older formula); a day with no card due weighs 1.
  Fewer cards and a shorter interval make a day more likely. Only intervals up to 90 days are
  balanced (beyond, the need is low: the plain fuzz draw decides), and only with fuzz on.
- **Siblings.** A day on which a sibling of the card (same note line) is due is nearly excluded
  (x 0.000001) and the five days either side are weighted down (x 0.2, 0.4, 0.6, 0.8, 1.0 by
  distance), as Anki does when siblings are buried. Ours applies this to empty days too (Anki
  gives an empty day full weight whatever its neighbours).
- **Easy days.** Seven weekday loads, Monday first, each 0.0 to 1.0: 1.0 is a normal day, 0.0 a
  minimum day, and a reduced day (between) is treated as minimum when its cards, divided by its
  load, exceed the cards of the other days of the range per unit of their load (Anki's rule,
  which treats every reduced day as 0.5; ours uses the load given). A minimum day receives a
  card only when no other day of the range can: it is left out while another day remains, and
  it stays minimum even while it is empty (Anki's code gives an empty day full weight, so a
  minimum day still receives cards while it has none). A range made only of minimum days (the
  one-day range of an interval under 2.5 days) takes in the day after it, and the day before it
  when that is still within the interval's minimum: a short interval moves a day rather than
  land on a minimum day.
- **Days off** (a ``break``) are left out of the range while another day remains, balanced or
  not; **a plan** narrows the range of a card of its selection to the days from which its
  predicted recall on the plan's date reaches the plan's target (``Plan.window``).

The draw is the card's fuzz fraction (``fuzz.fuzz_fraction``: its uid and review count), taken
through the cumulative weights: the same card, history and load always give the same day, so a
preview equals the grade. The day chosen is recorded in the grade's journal event and a replay
uses it (``history.replay``): other devices do not need to know the load it was chosen under.
With nothing to balance, exclude or cap, the day is exactly the plain fuzz draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .fuzz import fuzz_range, unfuzzed_days

MAX_BALANCE_INTERVAL = 90
"""Intervals longer than this (or a minimum above it) are not balanced (Anki's ``MAX_LOAD_BALANCE_INTERVAL``)."""
LOAD_DAYS = 99
"""Days ahead whose load is counted: 10% more than the longest balanced interval, as Anki."""
COUNT_POWER = 2.15
INTERVAL_POWER = 3
SIBLING_STEPS = (-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5)
SIBLING_FACTORS = (1.0, 0.8, 0.6, 0.4, 0.2, 0.000001, 0.2, 0.4, 0.6, 0.8, 1.0)
"""The weight of a day ``step`` days from one with a sibling due (Anki's ``SIBLING_MODIFIER_RANGE``)."""
NORMAL_WEEK = (1.0,) * 7


@dataclass(frozen=True)
class Plan:
    """A date to be ready by: until ``by``, a card of the selection is reviewed in time for its
    predicted recall on ``by`` to be at least ``target``.

    ``decay`` and ``factor`` are the forgetting curve's (``memory.ForgettingCurve``).
    """

    by: date
    target: float
    decay: float
    factor: float

    def recall(self, days: float, stability: float) -> float:
        """Predicted recall ``days`` after a review that left ``stability``."""
        if stability <= 0:
            return 0.0
        return float((1 + self.factor * max(0.0, days) / stability) ** -self.decay)

    def days_at_target(self, stability: float) -> float:
        """Days after a review until predicted recall falls to ``target``."""
        return float(stability / self.factor * (self.target ** (-1 / self.decay) - 1))

    def window(self, today: date, stability: float | None) -> tuple[int, int] | None:
        """The days (from ``today``) the next review of a card answered today, leaving
        ``stability``, must fall in for its predicted recall on ``by`` to reach the target; None
        when the plan leaves it free.

        Free when the date is today or past, or when recall on the date without another review is
        at least the target. Otherwise the next review falls before the date and at most
        ``days_at_target(stability)`` days before it: recall on the date from that review on is
        then at least the target even if the review adds no stability (a pass adds some). The
        window is ``[max(1, left - floor(days_at_target)), max(1, left - 1)]``, ``left`` the days
        to the date; a card too weak for any day before the date gets the day before it.
        """
        left = (self.by - today).days
        if left <= 0 or stability is None:
            return None
        if self.recall(left, stability) >= self.target:
            return None
        hi = max(1, left - 1)
        lo = min(max(1, left - math.floor(self.days_at_target(stability))), hi)
        return lo, hi


@dataclass(frozen=True)
class DayRules:
    """The settings that choose a review day inside the fuzz range."""

    balance: bool = True
    """Anki's load balancer (``[schedule] load_balance``)."""
    easy_days: tuple[float, ...] = NORMAL_WEEK
    """Seven weekday loads, Monday first (``[schedule] easy_days``); they apply with ``balance``."""
    days_off: tuple[tuple[date, date], ...] = ()
    """Periods (first, last day) no card should fall in (``[schedule] breaks``)."""
    siblings: bool = True
    """Keep siblings apart (``[schedule] bury_review_siblings``)."""

    def off(self, day: date) -> bool:
        """``day`` falls in a break."""
        return any(first <= day <= last for first, last in self.days_off)


@dataclass(frozen=True)
class DayContext:
    """What choosing a day for one card needs besides its interval.

    Attributes:
        today: The review day of the answer.
        load: Cards due on each coming day (days absent: none).
        siblings: The days the card's siblings are due.
        rules: The settings.
        plan: The active plan, when the card is in its selection.
    """

    today: date
    load: Mapping[date, int] = field(default_factory=dict)
    siblings: frozenset[date] = frozenset()
    rules: DayRules = DayRules()
    plan: Plan | None = None


def easy_day_minimums(loads: Sequence[float], counts: Sequence[int]) -> list[bool]:
    """Which days of a range are minimum days (Anki's ``calculate_easy_days_modifiers``).

    Args:
        loads: Each day's easy-day load (1.0 normal, 0.0 minimum, between: reduced).
        counts: Cards due on each day.

    A reduced day is minimum when ``count / load`` exceeds the other days' cards per unit of
    their load (``sum(other counts) / sum(other loads)``), else normal.
    """
    total_count = sum(counts)
    total_load = sum(loads)
    out = []
    for load, count in zip(loads, counts, strict=True):
        if load >= 1.0:
            out.append(False)
        elif load <= 0.0:
            out.append(True)
        else:
            other_load = total_load - load
            threshold = (total_count - count) / other_load if other_load > 0 else math.inf
            out.append(count / load > threshold)
    return out


def sibling_factors(lower: int, upper: int, sibling_offsets: Sequence[int]) -> list[float]:
    """Each day's sibling modifier over ``lower..upper`` (days from today): the product of
    ``SIBLING_FACTORS`` for every sibling day within five days."""
    out = [1.0] * (upper - lower + 1)
    for sib in set(sibling_offsets):
        for step, factor in zip(SIBLING_STEPS, SIBLING_FACTORS, strict=True):
            i = sib + step - lower
            if 0 <= i < len(out):
                out[i] *= factor
    return out


def day_weight(interval: int, count: int, sibling: float = 1.0) -> float:
    """One day's weight: ``(1/count)^2.15 * (1/interval)^3 * sibling``; an empty day weighs ``sibling``."""
    if count <= 0:
        return sibling
    return float((1.0 / count) ** COUNT_POWER * (1.0 / interval) ** INTERVAL_POWER * sibling)


def weighted_index(weights: Sequence[float], fraction: float) -> int:
    """The index a draw ``fraction`` in [0, 1) lands on in the cumulative ``weights``."""
    total = sum(weights)
    if total <= 0:
        return min(int(fraction * len(weights)), len(weights) - 1)
    target = fraction * total
    acc = 0.0
    last = 0
    for i, w in enumerate(weights):
        if w <= 0:
            continue
        acc += w
        last = i
        if target < acc:
            return i
    return last


def choose_day(
    fraction: float | None,
    interval: float,
    minimum: int,
    maximum: int,
    ctx: DayContext,
    stability: float | None = None,
) -> int:
    """The review interval, in days, for FSRS's ``interval`` within ``[minimum, maximum]``.

    Args:
        fraction: The card's fuzz draw (None: fuzz off: the unfuzzed day, at most the last day of
            a plan's window).
        interval: FSRS's interval, unrounded.
        minimum: The least interval (Anki's ordering and last-interval rules).
        maximum: The longest interval.
        ctx: The day, load, siblings, settings and plan.
        stability: The card's stability after this answer (for a plan's window).
    """
    window = ctx.plan.window(ctx.today, stability) if ctx.plan is not None else None
    if fraction is None:
        plain = unfuzzed_days(interval, minimum, maximum)
        return plain if window is None else max(1, min(plain, window[1]))
    lower, upper = fuzz_range(interval, minimum, maximum)
    balanced_interval = interval
    if window is not None and upper > window[1]:
        # The plan's window: the latest part of the range that is in it (or the whole window).
        lo, hi = window
        lower, upper = (max(lower, lo), hi) if lower <= hi else (lo, hi)
        balanced_interval = float(upper)
        maximum = min(maximum, hi)
    rules = ctx.rules
    if rules.balance and rules.easy_days != NORMAL_WEEK:
        # A range of minimum days only (a one-day range, for short intervals): the days next to it
        # are taken too, within the bounds, so that a minimum day stays one (Anki has no choice).
        week = rules.easy_days
        if all(week[(ctx.today + timedelta(days=d)).weekday()] <= 0.0 for d in range(lower, upper + 1)):
            lower, upper = max(lower - 1, minimum, 1), min(upper + 1, maximum)
    return pick_day(list(range(lower, upper + 1)), fraction, ctx, balanced_interval)


def pick_day(days: Sequence[int], fraction: float, ctx: DayContext, interval: float | None = None) -> int:
    """One of ``days`` (intervals from ``ctx.today``, ascending): days off left out while another
    remains; then, balanced (``ctx.rules.balance``, ``interval`` up to 90 days), minimum easy days
    left out while another remains and the rest weighted by load, interval and siblings; the
    ``fraction`` draw picks one. Unbalanced: the draw picks uniformly."""
    days = list(days)
    lower = days[0]
    if interval is None:
        interval = float(days[-1])
    rules = ctx.rules
    today = ctx.today
    dates = [today + timedelta(days=d) for d in days]
    if rules.days_off:
        keep = [i for i, d in enumerate(dates) if not rules.off(d)]
        if keep and len(keep) < len(days):
            days = [days[i] for i in keep]
            dates = [dates[i] for i in keep]
    balance = rules.balance and int(interval) <= MAX_BALANCE_INTERVAL and lower <= MAX_BALANCE_INTERVAL
    if not balance:
        return days[min(int(fraction * len(days)), len(days) - 1)]
    counts = [ctx.load.get(d, 0) for d in dates]
    if rules.easy_days != NORMAL_WEEK:
        minimum_day = easy_day_minimums([rules.easy_days[d.weekday()] for d in dates], counts)
        if not all(minimum_day):
            keep = [i for i, m in enumerate(minimum_day) if not m]
            days = [days[i] for i in keep]
            dates = [dates[i] for i in keep]
            counts = [counts[i] for i in keep]
    if rules.siblings and ctx.siblings:
        offsets = [(d - today).days for d in ctx.siblings]
        factors = sibling_factors(days[0], days[-1], offsets)
        sib = [factors[d - days[0]] for d in days]
    else:
        sib = [1.0] * len(days)
    weights = [day_weight(d, c, s) for d, c, s in zip(days, counts, sib, strict=True)]
    return days[weighted_index(weights, fraction)]
