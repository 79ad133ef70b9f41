"""Opening the review database: pragmas, migrations and datetime conversion.

Runtime code uses ``sqlite3`` directly (fast to import, see ``models.py``).
The connection is in autocommit mode; writers open explicit transactions with
``transaction()`` so that a failed sync or review leaves nothing half-written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import DatabaseError
from .migrations import MIGRATIONS, applied, migrate

BUSY_TIMEOUT_MS = 5000


def dt_to_db(value: datetime | None) -> str | None:
    """An aware datetime as stored: ISO 8601 in UTC with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass a UTC-aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt_from_db(value: str | None) -> datetime | None:
    """A stored datetime back as a UTC-aware datetime (tzinfo exactly ``UTC``)."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() not in ("wal", "memory"):
        raise DatabaseError(f"cannot switch the database to WAL mode (got {mode})")
    # FULL: a grade that was committed survives a crash or a power cut.
    conn.execute("PRAGMA synchronous = FULL")


def open_db(
    path: Path, now: datetime, *, create: bool = True, backup_dir: Path | None = None
) -> sqlite3.Connection:
    """Open (and migrate) the database at ``path``; with ``backup_dir``, an existing database is
    snapshotted there before a migration changes it.

    Raises:
        DatabaseError: the file is not a SQLite database, is newer than this
            version of mlsys-srs, is locked, or its folder cannot be created.
    """
    if not create and not path.exists():
        raise DatabaseError(f"{path}: no database yet (run `mlsys-srs sync` first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"{path.parent}: cannot create the database folder ({exc.strerror})") from None
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        _configure(conn)
        names = applied(conn)
        known = {name for name, _ in MIGRATIONS}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DatabaseError(
                f"{path}: the database was written by a newer mlsys-srs (migration {unknown[0]}); "
                "upgrade mlsys-srs"
            )
        if len(names) < len(MIGRATIONS):
            if names and backup_dir is not None:
                from .backup import backup_database

                pending = [n for n, _ in MIGRATIONS if n not in names]
                backup_database(conn, backup_dir, f"before-{pending[0]}", now)
            migrate(conn, now)
    except sqlite3.DatabaseError as exc:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            raise DatabaseError(f"{path}: the database is locked by another mlsys-srs") from None
        raise DatabaseError(f"{path}: cannot use the database ({msg})") from None
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"cannot write to the database: {exc}") from None
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    """How many migrations the database has applied."""
    return len(applied(conn))


def peek_vault(path: Path) -> tuple[str | None, list[str]]:
    """Read-only look into a database: the vault id it names (if any) and some of its notes' paths."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None, []
    try:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'vault_id'").fetchone()
            if row is not None:
                return str(row[0]), []
        except sqlite3.Error:
            pass
        return None, [str(r[0]) for r in conn.execute("SELECT path FROM note WHERE present = 1 LIMIT 2000")]
    except sqlite3.Error:
        return None, []
    finally:
        conn.close()


def checkpoint(path: Path) -> bool:
    """Fold a database's WAL into its main file; False if it cannot be opened."""
    try:
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True
