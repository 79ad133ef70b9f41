"""History commands: ``grade``, ``backup``, ``rebuild``, ``purge``.

``grade`` answers a card exactly as the review screen does (journal, leech
rule, one commit per grade) for scripts; ``backup`` lists and restores the
database snapshots; ``rebuild`` recreates the database from the notes and the
review journals of every device (``--check`` only compares); ``purge`` deletes
long-retired cards for good, through the journal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import SrsError
from .context import (
    JsonOpt,
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

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""

RATING_NAMES = {"again": 1, "hard": 2, "good": 3, "easy": 4}


def parse_rating(text: str) -> int:
    """``1``-``4`` or ``again``/``hard``/``good``/``easy`` (any case).

    Raises:
        typer.BadParameter: anything else.
    """
    t = text.strip().lower()
    if t in RATING_NAMES:
        return RATING_NAMES[t]
    if t in ("1", "2", "3", "4"):
        return int(t)
    raise typer.BadParameter("use 1-4 or again, hard, good, easy")


def resolve_card(conn: object, text: str) -> int:
    """A card named by its local id (as ``cards`` shows it) or by its uid.

    Raises:
        CardNotFound: no such card.
    """
    import sqlite3

    from ..errors import CardNotFound
    from ..store.cards import card_ids_by_uid, load_card

    assert isinstance(conn, sqlite3.Connection)
    if text.isdigit() and load_card(conn, int(text)) is not None:
        return int(text)
    hit = card_ids_by_uid(conn, [text])
    if text in hit:
        return hit[text]
    raise CardNotFound(f"no card with id {text}")


@app.command()
def grade(
    ctx: typer.Context,
    card: Annotated[
        str, typer.Argument(metavar="CARD_ID", help="The card's id (as `cards` shows it) or its uid.")
    ],
    rating: Annotated[
        str, typer.Argument(metavar="RATING", help="1-4, or again, hard, good, easy.", show_default=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Answer one card from a script, exactly as the review screen would.

    The answer is appended to this device's review journal, the leech rule
    applies, and the new state is committed at once. Prints the next due time
    (--json: the card's new schedule).
    """
    from ..core.fmt import format_when
    from ..history.grading import grade_card
    from ..scheduling.memory import RATINGS, make_scheduler

    value = parse_rating(rating)
    cfg = state(ctx).config
    t = now()
    with open_store(ctx, create=False) as conn:
        card_id = resolve_card(conn, card)
        result = grade_card(
            conn,
            make_scheduler(cfg.schedule, day_clock(ctx)),
            card_id,
            value,
            t,
            leech_threshold=cfg.schedule.leech_threshold,
            leech_action=cfg.schedule.leech_action,
            journal=journal(ctx),
        )
    after = result.after
    if as_json:
        emit_json(
            {
                "card": card_id,
                "rating": value,
                "review_id": result.review_id,
                "leech": result.leech,
                **{k: v for k, v in after.to_raw().items()},
            }
        )
        return
    due = format_when(after.due, t) if after.due is not None else "-"
    line = f"card {card_id}: {RATINGS[value]}; {after.state}, due {due}"
    if result.leech:
        line += f"; a leech ({after.lapses} lapses): tagged 'leech' and suspended"
    console().print(line, markup=False)


backup_app = typer.Typer(
    help="List or restore the database snapshots (taken daily and before every migration).",
    invoke_without_command=True,
)
app.add_typer(backup_app, name="backup")


@backup_app.callback()
def backup(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the snapshots of this vault's database, oldest first (restore one with `backup restore NAME`).

    Snapshots are taken once a day before the first change and before every
    schema migration, with SQLite's backup API, into the user data folder;
    [history] backups_keep (default 10) are kept.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..store.backup import backup_folder, list_snapshots

    cfg = state(ctx).config
    folder = backup_folder(cfg.data_dir, database_path(ctx, create=False))
    snaps = list_snapshots(folder)
    if as_json:
        emit_json(
            {
                "folder": str(folder),
                "snapshots": [
                    {"name": s.name, "taken_at": s.taken_at.isoformat(), "reason": s.reason, "bytes": s.size}
                    for s in snaps
                ],
            }
        )
        return
    if not snaps:
        console().print(f"no snapshots yet in {folder}", markup=False)
        return
    for s in snaps:
        console().print(f"{s.name}  {s.size / 1e6:.1f} MB  ({s.reason})", markup=False)
    console().print(f"{len(snaps)} snapshot{'s' if len(snaps) != 1 else ''} in {folder}", markup=False)


@backup_app.command("restore")
def restore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A snapshot's file name, as `backup` lists it.")],
) -> None:
    """Put a snapshot back as the database (the current file is snapshotted first)."""
    from ..store.backup import backup_database, backup_folder, list_snapshots, restore_snapshot

    cfg = state(ctx).config
    db = database_path(ctx, create=False)
    folder = backup_folder(cfg.data_dir, db)
    match = [s for s in list_snapshots(folder) if s.name == name]
    if not match:
        raise SrsError(f"{folder}: no snapshot named {name} (`mlsys-srs backup` lists them)")
    t = now()
    with open_store(ctx, create=False) as conn:
        saved = backup_database(conn, folder, "before-restore", t)
    restore_snapshot(match[0].path, db)
    console().print(f"restored {name}; the database as it was is kept as {saved.name}", markup=False)


@app.command()
def rebuild(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option("--check", help="Rebuild into a temporary file and report differences; change nothing."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recreate the database from the notes and the review journals of every device.

    The current database is snapshotted first (see `backup`). With --check,
    the rebuild goes to a temporary file and every difference from the live
    database is listed (a self-audit: there should be none); exit 1 if any.
    """
    import tempfile

    from ..history.merge import compare_history, merge_journals
    from ..scheduling.memory import make_scheduler
    from ..store import open_db
    from ..store.backup import backup_database, backup_folder
    from ..store.db import checkpoint
    from ..sync import sync_vault

    cfg = state(ctx).config
    j = journal(ctx)
    if j is None:
        raise SrsError(
            "the review journal is off ([history] journal = false): there is nothing to rebuild from"
        )
    from .notes_commands import merge_history

    t = now()
    live_path = database_path(ctx, create=False)
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-rebuild-", dir=live_path.parent) as tmp:
        new_path = Path(tmp) / "rebuilt.db"
        with open_store(ctx, create=False) as live:
            # The live database's own history goes into the journal first, so the rebuild sees it all.
            merge_history(ctx, live, t)
            if not check:
                backup_database(live, backup_folder(cfg.data_dir, live_path), "before-rebuild", t)
            conn = open_db(new_path, t)
            try:
                sync_vault(
                    conn,
                    cfg.vault,
                    t,
                    ignore=cfg.ignore,
                    allow_mass_retire=True,
                    highlight_cloze=cfg.parse.osr_highlight_cloze,
                )
                merged = merge_journals(
                    conn,
                    j.folder,
                    lambda: make_scheduler(cfg.schedule, day_clock(ctx)),
                    leech_threshold=cfg.schedule.leech_threshold,
                    leech_action=cfg.schedule.leech_action,
                    rel=lambda p: _rel(p, cfg.vault),
                )
                diffs = compare_history(live, conn) if check else []
            finally:
                conn.close()
        if check:
            if as_json:
                emit_json({"differences": [str(d) for d in diffs], "journal": merged.as_dict()})
            else:
                for d in diffs[:200]:
                    console().print(str(d), markup=False, soft_wrap=True)
                verdict = (
                    "no difference"
                    if not diffs
                    else f"{len(diffs)} difference{'s' if len(diffs) != 1 else ''}"
                )
                console().print(f"rebuild --check: {verdict} from {live_path}", markup=False)
            if diffs:
                raise typer.Exit(1)
            return
        checkpoint(new_path)
        os.replace(new_path, live_path)
        for suffix in ("-wal", "-shm"):
            side = live_path.with_name(live_path.name + suffix)
            side.unlink(missing_ok=True)
    if as_json:
        emit_json({"rebuilt": str(live_path), "journal": merged.as_dict()})
    else:
        err_console().print(
            f"rebuilt {live_path} from the notes and {merged.files} journal file"
            f"{'s' if merged.files != 1 else ''} ({merged.events_new} events)",
            markup=False,
        )


@app.command()
def purge(
    ctx: typer.Context,
    retired: Annotated[
        bool, typer.Option("--retired", help="Purge retired cards (required: the only kind purge deletes).")
    ] = False,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Only cards retired longer ago than this (a number with s, m, h or d, e.g. 90d).",
        ),
    ] = "90d",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (a terminal asks first).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete retired cards and their review history for good (only on this explicit request).

    A card is retired when its text leaves the notes; it is kept with its
    history in case it comes back. `purge --retired --older-than 90d`
    deletes those retired more than 90 days ago, with their reviews, tags
    and journal events. Each deletion is a journal event, so your other
    devices delete the card too (unless it is still in a note there) and
    no merge brings it back; if its text reappears it becomes a new card.
    The database is snapshotted first (see `backup`).
    """
    import sys

    from ..config import parse_duration
    from ..history.merge import purge_retired
    from ..store.backup import backup_database, backup_folder

    if not retired:
        raise typer.BadParameter("say what to purge: --retired (the only kind)", param_hint="--retired")
    try:
        age = parse_duration(older_than)
    except (SrsError, OverflowError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    cfg = state(ctx).config
    t = now()
    with writer_lock(ctx), open_store(ctx, create=False) as conn:
        found = purge_retired(conn, journal(ctx), t, age, dry_run=True)
        ask = not (dry_run or yes) and sys.stdin.isatty() and found
        if ask:
            from .notes_commands import _confirm

            if not _confirm(f"Delete {len(found)} retired card{'s' if len(found) != 1 else ''} for good?"):
                raise typer.Exit(1)
        done = []
        if not dry_run and found:
            backup_database(
                conn, backup_folder(cfg.data_dir, database_path(ctx, create=False)), "before-purge", t
            )
            done = purge_retired(conn, journal(ctx), t, age)
    cards = found if dry_run else done
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "purged": 0 if dry_run else len(done),
                "cards": [
                    {"id": c.id, "uid": c.uid, "note": c.note, "line": c.line, "question": c.question}
                    for c in cards
                ],
            }
        )
        return
    for c in cards:
        console().print(f"{c.note}:{c.line}: {c.question}", markup=False, soft_wrap=True)
    n = len(cards)
    noun = f"{n} retired card{'s' if n != 1 else ''}"
    if dry_run:
        console().print(f"would purge {noun} (retired over {older_than} ago)", markup=False)
    else:
        console().print(f"purged {noun} (retired over {older_than} ago)", markup=False)


def _rel(p: Path, vault: Path) -> str:
    try:
        return p.relative_to(vault).as_posix()
    except ValueError:
        return str(p)
