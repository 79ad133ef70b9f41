"""Consistent snapshots of the review database (SQLite's online backup API), kept N at a time.

A snapshot is taken before a migration and once a day by the commands that
write; ``mlsys-srs backup`` lists them and ``backup restore NAME`` puts one
back (after snapshotting the current file). Snapshots live outside the vault,
in the user data folder, under the vault's id (``backups/<vault id>/``).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import DatabaseError

_NAME_RE = re.compile(r"^(\d{8}T\d{6}\d{6}Z)-([a-z0-9-]+)\.db$")


@dataclass(frozen=True)
class Snapshot:
    """One backup file."""

    path: Path
    taken_at: datetime
    reason: str
    size: int

    @property
    def name(self) -> str:
        """The file name, which ``backup restore`` takes."""
        return self.path.name


def backup_folder(data_dir: Path, db: Path) -> Path:
    """Where the snapshots of ``db`` go: ``<data dir>/backups/<db file stem>/``."""
    return data_dir / "backups" / db.stem


def adopt_backups(old: Path, new: Path, vault_id: str) -> bool:
    """Move the snapshots kept under a database's file name to the vault's own folder, when the
    newest of them is this vault's (a snapshot names its vault). True if moved."""
    from .db import peek_vault

    snaps = list_snapshots(old)
    if not snaps or new.exists():
        return False
    named, _ = peek_vault(snaps[-1].path)
    if named != vault_id:
        return False
    new.parent.mkdir(parents=True, exist_ok=True)
    try:
        old.rename(new)
    except OSError:
        return False
    return True


def snapshot_vault(path: Path) -> str | None:
    """The vault id a snapshot names (None for one taken before databases named their vault)."""
    from .db import peek_vault

    return peek_vault(path)[0]


def backup_database(conn: sqlite3.Connection, dest_dir: Path, reason: str, now: datetime) -> Path:
    """Snapshot the open database into ``dest_dir`` (consistent even while others write); return its path.

    Raises:
        DatabaseError: the snapshot cannot be written.
    """
    slug = re.sub(r"[^a-z0-9-]+", "-", reason.lower()).strip("-") or "backup"
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = dest_dir / f"{stamp}-{slug}.db"
    n = 1
    while target.exists():  # two snapshots in one microsecond (a fixed clock): a numbered sibling
        n += 1
        target = dest_dir / f"{stamp}-{slug}-{n}.db"
    tmp = target.with_suffix(".db.tmp")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        out = sqlite3.connect(tmp)
        try:
            conn.backup(out)
        finally:
            out.close()
        tmp.replace(target)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise DatabaseError(f"{target}: cannot write the backup ({exc})") from None
    return target


def list_snapshots(dest_dir: Path) -> list[Snapshot]:
    """The snapshots in ``dest_dir``, oldest first."""
    if not dest_dir.is_dir():
        return []
    out = []
    for p in dest_dir.iterdir():
        m = _NAME_RE.match(p.name)
        if not m:
            continue
        taken = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            continue  # pruned by another mlsys-srs meanwhile
        out.append(Snapshot(p, taken, m.group(2), size))
    return sorted(out, key=lambda s: s.taken_at)


def prune(dest_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` snapshots; return what was deleted."""
    snaps = list_snapshots(dest_dir)
    gone = [s.path for s in snaps[: max(0, len(snaps) - max(keep, 1))]]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def restore_snapshot(snapshot: Path, db: Path) -> None:
    """Replace the database at ``db`` with a snapshot (the caller snapshots the current file first).

    Raises:
        DatabaseError: the snapshot is not a database or cannot be copied.
    """
    try:
        src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        try:
            src.execute("SELECT count(*) FROM schema_migration").fetchone()
            dst = sqlite3.connect(db)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"{snapshot}: cannot restore this backup ({exc})") from None
