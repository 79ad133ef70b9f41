"""Copies of the review database, taken before changes that rewrite many rows.

``backup_database`` uses SQLite's online backup API, so the copy is consistent
even while the database is open (WAL included) and needs no lock on the file.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ..errors import DatabaseError

_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def default_backup_dir() -> Path:
    """``backups/`` in the user data folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("mlsys-srs", appauthor=False)) / "backups"


def backup_database(conn: sqlite3.Connection, dest_dir: Path, reason: str, now: datetime) -> Path:
    """Copy the open database into ``dest_dir`` as ``mlsys-srs-<UTC stamp>-<reason>.db``; return its path.

    ``reason`` names why (``review-days``, ``optimize``); it is reduced to letters,
    digits, ``-`` and ``_``. An existing file of the same name gets a numbered sibling.

    Raises:
        DatabaseError: the folder cannot be created or the copy fails.
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    tag = _SAFE.sub("-", reason).strip("-") or "backup"
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / f"mlsys-srs-{stamp}-{tag}.db"
        n = 1
        while path.exists():
            n += 1
            path = dest_dir / f"mlsys-srs-{stamp}-{tag}-{n}.db"
        target = sqlite3.connect(path)
        try:
            conn.backup(target)
        finally:
            target.close()
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"{dest_dir}: cannot write a backup of the database ({exc})") from None
    return path
