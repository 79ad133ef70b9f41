"""The load a live grade chooses its day under: cards due on each coming day, a card's siblings, a plan.

A ``Workload`` is attached to a ``CardScheduler`` (``scheduler.workload``) by whoever grades live
(a review session, ``grade``, ``card``): the scheduler asks it for each card's ``DayContext``
(``balance.choose_day``), and the grader tells it where each graded card went (``moved``), so
the next card of the session sees the load the previous ones left. The counts come from the
store in one query when the workload is made (``from_store``); a card's siblings and whether it
is in the plan's selection are asked once per card, until a card moves. Replays never use one.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .balance import LOAD_DAYS, DayContext, DayRules, Plan

if TYPE_CHECKING:
    from ..config import PlanConfig, ScheduleConfig
    from ..store.filters import CardFilter
    from .days import DayClock


def rules_of(cfg: ScheduleConfig) -> DayRules:
    """The day-choosing settings of ``[schedule]``."""
    from ..config import parse_period

    periods = tuple(p for p in (parse_period(b) for b in cfg.breaks) if p is not None)
    return DayRules(
        balance=cfg.load_balance,
        easy_days=tuple(cfg.easy_days),
        days_off=periods,
        siblings=cfg.bury_review_siblings,
    )


def plan_of(plan: PlanConfig, cfg: ScheduleConfig) -> Plan | None:
    """The ``[plan]`` as the scheduler applies it (None when there is none)."""
    from ..config import parse_day
    from .memory import ForgettingCurve

    by = parse_day(plan.by) if plan.by else None
    if by is None:
        return None
    curve = ForgettingCurve.from_parameters(cfg.parameters)
    return Plan(by, plan.target, curve.decay, curve.factor)


class Workload:
    """Cards due on each coming day, and each card's siblings and plan, for choosing review days.

    Args:
        rules: The settings (balance, easy days, breaks, siblings apart).
        load: Cards due on each day (absent days: none); today's count holds the overdue cards.
        today: The day the load was counted on (a card due earlier counts on it).
        plan: The active plan (None: none).
        siblings: The days a card's siblings are due, by the card's uid.
        in_plan: Whether a card (uid) is in the plan's selection.
    """

    def __init__(
        self,
        rules: DayRules,
        load: Mapping[date, int] | None = None,
        *,
        today: date | None = None,
        plan: Plan | None = None,
        siblings: Callable[[str], Iterable[date]] | None = None,
        in_plan: Callable[[str], bool] | None = None,
    ) -> None:
        self.rules = rules
        self.load: dict[date, int] = dict(load or {})
        self.today = today
        self.plan = plan
        self._siblings = siblings
        self._in_plan = in_plan
        self._sibling_days: dict[str, frozenset[date]] = {}
        self._members: dict[str, bool] = {}

    def context(self, uid: str, today: date) -> DayContext:
        """What choosing a day for the card ``uid`` answered on ``today`` needs."""
        sib = self._sibling_days.get(uid)
        if sib is None:
            sib = (
                frozenset(self._siblings(uid))
                if self._siblings is not None and self.rules.siblings
                else frozenset()
            )
            self._sibling_days[uid] = sib
        plan = None
        if self.plan is not None and today < self.plan.by:
            member = self._members.get(uid)
            if member is None:
                member = self._members[uid] = self._in_plan is not None and self._in_plan(uid)
            plan = self.plan if member else None
        return DayContext(today, self.load, sib, self.rules, plan)

    def moved(self, before: date | None, after: date | None) -> None:
        """A card's due day changed from ``before`` to ``after`` (None: it counts on no day)."""
        if self.today is not None:
            before = None if before is None else max(before, self.today)
            after = None if after is None else max(after, self.today)
        if before == after:
            return
        if before is not None and self.load.get(before, 0) > 0:
            self.load[before] -= 1
        if after is not None:
            self.load[after] = self.load.get(after, 0) + 1
        self._sibling_days.clear()

    @classmethod
    def from_store(
        cls,
        conn: sqlite3.Connection,
        cfg: ScheduleConfig,
        clock: DayClock,
        now: datetime,
        *,
        plan: Plan | None = None,
        plan_filter: CardFilter | None = None,
        days: int = LOAD_DAYS,
    ) -> Workload:
        """The load of today (the overdue cards included) and the coming ``days`` days as the store
        holds it at ``now`` (one query), with a card's siblings and plan membership read from it
        when first asked."""
        from ..store import loads as store
        from ..store.db import dt_from_db, dt_to_db

        today = clock.today(now)
        starts = [dt_to_db(clock.day_start(today + timedelta(days=i))) for i in range(1, days + 2)]
        load: dict[date, int] = {}
        for due, n in store.due_counts(conn, "", starts[-1]):
            # Stored instants sort as text: the day is found among the day starts (before
            # tomorrow's: today, overdue included).
            d = today + timedelta(days=bisect_right(starts, due))
            load[d] = load.get(d, 0) + n

        def siblings(uid: str) -> list[date]:
            out = []
            for due in store.sibling_dues(conn, uid):
                at = dt_from_db(due)
                assert at is not None
                out.append(clock.day_of(at))
            return out

        in_plan = None
        if plan is not None and plan_filter is not None:
            flt = plan_filter

            def in_plan(uid: str) -> bool:
                return store.uid_matches(conn, flt, uid)

        return cls(rules_of(cfg), load, today=today, plan=plan, siblings=siblings, in_plan=in_plan)
