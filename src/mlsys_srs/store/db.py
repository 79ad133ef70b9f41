"""Opening the review database: pragmas, migrations and datetime conversion.

Runtime code uses ``sqlite3`` directly (fast to import, see ``models.py``).
The connection is in autocommit mode; writers open explicit transactions with
``transaction()`` so that a failed sync or review leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from ..core.instants import parse_instant
from ..errors import DatabaseError
from .migrations import MIGRATIONS, applied, migrate
from .schema import TABLES

BUSY_TIMEOUT_MS = 5000
WAL_SWITCH_TRIES = 250  # 20 ms apart: as long as the busy timeout


@overload
def dt_to_db(value: datetime) -> str: ...


@overload
def dt_to_db(value: datetime | None) -> str | None: ...


def dt_to_db(value: datetime | None) -> str | None:
    """An aware datetime as stored: ISO 8601 in UTC with microseconds."""
    if value is None:
        return None
    if value.tzinfo is UTC:
        return value.isoformat(timespec="microseconds")  # the common case, without a conversion
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass a UTC-aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt_from_db(value: str | None) -> datetime | None:
    """A stored datetime back as a UTC-aware datetime (tzinfo exactly ``UTC``)."""
    return None if value is None else parse_instant(value)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    _use_wal(conn)
    # FULL: a grade that was committed survives a crash or a power cut.
    conn.execute("PRAGMA synchronous = FULL")


def _use_wal(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    # Switching to WAL takes an exclusive lock without SQLite's busy handler, so a
    # second process opening a fresh database at the same moment retries here.
    for attempt in range(WAL_SWITCH_TRIES):
        if str(mode).lower() in ("wal", "memory"):
            break
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                raise
            time.sleep(0.02)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() not in ("wal", "memory"):
        raise DatabaseError(f"cannot switch the database to WAL mode (got {mode})")


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a SQLite file that is not an mlsys-srs database (before anything is written to it)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "schema_migration" not in tables:
        raise DatabaseError(
            f"{path}: not an mlsys-srs database (it has other tables); it was left as it is. "
            "Use --db to name another file"
        )


def describe_error(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """One clear line for a SQLite failure on the database at ``path``."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        text = "the database is locked by another mlsys-srs"
    elif "readonly" in low or "read-only" in low:
        text = (
            "the database is read-only (file or folder permissions, or a read-only disk); nothing was saved"
        )
    elif "full" in low:
        text = "the disk is full; nothing was saved"
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        text = f"the database is damaged ({msg}); restore it from a backup or move it away"
    elif "unable to open" in low:
        text = "cannot open the database file (check the path and its folder's permissions)"
    elif "disk i/o" in low:
        text = "disk I/O error while using the database; nothing was saved"
    else:
        text = f"cannot use the database ({msg})"
    return DatabaseError(f"{path}: {text}")


def open_db(
    path: Path, now: datetime, *, create: bool = True, backup_dir: Path | None = None
) -> sqlite3.Connection:
    """Open (and migrate) the database at ``path``; with ``backup_dir``, an existing database is
    snapshotted there before a migration changes it.

    With ``create=False`` a missing database is an error and no file is made.
    A SQLite file that has tables but no ``schema_migration`` is someone
    else's and is refused untouched. Migrations run under ``BEGIN
    IMMEDIATE``, so two processes opening a fresh database migrate it once.

    Raises:
        DatabaseError: the file is not a SQLite database, not ours, damaged,
            newer than this version of mlsys-srs, locked, read-only, or its
            folder cannot be created.
    """
    if path.exists() and not path.is_file():
        raise DatabaseError(f"{path}: the database path is not a file")
    if not create and not path.exists():
        raise DatabaseError(f"{path}: no database yet (run `mlsys-srs sync` first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"{path.parent}: cannot create the database folder ({exc.strerror})") from None
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_ours(conn, path)
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
        check_schema(conn, path)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise describe_error(path, exc) from None
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a database whose tables lack columns this version reads (a tampered schema)."""
    for table, columns in TABLES.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in have]
        if missing:
            raise DatabaseError(
                f"{path}: the database schema was changed by something else "
                f"(table {table} lacks {', '.join(missing)}); restore it from a backup"
            )


@contextmanager
def writer_lock(db: Path, on_wait: Callable[[int | None], None]) -> Iterator[None]:
    """Hold the advisory lock ``<db>.lock`` (``flock``) while a long write, such as a sync, runs.

    A cold sync of a big vault outlasts any busy timeout, so a second writer
    waits here for the first instead of failing after a few seconds;
    ``on_wait(pid)`` is called once, with the holder's pid when known, before
    waiting. Where the lock file cannot be made (a read-only folder) there is
    no lock, and SQLite's own locking still keeps the database consistent.
    """
    lock = db.with_name(db.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            on_wait(int(holder) if holder.isdigit() else None)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise describe_error(_db_path(conn), exc) from None
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


@contextmanager
def first_load(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Settings for a first sync's bulk load into an empty database, around its transaction.

    A rollback journal instead of the WAL: the WAL would take every page of the load and copy it
    into the database again at the commit (a 350 MB first sync: 0.9 s of CPU, most at the end), a
    journal takes only the few pages the empty database had. It is used only when no other
    connection has the database open (it cannot be switched otherwise: the load then goes through
    the WAL, as any other write), and the WAL is back afterwards (a crash in between leaves a hot
    journal, rolled back and switched to WAL by the next ``open_db``). A process that opens the
    database during the load waits for it and gives up after the busy timeout, as for any locked
    database, instead of reading the empty database through the WAL. Foreign keys are not
    checked row by row: the load writes rows that name only rows it writes (the link rows'
    three checks cost more than writing them; tests/test_sync_cold.py runs
    ``foreign_key_check`` on what it writes). Call outside a transaction (SQLite ignores both
    pragmas inside one).
    """
    journal = False
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        conn.execute("PRAGMA busy_timeout = 0")  # another connection has it open: no waiting
        try:
            journal = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower() == "delete"
        except sqlite3.OperationalError:
            journal = False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    checks = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    if checks:
        conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield conn
    finally:
        if checks:
            conn.execute("PRAGMA foreign_keys = ON")
        if journal:
            _use_wal(conn)


@contextmanager
def page_cache(conn: sqlite3.Connection, kib: int) -> Iterator[sqlite3.Connection]:
    """A page cache of at least ``kib`` KiB for a bulk write, the connection's own again afterwards
    (memory is taken only as pages are used)."""
    before = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    size = before * conn.execute("PRAGMA page_size").fetchone()[0] // 1024 if before > 0 else -before
    if size >= kib:
        yield conn
        return
    conn.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA cache_size = {before}")


def _db_path(conn: sqlite3.Connection) -> Path:
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else Path("the database")


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
