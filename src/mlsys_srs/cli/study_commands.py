"""Review commands: ``review``, ``due``, ``suspend``, ``unsuspend``, ``bury``, ``reset``.

``due`` must feel instant: it imports neither fsrs, the Markdown renderer nor
the exporter (``memory`` imports fsrs only inside the functions that grade).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.fmt import inert, plural
from .context import (
    DeckOpt,
    DomainOpt,
    JsonOpt,
    NoteOpt,
    TagOpt,
    card_filter,
    console,
    emit_json,
    err_console,
    now,
    workspace,
)
from .output import records, styled

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app.study import Change, StudyPlan
    from ..app.workspace import CardFilter

IdsArg = Annotated[
    list[int],
    typer.Argument(metavar="CARD_ID", help="Card ids (as `cards` and the review screen show them)."),
]


app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


@app.command()
def review(
    ctx: typer.Context,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many cards in this session.")
    ] = None,
    new: Annotated[
        int | None,
        typer.Option(
            "--new", min=0, help="New cards for this session, instead of what is left of the daily limit."
        ),
    ] = None,
    cram: Annotated[
        bool,
        typer.Option(
            "--cram",
            help="Study every card of the filters, due or not, lowest recall first; schedules unchanged.",
        ),
    ] = False,
    ahead: Annotated[
        int | None,
        typer.Option(
            "--ahead", min=1, metavar="DAYS", help="Study the cards due in the next DAYS days early."
        ),
    ] = None,
    forgotten: Annotated[
        int | None,
        typer.Option(
            "--forgotten", min=1, metavar="DAYS", help="Study the cards failed in the last DAYS days."
        ),
    ] = None,
    weak: Annotated[
        int | None,
        typer.Option(
            "--weak", min=1, metavar="N", help="Study the cards of the N weakest concepts (`graph`)."
        ),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Read new cards with their answers; nothing is logged.")
    ] = False,
    reschedule: Annotated[
        bool,
        typer.Option(
            "--reschedule",
            help="With a study mode: grade as a normal review, so the scheduler sets the due dates.",
        ),
    ] = False,
) -> None:
    """Review today's cards in the terminal, or study outside the schedule.

    Syncs the vault first, then shows each due card: press space or Enter to
    see the answer, then 1 Again, 2 Hard, 3 Good or 4 Easy (each shows the
    interval it would give). j/k, arrows and PgUp/PgDn scroll a tall card; u
    undoes (repeatable), b buries the card until tomorrow, s suspends it, e
    opens its note in the editor at the card's line and continues with the
    edited card, o opens an embedded image, q quits. Every answer is saved at
    once: quitting, Ctrl-C or a closed terminal loses nothing answered.

    Study modes (--cram, --ahead, --forgotten, --weak, --preview) change no
    card's schedule: their answers are logged as cram events, shown in
    `stats` and kept out of retention and `optimize`. --reschedule grades them
    as normal reviews instead.
    """
    from ..app.study import study_plan

    plan = study_plan(
        cram=cram,
        ahead=ahead,
        forgotten=forgotten,
        weak=weak,
        preview=preview,
        reschedule=reschedule,
        new=new,
        limit=limit,
    )
    if not sys.stdin.isatty():
        err_console().print(
            "review needs a terminal (stdin is not a terminal); run it in an interactive shell. "
            "`mlsys-srs due` prints what is due.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    from ..core.workers import cyclic_gc_deferred

    # No cyclic collection until the first card is drawn: none of what start-up allocates
    # (imports, the day's queue) is cyclic garbage, and a full collection costs ~30 ms.
    with cyclic_gc_deferred() as resume_gc:
        interrupted = _review(ctx, plan, card_filter(ctx, domain, tag, note, deck), resume_gc)
    if interrupted:
        raise typer.Exit(130)


def _review(
    ctx: typer.Context, plan: StudyPlan, flt: CardFilter, after_first_frame: Callable[[], None]
) -> bool:
    """``review`` on a terminal: sync, the session, the screen until it ends, the summary.

    ``after_first_frame`` is called once the first card is on screen. Returns True when the
    session ended by Ctrl-C.
    """
    from ..app.study import start_session
    from ..app.syncing import resync_note
    from ..review.screen import Terminal, render_summary, run_screen
    from .notes_commands import run_sync

    ws = workspace(ctx)
    editor = _editor(ctx)
    report = run_sync(ctx)
    problems = [f"{d.path}:{d.line}: {d.message}" for d in report.errors]
    with ws.connect() as conn:
        session = start_session(ws, conn, flt, plan, clock=now)
        if session.finished:
            for p in problems:
                err_console().print(p, markup=False, soft_wrap=True)
            if plan.mode is None:
                _nothing_due(ctx, flt)
            else:
                console().print(
                    f"No cards for {plan.label.split(' · ')[0]} with these filters.", soft_wrap=True
                )
            return False
        if problems:
            # Shown on the first card, before any answer (the alternate screen would hide a print).
            session.notify(
                f"{plural(len(problems), 'problem')} in notes; those cards were skipped "
                "(`mlsys-srs check` lists them): " + "; ".join(problems[:2])
            )

        def resync(path: str) -> list[str]:
            return [str(d) for d in resync_note(ws, conn, path)]

        def first_frame() -> None:
            after_first_frame()
            session.prepare()  # py-fsrs for the answer's intervals, while the question is read

        with Terminal(console()) as term:
            interrupted = run_screen(
                session,
                term,
                editor=editor,
                vault=ws.config.vault,
                resync=resync,
                after_first_frame=first_frame,
            )
        for notice in session.pop_notices():
            console().print(notice, markup=False, soft_wrap=True)
        for p in problems:
            err_console().print(p, markup=False, soft_wrap=True)
        console().print(render_summary(session.summary(), now(), ws.day_clock().tz))
    return interrupted


def _editor(ctx: typer.Context) -> str:
    """The editor command for ``e``, checked now: a broken one is an error before the review starts."""
    import shlex

    from ..errors import ConfigError

    cfg = workspace(ctx).config
    for source, value in (
        (f"review.editor in {cfg.config_path}", cfg.review.editor),
        ("$VISUAL", os.environ.get("VISUAL", "")),
        ("$EDITOR", os.environ.get("EDITOR", "")),
    ):
        if value:
            try:
                shlex.split(value)
            except ValueError as exc:
                raise ConfigError(
                    f"the editor command {inert(value)!r} ({source}) cannot be read: {exc}"
                ) from None
            return value
    return "vi"


def _nothing_due(ctx: typer.Context, flt: CardFilter) -> None:
    from ..app.study import due as due_now
    from ..core.fmt import format_when

    ws = workspace(ctx)
    summary = due_now(ws, flt)
    t, clock = ws.now(), ws.day_clock()
    msg = "Nothing due now."
    if summary.next_due is not None:
        msg += f" Next card due {format_when(summary.next_due, t, clock.tz)}."
    else:
        msg += " No cards are scheduled: write cards in your notes and run `mlsys-srs sync`."
    if summary.held_new:
        msg += (
            f" The daily new-card limit is reached ({plural(summary.held_new, 'new card')} waiting);"
            " `review --new N` introduces more."
        )
    console().print(msg, soft_wrap=True)


@app.command()
def due(
    ctx: typer.Context,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what is due: now, today and new cards available, by domain, and when the next card is due.

    Counts follow the review queue's rules (daily limits, siblings, buried and
    suspended cards). Does not sync the vault.
    """
    from ..app.study import due as due_now

    ws = workspace(ctx)
    flt = card_filter(ctx, domain, tag, note, deck)
    summary = due_now(ws, flt)
    t, clock = ws.now(), ws.day_clock()
    if as_json:
        emit_json(summary.as_json())
        return

    from ..core.fmt import format_when

    c = console()
    learning = f" ({summary.learning_today} learning)" if summary.learning_today else ""
    c.print(
        styled(
            (str(summary.due_now), "bold"),
            " due now · ",
            (str(summary.due_today), "bold"),
            f" due today{learning} · ",
            (str(summary.new_available), "bold"),
            " new" + (f" ({summary.held_new} more over the daily limit)" if summary.held_new else ""),
        ),
        soft_wrap=True,
    )
    if summary.domains:
        records(
            c,
            None,
            ["domain", "now", "today", "new"],
            [[d.domain, str(d.due_now), str(d.due_today), str(d.new)] for d in summary.domains],
            name=0,
            right=(1, 2, 3),
            name_last=False,
        )
    if not (summary.due_now or summary.new_available):
        if summary.next_due is not None:
            c.print(f"next card due: {format_when(summary.next_due, t, clock.tz)}")
        else:
            c.print("no cards are scheduled")
    if summary.plan is not None:
        from .workload_commands import plan_line

        c.print(plan_line(summary.plan), soft_wrap=True)


def _change(ctx: typer.Context, ids: list[int], as_json: bool, verb: str, action: Change) -> None:
    from ..app.study import change

    rows = change(workspace(ctx), ids, action)
    if as_json:
        emit_json(rows)
    else:
        unique = list(dict.fromkeys(ids))
        console().print(f"{verb} {plural(len(unique), 'card')}: {', '.join(map(str, unique))}")


@app.command()
def suspend(ctx: typer.Context, ids: IdsArg, as_json: JsonOpt = False) -> None:
    """Suspend cards: they are never shown until unsuspended."""
    _change(ctx, ids, as_json, "suspended", "suspend")


@app.command()
def unsuspend(ctx: typer.Context, ids: IdsArg, as_json: JsonOpt = False) -> None:
    """Unsuspend cards (including leeches, once rewritten)."""
    _change(ctx, ids, as_json, "unsuspended", "unsuspend")


@app.command()
def bury(ctx: typer.Context, ids: IdsArg, as_json: JsonOpt = False) -> None:
    """Hide cards until the next review day starts."""
    _change(ctx, ids, as_json, "buried until tomorrow", "bury")


@app.command()
def reset(ctx: typer.Context, ids: IdsArg, as_json: JsonOpt = False) -> None:
    """Make cards new again, forgetting their schedule; their review history is kept."""
    _change(ctx, ids, as_json, "reset", "reset")
