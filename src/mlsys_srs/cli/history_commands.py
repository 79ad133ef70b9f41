"""History commands: ``grade``, ``backup``, ``rebuild``, ``purge``.

``grade`` answers a card exactly as the review screen does (journal, leech
rule, one commit per grade) for scripts; ``backup`` lists and restores the
database snapshots; ``rebuild`` recreates the database from the notes and the
review journals of every device (``--check`` only compares); ``purge`` deletes
long-retired cards for good, through the journal.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.fmt import plural
from ..errors import SrsError
from .context import JsonOpt, console, emit_json, err_console, workspace

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


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
    from ..app.study import grade as answer
    from ..app.study import parse_rating
    from ..core.fmt import format_when
    from ..scheduling.memory import RATINGS

    value = parse_rating(rating)
    ws = workspace(ctx)
    card_id, result = answer(ws, card, value)
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
    due = format_when(after.due, ws.now()) if after.due is not None else "-"
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
    from ..app.upkeep import snapshots

    folder, snaps = snapshots(workspace(ctx))
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
    console().print(f"{plural(len(snaps), 'snapshot')} in {folder}", markup=False)


@backup_app.command("restore")
def restore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A snapshot's file name, as `backup` lists it.")],
    other_vault: Annotated[
        bool, typer.Option("--other-vault", help="Restore it even if it is a snapshot of another vault.")
    ] = False,
) -> None:
    """Put a snapshot back as the database (the current file is snapshotted first).

    A snapshot names its vault: one of another vault is refused unless --other-vault.
    """
    from ..app.upkeep import restore as put_back

    saved = put_back(workspace(ctx), name, other_vault=other_vault)
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
    from ..app.upkeep import rebuild as run

    result = run(workspace(ctx), check=check)
    merged, diffs = result.merged, result.differences
    if check:
        if as_json:
            emit_json({"differences": [str(d) for d in diffs], "journal": merged.as_dict(), **result.journal})
        else:
            for d in diffs[:200]:
                console().print(str(d), markup=False, soft_wrap=True)
            for line in result.journal["journal_quarantined_lines"]:
                console().print(f"{line} (quarantined: never applied)", markup=False, soft_wrap=True)
            if result.journal["journal_quarantined"]:
                console().print(
                    f"{plural(result.journal['journal_quarantined'], 'journal line')} quarantined; "
                    "fix or delete them in the journal file named",
                    soft_wrap=True,
                )
            verdict = "no difference" if not diffs else plural(len(diffs), "difference")
            console().print(f"rebuild --check: {verdict} from {result.database}", markup=False)
        if diffs:
            raise typer.Exit(1)
        return
    if as_json:
        emit_json({"rebuilt": str(result.database), "journal": merged.as_dict()})
    else:
        err_console().print(
            f"rebuilt {result.database} from the notes and {plural(merged.files, 'journal file')} "
            f"({plural(merged.events_new, 'event')})",
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
    from ..app.upkeep import purge as run
    from ..config import parse_duration

    if not retired:
        raise typer.BadParameter("say what to purge: --retired (the only kind)", param_hint="--retired")
    try:
        age = parse_duration(older_than)
    except (SrsError, OverflowError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    cards = run(workspace(ctx), age, dry_run=dry_run, yes=yes or as_json)
    if cards is None:
        raise typer.Exit(1)
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "purged": 0 if dry_run else len(cards),
                "cards": [
                    {"id": c.id, "uid": c.uid, "note": c.note, "line": c.line, "question": c.question}
                    for c in cards
                ],
            }
        )
        return
    for c in cards:
        console().print(f"{c.note}:{c.line}: {c.question}", markup=False, soft_wrap=True)
    noun = plural(len(cards), "retired card")
    verb = "would purge" if dry_run else "purged"
    console().print(f"{verb} {noun} (retired over {older_than} ago)", markup=False)
