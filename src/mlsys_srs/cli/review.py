"""Review commands: ``review``, ``due``, ``suspend``, ``unsuspend``, ``bury``, ``reset``.

``due`` must feel instant: it imports neither fsrs, the Markdown renderer nor
the exporter (``memory`` imports fsrs only inside the functions that grade).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..fmt import inert, plural
from .context import (
    DeckOpt,
    DomainOpt,
    JsonOpt,
    NoteOpt,
    TagOpt,
    card_filter,
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
) -> None:
    """Review today's cards in the terminal.

    Syncs the vault first, then shows each due card: press space or Enter to
    see the answer, then 1 Again, 2 Hard, 3 Good or 4 Easy (each shows the
    interval it would give). u undoes (repeatable), b buries the card until
    tomorrow, s suspends it, e opens its note in $EDITOR at the card's line
    and continues with the edited card, q quits. Every answer is saved at
    once: quitting, Ctrl-C or a closed terminal loses nothing answered.
    """
    if not sys.stdin.isatty():
        err_console().print(
            "review needs a terminal (stdin is not a terminal); run it in an interactive shell. "
            "`mlsys-srs due` prints what is due.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    from ..queue import todays_queue
    from ..review import Terminal, render_summary, run_screen
    from ..session import Session
    from ..sync import sync_vault
    from .notes import run_sync

    flt = card_filter(ctx, domain, tag, note, deck)
    editor = _editor(ctx)
    report = run_sync(ctx)
    if report.errors:
        err_console().print(
            f"{plural(len(report.errors), 'problem')} in notes; those cards were skipped "
            "(`mlsys-srs check` lists them)"
        )
    cfg = state(ctx).config
    clock = day_clock(ctx)
    with open_store(ctx) as conn:
        queue = todays_queue(conn, cfg.schedule, clock, now(), flt, new_limit=new, total_limit=limit)
        from ..stats import review_streak

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
        )
        if session.finished:
            _nothing_due(ctx, flt)
            return

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
            run_screen(session, term, editor=editor, vault=cfg.vault, resync=resync)
        for notice in session.pop_notices():
            console().print(notice)
        console().print(render_summary(session.summary(), now(), clock.tz))


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
    from ..fmt import format_when
    from ..queue import due_summary

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
    from ..queue import due_summary

    flt = card_filter(ctx, domain, tag, note, deck)
    clock = day_clock(ctx)
    t = now()
    with open_store(ctx, create=False) as conn:
        summary = due_summary(conn, state(ctx).config.schedule, clock, t, flt)
    if as_json:
        emit_json(summary.as_json())
        return
    from rich.table import Table

    from ..fmt import format_when

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
    from .. import grading

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
