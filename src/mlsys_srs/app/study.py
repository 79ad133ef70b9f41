"""Studying: what is due, a review session (the day's queue or a study mode), grading, card changes.

A front end asks ``start_session`` for a ``Session`` (the state machine of ``review.session``)
and drives it with keys or clicks; every answer goes through ``history.grading``, so the
journal, the leech rule and one commit per grade are the same from the terminal, a script
(``grade``) and the web page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UsageError

if TYPE_CHECKING:
    import sqlite3

    from ..history.grading import GradeResult
    from ..review.session import Session
    from ..scheduling.cardinfo import CardReport
    from ..scheduling.queue import DueSummary
    from ..store.cards import CardView
    from ..store.filters import CardFilter
    from .workspace import Workspace

StudyMode = Literal["cram", "ahead", "forgotten", "weak", "preview"]
"""A way of studying outside the schedule (``review --cram`` and the others)."""

Change = Literal["suspend", "unsuspend", "bury", "reset"]

RATING_NAMES = {"again": 1, "hard": 2, "good": 3, "easy": 4}


def parse_rating(text: str) -> int:
    """``1``-``4`` or ``again``/``hard``/``good``/``easy`` (any case).

    Raises:
        UsageError: anything else.
    """
    t = text.strip().lower()
    if t in RATING_NAMES:
        return RATING_NAMES[t]
    if t in ("1", "2", "3", "4"):
        return int(t)
    raise UsageError(f"rating {text!r}: use 1-4 or again, hard, good, easy")


def resolve_card(conn: sqlite3.Connection, text: str) -> int:
    """A card named by its local id (as ``cards`` shows it) or by its uid.

    Raises:
        CardNotFound: no such card.
    """
    from ..errors import CardNotFound
    from ..store.cards import card_ids_by_uid, load_card

    if text.isdigit() and len(text) <= 18 and load_card(conn, int(text)) is not None:
        return int(text)
    hit = card_ids_by_uid(conn, [text])
    if text in hit:
        return hit[text]
    raise CardNotFound(f"no card with id {text[:40]}")


def due(ws: Workspace, flt: CardFilter) -> DueSummary:
    """What is due now and today, and the new cards available, by domain, and the active plan (no sync)."""
    from dataclasses import replace

    from ..scheduling.queue import due_summary
    from .workload import plan_new, plan_status
    from .workspace import check_filter

    with ws.connect(create=False) as conn:
        check_filter(conn, flt)
        summary = due_summary(
            conn, ws.config.schedule, ws.day_clock(), ws.now(), flt, plan_new(ws, conn, flt)
        )
    plan = plan_status(ws, project=False)
    return summary if plan is None else replace(summary, plan=plan.as_json())


@dataclass(frozen=True)
class StudyPlan:
    """What a review session studies: the day's queue, or one study mode with its argument."""

    mode: StudyMode | None = None
    days: int = 0
    """``ahead`` and ``forgotten``: how many days."""
    weak: int = 0
    """``weak``: how many of the weakest concepts."""
    reschedule: bool = False
    """A study mode's answers are graded as normal reviews."""
    new: int | None = None
    """New cards for this session, instead of what is left of the daily limit."""
    limit: int | None = None
    """At most this many cards."""

    @property
    def label(self) -> str:
        """How the session's header names it ("" for the day's queue)."""
        if self.mode is None:
            return ""
        name = {
            "cram": "cram",
            "ahead": f"ahead {self.days}d",
            "forgotten": f"forgotten {self.days}d",
            "weak": f"weak {self.weak}",
            "preview": "preview",
        }[self.mode]
        if self.reschedule:
            return name + " · rescheduling"
        return name + (" · schedule unchanged" if self.mode != "preview" else "")

    @property
    def grading(self) -> Literal["review", "cram", "preview"]:
        """How the session's answers are logged."""
        if self.mode is None or self.reschedule:
            return "review"
        return "preview" if self.mode == "preview" else "cram"


def study_plan(
    *,
    cram: bool = False,
    ahead: int | None = None,
    forgotten: int | None = None,
    weak: int | None = None,
    preview: bool = False,
    reschedule: bool = False,
    new: int | None = None,
    limit: int | None = None,
) -> StudyPlan:
    """The plan of ``review``'s options (``--cram``, ``--ahead`` ...), checked.

    Raises:
        UsageError: two study modes, or ``--reschedule`` without one (or with ``--preview``).
    """
    chosen: tuple[tuple[StudyMode, object], ...] = (
        ("cram", cram and not (ahead or forgotten or weak or preview)),
        ("ahead", ahead),
        ("forgotten", forgotten),
        ("weak", weak),
        ("preview", preview),
    )
    modes = [m for m, on in chosen if on]
    if len(modes) > 1:
        raise UsageError("choose one of --ahead, --forgotten, --weak and --preview")
    if reschedule and not (modes or cram):
        raise UsageError("--reschedule goes with a study mode (--cram, --ahead, --forgotten or --weak)")
    if reschedule and preview:
        raise UsageError("--preview logs nothing, so it has nothing to reschedule")
    return StudyPlan(
        modes[0] if modes else None,
        ahead or forgotten or 0,
        weak or 0,
        reschedule,
        new,
        limit,
    )


def start_session(
    ws: Workspace,
    conn: sqlite3.Connection,
    flt: CardFilter,
    plan: StudyPlan,
    *,
    clock: Callable[[], datetime],
) -> Session:
    """A review session over ``conn`` (open for the session's length): the day's queue or the plan's mode.

    ``clock`` is the front end's clock, read by the session at each answer.
    """
    from ..insights.streaks import review_streak
    from ..review.session import Session
    from ..scheduling.queue import study_queue, todays_queue
    from .workload import live_scheduler, plan_new
    from .workspace import check_filter

    cfg = ws.config
    day = ws.day_clock()
    check_filter(conn, flt)
    t = ws.now()
    if plan.mode is None:
        queue = todays_queue(
            conn,
            cfg.schedule,
            day,
            t,
            flt,
            new_limit=plan.new,
            total_limit=plan.limit,
            plan_new=plan_new(ws, conn, flt),
        )
    else:
        note_ids = weakest_notes(ws, conn, plan.weak) if plan.mode == "weak" and plan.weak else None
        queue = study_queue(
            conn,
            cfg.schedule,
            day,
            t,
            flt,
            mode=plan.mode,
            days=plan.days,
            note_ids=note_ids,
            total_limit=plan.limit,
        )
    keep = cfg.stats.keep_streak_on_empty_days
    return Session(
        conn,
        queue,
        schedule=cfg.schedule,
        review=cfg.review,
        clock=day,
        now=clock,
        flt=flt,
        scheduler=live_scheduler(ws, conn) if plan.grading == "review" else None,
        streak_of=lambda at: review_streak(conn, day, at, keep_streak_on_empty_days=keep).current,
        journal=ws.journal(),
        mode=plan.grading,
        mode_label=plan.label,
    )


def weakest_notes(ws: Workspace, conn: sqlite3.Connection, n: int) -> list[int]:
    """The note ids of the ``n`` weakest concepts, as `graph` ranks them."""
    from ..insights.graph import concept_graph

    g = concept_graph(conn, ws.day_clock(), ws.now(), parameters=ws.config.schedule.parameters)
    return [w.note.id for w in g.weak[:n]]


def grade(ws: Workspace, card: str, rating: int) -> tuple[int, GradeResult]:
    """Answer one card (by id or uid) exactly as the review screen would: journal, leech rule, one commit.

    Returns:
        The card's id and the grade's result.
    """
    from ..history.grading import grade_card
    from .workload import live_scheduler

    cfg = ws.config
    with ws.connect(create=False) as conn:
        card_id = resolve_card(conn, card)
        result = grade_card(
            conn,
            live_scheduler(ws, conn),
            card_id,
            rating,
            ws.now(),
            leech_threshold=cfg.schedule.leech_threshold,
            leech_action=cfg.schedule.leech_action,
            journal=ws.journal(),
        )
    return card_id, result


def change(ws: Workspace, ids: list[int], action: Change) -> list[dict[str, Any]]:
    """Suspend, unsuspend, bury (until the next review day) or reset cards; their states after.

    Each id counts once, whatever the number of times it is given.
    """
    from ..history import grading

    unique = list(dict.fromkeys(ids))
    from ..errors import CardNotFound

    too_big = [i for i in unique if not 0 < i < 2**63]
    if too_big:
        raise CardNotFound(f"no card with id {str(too_big[0])[:40]}")
    day = ws.day_clock()
    t = ws.now()
    j = ws.journal()
    with ws.connect(create=False) as conn:
        if action == "suspend":
            grading.set_suspended(conn, unique, True, t, journal=j)
        elif action == "unsuspend":
            grading.set_suspended(conn, unique, False, t, journal=j)
        elif action == "bury":
            grading.bury(conn, unique, day.day_end(day.today(t)), t, journal=j)
        else:
            grading.reset(conn, unique, t, journal=j)
        return grading.card_states(conn, unique)


def card_info(ws: Workspace, card: str) -> CardReport:
    """One card in full: memory state, recall now, what each grade would give, history, curve."""
    from ..scheduling.cardinfo import card_report
    from .workload import live_scheduler

    with ws.connect(create=False) as conn:
        return card_report(conn, card, live_scheduler(ws, conn), ws.now())


@dataclass(frozen=True)
class CardList:
    """Cards found by ``cards``: the rows shown, their recall now, and how many matched in all."""

    rows: list[CardView]
    recall: dict[int, float]
    total: int | None
    """Every match (``None``: not counted, when a plain listing stopped at its limit)."""


def find_cards(
    ws: Workspace,
    flt: CardFilter,
    *,
    search: str | None = None,
    max_recall: float | None = None,
    limit: int | None = None,
    with_recall: bool = True,
) -> CardList:
    """Cards of the filter (or the best matches of ``search``), with their recall now.

    ``limit`` caps the rows returned; ``total`` still counts every match of a search or a
    recall filter (a plain listing stops reading at its limit, and counts only when under it).
    """
    from ..scheduling.memory import ForgettingCurve
    from ..store.cards import list_cards, search_cards
    from .workspace import check_filter

    t = ws.now()
    with ws.connect(create=False) as conn:
        check_filter(conn, flt)
        fetch = None if (search or max_recall is not None) else limit
        rows = search_cards(conn, search, flt, None) if search else list_cards(conn, flt, fetch)
    recall: dict[int, float] = {}
    if max_recall is not None or with_recall:
        curve = ForgettingCurve.from_parameters(ws.config.schedule.parameters)
        day = ws.day_clock()
        for r in rows:
            if r.state != "new" and r.stability and r.last_review is not None:
                recall[r.id] = curve.at(t, r.last_review, r.stability, day)
    if max_recall is not None:
        rows = [r for r in rows if r.id in recall and recall[r.id] <= max_recall]
    total: int | None = len(rows)
    if limit:
        if fetch is not None and len(rows) >= limit:
            total = None
        rows = rows[:limit]
    return CardList(rows, recall, total)
