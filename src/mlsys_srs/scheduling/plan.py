"""A date to be ready by (``mlsys-srs plan``): the moves that start it, the new-card pace, the projection.

While a plan is active, every grade of a card of its selection keeps the card's next review in
the plan's window (``balance.Plan.window``), so that its predicted recall on the date is at least
the target. This module holds the rest, pure:

- **Starting a plan** (``plan_moves``): a card in review whose predicted recall on the date,
  without another review, is under the target, and which is due on the date or later, is moved
  into its window: a day before the date from which recall on the date reaches the target; cards
  with the fewest days to choose from go first, each to the least loaded day of its window (the
  latest on a tie), so the reviews are levelled toward the date. A card due before the date
  keeps its day (its grade then plans its next one).
- **New cards** (``new_pace``): the selection's new cards are introduced at an even pace, first
  in the queue, so that the last of them is introduced ``lead`` days before the date (a quarter
  of the days left, at most a week): enough for a few reviews before it.
- **The projection** (``project``): each card of the selection answered Good at every review
  until the date, with the plan's windows and without them: its predicted recall on the date
  now (no more reviews), with the plan and without, and the reviews per day the plan takes.
  After the date no window applies: each card's next interval is its own again, so normal
  scheduling resumes from reviews made a few days apart, without a pile-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .balance import DayRules, Plan
from .move_rules import Curve, MoveCard, Moved

if TYPE_CHECKING:
    from .days import DayClock
    from .memory import CardSchedule, CardScheduler

LEAD_DAYS = 7
"""The most days before the date by which every new card of the selection is introduced."""
SIMULATED_HOUR = 2
"""Simulated reviews happen this many hours after the start of their review day."""


def window_days(card: MoveCard, plan: Plan, today: date) -> list[date] | None:
    """The days the card's next review must fall in for recall on the date to reach the target
    (None: it needs none: recall on the date is enough, or it is due before the date anyway)."""
    if today >= plan.by:
        return None
    if plan.recall((plan.by - card.last).days, card.stability) >= plan.target:
        return None
    last_day = plan.by - timedelta(days=1)
    if card.due <= last_day:
        return None
    lo = max(today, plan.by - timedelta(days=math.floor(plan.days_at_target(card.stability))))
    hi = max(today, last_day)
    lo = min(lo, hi)
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def plan_moves(
    cards: Iterable[MoveCard],
    plan: Plan,
    today: date,
    load: Mapping[date, int],
    curve: Curve,
    rules: DayRules,
) -> list[Moved]:
    """The moves that start a plan (see the module's docstring); days off are avoided while another
    day of a card's window remains."""
    todo: list[tuple[MoveCard, list[date]]] = []
    for c in cards:
        days = window_days(c, plan, today)
        if days is None:
            continue
        open_days = [d for d in days if not rules.off(d)] or days
        todo.append((c, open_days))
    todo.sort(key=lambda cd: (len(cd[1]), cd[0].due, cd[0].card_id))
    placed: dict[date, int] = {}
    out = []
    for c, days in todo:
        day = min(days, key=lambda d: (load.get(d, 0) + placed.get(d, 0), -d.toordinal()))
        placed[day] = placed.get(day, 0) + 1
        out.append(
            Moved(
                c, day, curve.recall(c.interval, c.stability), curve.recall((day - c.last).days, c.stability)
            )
        )
    return out


def new_pace(remaining: int, today: date, by: date) -> tuple[int, date]:
    """New cards of the selection to introduce per day, and the last day to introduce them."""
    left = (by - today).days
    lead = min(LEAD_DAYS, max(1, left // 4))
    deadline = max(today, by - timedelta(days=lead))
    days = (deadline - today).days + 1
    return (math.ceil(remaining / days) if remaining else 0), deadline


@dataclass(frozen=True)
class ProjectedCard:
    """One card of the selection: predicted recall on the date now, with the plan and without."""

    uid: str
    domain: str
    now: float
    planned: float
    unplanned: float


@dataclass(frozen=True)
class Projection:
    """What a plan does by its date, simulated (every review answered Good)."""

    by: date
    target: float
    cards: tuple[ProjectedCard, ...]
    reviews: dict[date, int] = field(default_factory=dict)
    """The selection's reviews per day until the date, with the plan."""
    reviews_without: dict[date, int] = field(default_factory=dict)
    """The same without the plan."""

    def at_target(self, which: str) -> int:
        """Cards whose predicted recall on the date (``now``, ``planned`` or ``unplanned``) reaches the target."""
        return sum(1 for c in self.cards if getattr(c, which) >= self.target - 1e-9)

    def by_domain(self) -> list[tuple[str, int, float, float]]:
        """``(domain, cards, mean recall on the date now, mean planned)``, domains by name."""
        acc: dict[str, list[ProjectedCard]] = {}
        for c in self.cards:
            acc.setdefault(c.domain, []).append(c)
        return [
            (d, len(cs), sum(c.now for c in cs) / len(cs), sum(c.planned for c in cs) / len(cs))
            for d, cs in sorted(acc.items())
        ]


def project(
    cards: Sequence[tuple[str, str, CardSchedule]],
    scheduler: CardScheduler,
    plan: Plan,
    now: datetime,
    *,
    rules: DayRules | None = None,
    new_per_day: int = 20,
    moved: Mapping[str, date] | None = None,
) -> Projection:
    """Simulate the selection ``(uid, domain, schedule)`` until the plan's date, every review Good,
    with the plan's windows and without (the plain fuzz draw, new cards at ``new_per_day``).

    With the plan, a card due on the date or later that would miss the target starts on the day
    ``moved`` gives it (the moves that start the plan), else on the last day of its window.
    """
    from .daily_load import Workload

    clock = scheduler.clock
    today = clock.today(now)
    moved = moved or {}
    new = [uid for uid, _, s in cards if s.state == "new"]
    pace, _ = new_pace(len(new), today, plan.by)
    intro_plan = {uid: today + timedelta(days=i // max(1, pace)) for i, uid in enumerate(new)}
    intro_free = {uid: today + timedelta(days=i // max(1, new_per_day)) for i, uid in enumerate(new)}
    off = DayRules(balance=False, days_off=(rules or DayRules()).days_off, siblings=False)
    planned = Workload(off, plan=plan, in_plan=lambda uid: True)
    saved = scheduler.workload
    reviews: dict[date, int] = {}
    reviews_without: dict[date, int] = {}
    out = []
    try:
        for uid, domain, s in cards:
            scheduler.workload = planned
            start = _started(uid, s, plan, today, clock, moved)
            with_plan = _simulate(uid, start, scheduler, plan.by, now, intro_plan.get(uid), reviews)
            scheduler.workload = None
            without = _simulate(uid, s, scheduler, plan.by, now, intro_free.get(uid), reviews_without)
            out.append(ProjectedCard(uid, domain, _recall_on(s, plan, clock), _recall_on(with_plan, plan, clock),
                                     _recall_on(without, plan, clock)))  # fmt: skip
    finally:
        scheduler.workload = saved
    return Projection(plan.by, plan.target, tuple(out), reviews, reviews_without)


def _started(
    uid: str, s: CardSchedule, plan: Plan, today: date, clock: DayClock, moved: Mapping[str, date]
) -> CardSchedule:
    """The card as the plan starts it: due in its window when it would miss the target."""
    from dataclasses import replace

    if s.state != "review" or s.due is None or s.last_review is None or not s.stability:
        return s
    card = MoveCard(0, uid, "", clock.day_of(s.due), clock.day_of(s.last_review), s.stability)
    day = moved.get(uid)
    if day is None:
        days = window_days(card, plan, today)
        day = days[-1] if days else None
    return s if day is None else replace(s, due=clock.day_start(day))


def _recall_on(s: CardSchedule, plan: Plan, clock: DayClock) -> float:
    """Predicted recall at the start of the plan's date (0 for a card never answered)."""
    if s.state == "new" or s.stability is None or s.last_review is None:
        return 0.0
    return plan.recall((plan.by - clock.day_of(s.last_review)).days, s.stability)


def _simulate(
    uid: str,
    s: CardSchedule,
    scheduler: CardScheduler,
    by: date,
    now: datetime,
    intro: date | None,
    reviews: dict[date, int],
) -> CardSchedule:
    """The card answered Good at each review before ``by`` (a new card from ``intro`` on); the
    reviews are counted by day into ``reviews``."""
    clock = scheduler.clock
    if s.state == "new":
        if intro is None or intro >= by:
            return s
        at = max(now, clock.day_start(intro) + timedelta(hours=SIMULATED_HOUR))
    else:
        if s.due is None:
            return s
        at = max(now, s.due)
    for _ in range(200):
        day = clock.day_of(at)
        if day >= by:
            break
        s = scheduler.grade(uid, s, 3, at)
        reviews[day] = reviews.get(day, 0) + 1
        assert s.due is not None
        at = s.due if s.state != "review" else s.due + timedelta(hours=SIMULATED_HOUR)
    return s
