"""Moving cards and history between a workspace and other tools: Anki packages, review-log CSV,
obsidian-spaced-repetition schedules.

Each entry point syncs first where the other tool's data must meet the current notes (an
export, an import), then calls the subsystem (``anki``, ``importers``) with the workspace's
settings, clock, scheduler and journal.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..anki.archive import ImportLimits
    from ..anki.export import AnkiExport
    from ..anki.importing import AnkiImportReport
    from ..anki.progress import SchedulingOptions
    from ..config import ScheduleConfig
    from ..importers.osr import OsrImportReport
    from ..store.filters import CardFilter
    from ..sync import SyncReport
    from .workspace import Workspace


def default_output(deck: str | None, root_deck: str, vault: Path, recipe_dir: Path | None = None) -> Path:
    """``<deck>.apkg`` next to the vault's deck recipes, wherever the command runs.

    The folder is the recipe's own (``--deck``), else the ``decks/`` folder beside the
    vault or in it (the first that exists), else ``decks/`` beside the vault.
    """
    stem = re.sub(r"[^\w.-]+", "-", (deck or root_deck).lower()).strip("-.") or "deck"
    if recipe_dir is None:
        candidates = (vault.parent / "decks", vault / "decks")
        recipe_dir = next((d for d in candidates if d.is_dir()), candidates[0])
    return recipe_dir / f"{stem}.apkg"


def scheduling_options(schedule: ScheduleConfig) -> SchedulingOptions:
    """What the package needs from the scheduler settings to carry progress."""
    from ..anki.progress import SchedulingOptions
    from ..scheduling.memory import decay_of

    return SchedulingOptions(
        desired_retention=schedule.desired_retention,
        decay=decay_of(schedule.parameters),
        learning_steps=len(schedule.learning_steps),
        relearning_steps=len(schedule.relearning_steps),
    )


def export_cache_path(db: Path, out: Path) -> Path:
    """Where the export cache of the package ``out`` built from the database ``db`` lives
    (the user cache folder: ``exports/<hash>.sqlite``)."""
    import hashlib

    from ..config import default_cache_dir

    key = hashlib.blake2b(
        f"{db.absolute()}\x1f{out}".encode("utf-8", "surrogatepass"), digest_size=12
    ).hexdigest()
    return default_cache_dir() / "exports" / f"{key}.sqlite"


def export_target(ws: Workspace, flt: CardFilter, out: Path | None) -> Path:
    """The package an export writes: ``out`` (a file, or a folder for ``<deck>.apkg``), else the default.

    Raises:
        SrsError: the target cannot be written (an existing file that is not a package, a folder).
    """
    from ..anki.package import check_output

    cfg = ws.config
    recipe = flt.deck
    target = default_output(
        recipe.name if recipe else None,
        cfg.export.root_deck,
        cfg.vault.absolute(),
        recipe.path.parent if recipe else None,
    )
    if out is not None:
        target = out / target.name if out.is_dir() else out
    check_output(target)
    return target


def export_anki(
    ws: Workspace, flt: CardFilter, target: Path, *, with_scheduling: bool, sync_first: bool = True
) -> tuple[AnkiExport, SyncReport | None]:
    """Write the Anki package ``target`` of the filter's cards (after a sync, unless told not to).

    Returns:
        What the export wrote, and the sync's report (``None`` without a sync).
    """
    from ..anki.export import export_anki as build
    from .syncing import sync
    from .workspace import check_filter

    report = sync(ws) if sync_first else None
    cfg = ws.config
    with ws.connect(create=sync_first) as conn:
        check_filter(conn, flt)
        result = build(
            conn,
            flt,
            vault=cfg.vault,
            out=target.absolute(),
            now=ws.now(),
            clock=ws.day_clock(),
            root_deck=cfg.export.root_deck,
            scheduling=scheduling_options(cfg.schedule) if with_scheduling else None,
            cache=export_cache_path(ws.database_path(create=False), target.absolute()),
        )
    return result, report


def review_log(ws: Workspace) -> list[tuple[int, int, int, int, int]]:
    """The review log in the fsrs-optimizer schema (``export revlog``)."""
    from ..anki.revlog import revlog_rows

    with ws.connect(create=False) as conn:
        return revlog_rows(conn)


def import_anki(
    ws: Workspace, path: Path, *, into: str, dry_run: bool, limits: ImportLimits | None = None
) -> AnkiImportReport:
    """Bring back reviews done in Anki and move Anki notes into the vault (after a sync).

    The package is read (within ``limits``) and checked before anything is written.
    """
    from ..anki.collection import open_collection
    from ..anki.importing import import_anki as run
    from .syncing import sync

    cfg = ws.config
    sync(ws)
    coll = open_collection(path, limits=limits, now=ws.now())
    with ws.connect() as conn:
        return run(
            conn,
            coll,
            vault=cfg.vault,
            now=ws.now(),
            scheduler=ws.scheduler(),
            journal=None if dry_run else ws.journal(),
            into=into,
            dry_run=dry_run,
            leech_threshold=cfg.schedule.leech_threshold,
            leech_action=cfg.schedule.leech_action,
            ignore=cfg.ignore,
            highlight_cloze=cfg.parse.osr_highlight_cloze,
            max_answer_ms=cfg.review.max_answer_seconds * 1000,
        )


def import_osr(ws: Workspace, *, strip: bool, dry_run: bool) -> OsrImportReport:
    """Seed cards from obsidian-spaced-repetition schedule comments (after a sync)."""
    from ..importers.osr import import_osr as run
    from .syncing import sync

    cfg = ws.config
    sync(ws)
    with ws.connect() as conn:
        return run(
            conn,
            vault=cfg.vault,
            now=ws.now(),
            clock=ws.day_clock(),
            scheduler=ws.scheduler(),
            journal=None if dry_run else ws.journal(),
            strip=strip,
            dry_run=dry_run,
            ignore=cfg.ignore,
            highlight_cloze=cfg.parse.osr_highlight_cloze,
            leech_threshold=cfg.schedule.leech_threshold,
            leech_action=cfg.schedule.leech_action,
        )
