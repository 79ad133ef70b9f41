"""Shaping the workload: the load a live grade chooses its day under, postpone, advance, a break, a plan.

- ``live_scheduler`` is the scheduler every live grade and its preview use (a review session,
  ``grade``, ``card``, the web page): with a ``Workload`` attached (the cards due on each coming
  day, read once; each card's siblings; the plan), so the day it chooses balances the load, keeps
  to easy days, avoids breaks and follows a plan; the grade records it for every replay.
- ``postpone`` / ``advance`` / ``take_break`` choose the cards and days (``scheduling.move_rules``),
  show the load before and after, and (without ``dry_run``) apply them as journal events in one
  transaction (``history.moves``); ``undo_last`` undoes the latest batch of one kind.
- ``plan_status`` / ``set_plan`` / ``clear_plan``: the ``[plan]`` of the vault's settings, its
  projection (``scheduling.plan``) and the moves that start it.

Nothing here prints: each function returns what the front end shows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..history.moves import UndoneMoves
    from ..scheduling.balance import Plan
    from ..scheduling.daily_load import Workload
    from ..scheduling.memory import CardScheduler
    from ..scheduling.move_rules import Curve, MoveCard, Moved
    from ..scheduling.plan import Projection
    from ..scheduling.queue import PlanNew
    from ..store.filters import CardFilter
    from .workspace import Workspace

FORECAST_DAYS = 14
"""Days of load shown before and after a postpone or an advance."""


# -- the load a live grade balances under ----------------------------------------------------


def plan_filter(plan: PlanConfig) -> CardFilter | None:
    """The cards of a plan: any of its domains, tags and note globs (as a deck recipe); None: no plan."""
    from pathlib import Path

    from ..store.filters import CardFilter
    from ..vault.decks import DeckRecipe

    if not plan.active or not (plan.domains or plan.tags or plan.notes):
        return None
    recipe = DeckRecipe(plan.deck or "plan", "plan", "", plan.domains, plan.tags, plan.notes, Path())
    return CardFilter(deck=recipe)


def active_plan(ws: Workspace, today: date) -> Plan | None:
    """The plan the scheduler applies today (None: none, or its date has come)."""
    from ..scheduling.daily_load import plan_of

    plan = plan_of(ws.config.plan, ws.config.schedule)
    return plan if plan is not None and today < plan.by else None


def workload(ws: Workspace, conn: sqlite3.Connection, now: datetime | None = None) -> Workload:
    """The load of today and the coming days, with the card's siblings and the active plan."""
    from ..scheduling.daily_load import Workload

    now = now or ws.now()
    clock = ws.day_clock()
    plan = active_plan(ws, clock.today(now))
    flt = plan_filter(ws.config.plan) if plan is not None else None
    return Workload.from_store(conn, ws.config.schedule, clock, now, plan=plan, plan_filter=flt)


def live_scheduler(ws: Workspace, conn: sqlite3.Connection) -> CardScheduler:
    """The scheduler of live grades and their previews: with the workload attached when anything
    chooses the day (load balancing, breaks, a plan; always with fuzz on)."""
    scheduler = ws.scheduler()
    cfg = ws.config.schedule
    if (cfg.enable_fuzzing and (cfg.load_balance or cfg.breaks)) or ws.config.plan.active:
        scheduler.workload = workload(ws, conn)
    return scheduler


def plan_new(ws: Workspace, conn: sqlite3.Connection, flt: CardFilter | None) -> PlanNew | None:
    """The plan's new cards for today's queue: the selection (within ``flt``) and how many of them
    today's pace introduces (None: no plan, or no new card left in it)."""
    from ..scheduling.plan import new_pace
    from ..scheduling.queue import PlanNew
    from ..store import loads as store
    from ..store.db import dt_to_db

    clock = ws.day_clock()
    now = ws.now()
    today = clock.today(now)
    plan = active_plan(ws, today)
    selection = plan_filter(ws.config.plan) if plan is not None else None
    if plan is None or selection is None:
        return None
    remaining = len(store.new_cards_of(conn, selection))
    answered = store.first_answered_since(conn, selection, dt_to_db(clock.day_start(today)))
    if not remaining:
        return None
    pace, _ = new_pace(remaining + answered, today, plan.by)
    within = selection if flt is None else replace(flt, within=selection)
    return PlanNew(within, max(0, pace - answered))


# -- moving due dates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveReport:
    """What a postpone, an advance or a break does (or would do, with ``dry_run``)."""

    what: str
    moved: tuple[Moved, ...]
    dry_run: bool
    first: date
    """The first day of the load shown (today)."""
    before: tuple[int, ...]
    """Cards due on each day from ``first`` before the moves (today's with the overdue)."""
    after: tuple[int, ...]
    """The same after the moves."""
    safe: int | None = None
    """Postpone and advance: how many cards are safe to move (FSRS Helper's bounds)."""
    held: int = 0
    """Postpone: chosen cards the maximum interval keeps where they are."""
    candidates: int = 0
    """Cards that could be moved."""
    period: tuple[date, date] | None = None
    """A break's first and last day."""
    batch: str | None = None

    @property
    def recall_before(self) -> float | None:
        """Mean predicted recall of the moved cards on the day they were due."""
        return sum(m.recall_before for m in self.moved) / len(self.moved) if self.moved else None

    @property
    def recall_after(self) -> float | None:
        """The same on the day they move to."""
        return sum(m.recall_after for m in self.moved) / len(self.moved) if self.moved else None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "what": self.what,
            "dry_run": self.dry_run,
            "moved": len(self.moved),
            "candidates": self.candidates,
            "safe": self.safe,
            "held_by_maximum_interval": self.held,
            "period": None if self.period is None else [d.isoformat() for d in self.period],
            "recall_before": None if self.recall_before is None else round(self.recall_before, 4),
            "recall_after": None if self.recall_after is None else round(self.recall_after, 4),
            "batch": self.batch,
            "load": [
                {"day": (self.first + timedelta(days=i)).isoformat(), "before": b, "after": a}
                for i, (b, a) in enumerate(zip(self.before, self.after, strict=True))
            ],
            "cards": [m.as_json() for m in self.moved],
        }


def curve_of(ws: Workspace) -> Curve:
    """The forgetting curve and desired retention moves are judged by."""
    from ..scheduling.memory import ForgettingCurve
    from ..scheduling.move_rules import Curve

    c = ForgettingCurve.from_parameters(ws.config.schedule.parameters)
    return Curve(c.decay, c.factor, ws.config.schedule.desired_retention)


def move_cards(
    ws: Workspace,
    conn: sqlite3.Connection,
    flt: CardFilter | None,
    *,
    due_from: date | None,
    due_to: date | None,
) -> list[MoveCard]:
    """The cards in review of ``flt`` due in ``[due_from, due_to)`` (review days; None: open)."""
    from ..scheduling.move_rules import MoveCard
    from ..store import loads as store
    from ..store.db import dt_from_db, dt_to_db

    clock = ws.day_clock()
    rows = store.scheduled_cards(
        conn,
        flt,
        due_from=None if due_from is None else dt_to_db(clock.day_start(due_from)),
        due_to=None if due_to is None else dt_to_db(clock.day_start(due_to)),
    )
    out = []
    for r in rows:
        due, last = dt_from_db(r.due), dt_from_db(r.last_review)
        if due is None or last is None or not r.stability:
            continue
        out.append(MoveCard(r.id, r.uid, r.domain, clock.day_of(due), clock.day_of(last), float(r.stability)))
    return out


def _apply(
    ws: Workspace, conn: sqlite3.Connection, moved: list[Moved], why: str, extra: dict[str, str] | None = None
) -> str | None:
    from ..history.moves import DueMove, apply_moves

    return apply_moves(
        conn,
        [DueMove(m.card.card_id, m.card.due, m.after) for m in moved],
        why,
        ws.day_clock(),
        ws.now(),
        journal=ws.journal(),
        extra=extra,
    )


def postpone(ws: Workspace, flt: CardFilter | None, n: int, *, dry_run: bool = False) -> MoveReport:
    """Postpone the ``n`` due cards that suffer least from waiting (``move_rules.postpone``)."""
    from ..scheduling import move_rules as moves

    if n < 1:
        raise UsageError("postpone N: N is a number of cards, 1 or more")
    today = ws.day_clock().today(ws.now())
    with ws.connect(create=False) as conn:
        _check(conn, flt)
        cards = move_cards(ws, conn, flt, due_from=None, due_to=today + timedelta(days=1))
        moved, safe, held = moves.postpone(cards, n, today, curve_of(ws), ws.config.schedule.maximum_interval)
        return _report(ws, conn, "postpone", moved, dry_run, safe=safe, held=held, candidates=len(cards))


def advance(ws: Workspace, flt: CardFilter | None, n: int, *, dry_run: bool = False) -> MoveReport:
    """Bring forward the ``n`` cards not yet due that gain most (``move_rules.advance``)."""
    from ..scheduling import move_rules as moves

    if n < 1:
        raise UsageError("advance N: N is a number of cards, 1 or more")
    today = ws.day_clock().today(ws.now())
    with ws.connect(create=False) as conn:
        _check(conn, flt)
        cards = move_cards(ws, conn, flt, due_from=today + timedelta(days=1), due_to=None)
        moved, safe = moves.advance(cards, n, today, curve_of(ws))
        return _report(ws, conn, "advance", moved, dry_run, safe=safe, candidates=len(cards))


def take_break(
    ws: Workspace,
    flt: CardFilter | None,
    first: date,
    last: date,
    *,
    spread: int = 7,
    dry_run: bool = False,
) -> MoveReport:
    """Spread the cards due from ``first`` to ``last`` over the days before and after (``move_rules.spread_break``),
    and keep the period in ``[schedule] breaks`` so that later grades avoid it.

    Raises:
        UsageError: the period is reversed or already over, or ``spread`` is under 1.
    """
    from ..scheduling import move_rules as moves
    from ..scheduling.balance import DayRules
    from ..scheduling.daily_load import rules_of

    today = ws.day_clock().today(ws.now())
    if last < first:
        raise UsageError(f"break {first} {last}: the first day comes after the last")
    if last < today:
        raise UsageError(f"break {first} {last}: the period is over (today is {today})")
    if spread < 1:
        raise UsageError("--spread: at least 1 day")
    first = max(first, today)
    rules = rules_of(ws.config.schedule)
    rules = DayRules(rules.balance, rules.easy_days, (*rules.days_off, (first, last)), rules.siblings)
    with ws.connect(create=False) as conn:
        _check(conn, flt)
        cards = move_cards(ws, conn, flt, due_from=None, due_to=last + timedelta(days=1))
        load = workload(ws, conn).load
        moved = moves.spread_break(cards, first, last, today, load, curve_of(ws), rules, spread)
        days = (last - today).days + spread + 1
        period = {"period": f"{first.isoformat()}/{last.isoformat()}"}
        report = _report(
            ws, conn, "break", moved, dry_run, candidates=len(moved), days=days, load=load, extra=period
        )
        report = replace(report, period=(first, last))
        if not dry_run:
            _remember_break(ws, first, last)
        return report


def _remember_break(ws: Workspace, first: date, last: date) -> None:
    from ..vault.settings_file import set_vault_key

    period = f"{first.isoformat()}/{last.isoformat()}"
    breaks = [b for b in ws.config.schedule.breaks if b != period]
    set_vault_key(ws.config.vault, "schedule", "breaks", [*breaks, period])
    ws.config = replace(ws.config, schedule=replace(ws.config.schedule, breaks=(*breaks, period)))


def _report(
    ws: Workspace,
    conn: sqlite3.Connection,
    what: str,
    moved: list[Moved],
    dry_run: bool,
    *,
    days: int = FORECAST_DAYS,
    load: dict[date, int] | None = None,
    extra: dict[str, str] | None = None,
    **fields: Any,
) -> MoveReport:
    from ..scheduling.move_rules import load_change

    today = ws.day_clock().today(ws.now())
    if load is None:
        load = workload(ws, conn).load
    shown = max(days, max(((m.after - today).days + 1 for m in moved), default=0))
    before, after = load_change(load, moved, today, min(shown, 120))
    batch = None if dry_run else _apply(ws, conn, moved, what, extra)
    return MoveReport(what, tuple(moved), dry_run, today, tuple(before), tuple(after), batch=batch, **fields)


def _check(conn: sqlite3.Connection, flt: CardFilter | None) -> None:
    from .workspace import check_filter

    if flt is not None:
        check_filter(conn, flt)


def undo_last(ws: Workspace, what: str) -> UndoneMoves:
    """Undo the latest ``postpone``, ``advance`` or ``break`` (a break's period is forgotten too)."""
    from ..history.moves import undo_moves

    with ws.connect(create=False) as conn:
        done = undo_moves(conn, what, ws.day_clock(), ws.now(), journal=ws.journal())
    breaks = list(ws.config.schedule.breaks)
    period = (done.data or {}).get("period")
    if what == "break" and done.batch is None and breaks:
        period = breaks[-1]  # a break that moved no card: its period is what there is to undo
        done = replace(done, data={"period": period})
    if what == "break" and period in breaks:
        from ..vault.settings_file import set_vault_key

        rest = [b for b in breaks if b != period]
        set_vault_key(ws.config.vault, "schedule", "breaks", rest or None)
    return done


# -- a date to be ready by ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanReport:
    """A plan: its settings, the days left, the projection and the new-card pace."""

    plan: PlanConfig
    today: date
    cards: int
    new_cards: int
    pace: int
    """New cards of the selection introduced per day."""
    intro_until: date
    """The last day new cards of the selection are introduced."""
    projection: Projection | None
    at_target_now: float | None = None
    """The share of the selection whose predicted recall on the date, without another review, is at
    least the target (None: the date has come)."""
    moved: tuple[Moved, ...] = ()
    dry_run: bool = False
    written: str | None = None
    """The vault's settings file the plan was written to."""

    @property
    def days_left(self) -> int:
        """Days until the date (0: today or past)."""
        from ..config import parse_day

        by = parse_day(self.plan.by)
        return 0 if by is None else max(0, (by - self.today).days)

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        p = self.plan
        out: dict[str, Any] = {
            "by": p.by,
            "target": p.target,
            "selection": {
                "deck": p.deck or None,
                "domains": list(p.domains),
                "tags": list(p.tags),
                "notes": list(p.notes),
            },
            "since": p.since or None,
            "days_left": self.days_left,
            "cards": self.cards,
            "new_cards": self.new_cards,
            "new_per_day": self.pace,
            "new_until": self.intro_until.isoformat(),
            "at_target_now": None if self.at_target_now is None else round(self.at_target_now, 4),
            "moved": len(self.moved),
            "dry_run": self.dry_run,
        }
        pr = self.projection
        if pr is not None:
            n = max(1, len(pr.cards))
            out["at_target_planned"] = round(pr.at_target("planned") / n, 4)
            out["at_target_without_plan"] = round(pr.at_target("unplanned") / n, 4)
            out["reviews"] = sum(pr.reviews.values())
            out["reviews_without_plan"] = sum(pr.reviews_without.values())
            out["reviews_per_day"] = [
                {"day": d.isoformat(), "reviews": c} for d, c in sorted(pr.reviews.items())
            ]
            out["domains"] = [
                {"domain": d, "cards": k, "recall_now": round(now, 4), "recall_planned": round(pl, 4)}
                for d, k, now, pl in pr.by_domain()
            ]
        return out


def plan_status(ws: Workspace, *, project: bool = True) -> PlanReport | None:
    """The active plan and its projection (None: no plan)."""
    plan = ws.config.plan
    if not plan.active:
        return None
    with ws.connect(create=False) as conn:
        return _plan_report(ws, conn, plan, project=project)


def _plan_report(
    ws: Workspace, conn: sqlite3.Connection, plan: PlanConfig, *, project: bool, moved: tuple[Moved, ...] = ()
) -> PlanReport:
    from ..config import parse_day
    from ..scheduling.daily_load import plan_of, rules_of
    from ..scheduling.memory import CardSchedule
    from ..scheduling.plan import new_pace
    from ..scheduling.plan import project as simulate
    from ..store import loads as store
    from ..store.cards import schedules
    from ..store.db import dt_from_db

    clock = ws.day_clock()
    now = ws.now()
    today = clock.today(now)
    by = parse_day(plan.by) or today
    selection = plan_filter(plan)
    if selection is None:
        return PlanReport(plan, today, 0, 0, 0, today, None)
    rows = store.scheduled_cards(conn, selection, states=("review", "learning", "relearning"))
    new = store.new_cards_of(conn, selection)
    pace, until = new_pace(len(new), today, by)
    projection = None
    p = plan_of(plan, ws.config.schedule)
    at_target = None
    if p is not None and today < p.by and (rows or new):
        reached = 0
        for r in rows:
            last = dt_from_db(r.last_review)
            if (
                last is not None
                and r.stability
                and p.recall((p.by - clock.day_of(last)).days, r.stability) >= p.target
            ):
                reached += 1
        at_target = reached / (len(rows) + len(new))
    if project and p is not None and today < p.by:
        ids = [r.id for r in rows] + [i for i, _, _ in new]
        domains = {r.id: (r.uid, r.domain) for r in rows}
        domains.update({i: (u, d) for i, u, d in new})
        cards = []
        for raw in schedules(conn, ids):
            cid = int(raw.pop("id"))
            uid, domain = domains[cid]
            cards.append((uid, domain, CardSchedule.from_raw(raw)))
        projection = simulate(cards, ws.scheduler(), p, now, rules=rules_of(ws.config.schedule),
                              new_per_day=ws.config.schedule.new_per_day,
                              moved={m.card.uid: m.after for m in moved})  # fmt: skip
    return PlanReport(plan, today, len(rows) + len(new), len(new), pace, until, projection, at_target, moved)


def set_plan(
    ws: Workspace,
    *,
    by: date,
    target: float = 0.95,
    deck: str | None = None,
    domains: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    dry_run: bool = False,
) -> PlanReport:
    """Make (or replace) the plan: written to the vault's ``[plan]``, and the cards that would
    otherwise miss the target on the date moved into their windows (one ``move`` event each).

    Raises:
        UsageError: no selection, a date not after today, or a target outside 0.5-0.99.
    """
    from ..config import PlanConfig
    from ..scheduling.daily_load import plan_of, rules_of
    from ..scheduling.plan import plan_moves

    today = ws.day_clock().today(ws.now())
    if by <= today:
        raise UsageError(f"--by {by}: the date must be after today ({today})")
    if not 0.5 <= target <= 0.99:
        raise UsageError(f"--target {target}: between 0.5 and 0.99")
    if deck:
        recipe = ws.deck(deck)
        assert recipe is not None
        domains, tags, notes = (*domains, *recipe.domains), (*tags, *recipe.tags), (*notes, *recipe.notes)
    if not (domains or tags or notes):
        raise UsageError("plan: choose the cards with --deck, --domain, --tag or --note")
    plan = PlanConfig(by.isoformat(), target, deck or "", tuple(dict.fromkeys(domains)),
                      tuple(dict.fromkeys(t.lstrip("#") for t in tags)), tuple(dict.fromkeys(notes)),
                      today.isoformat())  # fmt: skip
    p = plan_of(plan, ws.config.schedule)
    assert p is not None
    selection = plan_filter(plan)
    with ws.connect(create=False) as conn:
        cards = move_cards(ws, conn, selection, due_from=None, due_to=None)
        load = workload(ws, conn).load
        moved = plan_moves(cards, p, today, load, curve_of(ws), rules_of(ws.config.schedule))
        written = None
        if not dry_run:
            written = str(_write_plan(ws, plan))
            _apply(ws, conn, moved, "plan")
        report = _plan_report(ws, conn, plan, project=True, moved=tuple(moved))
    return replace(report, dry_run=dry_run, written=written)


def _write_plan(ws: Workspace, plan: PlanConfig | None) -> object:
    from ..config import PlanConfig
    from ..vault.settings_file import set_vault_table

    values = None
    if plan is not None:
        values = {"by": plan.by, "target": plan.target}
        if plan.deck:
            values["deck"] = plan.deck
        for key in ("domains", "tags", "notes"):
            if getattr(plan, key):
                values[key] = list(getattr(plan, key))
        values["since"] = plan.since
    path = set_vault_table(ws.config.vault, "plan", values)
    ws.config = replace(ws.config, plan=plan or PlanConfig())
    return path


def workload_summary(ws: Workspace, conn: sqlite3.Connection) -> dict[str, Any]:
    """What shapes the coming days, for ``stats`` and ``report``: load balancing, easy days, the
    breaks not over yet and the active plan (``plan --json`` without its projection)."""
    from ..config import parse_period

    cfg = ws.config.schedule
    today = ws.day_clock().today(ws.now())
    breaks = [p for p in (parse_period(b) for b in cfg.breaks) if p is not None and p[1] >= today]
    plan = None
    if ws.config.plan.active:
        plan = _plan_report(ws, conn, ws.config.plan, project=False).as_json()
    return {
        "load_balance": cfg.load_balance and cfg.enable_fuzzing,
        "easy_days": list(cfg.easy_days),
        "breaks": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in sorted(breaks)],
        "plan": plan,
    }


def clear_plan(ws: Workspace) -> PlanConfig | None:
    """End the plan (the ``[plan]`` table leaves the vault's settings); the cards keep their days.
    Returns the plan that was ended (None: there was none)."""
    plan = ws.config.plan
    if not plan.active:
        return None
    _write_plan(ws, None)
    return plan
