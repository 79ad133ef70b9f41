"""Figures about a workspace: statistics, the concept graph, the progress report, fitted parameters.

Read-only over the database, except ``optimize``, which writes the fitted parameters into
the config file (comments kept) and, asked to, recomputes every card's schedule after a
snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..insights.graph import ConceptGraph, Neighbourhood
    from ..insights.stats import Stats
    from ..scheduling.optimize import Fit
    from ..store.filters import CardFilter
    from .workspace import Workspace


def stats(ws: Workspace, flt: CardFilter, *, days: int, charts: bool) -> Stats:
    """Every figure of ``stats`` (``charts``: with the chart series of ``--json``)."""
    from ..core.workers import cyclic_gc_paused
    from ..insights.stats import compute_stats
    from .workload import workload_summary
    from .workspace import check_filter

    cfg = ws.config
    # The whole review log is read into tuples (no cycles): no collection walks them meanwhile.
    with ws.connect(create=False) as conn, cyclic_gc_paused():
        check_filter(conn, flt)
        return compute_stats(
            conn,
            ws.day_clock(),
            ws.now(),
            flt=flt,
            days=days,
            keep_streak_on_empty_days=cfg.stats.keep_streak_on_empty_days,
            schedule=cfg.schedule,
            parameters=cfg.schedule.parameters,
            charts=charts,
            workload=workload_summary(ws, conn),
        )


def graph(ws: Workspace, *, days: int) -> ConceptGraph:
    """The concept graph: hubs, dangling concepts, orphans, weak concepts."""
    from ..insights.graph import concept_graph

    with ws.connect(create=False) as conn:
        return concept_graph(
            conn, ws.day_clock(), ws.now(), days=days, parameters=ws.config.schedule.parameters
        )


def neighbourhood(ws: Workspace, note: str, *, days: int) -> Neighbourhood:
    """One concept's links in and out, each neighbour with its cards and retention."""
    from ..insights.graph import neighbourhood as around

    with ws.connect(create=False) as conn:
        return around(
            conn, ws.day_clock(), ws.now(), note, days=days, parameters=ws.config.schedule.parameters
        )


def report(ws: Workspace, flt: CardFilter, out: Path, *, days: int) -> int:
    """Write the progress report page to ``out``; its size in bytes.

    Raises:
        ReportDependencyMissing: a package of the ``report`` extra is not installed
            (checked before the database is opened).
    """
    from ..insights.report import render_html, report_data, require_packages
    from .workload import workload_summary
    from .workspace import check_filter

    require_packages()
    cfg = ws.config
    with ws.connect() as conn:
        check_filter(conn, flt)
        data = report_data(
            conn,
            ws.day_clock(),
            ws.now(),
            flt=flt,
            days=days,
            keep_streak_on_empty_days=cfg.stats.keep_streak_on_empty_days,
            schedule=cfg.schedule,
            parameters=cfg.schedule.parameters,
            workload=workload_summary(ws, conn),
        )
    page = render_html(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out.stat().st_size


def optimize(
    ws: Workspace, *, revlog: Path | None, dry_run: bool, reschedule: bool, retention: bool
) -> tuple[Fit, dict[str, object]]:
    """Fit FSRS parameters to the review history (or ``revlog``) and adopt them if they are better.

    Returns:
        The fit, and what was done with it (``config_written``, ``reschedule``).

    Raises:
        SrsError: the optimizer extra is not installed.
    """
    from ..scheduling.optimize import Answer, fit, read_revlog, require_optimizer, write_parameters

    require_optimizer()
    cfg = ws.config
    if revlog is not None:
        answers = read_revlog(revlog)
    else:
        from ..store.db import dt_from_db
        from ..store.schedules import logged_reviews

        with ws.connect(create=False) as conn:
            answers, last = [], None
            for r in logged_reviews(conn):
                at = dt_from_db(r.reviewed_at)
                assert at is not None
                reset = r.card_id == last and r.state_before == "new"
                answers.append(Answer(r.uid, at, r.rating, reset=reset, state=r.state_before))
                last = r.card_id
    result = fit(answers, ws.day_clock(), cfg.schedule.parameters, schedule=cfg.schedule, retention=retention)
    extra: dict[str, object] = {}
    written = False
    if result.enough and result.adopt and not dry_run:
        write_parameters(cfg.config_path, result.parameters)
        written = True
    if reschedule and result.enough and result.adopt:
        extra["reschedule"] = _reschedule(ws, result.parameters, apply=not dry_run)
    extra["config_written"] = str(cfg.config_path) if written else None
    return result, extra


def _reschedule(ws: Workspace, parameters: tuple[float, ...], *, apply: bool) -> dict[str, Any]:
    from ..scheduling.memory import CardScheduler
    from ..scheduling.reschedule import recompute, workload, write_recomputed
    from ..store.backup import backup_database

    clock = ws.day_clock()
    t = ws.now()
    sched = CardScheduler(replace(ws.config.schedule, parameters=parameters), clock)
    with ws.connect(create=False) as conn:
        result = recompute(conn, sched, t)
        active = {cid for cid, (before, _) in result.items() if not before.suspended}
        before = workload([b.due for cid, (b, _) in result.items() if cid in active], clock, t)
        after = workload([a.due for cid, (_, a) in result.items() if cid in active], clock, t)
        out: dict[str, Any] = {
            "cards": len(result),
            "next_7_days": {"before": before.next_7_days, "after": after.next_7_days},
            "next_30_days": {"before": before.next_30_days, "after": after.next_30_days},
            "changed": 0,
            "backup": None,
        }
        if apply and result:
            out["backup"] = str(backup_database(conn, ws.backup_folder(), "optimize", t))
            out["changed"] = write_recomputed(conn, result)
            _record_new_days(ws, conn, result)
    return out


def _record_new_days(ws: Workspace, conn: Any, result: dict[int, tuple[Any, Any]]) -> None:
    """Journal the review days the recompute gave (``move`` events): a replay takes the days grades
    recorded, so without these a rebuild would put the cards back on their old days."""
    from ..history.moves import DueMove, record_moves

    clock = ws.day_clock()
    moves = []
    for cid, (before, after) in result.items():
        if after.state == "review" and after.due is not None and before.due is not None:
            old, new = clock.day_of(before.due), clock.day_of(after.due)
            if old != new:
                moves.append(DueMove(cid, old, new))
    record_moves(conn, moves, "reschedule", ws.now(), journal=ws.journal())
