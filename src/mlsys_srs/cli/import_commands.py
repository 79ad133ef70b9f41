"""Import commands: ``import anki`` and ``import osr``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.fmt import plural
from .context import JsonOpt, console, emit_json, err_console, workspace

if TYPE_CHECKING:
    from ..anki.importing import AnkiImportReport
    from ..importers.osr import OsrImportReport

app = typer.Typer(
    name="import",
    help="Bring reviews and notes in from Anki and obsidian-spaced-repetition.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]


def _render_anki(r: AnkiImportReport) -> None:
    from .notes_commands import print_diagnostics

    if r.diagnostics:
        print_diagnostics(r.diagnostics, limit=50)
    c = console()
    would = "would " if r.dry_run else ""
    c.print(
        f"{r.source}: {plural(r.notes, 'note')} ({r.notes_ours} from mlsys-srs exports, "
        f"{r.notes_moved_in_before} moved in before, {r.notes_new} new)",
        markup=False,
        soft_wrap=True,
    )
    if r.files:
        c.print(
            f"  {would}write {plural(len(r.files), 'note')} and {plural(r.media, 'media file')}: "
            + ", ".join(r.files[:10])
            + (f", ... ({len(r.files) - 10} more)" if len(r.files) > 10 else ""),
            markup=False,
            soft_wrap=True,
        )
    c.print(
        f"  {would}add {plural(r.reviews, 'review')}, {plural(r.cram, 'cram answer')}, "
        f"{plural(r.resets, 'reset')}"
        + ("" if r.dry_run else f"; {plural(r.cards_replayed, 'card')} replayed"),
        markup=False,
        soft_wrap=True,
    )
    skipped = []
    if r.own_reviews:
        skipped.append(f"{r.own_reviews} exported from here")
    if r.already_imported:
        skipped.append(f"{r.already_imported} imported before")
    if r.skipped_manual:
        skipped.append(f"{r.skipped_manual} manual reschedules")
    if skipped:
        c.print("  skipped: " + ", ".join(skipped), markup=False, soft_wrap=True)
    if r.unmatched:
        err = err_console()
        err.print(f"{plural(len(r.unmatched), 'card')} could not be matched:", markup=False)
        for line in r.unmatched[:20]:
            err.print(f"  {line}", markup=False, soft_wrap=True)
        if len(r.unmatched) > 20:
            err.print(f"  ... and {len(r.unmatched) - 20} more (--json lists them all)", markup=False)


@app.command("anki")
def anki(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="An .apkg, a .colpkg, or a profile's collection.anki2.", show_default=False)
    ],
    into: Annotated[
        str, typer.Option("--into", help="Vault folder for notes that move in from Anki.")
    ] = "anki-import",
    dry_run: DryRunOpt = False,
    max_size: Annotated[
        str,
        typer.Option(
            "--max-size",
            help="Refuse a package that expands to more than this (collection and media copied): 500M, 32G.",
        ),
    ] = "16G",
    max_ratio: Annotated[
        int,
        typer.Option(
            "--max-ratio",
            min=1,
            help="Refuse a media file that expands more than this many times (the collection: 10 times more).",
        ),
    ] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Bring back reviews done in Anki (desktop, AnkiDroid, AnkiMobile), and move Anki notes in.

    Reads an .apkg or .colpkg (File > Export in Anki), or a profile's
    collection.anki2 (copied first; close Anki before). Syncs the vault first.

    Notes exported from here are matched to their cards by GUID; their Anki
    reviews join each card's history (reviews that came from here are not
    doubled; Forget is a reset; filtered-deck answers count as cram) and the
    cards are rescheduled from the whole history.

    Other notes move into the vault as Markdown (one note per deck under
    --into), with media, tags, a block id per card and their whole review
    history; their note types are kept in anki-note-types.json in that folder,
    so export anki gives them back to Anki as they were. Existing notes are
    never overwritten; importing the same collection again adds nothing.

    The package is checked before anything is written: a package that expands
    beyond --max-size or --max-ratio, or holds a row Anki itself could not
    read, is refused with one line and writes nothing.
    """
    from ..anki.archive import ImportLimits, parse_size
    from ..app.exchange import import_anki

    limits = ImportLimits(max_size=parse_size(max_size), max_ratio=max_ratio)
    report = import_anki(workspace(ctx), path, into=into, dry_run=dry_run, limits=limits)
    if as_json:
        emit_json(report.as_dict())
        return
    _render_anki(report)


def _render_osr(r: OsrImportReport) -> None:
    from .notes_commands import print_diagnostics

    if r.diagnostics:
        print_diagnostics(r.diagnostics, limit=50)
    c = console()
    would = "would " if r.dry_run else ""
    c.print(
        f"{plural(r.schedules, 'schedule comment')} in {plural(r.notes, 'note')}: "
        f"{would}seed {plural(r.seeded, 'card')} ({r.from_note} from note-level schedules), "
        f"{r.already} seeded before, {r.unmatched} without a card",
        markup=False,
        soft_wrap=True,
    )
    if r.stripped or (r.dry_run and r.strip):
        c.print(f"  {would}remove the comments from {plural(r.stripped, 'note')}", markup=False)


@app.command("osr")
def osr(
    ctx: typer.Context,
    strip: Annotated[
        bool, typer.Option("--strip", help="Remove the <!--SR:...--> comments from the notes afterwards.")
    ] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Seed cards from obsidian-spaced-repetition schedules (<!--SR:!2024-01-02,3,250-->).

    Syncs the vault first. Each card with an OSR schedule comment (or, without
    one, in a note with sr-due/sr-interval/sr-ease frontmatter) gets an FSRS
    memory state converted from OSR's SM-2 interval and ease (fsrs-rs-python:
    pip install 'mlsys-srs[optimizer]') and keeps its due date. A card seeded
    before, or one already reviewed here, is left alone.

    The comments are never part of a card's text. With --strip they are
    removed from the notes afterwards, each note rewritten atomically and left
    alone if it changed meanwhile.
    """
    from ..app.exchange import import_osr

    report = import_osr(workspace(ctx), strip=strip, dry_run=dry_run)
    if as_json:
        emit_json(report.as_dict())
        return
    _render_osr(report)
