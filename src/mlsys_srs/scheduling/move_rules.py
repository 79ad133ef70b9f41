"""Which review cards to move, and where: ``postpone``, ``advance`` and a ``break`` (pure rules).

The rules of postpone and advance are the FSRS Helper add-on's (``schedule/postpone.py``,
``schedule/advance.py``), in review days; ``R(t, S)`` is the forgetting curve and ``I(S)`` the
interval at the desired retention (FSRS's ``S / factor * (DR^(-1/decay) - 1)``):

- **postpone N**: among the cards due today or overdue, those that suffer least from waiting
  come first: by ``(elapsed + 0.075 interval) / I(S) - 1`` (how far past FSRS's interval they
  would be after the wait) ascending, then by stability descending. Each moves to
  ``last review + max(1, ceil(interval * (1.05 + 0.05 r)) + overdue days)`` days (at most the
  maximum interval; ``r`` a draw in [0, 1) fixed by the card and its interval), that is 5-10% of
  its interval after today: a small drop of recall for long intervals, a day for short ones. The
  cards for which that measure stays under 0.15 are "safe" (the number is reported).
- **advance N**: among the cards not yet due (and not answered today), those that gain most come
  first: by ``1 - elapsed / I(S)`` ascending (the closest to their due relative to their
  interval, i.e. the lowest recall), then stability descending; each becomes due today. Under
  0.13 is "safe".
- **break FROM TO**: the cards due in the period (and the overdue ones when it starts today) are
  spread over the ``spread`` days before it (from today on) and after it. The cards that can
  least afford to wait go first (shortest ``I(S)``); each takes, among the days open to it, the
  one with the least load (the cards due there and those placed so far, divided by its easy-day
  load: a minimum day takes a card only when no other day is open to it) plus the cost of the
  move: early by ``d`` days costs ``d / interval``, late twice that. Every day before the break
  is open to a card (after its last review); a day after it only while ``elapsed / I(S) - 1``
  stays under 0.15 there (a card with no open day goes to the first day after the break). So
  the load is levelled, and the cards that cannot wait are reviewed before the break.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .balance import DayRules

POSTPONE_SAFE = 0.15
"""FSRS Helper's bound for a postponement that costs little recall."""
ADVANCE_SAFE = 0.13
"""FSRS Helper's bound for an advance that wastes little of the interval."""
BREAK_SAFE = POSTPONE_SAFE
"""A card may wait past a break while it stays within this (as a postponement)."""
LATE_COST = 2.0
"""Moving a card a day later costs this much more than a day earlier."""


@dataclass(frozen=True)
class Curve:
    """The forgetting curve and desired retention moves are judged by."""

    decay: float
    factor: float
    desired_retention: float

    def recall(self, days: float, stability: float) -> float:
        """Predicted recall ``days`` after a review that left ``stability``."""
        return float((1 + self.factor * max(0.0, days) / stability) ** -self.decay)

    def interval(self, stability: float) -> float:
        """FSRS's interval at the desired retention, unrounded (``I(S)``)."""
        return float(stability / self.factor * (self.desired_retention ** (-1 / self.decay) - 1))


@dataclass(frozen=True)
class MoveCard:
    """A card in review that may move."""

    card_id: int
    uid: str
    domain: str
    due: date
    last: date
    """The day of its last review."""
    stability: float

    @property
    def interval(self) -> int:
        """Its current interval: days from the last review to the due day (at least 1)."""
        return max(1, (self.due - self.last).days)


@dataclass(frozen=True)
class Moved:
    """A card and the day it moves to, with its predicted recall on the day it was due and on the new one."""

    card: MoveCard
    after: date
    recall_before: float
    recall_after: float

    def as_json(self) -> dict[str, object]:
        """Plain data for ``--json``."""
        return {
            "card": self.card.card_id,
            "uid": self.card.uid,
            "domain": self.card.domain,
            "from": self.card.due.isoformat(),
            "to": self.after.isoformat(),
            "recall_before": round(self.recall_before, 4),
            "recall_after": round(self.recall_after, 4),
        }


def _moved(card: MoveCard, after: date, curve: Curve) -> Moved:
    return Moved(
        card,
        after,
        curve.recall(card.interval, card.stability),
        curve.recall((after - card.last).days, card.stability),
    )


def draw(kind: str, uid: str, n: int) -> float:
    """A number in [0, 1) fixed by a card, a kind of move and a number (e.g. its interval)."""
    digest = hashlib.blake2b(f"{kind}\0{uid}\0{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def postpone_key(card: MoveCard, today: date, curve: Curve) -> float:
    """How far past FSRS's interval the card would be after the wait (FSRS Helper's sort key)."""
    elapsed = (today - card.last).days + card.interval * 0.075
    return elapsed / curve.interval(card.stability) - 1


def postpone(
    cards: Iterable[MoveCard], n: int, today: date, curve: Curve, maximum: int
) -> tuple[list[Moved], int, int]:
    """The ``n`` due cards that suffer least from waiting, each moved 5-10% of its interval later.

    Returns the moves, how many due cards are safe to postpone, and how many of the chosen were
    left where they are because the maximum interval stops them.
    """
    due = [c for c in cards if c.due <= today]
    keyed = sorted(
        ((postpone_key(c, today, curve), c) for c in due),
        key=lambda kc: (kc[0], -kc[1].stability, kc[1].card_id),
    )
    safe = sum(1 for k, _ in keyed if k < POSTPONE_SAFE)
    out: list[Moved] = []
    at_max = 0
    for _, c in keyed[: max(0, n)]:
        ivl = c.interval
        overdue = max((today - c.last).days - ivl, 0)
        new_ivl = min(
            max(1, math.ceil(ivl * (1.05 + 0.05 * draw("postpone", c.uid, ivl))) + overdue), maximum
        )
        after = c.last + timedelta(days=new_ivl)
        if after <= today:
            at_max += 1
            continue
        out.append(_moved(c, after, curve))
    return out, safe, at_max


def advance_key(card: MoveCard, today: date, curve: Curve) -> float:
    """How much of FSRS's interval is still ahead of the card (FSRS Helper's sort key)."""
    return 1 - (today - card.last).days / curve.interval(card.stability)


def advance(cards: Iterable[MoveCard], n: int, today: date, curve: Curve) -> tuple[list[Moved], int]:
    """The ``n`` cards not yet due that gain most from a review now (lowest recall relative to their
    interval), each due today. Returns the moves and how many are safe to advance."""
    later = [c for c in cards if c.due > today and c.last < today]
    keyed = sorted(
        ((advance_key(c, today, curve), c) for c in later),
        key=lambda kc: (kc[0], -kc[1].stability, kc[1].card_id),
    )
    safe = sum(1 for k, _ in keyed if k < ADVANCE_SAFE)
    return [_moved(c, today, curve) for _, c in keyed[: max(0, n)]], safe


def break_days(
    first: date, last: date, today: date, spread: int, rules: DayRules
) -> tuple[list[date], list[date]]:
    """The days a break's cards may go to: up to ``spread`` days before it (from today on) and after
    it, without days of another break (unless none would be left)."""
    before = [first - timedelta(days=i) for i in range(spread, 0, -1)]
    before = [d for d in before if d >= today]
    after = [last + timedelta(days=i) for i in range(1, spread + 1)]
    keep_before = [d for d in before if not rules.off(d)]
    keep_after = [d for d in after if not rules.off(d)]
    if keep_before or keep_after:
        return keep_before, keep_after
    return before, after


def spread_break(
    cards: Iterable[MoveCard],
    first: date,
    last: date,
    today: date,
    load: Mapping[date, int],
    curve: Curve,
    rules: DayRules,
    spread: int = 7,
) -> list[Moved]:
    """Where each card due in the break goes (see the module's docstring). ``load``: the cards due
    on each day (the break's cards included, at their days)."""
    todo = [c for c in cards if first <= c.due <= last or (first <= today and c.due < first)]
    if not todo:
        return []
    before, after = break_days(first, last, today, spread, rules)
    if not before and not after:
        return []
    shares = {d: rules.easy_days[d.weekday()] for d in (*before, *after)}
    todo.sort(key=lambda c: (curve.interval(c.stability), c.due, c.card_id))
    placed: dict[date, int] = {}
    out: list[Moved] = []
    for c in todo:
        ivl = c.interval
        allowed = [d for d in before if d > c.last]
        allowed += [d for d in after if (d - c.last).days / curve.interval(c.stability) - 1 < BREAK_SAFE]
        if not allowed:
            allowed = after[:1] or before[-1:]
        normal = [d for d in allowed if shares[d] > 0] or allowed

        def score(d: date, c: MoveCard = c, ivl: int = ivl) -> tuple[float, date]:
            gap = (d - c.due).days
            cost = (-gap if gap < 0 else LATE_COST * gap) / ivl
            return (load.get(d, 0) + placed.get(d, 0) + 1) / shares[d] + cost if shares[d] > 0 else cost, d

        day = min(normal, key=score)
        placed[day] = placed.get(day, 0) + 1
        out.append(_moved(c, day, curve))
    return out


def load_change(
    load: Mapping[date, int], moves: Iterable[Moved], first: date, days: int
) -> tuple[list[int], list[int]]:
    """Cards due on each of ``days`` days from ``first`` (today) before and after the moves (a card
    due before ``first`` counts on ``first``, as ``load`` counts it: it is shown then)."""
    before = [load.get(first + timedelta(days=i), 0) for i in range(days)]
    after = list(before)
    for m in moves:
        i = max(0, (m.card.due - first).days)
        if i < days and after[i] > 0:
            after[i] -= 1
        j = (m.after - first).days
        if 0 <= j < days:
            after[j] += 1
    return before, after
