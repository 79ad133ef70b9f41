"""Bringing a workspace up to date: sync the notes, merge every device's journal, lint the notes.

``sync`` is what every command that reads the notes runs first (``sync``, ``review``,
``export``, the imports, ``serve``): it syncs the vault, snapshots the database once a day,
runs a pending schedule recompute, then merges the review journals of every device. A sync
that would retire most of the vault stops and asks the front end (``Frontend.confirm``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.fmt import plural
from ..errors import HOW_TO_START, VaultError
from .starter import has_notes

if TYPE_CHECKING:
    import sqlite3

    from ..parse import Diagnostic, ParsedNote
    from ..sync import SyncReport
    from .workspace import Workspace


def sync(ws: Workspace, *, yes: bool = False, write_ids: bool = False) -> SyncReport:
    """Sync the vault into the database, then merge the review journals of every device.

    Args:
        ws: The workspace.
        yes: Retire cards even when most of the vault's cards would go (else the front end is asked).
        write_ids: Then append a block id to every card without one (``sync --write-ids``).

    Raises:
        MassRetire: most cards would be retired and the front end did not confirm it.
        VaultError: the vault folder does not exist.
    """
    from ..sync import MassRetire, check_vault

    cfg = ws.config
    check_vault(cfg.vault)  # before any database file is made
    if cfg.vault_id is None and cfg.db_explicit is False and not has_notes(cfg.vault):
        # A first sync of a folder without notes is nearly always the wrong folder: write nothing.
        raise VaultError(
            f"{cfg.vault}: no Markdown notes in this folder; nothing was written. {HOW_TO_START}"
        )
    with ws.writing(), ws.connect() as conn:
        t = ws.now()
        daily_backup(ws, conn, t)
        try:
            report = _sync_once(ws, conn, t, allow_mass_retire=yes, progress=True)
        except MassRetire as exc:
            if not ws.frontend.confirm(f"{exc}\nRetire them anyway?"):
                raise
            report = _sync_once(ws, conn, t, allow_mass_retire=True, progress=False)
        _recompute_pending(ws, conn)
        report.journal = merge_history(ws, conn, t)
        if write_ids:
            from ..sync import write_block_ids

            written, diags = write_block_ids(conn, cfg.vault, ws.now(), ignore=cfg.ignore)
            again = _sync_once(ws, conn, ws.now(), allow_mass_retire=False, progress=False)
            report.ids_written = written
            report.diagnostics.extend(diags)
            report.diagnostics.extend(d for d in again.diagnostics if d not in report.diagnostics)
    return report


def resync_note(ws: Workspace, conn: sqlite3.Connection, path: str) -> list[Diagnostic]:
    """Sync one note again (after the person edited it mid-review); its errors."""
    from ..sync import sync_vault

    cfg = ws.config
    rep = sync_vault(
        conn,
        cfg.vault,
        ws.now(),
        ignore=cfg.ignore,
        only=[path],
        highlight_cloze=cfg.parse.osr_highlight_cloze,
    )
    return rep.errors


def _sync_once(
    ws: Workspace, conn: sqlite3.Connection, t: datetime, *, allow_mass_retire: bool, progress: bool
) -> SyncReport:
    from ..sync import sync_vault

    cfg = ws.config
    return sync_vault(
        conn,
        cfg.vault,
        t,
        ignore=cfg.ignore,
        progress=ws.frontend.progress if progress else None,
        allow_mass_retire=allow_mass_retire,
        highlight_cloze=cfg.parse.osr_highlight_cloze,
    )


def merge_history(ws: Workspace, conn: sqlite3.Connection, t: datetime) -> dict[str, object] | None:
    """Seed this device's journal with the database's history (first run), then merge every device's.

    Each problem the merge found (a line it could not read) becomes a notice.
    """
    from ..history.merge import SEEDED, merge_journals, seed_journal
    from ..store.cards import holds_history
    from ..store.db import transaction
    from ..store.events import get_meta, set_meta

    j = ws.journal()
    if j is None:
        return None
    cfg = ws.config
    if get_meta(conn, SEEDED) is None and not holds_history(conn):
        # Nothing to seed (no review, no suspension): mark it done as seed_journal would, without
        # loading every card's keys (0.7 s after a first sync of 200,000 cards).
        with transaction(conn):
            set_meta(conn, SEEDED, t.isoformat())
        seeded = 0
    else:
        seeded = seed_journal(conn, j, t)
    merged = merge_journals(
        conn,
        j.folder,
        ws.scheduler,
        leech_threshold=cfg.schedule.leech_threshold,
        leech_action=cfg.schedule.leech_action,
        rel=ws.relative,
        journal=j,
        now=t,
        max_answer_ms=cfg.review.max_answer_seconds * 1000,
    )
    for problem in merged.problems:
        ws.frontend.notice(problem)
    return {**merged.as_dict(), "seeded": seeded, "device": j.device}


def daily_backup(ws: Workspace, conn: sqlite3.Connection, t: datetime) -> None:
    """Snapshot the database once per day (UTC date) before the first write, keeping the newest N."""
    from ..store.backup import backup_database, prune
    from ..store.cards import counts
    from ..store.db import transaction
    from ..store.events import get_meta, set_meta

    today = t.date().isoformat()
    if get_meta(conn, "last_backup") == today:
        return
    if counts(conn)["cards"] == 0:
        return  # nothing worth keeping yet
    folder = ws.backup_folder()
    backup_database(conn, folder, "daily", t)
    prune(folder, ws.config.history.backups_keep)
    with transaction(conn):
        set_meta(conn, "last_backup", today)


def _recompute_pending(ws: Workspace, conn: sqlite3.Connection) -> None:
    """Run the schedule recompute a migration asked for (after a backup), with a notice."""
    from ..scheduling.memory import CardScheduler
    from ..scheduling.reschedule import run_pending_recompute
    from ..store.schedules import recompute_pending

    if not recompute_pending(conn):
        return
    done = run_pending_recompute(
        conn, CardScheduler(ws.config.schedule, ws.day_clock()), ws.now(), ws.backup_folder()
    )
    if done is not None:
        ws.frontend.notice(
            f"schedules recomputed in review days: {done.changed} of {plural(done.cards, 'card')} changed "
            f"(backup of the database before: {done.backup})"
        )


@dataclass
class CheckReport:
    """What ``check`` found in a folder of notes."""

    notes: int
    cards: int
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity ``error``."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def as_dict(self) -> dict[str, object]:
        """The report as plain data, for ``--json``."""
        return {
            "notes": self.notes,
            "cards": self.cards,
            "errors": len(self.errors),
            "warnings": len(self.diagnostics) - len(self.errors),
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "code": d.code, "message": d.message}
                for d in self.diagnostics
            ],
        }


def check(ws: Workspace, folder: Path | None = None, *, quality: bool | None = None) -> CheckReport:
    """Lint the notes of ``folder`` (default: the vault) without touching the database.

    Format errors, dangling links, duplicate cards and, when ``quality`` is on (default: the
    config's ``[check] quality``), the card-quality warnings of ``parse.quality``.
    """
    from ..insights.duplicates import cards_from_notes, duplicate_diagnostics, find_duplicates
    from ..sync import read_vault
    from ..sync.walk import dangling_links

    cfg = ws.config
    root = folder or cfg.vault
    notes, diags = read_vault(root, cfg.ignore, highlight_cloze=cfg.parse.osr_highlight_cloze)
    found = [*diags, *dangling_links(notes), *duplicate_diagnostics(find_duplicates(cards_from_notes(notes)))]
    if quality if quality is not None else cfg.check.quality:
        found += quality_warnings(ws, root, notes)
    return CheckReport(len(notes), sum(len(n.cards) for n in notes), found)


def quality_warnings(ws: Workspace, root: Path, notes: list[ParsedNote]) -> list[Diagnostic]:
    """The card-quality warnings of every note (thresholds and switches from ``[check]``)."""
    from ..parse.quality import QualitySettings, check_note
    from ..sync.walk import decode_note

    settings = QualitySettings(
        max_answer_words=ws.config.check.max_answer_words,
        max_list_items=ws.config.check.max_list_items,
        disabled=frozenset(ws.config.check.disabled),
    )
    out: list[Diagnostic] = []
    for note in notes:
        if not note.cards:
            continue
        try:
            text = decode_note((root / note.path).read_bytes(), note.path)
        except OSError:
            continue
        if isinstance(text, str):
            out += check_note(note, text, settings)
    return out
