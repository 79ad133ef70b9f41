"""Looking after a workspace's data: where things are, snapshots, rebuilding, purging.

``rebuild`` recreates the database from the notes and every device's journal (``check``
only compares); ``purge`` deletes long-retired cards for good, through the journal, after
the front end confirms; both snapshot the database first.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SrsError

if TYPE_CHECKING:
    from ..history.merge import Difference, MergeReport
    from ..store.backup import Snapshot
    from ..store.cards import CardView as PurgedCard
    from .workspace import Workspace


def info(ws: Workspace) -> dict[str, Any]:
    """Where the vault, its id, the database, the config files and the journal are; schema and counts."""
    from .. import __version__
    from ..store import SCHEMA_VERSION, schema_version
    from ..store.cards import counts

    cfg = ws.config
    try:
        db: Path | None = ws.database_path(create=False)
    except SrsError:
        db = None
    j = ws.journal()
    data: dict[str, Any] = {
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
        with ws.connect(create=False) as conn:
            data["schema_version"] = schema_version(conn)
            data.update(counts(conn))
            data.update(journal_health(conn))
    return data


def journal_health(conn: Any) -> dict[str, Any]:
    """Quarantined journal lines (their count and the first ones, ``path:line: reason``) and the
    events that wait (dated ahead, or from a newer version), as ``info`` and ``rebuild --check`` list them."""
    from ..store.events import journal_problems, waiting_counts

    total, shown = journal_problems(conn, limit=20)
    waiting = waiting_counts(conn)
    return {
        "journal_quarantined": total,
        "journal_quarantined_lines": [f"{path}:{line}: {reason}" for path, line, reason in shown],
        "journal_waiting_future": waiting.get("future", 0),
        "journal_waiting_newer": waiting.get("newer", 0),
    }


def snapshots(ws: Workspace) -> tuple[Path, list[Snapshot]]:
    """The folder of this vault's database snapshots, and the snapshots in it, oldest first."""
    from ..store.backup import list_snapshots

    folder = ws.backup_folder()
    return folder, list_snapshots(folder)


def restore(ws: Workspace, name: str, *, other_vault: bool = False) -> Path:
    """Put the snapshot ``name`` back as the database; the current file is snapshotted first.

    A snapshot of another vault (it names its vault) is refused unless ``other_vault``.

    Returns:
        The snapshot file of the database as it was.

    Raises:
        SrsError: no snapshot of that name, or one of another vault.
    """
    from ..store.backup import backup_database, restore_snapshot, snapshot_vault

    folder, snaps = snapshots(ws)
    match = [s for s in snaps if s.name == name]
    if not match:
        raise SrsError(f"{folder}: no snapshot named {name} (`mlsys-srs backup` lists them)")
    theirs, ours = snapshot_vault(match[0].path), ws.config.vault_id
    if theirs is not None and ours is not None and theirs != ours and not other_vault:
        raise SrsError(
            f"{match[0].path}: a snapshot of another vault ({theirs}), not of this one ({ours}); "
            "nothing was restored (--other-vault restores it anyway)"
        )
    db = ws.database_path(create=False)
    with ws.connect(create=False) as conn:
        saved = backup_database(conn, folder, "before-restore", ws.now())
    restore_snapshot(match[0].path, db)
    return saved


@dataclass(frozen=True)
class RebuildResult:
    """What ``rebuild`` did: the database rebuilt (or compared), the differences, the journal merge."""

    database: Path
    merged: MergeReport
    differences: list[Difference]
    checked: bool
    journal: dict[str, Any]
    """The rebuilt database's quarantined and waiting journal lines (``journal_health``)."""


def rebuild(ws: Workspace, *, check: bool) -> RebuildResult:
    """Recreate the database from the notes and every device's journal (``check``: compare only).

    Raises:
        SrsError: the journal is off (there is nothing to rebuild from).
    """
    from ..history.merge import compare_history, merge_journals
    from ..store import open_db
    from ..store.backup import backup_database
    from ..store.db import checkpoint
    from ..sync import sync_vault
    from .syncing import merge_history

    cfg = ws.config
    j = ws.journal()
    if j is None:
        raise SrsError(
            "the review journal is off ([history] journal = false): there is nothing to rebuild from"
        )
    t = ws.now()
    live_path = ws.database_path(create=False)
    health: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-rebuild-", dir=live_path.parent) as tmp:
        new_path = Path(tmp) / "rebuilt.db"
        with ws.connect(create=False) as live:
            # The live database's own history goes into the journal first, so the rebuild sees it all.
            merge_history(ws, live, t)
            if not check:
                backup_database(live, ws.backup_folder(), "before-rebuild", t)
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
                    ws.scheduler,
                    leech_threshold=cfg.schedule.leech_threshold,
                    leech_action=cfg.schedule.leech_action,
                    rel=ws.relative,
                    now=t,
                    max_answer_ms=cfg.review.max_answer_seconds * 1000,
                )
                diffs = compare_history(live, conn) if check else []
                health = journal_health(conn)
            finally:
                conn.close()
        if not check:
            checkpoint(new_path)
            os.replace(new_path, live_path)
            for suffix in ("-wal", "-shm"):
                live_path.with_name(live_path.name + suffix).unlink(missing_ok=True)
    return RebuildResult(live_path, merged, diffs, check, health)


def purge(ws: Workspace, older_than: timedelta, *, dry_run: bool, yes: bool) -> list[PurgedCard] | None:
    """Delete the cards retired longer ago than ``older_than`` for good, with their history.

    Unless ``dry_run`` or ``yes``, the front end confirms first; the database is snapshotted
    before anything goes. Each deletion is a journal event, so other devices delete it too.

    Returns:
        The cards that went (with ``dry_run``: would go), or ``None`` when the person said no.
    """
    from ..core.fmt import plural
    from ..history.merge import purge_retired
    from ..store.backup import backup_database

    t = ws.now()
    with ws.writing(), ws.connect(create=False) as conn:
        found = purge_retired(conn, ws.journal(), t, older_than, dry_run=True)
        if dry_run or not found:
            return found
        if not yes and not ws.frontend.confirm(f"Delete {plural(len(found), 'retired card')} for good?"):
            return None
        backup_database(conn, ws.backup_folder(), "before-purge", t)
        return purge_retired(conn, ws.journal(), t, older_than)
