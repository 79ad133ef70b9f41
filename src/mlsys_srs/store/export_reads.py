"""How an Anki export reads the review database: in one snapshot, and from forked workers.

An export reads its cards a batch at a time (and, spread over forked workers, a share
at a time). Each batch's cards, renders and cache signatures are read inside one read
transaction (``reading``), so they come from one state of the database even while a
sync in another process writes. A forked worker must not use the connection it
inherited: it opens its own, read-only (``open_reader``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: what is read inside it is read from one state of the database (the
    caller's own transaction, if it has one)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def database_file(conn: sqlite3.Connection) -> str:
    """The file the connection's main database is in ("" for one in memory)."""
    return str(conn.execute("PRAGMA database_list").fetchone()[2] or "")


def open_reader(path: str) -> sqlite3.Connection:
    """A read-only connection of its own to the database at ``path`` (for a forked worker: the
    connection it inherited belongs to its parent)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    return conn
