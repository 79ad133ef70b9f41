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
from ..errors import SrsError
from .context import (
    DeckOpt,
    DomainOpt,
    JsonOpt,
    NoteOpt,
    TagOpt,
    card_filter,
    check_filter,
    console,
    day_clock,
    emit_json,
    err_console,
    journal,
    now,
    open_store,
    state,
)

if TYPE_CHECKING:
    import sqlite3

    from ..store.filters import CardFilter

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
    modes = [
        m
        for m, on in (
            ("cram", cram and not (ahead or forgotten or weak or preview)),
            ("ahead", ahead),
            ("forgotten", forgotten),
            ("weak", weak),
            ("preview", preview),
        )
        if on
    ]
    if len(modes) > 1:
        raise SrsError("choose one of --ahead, --forgotten, --weak and --preview")
    if reschedule and not (modes or cram):
        raise SrsError("--reschedule goes with a study mode (--cram, --ahead, --forgotten or --weak)")
    if reschedule and preview:
        raise SrsError("--preview logs nothing, so it has nothing to reschedule")
    if not sys.stdin.isatty():
        err_console().print(
            "review needs a terminal (stdin is not a terminal); run it in an interactive shell. "
            "`mlsys-srs due` prints what is due.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    from ..review.screen import Terminal, render_summary, run_screen
    from ..review.session import Session
    from ..scheduling.queue import study_queue, todays_queue
    from ..sync import sync_vault
    from .notes_commands import run_sync

    flt = card_filter(ctx, domain, tag, note, deck)
    editor = _editor(ctx)
    report = run_sync(ctx)
    problems = [f"{d.path}:{d.line}: {d.message}" for d in report.errors]
    cfg = state(ctx).config
    clock = day_clock(ctx)
    mode = modes[0] if modes else None
    with open_store(ctx) as conn:
        check_filter(conn, flt)
        t = now()
        if mode is None:
            queue = todays_queue(conn, cfg.schedule, clock, t, flt, new_limit=new, total_limit=limit)
            label = ""
        else:
            note_ids = _weakest_notes(ctx, conn, weak) if mode == "weak" and weak else None
            days = ahead or forgotten or 0
            queue = study_queue(
                conn, cfg.schedule, clock, t, flt, mode=mode, days=days, note_ids=note_ids, total_limit=limit
            )
            label = {
                "cram": "cram",
                "ahead": f"ahead {days}d",
                "forgotten": f"forgotten {days}d",
                "weak": f"weak {weak}",
                "preview": "preview",
            }[mode] + (
                " · rescheduling" if reschedule else " · schedule unchanged" if mode != "preview" else ""
            )
        from ..insights.streaks import review_streak

        keep = cfg.stats.keep_streak_on_empty_days
        session = Session(
            conn,
            queue,
            schedule=cfg.schedule,
            review=cfg.review,
            clock=clock,
            now=now,
            flt=flt,
            streak_of=lambda t: review_streak(conn, clock, t, keep_streak_on_empty_days=keep).current,
            journal=journal(ctx),
            mode="review" if mode is None or reschedule else ("preview" if mode == "preview" else "cram"),
            mode_label=label,
        )
        if session.finished:
            for p in problems:
                err_console().print(p, markup=False, soft_wrap=True)
            if mode is None:
                _nothing_due(ctx, flt)
            else:
                console().print(f"No cards for {label.split(' · ')[0]} with these filters.", soft_wrap=True)
            return
        if problems:
            # Shown on the first card, before any answer (the alternate screen would hide a print).
            session.notify(
                f"{plural(len(problems), 'problem')} in notes; those cards were skipped "
                "(`mlsys-srs check` lists them): " + "; ".join(problems[:2])
            )

        def resync(path: str) -> list[str]:
            rep = sync_vault(
                conn,
                cfg.vault,
                now(),
                ignore=cfg.ignore,
                only=[path],
                highlight_cloze=cfg.parse.osr_highlight_cloze,
            )
            return [str(d) for d in rep.errors]

        with Terminal(console()) as term:
            interrupted = run_screen(session, term, editor=editor, vault=cfg.vault, resync=resync)
        for notice in session.pop_notices():
            console().print(notice, markup=False, soft_wrap=True)
        for p in problems:
            err_console().print(p, markup=False, soft_wrap=True)
        console().print(render_summary(session.summary(), now(), clock.tz))
    if interrupted:
        raise typer.Exit(130)


def _weakest_notes(ctx: typer.Context, conn: sqlite3.Connection, n: int) -> list[int]:
    """The note ids of the ``n`` weakest concepts, as `graph` ranks them."""
    from ..insights.graph import concept_graph

    cfg = state(ctx).config
    g = concept_graph(conn, day_clock(ctx), now(), parameters=cfg.schedule.parameters)
    return [w.note.id for w in g.weak[:n]]


def _editor(ctx: typer.Context) -> str:
    """The editor command for ``e``, checked now: a broken one is an error before the review starts."""
    import shlex

    from ..errors import ConfigError

    cfg = state(ctx).config
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
    from ..core.fmt import format_when
    from ..scheduling.queue import due_summary

    clock = day_clock(ctx)
    t = now()
    with open_store(ctx) as conn:
        summary = due_summary(conn, state(ctx).config.schedule, clock, t, flt)
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
    from ..scheduling.queue import due_summary

    flt = card_filter(ctx, domain, tag, note, deck)
    clock = day_clock(ctx)
    t = now()
    with open_store(ctx, create=False) as conn:
        check_filter(conn, flt)
        summary = due_summary(conn, state(ctx).config.schedule, clock, t, flt)
    if as_json:
        emit_json(summary.as_json())
        return
    from rich.table import Table

    from ..core.fmt import format_when

    c = console()
    learning = f" ({summary.learning_today} learning)" if summary.learning_today else ""
    c.print(
        f"[bold]{summary.due_now}[/] due now · [bold]{summary.due_today}[/] due today{learning} · "
        f"[bold]{summary.new_available}[/] new"
        + (f" ({summary.held_new} more over the daily limit)" if summary.held_new else ""),
        highlight=False,
        markup=True,
    )
    if summary.domains:
        t_ = Table(box=None, pad_edge=False, show_edge=False)
        t_.add_column("domain")
        t_.add_column("now", justify="right")
        t_.add_column("today", justify="right")
        t_.add_column("new", justify="right")
        for d in summary.domains:
            t_.add_row(d.domain, str(d.due_now), str(d.due_today), str(d.new))
        c.print(t_)
    if not (summary.due_now or summary.new_available):
        if summary.next_due is not None:
            c.print(f"next card due: {format_when(summary.next_due, t, clock.tz)}")
        else:
            c.print("no cards are scheduled")


def _change(ctx: typer.Context, ids: list[int], as_json: bool, verb: str, action: str) -> None:
    from ..history import grading

    clock = day_clock(ctx)
    t = now()
    j = journal(ctx)
    with open_store(ctx, create=False) as conn:
        if action == "suspend":
            grading.set_suspended(conn, ids, True, t, journal=j)
        elif action == "unsuspend":
            grading.set_suspended(conn, ids, False, t, journal=j)
        elif action == "bury":
            grading.bury(conn, ids, clock.day_end(clock.today(t)), t, journal=j)
        else:
            grading.reset(conn, ids, t, journal=j)
        rows = grading.card_states(conn, ids)
    if as_json:
        emit_json(rows)
    else:
        console().print(f"{verb} {plural(len(ids), 'card')}: {', '.join(map(str, ids))}")


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
