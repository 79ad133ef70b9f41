"""Commands over notes and cards: ``info``, ``sync``, ``check``, ``cards``."""

from __future__ import annotations

from collections.abc import Callable
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
    console,
    emit_json,
    err_console,
    workspace,
)
from .output import fields, styled

if TYPE_CHECKING:
    from rich.text import Text

    from ..app.workspace import Progress, SyncReport
    from ..parse import Diagnostic

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


def run_sync(
    ctx: typer.Context, *, quiet: bool = False, yes: bool = False, write_ids: bool = False
) -> SyncReport:
    """Sync the vault and merge every device's journal (``app.syncing.sync``), with a progress bar
    on a terminal unless ``quiet``; a sync that would retire most of the vault asks first (``--yes``
    proceeds; ``quiet`` never asks)."""
    from ..app.syncing import sync
    from .context import confirm

    ws = workspace(ctx)
    update, close = progress_bar() if not quiet else (None, lambda: None)
    ws.frontend.progress = update
    ws.frontend.confirm = (lambda q: False) if quiet else (lambda q: (close(), confirm(q))[1])
    try:
        return sync(ws, yes=yes, write_ids=write_ids)
    finally:
        close()
        ws.frontend.progress = None


def render_sync_report(report: SyncReport) -> None:
    """The human summary of a sync."""
    c = console()
    parts = [
        f"{plural(report.notes_seen, 'note')} ({report.notes_parsed} parsed)",
        f"{report.cards_added} added",
        f"{report.cards_changed} changed",
        f"{report.cards_moved} moved",
        f"{report.cards_retired} retired",
        f"{report.cards_revived} revived",
    ]
    if report.notes_moved:
        parts.append(f"{plural(report.notes_moved, 'note')} moved")
    if report.notes_deleted:
        parts.append(f"{plural(report.notes_deleted, 'note')} deleted")
    if report.ids_written:
        parts.append(f"{plural(report.ids_written, 'block id')} written")
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
    report = run_sync(ctx, quiet=quiet or as_json, yes=yes, write_ids=write_ids)
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
    quality: Annotated[
        bool | None,
        typer.Option(
            "--quality/--no-quality",
            help="Also warn about cards that are hard to learn (long answers and lists, giveaways, trivial "
            "clozes, cloze pairs, yes/no questions); default: the config's [check] quality.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print diagnostics as JSON.")] = False,
) -> None:
    """Lint notes without touching the database.

    Prints every problem as path:line: message and a count; exits 1 if any is
    an error. Suitable as a pre-commit hook or a CI step for a vault. Also
    warns (code duplicate) where two cards in different places ask the same
    thing: keep one and link to its note from the other.

    With --quality (or [check] quality = true), each card that breaks the
    minimum-information rule gets a warning with a fix hint: an answer over
    40 words, a list of more than 3 items, a question that holds its answer,
    a cloze hiding a letter or a filler word, two clozes that reveal each
    other, a yes/no question. A card opts out with a comment on its lines,
    such as <!-- srs: allow-long --> (see docs/format.md).
    """
    from ..app.syncing import check as lint

    report = lint(workspace(ctx), path, quality=quality)
    errors = report.errors
    if as_json:
        emit_json(report.as_dict())
    else:
        for d in report.diagnostics:
            console().print(f"{d.path}:{d.line}: {d.message}", markup=False, soft_wrap=True)
        warnings = len(report.diagnostics) - len(errors)
        console().print(
            f"{plural(report.notes, 'note')}, {plural(report.cards, 'card')}, "
            f"{plural(len(errors), 'error')}, {plural(warnings, 'warning')}"
        )
    if errors:
        raise typer.Exit(1)


@app.command()
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the resolved paths (vault and how it was found, vault id, database, config, journal), schema version and counts."""
    from ..app.upkeep import info as gather

    data = gather(workspace(ctx))
    if as_json:
        emit_json(data)
        return
    fields(
        console(),
        [
            (
                key.replace("_", " "),
                "none yet (the first sync makes it)"
                if value is None and key in ("vault_id", "db")
                else str(value),
            )
            for key, value in data.items()
            if key != "journal_quarantined_lines"
        ],
    )
    for line in data.get("journal_quarantined_lines", []):
        console().print(styled("  ", (line, "yellow"), " (quarantined: never applied)"), soft_wrap=True)


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
    from ..app.study import find_cards
    from ..config import parse_duration
    from ..core.states import STATES
    from ..errors import UsageError, one_of

    if card_state and card_state not in (*STATES, "suspended"):
        raise UsageError(f"--state {card_state}: {one_of(card_state, (*STATES, 'suspended'))}")
    ws = workspace(ctx)
    t = ws.now()
    due_before = t if due else None
    if due_within is not None:
        try:
            within = parse_duration(due_within if due_within[-1:].isalpha() else due_within + "d")
        except SrsError:
            raise UsageError(f"--due-within {due_within}: use a number with s, m, h or d (7d, 12h)") from None
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
    screenful = None
    if search and limit is None and not as_json:
        # A search shows its best screenful and says how many more matched.
        height = console().height if console().is_terminal else 24
        screenful = max(5, height - 4)
    found = find_cards(
        ws, flt, search=search, max_recall=max_recall, limit=limit or screenful, with_recall=not as_json
    )
    rows, recall = found.rows, found.recall
    if as_json:
        emit_json(
            [{**r.as_json(), "recall": round(recall[r.id], 4) if r.id in recall else None} for r in rows]
        )
        return
    if found.total is not None and found.total > len(rows):
        console().print(card_table(rows, recall, console().width), soft_wrap=True)
        more = found.total - len(rows)
        console().print(
            styled(
                (f"… and {plural(more, 'more match', 'more matches')}", "bold"),
                f" of {found.total} (--limit {found.total} shows them all; --json lists every match)",
            ),
            soft_wrap=True,
        )
        return

    console().print(card_table(rows, recall, console().width), soft_wrap=True)


def card_table(rows: list[Any], recall: dict[int, float], width: int) -> Text:
    """One card a line: id, note:line, question, answer (and state, recall, due when wide);
    each cell cut at the column's width with ``…``, never wrapped."""
    from rich.text import Text

    from ..parse.lines import strip_comments
    from ..render.terminal import clean

    def crop(text: str, n: int) -> str:
        text = clean(" ".join(strip_comments(text).split()))  # a comment is not shown
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


@app.command()
def init(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(help="The new vault's folder (default: this folder).", show_default=False),
    ] = None,
    empty: Annotated[
        bool,
        typer.Option("--empty", help="One example note showing each card syntax, not the starter notes."),
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Bring a vault made by init up to this version's starter notes; your edits are kept.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --update: show the changes only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --update: do not ask.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Make a vault: the starter knowledge base (1,700 cards on ML systems), or one example note.

    The starter notes come with the package, in numbered domain folders with
    an index note each, plus deck recipes in decks/ (interview-prep,
    llm-systems, foundations). init never writes into a folder that already
    holds notes. Then: cd FOLDER && mlsys-srs review.

    --update merges a later version's starter notes into a vault made by
    init: files you never changed take the new version, new files are
    added, and a file you edited or deleted is left as it is. It lists the
    changes and asks first (--dry-run only lists them).
    """
    from ..app.starter import Action, apply_update, init_vault, plan_update
    from .context import confirm

    target = (folder or Path.cwd()).expanduser()
    if update:
        report, changes = plan_update(target)
        if not as_json:
            labels: tuple[tuple[Action, str], ...] = (
                ("add", "new"),
                ("update", "updated"),
                ("keep-edited", "kept (you edited it)"),
            )
            for action, label in labels:
                for path in report.files.get(action, []):
                    console().print(styled((f"{label:>22}", "bold"), "  ", path), soft_wrap=True)
        if changes and not dry_run and (yes or as_json or confirm(f"Write {plural(len(changes), 'file')}?")):
            apply_update(target, changes)
        elif changes and not dry_run:
            raise typer.Exit(1)
        if as_json:
            emit_json({**report.as_dict(), "written": not dry_run and bool(changes)})
            return
        verb = "would write" if dry_run else "wrote"
        console().print(
            f"{verb} {plural(report.count('add'), 'new file')} and {plural(report.count('update'), 'updated file')}; "
            f"kept {plural(report.count('keep-edited'), 'file')} you edited",
            soft_wrap=True,
        )
        return
    report = init_vault(target, empty=empty)
    if as_json:
        emit_json(report.as_dict())
        return
    what = "one example note" if empty else f"the starter notes ({plural(report.count('add'), 'file')})"
    console().print(styled("made a vault in ", (str(target), "bold"), f" with {what}"), soft_wrap=True)
    here = "" if folder is None else f"cd {target} && "
    console().print(f"next: {here}mlsys-srs review", soft_wrap=True)
