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


def open_db(path: Path, now: datetime, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the database at ``path``.

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
