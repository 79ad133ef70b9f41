"""The workload, measured: 180 days of daily review of the bundled knowledge base, simulated.

    python benchmarks/bench_workload.py [--days 180] [--seeds 3] [--plan-start 60] [--plan-days 60]

Every card of the bundled notes (``notes/``) is studied from day 0: 20 new cards a day in learning
order, every card due reviewed each day (learning steps on the day, at their times). Whether an
answer passes is drawn from the FSRS model itself (seeded): a review card passes with its predicted
recall ``R(elapsed, S)``, a (re)learning step with probability 0.9, a new card's first answer 0.8; a
pass is Good (Hard 10%, Easy 5% of passes), a fail Again. The scheduler is the real one
(``CardScheduler`` with a ``Workload``, as a review session uses it), only the queue is this
script's (no sibling burying, no limits but the new cards').

Variants: the plain fuzz draw (``load_balance = false``), Anki's load balancer, and the balancer
with an easy day (Sunday at 0.0). Figures, over days 31 to the end (the first month's ramp left
out), per seed and averaged:

- the coefficient of variation of daily reviews (review-state answers), raw and around a 7-day
  moving average (the growth of the collection taken out), and the latter for the reviews of
  cards on intervals of 3 days or more (those of 1 or 2 days have a one-day fuzz range, in Anki
  too: no balancer can move them);
- the share of the week's reviews that fall on Sundays;
- true retention (review-state answers passed).

Goals (issue 26): balancing halves the CV of fuzz alone; an easy day at 0.0 gets under 2% of the
week's reviews; retention moves less than a percentage point.

Then a plan: on day ``--plan-start``, ``plan --deck interview-prep --by <+plan-days> --target 0.95``
(whose cards are mostly still new then, as its folders come late in learning order); the share of
its cards predicted at or above the target on the date, and the reviews it costs (the whole
collection's, from the start to the date, against the same seed without the plan), and the most
reviews of a day in the 30 days after the date against the 30 before (a pile-up would show).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from mlsys_srs.config import ScheduleConfig  # noqa: E402
from mlsys_srs.scheduling.balance import DayRules, Plan  # noqa: E402
from mlsys_srs.scheduling.daily_load import Workload  # noqa: E402
from mlsys_srs.scheduling.days import DayClock  # noqa: E402
from mlsys_srs.scheduling.memory import CardSchedule, CardScheduler, ForgettingCurve  # noqa: E402

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday
SUNDAY = 6
WARMUP = 30


@dataclass(frozen=True)
class Card:
    uid: str
    group: tuple[int, int]
    domain: str


@dataclass
class Result:
    reviews: dict[int, int] = field(default_factory=dict)
    """Review-state answers per day."""
    short: dict[int, int] = field(default_factory=dict)
    """Those of cards on an interval of 1 or 2 days: a one-day fuzz range, which no balancer can move."""
    answers: dict[int, int] = field(default_factory=dict)
    """Every answer per day (learning steps and new cards too)."""
    passed: int = 0
    failed: int = 0
    state: dict[str, CardSchedule] = field(default_factory=dict)

    def window(self, first: int, last: int) -> list[int]:
        return [self.reviews.get(d, 0) for d in range(first, last + 1)]


def load_cards() -> tuple[list[Card], set[str]]:
    """The bundled notes' cards in learning order, and the uids of the interview-prep deck."""
    from mlsys_srs.scheduling.queue import todays_queue
    from mlsys_srs.store import open_db
    from mlsys_srs.store.cards import list_cards
    from mlsys_srs.store.filters import CardFilter
    from mlsys_srs.sync import sync_vault
    from mlsys_srs.vault.decks import read_deck

    with tempfile.TemporaryDirectory() as tmp:
        conn = open_db(Path(tmp) / "bench.db", START)
        sync_vault(conn, REPO / "notes", START)
        clock = DayClock(UTC, 4)
        cfg = ScheduleConfig(timezone="UTC", bury_new_siblings=False)
        queue = todays_queue(conn, cfg, clock, START, new_limit=10**6)
        views = {v.id: v for v in list_cards(conn)}
        order = [views[it.id] for it in queue.main if it.state == "new"]
        deck = read_deck(REPO / "decks" / "interview-prep.toml")
        members = {v.uid for v in list_cards(conn, CardFilter(deck=deck))}
        conn.close()
    return [Card(v.uid, (v.note_id, v.line), v.domain) for v in order], members


class Simulation:
    """One collection studied day by day under one configuration."""

    def __init__(
        self,
        cards: list[Card],
        cfg: ScheduleConfig,
        seed: int,
        *,
        plan: Plan | None = None,
        members: frozenset[str] = frozenset(),
        plan_start: int = 0,
    ) -> None:
        self.cards = cards
        self.cfg = cfg
        self.clock = DayClock(UTC, 4)
        self.sched = CardScheduler(cfg, self.clock)
        self.curve = ForgettingCurve.from_parameters(cfg.parameters)
        self.rng = random.Random(seed)
        self.state: dict[str, CardSchedule] = {}
        self.group = {c.uid: c.group for c in cards}
        self.by_group: dict[tuple[int, int], list[str]] = {}
        for c in cards:
            self.by_group.setdefault(c.group, []).append(c.uid)
        self.plan = plan
        self.members = members
        self.plan_start = plan_start
        self.rules = DayRules(cfg.load_balance, tuple(cfg.easy_days), (), cfg.bury_review_siblings)
        self.workload = Workload(self.rules, {}, siblings=self._siblings, in_plan=lambda uid: uid in members)
        if cfg.enable_fuzzing and cfg.load_balance:
            self.sched.workload = self.workload
        self.result = Result()

    def _siblings(self, uid: str) -> list[date]:
        out = []
        for other in self.by_group[self.group[uid]]:
            s = self.state.get(other)
            if other != uid and s is not None and s.state != "new" and s.due is not None:
                out.append(self.clock.day_of(s.due))
        return out

    def _day(self, s: CardSchedule | None) -> date | None:
        return None if s is None or s.state == "new" or s.due is None else self.clock.day_of(s.due)

    def _answer(self, uid: str, at: datetime, day: int) -> CardSchedule:
        s = self.state.get(uid, CardSchedule())
        rng = self.rng
        if s.state == "review":
            assert s.last_review is not None and s.stability is not None
            elapsed = (self.clock.day_of(at) - self.clock.day_of(s.last_review)).days
            p = self.curve.retrievability(elapsed, s.stability)
        elif s.state == "new":
            p = 0.8
        else:
            p = 0.9
        passed = rng.random() < p
        rating = (2 if (u := rng.random()) < 0.10 else 4 if u > 0.95 else 3) if passed else 1
        after = self.sched.grade(uid, s, rating, at)
        self.workload.moved(self._day(s), self._day(after))
        self.state[uid] = after
        self.result.answers[day] = self.result.answers.get(day, 0) + 1
        if s.state == "review":
            self.result.reviews[day] = self.result.reviews.get(day, 0) + 1
            assert s.due is not None and s.last_review is not None
            if (self.clock.day_of(s.due) - self.clock.day_of(s.last_review)).days <= 2:
                self.result.short[day] = self.result.short.get(day, 0) + 1
            if passed:
                self.result.passed += 1
            else:
                self.result.failed += 1
        return after

    def run(self, days: int) -> Result:
        new_queue = [c.uid for c in self.cards]
        for day in range(days):
            morning = START + timedelta(days=day)
            today = self.clock.day_of(morning)
            end = self.clock.day_end(today)
            self.workload.today = today
            plan_on = self.plan is not None and day >= self.plan_start and today < self.plan.by
            self.workload.plan = self.plan if plan_on else None
            due = [u for u, s in self.state.items() if s.state != "new" and s.due is not None and s.due < end]
            due.sort(key=lambda u: (self.state[u].due, u))
            new_today = self._new_cards(new_queue, today, plan_on)
            t = morning
            learning: list[tuple[datetime, str]] = []
            for uid in (*due, *new_today):
                t += timedelta(seconds=20)
                after = self._answer(uid, t, day)
                if after.state != "review" and after.due is not None and after.due < end:
                    learning.append((after.due, uid))
            while learning:
                learning.sort()
                at, uid = learning.pop(0)
                t = max(t + timedelta(seconds=20), at)
                if t >= end:
                    break
                after = self._answer(uid, t, day)
                if after.state != "review" and after.due is not None and after.due < end:
                    learning.append((after.due, uid))
        self.result.state = self.state
        return self.result

    def _new_cards(self, queue: list[str], today: date, plan_on: bool) -> list[str]:
        """Today's new cards: the plan's first (at its pace, at least the daily limit), then the rest."""
        from mlsys_srs.scheduling.plan import new_pace

        limit = self.cfg.new_per_day
        take: list[str] = []
        if plan_on and self.plan is not None:
            left = [u for u in queue if u in self.members]
            pace, _ = new_pace(len(left), today, self.plan.by)
            limit = max(limit, pace)
            take = left[:limit]
        rest = [u for u in queue if u not in set(take)]
        take += rest[: max(0, limit - len(take))]
        chosen = set(take)
        queue[:] = [u for u in queue if u not in chosen]
        return take


def cv(xs: list[int]) -> float:
    m = statistics.fmean(xs)
    return statistics.pstdev(xs) / m if m else 0.0


def detrended_cv(xs: list[int]) -> float:
    ratios = []
    for i in range(3, len(xs) - 3):
        m = statistics.fmean(xs[i - 3 : i + 4])
        if m:
            ratios.append(xs[i] / m)
    return statistics.pstdev(ratios) if ratios else 0.0


def figures(r: Result, days: int) -> dict[str, float]:
    xs = r.window(WARMUP + 1, days - 1)
    longer = [x - r.short.get(d, 0) for d, x in zip(range(WARMUP + 1, days), xs, strict=True)]
    sundays = sum(
        r.reviews.get(d, 0)
        for d in range(WARMUP + 1, days)
        if (START + timedelta(days=d)).weekday() == SUNDAY
    )
    return {
        "cv": cv(xs),
        "cv_detrended": detrended_cv(xs),
        "cv_longer": detrended_cv(longer),
        "short_share": 1 - sum(longer) / max(1, sum(xs)),
        "sunday_share": sundays / max(1, sum(xs)),
        "retention": r.passed / max(1, r.passed + r.failed),
        "reviews": float(sum(xs)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--plan-start", type=int, default=60)
    ap.add_argument("--plan-days", type=int, default=60)
    ap.add_argument("--target", type=float, default=0.95)
    a = ap.parse_args()
    t0 = time.perf_counter()
    cards, members = load_cards()
    base = ScheduleConfig(timezone="UTC")
    sunday_off = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    variants = {
        "fuzz only": replace(base, load_balance=False),
        "load balancer": base,
        "balancer + Sunday 0.0": replace(base, easy_days=sunday_off),
    }
    print(
        f"{len(cards):,} cards of the bundled notes, {a.days} days, seeds 1-{a.seeds}; figures over days {WARMUP + 1}-{a.days - 1}"
    )
    print(
        f"{'variant':<24}{'CV':>8}{'CV/7d':>8}{'CV/7d 3d+':>11}{'Sunday':>9}{'retention':>11}{'reviews':>9}"
    )
    means: dict[str, dict[str, float]] = {}
    for name, cfg in variants.items():
        rows = [figures(Simulation(cards, cfg, seed).run(a.days), a.days) for seed in range(1, a.seeds + 1)]
        m = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
        means[name] = m
        print(f"{name:<24}{m['cv']:>8.3f}{m['cv_detrended']:>8.3f}{m['cv_longer']:>11.3f}{m['sunday_share']:>9.2%}"
              f"{m['retention']:>11.2%}{m['reviews']:>9,.0f}")  # fmt: skip
    fz, lb, ez = means["fuzz only"], means["load balancer"], means["balancer + Sunday 0.0"]
    print(f"balancing (goal: CV <= 0.5x fuzz alone): around the weekly mean {fz['cv_detrended']:.3f} -> "
          f"{lb['cv_detrended']:.3f} ({lb['cv_detrended'] / fz['cv_detrended']:.2f}x); the reviews on intervals of 3 days "
          f"or more {fz['cv_longer']:.3f} -> {lb['cv_longer']:.3f} ({lb['cv_longer'] / fz['cv_longer']:.2f}x); "
          f"{lb['short_share']:.0%} of reviews are on 1-2 day intervals; raw {fz['cv']:.3f} -> {lb['cv']:.3f} "
          "(mostly the collection's growth)")  # fmt: skip
    print(f"easy day: Sunday's share {ez['sunday_share']:.2%} of the week's reviews (goal < 2%; 1/7 = 14.3%)")
    print(f"retention: {fz['retention']:.2%} fuzz only, {lb['retention']:.2%} balanced, "
          f"{ez['retention']:.2%} with the easy day (goal: within 1 point)")  # fmt: skip

    # -- a plan --------------------------------------------------------------------------------
    curve = ForgettingCurve.from_parameters(())
    by = (START + timedelta(days=a.plan_start + a.plan_days)).date()
    plan = Plan(by, a.target, curve.decay, curve.factor)
    last = a.plan_start + a.plan_days + 30
    at_target: list[float] = []
    costs: list[tuple[int, int, int, int, int, int]] = []
    for seed in range(1, a.seeds + 1):
        with_plan = Simulation(
            cards, base, seed, plan=plan, members=frozenset(members), plan_start=a.plan_start
        )
        r = with_plan.run(last)
        clock = with_plan.clock
        ok = 0
        for uid in members:
            s = r.state.get(uid)
            known = s is not None and s.state != "new" and s.stability and s.last_review is not None
            if known and plan.recall((by - clock.day_of(s.last_review)).days, s.stability) >= a.target:  # type: ignore[union-attr, arg-type]
                ok += 1
        at_target.append(ok / len(members))
        free = Simulation(cards, base, seed).run(last)
        d0, dd = a.plan_start, a.plan_start + a.plan_days
        spent = sum(r.answers.get(d, 0) for d in range(d0, dd))
        spent_free = sum(free.answers.get(d, 0) for d in range(d0, dd))
        before = max(r.reviews.get(d, 0) for d in range(dd - 30, dd))
        after = max(r.reviews.get(d, 0) for d in range(dd, dd + 30))
        after_free = max(free.reviews.get(d, 0) for d in range(dd, dd + 30))
        costs.append((spent, spent_free, before, after, after_free, len(members)))
    spent, spent_free = statistics.fmean(c[0] for c in costs), statistics.fmean(c[1] for c in costs)
    print(
        f"plan: interview-prep ({len(members)} cards, most still new on day {a.plan_start}), "
        f"by day {a.plan_start + a.plan_days}, target {a.target:.0%}: "
        f"{statistics.fmean(at_target):.1%} of its cards predicted at or above it on the date (goal >= 95%)"
    )
    print(f"  cost: {spent:,.0f} answers in the {a.plan_days} days (collection-wide) against {spent_free:,.0f} "
          f"without the plan: +{spent - spent_free:,.0f} ({spent / spent_free - 1:+.0%}), "
          f"{(spent - spent_free) / a.plan_days:.1f} a day")  # fmt: skip
    print(f"  after the date: busiest day {statistics.fmean(c[3] for c in costs):.0f} reviews in the 30 days after, "
          f"{statistics.fmean(c[2] for c in costs):.0f} in the 30 before, "
          f"{statistics.fmean(c[4] for c in costs):.0f} after without the plan")  # fmt: skip
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
