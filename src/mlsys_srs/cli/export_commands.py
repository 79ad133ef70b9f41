"""Export commands: ``export anki`` and ``export revlog``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.fmt import plural
from ..errors import SrsError
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
    workspace,
)

if TYPE_CHECKING:
    from ..anki.export import AnkiExport

app = typer.Typer(
    name="export",
    help="Export cards to other tools.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

FSRS_REMINDER = (
    "Review progress is in the package. In Anki, import it with 'Import any learning progress' "
    "ticked, then switch on FSRS in the deck options (Deck options > FSRS) so these memory "
    "states schedule the cards."
)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def render_summary(result: AnkiExport) -> None:
    """The human summary of an export."""
    from .notes_commands import print_diagnostics

    if result.diagnostics:
        print_diagnostics(list(result.diagnostics))
    c = console()
    c.print(
        f"exported {result.cards} card{'s' if result.cards != 1 else ''} in {result.notes} "
        f"note{'s' if result.notes != 1 else ''}, {result.media} media "
        f"file{'s' if result.media != 1 else ''}, {len(result.decks)} "
        f"deck{'s' if len(result.decks) != 1 else ''}",
        soft_wrap=True,
    )
    c.print(f"  {_display_path(result.path)} ({_size(result.size)})", markup=False, soft_wrap=True)
    c.print("  decks: " + ", ".join(result.decks), markup=False, soft_wrap=True)
    if result.with_scheduling:
        c.print(
            f"  progress of {result.scheduled_cards} reviewed card{'s' if result.scheduled_cards != 1 else ''}, "
            f"{result.reviews} review{'s' if result.reviews != 1 else ''} in the review log",
            soft_wrap=True,
        )
        c.print(FSRS_REMINDER, soft_wrap=True)


@app.command("anki")
def anki(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The .apkg to write, or a folder for <deck>.apkg (default <deck>.apkg next to the deck recipes).",
            show_default=False,
        ),
    ] = None,
    deck: DeckOpt = None,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    with_scheduling: Annotated[
        bool,
        typer.Option(
            "--with-scheduling",
            help="Carry each card's progress (due date, interval, FSRS memory state) and its review log.",
        ),
    ] = False,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Export the database as it is, without syncing first.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write an Anki package (.apkg) of your cards.

    Syncs the vault first. Cards go into a deck per domain under the root deck
    (setting export.root_deck, default MLSys), numbered like the domain's
    folder, e.g. MLSys::04 Distributed Systems, and new cards carry their place
    in learning order, so Anki introduces them in the order review does. Notes
    that moved in from Anki go back with their own note types and decks.
    Each note keeps its identity, so importing a newer export into Anki updates
    the notes you edited instead of adding duplicates. Images the cards show
    are bundled; math becomes MathJax and code keeps its highlighting. What an
    export built is kept in the user cache folder, so the next export to the
    same file builds only the notes whose cards changed.

    --deck NAME also names the file (NAME.apkg). The file goes next to the deck
    recipes: the recipe's own folder, else decks/ beside the vault (or in it),
    wherever the command is run; -o puts it elsewhere.

    With --with-scheduling, reviewed cards keep their due dates, intervals and
    FSRS memory states, with their review log. Tick "Import any learning
    progress" when importing, and switch on FSRS in Anki's deck options.
    """
    from ..app.exchange import export_anki, export_target

    ws = workspace(ctx)
    flt = card_filter(ctx, domain, tag, note, deck)
    target = export_target(ws, flt, out)
    if not no_sync:
        from .notes_commands import run_sync

        report = run_sync(ctx)
        if report.errors:
            err_console().print(
                f"{plural(len(report.errors), 'problem')} in notes; those cards were skipped "
                "(`mlsys-srs check` lists them)"
            )
    result, _ = export_anki(ws, flt, target, with_scheduling=with_scheduling, sync_first=False)
    if as_json:
        emit_json(result.as_dict())
        return
    render_summary(result)


@app.command("revlog")
def revlog(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The CSV file to write (default: standard output).", show_default=False
        ),
    ] = None,
) -> None:
    """Write the review log as CSV in the fsrs-optimizer schema, for FSRS tools and your own analysis.

    Columns: card_id (a stable number per card, the same on every device),
    review_time (milliseconds since 1970, UTC), review_rating (1-4),
    review_state (the card's state before the review: 0 new, 1 learning,
    2 review, 3 relearning) and review_duration (milliseconds). Cram answers
    are left out: they do not change a schedule.
    """
    import csv
    import io
    import sys

    from ..app.exchange import review_log

    rows = review_log(workspace(ctx))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["card_id", "review_time", "review_rating", "review_state", "review_duration"])
    w.writerows(rows)
    if out is None:
        sys.stdout.write(buf.getvalue())
        return
    if out.exists() and out.suffix.lower() != ".csv":
        raise SrsError(f"{out}: exists and is not a .csv file; not overwritten")
    try:
        out.write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise SrsError(f"{out}: cannot write ({exc.strerror})") from None
    err_console().print(f"wrote {plural(len(rows), 'review')} to {out}", markup=False)
