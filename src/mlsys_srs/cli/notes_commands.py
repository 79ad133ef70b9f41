"""Commands over notes and cards: ``info``, ``sync``, ``check``, ``cards``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.fmt import plural
from ..errors import SrsError
from .context import (
    DeckOpt,
    DomainOpt,
    NoteOpt,
    TagOpt,
    card_filter,
    check_filter,
    console,
    database_path,
    day_clock,
    emit_json,
    err_console,
    journal,
    now,
    open_store,
    state,
    writer_lock,
)

if TYPE_CHECKING:
    import sqlite3

    from rich.text import Text

    from ..parse import Diagnostic
    from ..sync import Progress, SyncReport

PROGRESS_THRESHOLD = 200
"""Notes to read before a progress bar is worth showing."""


def progress_bar() -> tuple[Progress, Callable[[], None]]:
    """A progress callback that shows a bar on stderr once there is enough work to watch."""
    holder: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_THRESHOLD or not err_console().is_terminal:
            return
        if "bar" not in holder:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(
                TextColumn("reading notes"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console(),
                transient=True,
            )
            bar.start()
            holder["bar"] = bar
            holder["task"] = bar.add_task("sync", total=total)
        holder["bar"].update(holder["task"], completed=done)

    def close() -> None:
        if "bar" in holder:
            holder["bar"].stop()

    return update, close


def print_diagnostics(diags: list[Diagnostic], limit: int | None = None) -> None:
    """Print diagnostics as ``path:line: message`` on stderr."""
    from rich.text import Text

    out = err_console()
    shown = diags if limit is None else diags[:limit]
    for d in shown:
        colour = "red" if d.severity == "error" else "yellow"
        out.print(Text.assemble((f"{d.path}:{d.line}:", colour), " ", d.message), soft_wrap=True)
    if limit is not None and len(diags) > limit:
        out.print(f"... and {len(diags) - limit} more (mlsys-srs check lists them all)")


def run_sync(ctx: typer.Context, *, quiet: bool = False, yes: bool = False) -> SyncReport:
    """Sync the configured vault, then merge the review journals of every device (sync, review, export).

    A sync that would retire most of the vault stops and asks (``--yes`` proceeds); once a day the
    database is snapshotted first.
    """
    from ..store.schedules import recompute_pending
    from ..sync import MassRetire, check_vault, sync_vault

    cfg = state(ctx).config
    check_vault(cfg.vault)  # before any database file is made
    update, close = progress_bar() if not quiet else (None, lambda: None)
    try:
        with writer_lock(ctx), open_store(ctx) as conn:
            t = now()
            daily_backup(ctx, conn, t)
            try:
                report = sync_vault(
                    conn,
                    cfg.vault,
                    t,
                    ignore=cfg.ignore,
                    progress=update,
                    allow_mass_retire=yes,
                    highlight_cloze=cfg.parse.osr_highlight_cloze,
                )
            except MassRetire as exc:
                close()
                if quiet or not sys.stdin.isatty() or not _confirm(f"{exc}\nRetire them anyway?"):
                    raise
                report = sync_vault(
                    conn,
                    cfg.vault,
                    t,
                    ignore=cfg.ignore,
                    allow_mass_retire=True,
                    highlight_cloze=cfg.parse.osr_highlight_cloze,
                )
            if recompute_pending(conn):
                _recompute(ctx, conn)
            report.journal = merge_history(ctx, conn, t)
            return report
    finally:
        close()


def _confirm(question: str) -> bool:
    err_console().print(question + " [y/N] ", end="", markup=False)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def merge_history(ctx: typer.Context, conn: sqlite3.Connection, t: datetime) -> dict[str, object] | None:
    """Seed this device's journal with the database's history (first run), then merge every device's."""
    from ..history.merge import SEEDED, merge_journals, seed_journal
    from ..scheduling.memory import make_scheduler
    from ..store.cards import holds_history
    from ..store.db import transaction
    from ..store.events import get_meta, set_meta

    j = journal(ctx)
    if j is None:
        return None
    cfg = state(ctx).config
    if get_meta(conn, SEEDED) is None and not holds_history(conn):
        # Nothing to seed (no review, no suspension): mark it done as seed_journal would, without
        # loading every card's keys (0.7 s after a first sync of 200,000 cards).
        with transaction(conn):
            set_meta(conn, SEEDED, t.isoformat())
        seeded = 0
    else:
        seeded = seed_journal(conn, j, t)
    vault = cfg.vault

    def rel(p: Path) -> str:
        try:
            return p.relative_to(vault).as_posix()
        except ValueError:
            return str(p)

    merged = merge_journals(
        conn,
        j.folder,
        lambda: make_scheduler(cfg.schedule, day_clock(ctx)),
        leech_threshold=cfg.schedule.leech_threshold,
        leech_action=cfg.schedule.leech_action,
        rel=rel,
        journal=j,
    )
    for problem in merged.problems:
        err_console().print(problem, markup=False, soft_wrap=True)
    return {**merged.as_dict(), "seeded": seeded, "device": j.device}


def daily_backup(ctx: typer.Context, conn: sqlite3.Connection, t: datetime) -> None:
    """Snapshot the database once per day (UTC date) before the first write, keeping the newest N."""
    from ..store.backup import backup_database, backup_folder, prune
    from ..store.db import transaction
    from ..store.events import get_meta, set_meta

    cfg = state(ctx).config
    today = t.date().isoformat()
    if get_meta(conn, "last_backup") == today:
        return
    from ..store.cards import counts

    if counts(conn)["cards"] == 0:
        return  # nothing worth keeping yet
    folder = backup_folder(cfg.data_dir, database_path(ctx, create=True))
    backup_database(conn, folder, "daily", t)
    prune(folder, cfg.history.backups_keep)
    with transaction(conn):
        set_meta(conn, "last_backup", today)


def _recompute(ctx: typer.Context, conn: sqlite3.Connection) -> None:
    from ..scheduling.memory import CardScheduler
    from ..scheduling.reschedule import run_pending_recompute
    from ..store.backup import backup_folder

    cfg = state(ctx).config
    done = run_pending_recompute(
        conn,
        CardScheduler(cfg.schedule, day_clock(ctx)),
        now(),
        backup_folder(cfg.data_dir, database_path(ctx, create=True)),
    )
    if done is not None:
        err_console().print(
            f"schedules recomputed in review days: {done.changed} of {plural(done.cards, 'card')} changed "
            f"(backup of the database before: {done.backup})",
            soft_wrap=True,
        )


def render_sync_report(report: SyncReport) -> None:
    """The human summary of a sync."""
    c = console()
    parts = [
        f"{report.notes_seen} notes ({report.notes_parsed} parsed)",
        f"{report.cards_added} added",
        f"{report.cards_changed} changed",
        f"{report.cards_moved} moved",
        f"{report.cards_retired} retired",
        f"{report.cards_revived} revived",
    ]
    if report.notes_moved:
        parts.append(f"{report.notes_moved} note{'s' if report.notes_moved != 1 else ''} moved")
    if report.notes_deleted:
        parts.append(f"{report.notes_deleted} note{'s' if report.notes_deleted != 1 else ''} deleted")
    if report.ids_written:
        parts.append(f"{report.ids_written} block ids written")
    c.print("synced: " + ", ".join(parts))
    if report.diagnostics:
        print_diagnostics(report.diagnostics, limit=50)
        n = len(report.diagnostics)
        c.print(
            f"{n} diagnostic{'s' if n != 1 else ''} (the cards of those lines were skipped; others synced)"
        )


app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


@app.command()
def sync(
    ctx: typer.Context,
    write_ids: Annotated[
        bool,
        typer.Option(
            "--write-ids",
            help="Append a block id (^srs-xxxxxx) to every card without one, so its identity "
            "survives any edit. The only command that writes to notes.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing unless there are diagnostics.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Retire cards even when most of the vault's cards would go (a sync asks first).",
        ),
    ] = False,
) -> None:
    """Read the vault into the review database, then merge the review journals of your other devices.

    Incremental: unchanged notes are not read again. A card keeps its id and
    review history when its note is edited, moved or renamed; a card that
    disappears is retired (kept with its history) and comes back if it
    reappears. Problems in a note are printed as path:line and never stop
    the sync of other notes.
    """
    report = run_sync(ctx, quiet=quiet or as_json, yes=yes)
    if write_ids:
        from ..sync import sync_vault, write_block_ids

        cfg = state(ctx).config
        with writer_lock(ctx), open_store(ctx) as conn:
            written, diags = write_block_ids(conn, cfg.vault, now(), ignore=cfg.ignore)
            again = sync_vault(
                conn, cfg.vault, now(), ignore=cfg.ignore, highlight_cloze=cfg.parse.osr_highlight_cloze
            )
        report.ids_written = written
        report.diagnostics.extend(diags)
        report.diagnostics.extend(d for d in again.diagnostics if d not in report.diagnostics)
    if as_json:
        emit_json(report.as_dict())
    elif not quiet or report.diagnostics:
        render_sync_report(report)


@app.command()
def check(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder to check (default: the vault).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print diagnostics as JSON.")] = False,
) -> None:
    """Lint notes without touching the database.

    Prints every problem as path:line: message and a count; exits 1 if any is
    an error. Suitable as a pre-commit hook or a CI step for a vault. Also
    warns (code duplicate) where two cards in different places ask the same
    thing: keep one and link to its note from the other.
    """
    from ..insights.duplicates import cards_from_notes, duplicate_diagnostics, find_duplicates
    from ..sync import read_vault
    from ..sync.walk import dangling_links

    cfg = state(ctx).config
    folder = path or cfg.vault
    notes, diags = read_vault(folder, cfg.ignore, highlight_cloze=cfg.parse.osr_highlight_cloze)
    diags = [*diags, *dangling_links(notes), *duplicate_diagnostics(find_duplicates(cards_from_notes(notes)))]
    errors = [d for d in diags if d.severity == "error"]
    if as_json:
        emit_json(
            {
                "notes": len(notes),
                "cards": sum(len(n.cards) for n in notes),
                "errors": len(errors),
                "warnings": len(diags) - len(errors),
                "diagnostics": [
                    {
                        "path": d.path,
                        "line": d.line,
                        "severity": d.severity,
                        "code": d.code,
                        "message": d.message,
                    }
                    for d in diags
                ],
            }
        )
    else:
        for d in diags:
            console().print(f"{d.path}:{d.line}: {d.message}", markup=False, soft_wrap=True)
        cards = sum(len(n.cards) for n in notes)
        console().print(
            f"{len(notes)} notes, {cards} cards, {len(errors)} error{'s' if len(errors) != 1 else ''}, "
            f"{len(diags) - len(errors)} warning{'s' if len(diags) - len(errors) != 1 else ''}"
        )
    if errors:
        raise typer.Exit(1)


@app.command()
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the resolved paths (vault and how it was found, vault id, database, config, journal), schema version and counts."""
    from .. import __version__
    from ..store import SCHEMA_VERSION, schema_version
    from ..store.cards import counts

    cfg = state(ctx).config
    try:
        db = database_path(ctx, create=False)
    except SrsError:
        db = None
    j = journal(ctx)
    data: dict[str, object] = {
        "version": __version__,
        "vault": str(cfg.vault),
        "vault_found_by": cfg.vault_reason,
        "vault_exists": cfg.vault.is_dir(),
        "vault_id": cfg.vault_id,
        "db": str(db) if db is not None else None,
        "db_chosen_by": "option" if cfg.db_explicit else "vault id",
        "db_exists": db is not None and db.exists(),
        "config": str(cfg.config_path),
        "config_exists": cfg.config_exists,
        "vault_config": str(cfg.vault_config_path) if cfg.vault_config_path else None,
        "journal": str(j.path) if j is not None else None,
        "device": j.device if j is not None else None,
        "schema_version": None,
        "schema_latest": SCHEMA_VERSION,
    }
    if db is not None and db.exists():
        with open_store(ctx, create=False) as conn:
            data["schema_version"] = schema_version(conn)
            data.update(counts(conn))
    if as_json:
        emit_json(data)
        return
    from rich.table import Table

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for key, value in data.items():
        t.add_row(
            key.replace("_", " "),
            "none yet (the first sync makes it)"
            if value is None and key in ("vault_id", "db")
            else str(value),
        )
    console().print(t)


@app.command()
def cards(
    ctx: typer.Context,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            "-s",
            help="Full-text search over question, answer, context and note; best match first.",
        ),
    ] = None,
    card_state: Annotated[
        str | None,
        typer.Option("--state", help="new, learning, review, relearning or suspended."),
    ] = None,
    due: Annotated[bool, typer.Option("--due", help="Only cards due now.")] = False,
    due_within: Annotated[
        str | None,
        typer.Option("--due-within", metavar="DURATION", help="Only cards due within this time (7d, 12h)."),
    ] = None,
    max_recall: Annotated[
        float | None,
        typer.Option(
            "--max-recall", min=0.0, max=1.0, help="Only studied cards whose recall now is at most this."
        ),
    ] = None,
    min_lapses: Annotated[
        int | None, typer.Option("--min-lapses", min=0, help="Only cards with at least this many lapses.")
    ] = None,
    retired: Annotated[bool, typer.Option("--retired", help="Include retired cards.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many cards.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per card, in a list.")] = False,
) -> None:
    """List cards by domain, tag, note, deck, state, due date, recall or lapses, or search them (--search).

    One card a line with its answer; --search ranks an exact phrase first, then
    all its words, then any word.
    """
    from ..config import parse_duration
    from ..core.states import STATES
    from ..errors import SrsError
    from ..store.cards import list_cards, search_cards

    if card_state and card_state not in (*STATES, "suspended"):
        raise SrsError(f"--state must be one of {', '.join((*STATES, 'suspended'))}")
    t = now()
    due_before = t if due else None
    if due_within is not None:
        try:
            within = parse_duration(due_within if due_within[-1:].isalpha() else due_within + "d")
        except SrsError:
            raise SrsError(f"--due-within {due_within}: use a number with s, m, h or d (7d, 12h)") from None
        due_before = min(due_before, t + within) if due_before is not None else t + within
    flt = card_filter(
        ctx,
        domain,
        tag,
        note,
        deck,
        state=card_state,
        due_before=due_before,
        include_retired=retired,
        min_lapses=min_lapses,
    )
    with open_store(ctx, create=False) as conn:
        check_filter(conn, flt)
        fetch = None if max_recall is not None else limit
        rows = search_cards(conn, search, flt, fetch) if search else list_cards(conn, flt, fetch)
    recall: dict[int, float] = {}
    if max_recall is not None or not as_json:
        from ..scheduling.memory import ForgettingCurve

        curve = ForgettingCurve.from_parameters(state(ctx).config.schedule.parameters)
        clock = day_clock(ctx)
        for r in rows:
            if r.state != "new" and r.stability:
                recall[r.id] = curve.at(t, r.last_review, r.stability, clock)
    if max_recall is not None:
        rows = [r for r in rows if r.id in recall and recall[r.id] <= max_recall]
        if limit:
            rows = rows[:limit]
    if as_json:
        emit_json(
            [{**r.as_json(), "recall": round(recall[r.id], 4) if r.id in recall else None} for r in rows]
        )
        return

    console().print(card_table(rows, recall, console().width), soft_wrap=True)


def card_table(rows: list[Any], recall: dict[int, float], width: int) -> Text:
    """One card a line: id, note:line, question, answer (and state, recall, due when wide);
    each cell cut at the column's width with ``…``, never wrapped."""
    from rich.text import Text

    from ..render.terminal import clean

    def crop(text: str, n: int) -> str:
        text = clean(" ".join(text.split()))
        return text if len(text) <= n else text[: max(0, n - 1)] + "…"

    wide = width >= 110
    id_w = max((len(str(r.id)) for r in rows), default=2)
    fixed = id_w + (11 + 6 + 10 + 6 if wide else 0) + 6
    room = max(30, width - fixed)
    note_w = min(max((len(f"{r.note}:{r.line}") for r in rows), default=9), room * 3 // 10)
    q_w = (room - note_w) * 4 // 7
    a_w = room - note_w - q_w
    out = Text(f"{len(rows)} card{'s' if len(rows) != 1 else ''}\n", style="bold")
    head = f"{'id':>{id_w}}  {'note:line':<{note_w}}  {'question':<{q_w}}  {'answer':<{a_w}}"
    if wide:
        head += f"  {'state':<11} {'recall':>6} {'due':<10}"
    out.append(head.rstrip() + "\n", style="bold")
    for r in rows:
        where = clean(f"{r.note}:{r.line}")
        if len(where) > note_w:  # cut from the left: the file name and line stay whole
            where = "…" + where[len(where) - note_w + 1 :]
        line = f"{r.id:>{id_w}}  {where:<{note_w}}  "
        line += f"{crop(r.question, q_w):<{q_w}}  {crop(r.answer, a_w):<{a_w}}"
        if wide:
            status = r.state + (" susp." if r.suspended else "") + (" ret." if r.retired else "")
            rec = f"{recall[r.id]:.0%}" if r.id in recall else ""
            due = r.due.strftime("%Y-%m-%d") if r.due else ""
            line += f"  {status:<11} {rec:>6} {due:<10}"
        out.append(line.rstrip() + "\n")
    out.rstrip()
    return out
