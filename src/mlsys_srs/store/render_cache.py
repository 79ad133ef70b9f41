"""The rendered-HTML cache of Anki exports (table ``render_cache``, migration m005).

Keys are content hashes (render/html.py ``MarkdownRenderer.cache_key``), so an entry
is never stale: an edited card has a new key. Entries no export uses any more are
pruned once they outnumber the used ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from .db import transaction

_CHUNK = 50_000


def has_renders(conn: sqlite3.Connection) -> bool:
    """Whether the cache holds anything (a first export skips looking keys up)."""
    return conn.execute("SELECT 1 FROM render_cache LIMIT 1").fetchone() is not None


def cached_renders(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
    """The cached HTML of those ``keys`` that are in the cache."""
    out: dict[str, str] = {}
    for i in range(0, len(keys), _CHUNK):
        out.update(
            conn.execute(
                "SELECT key, html FROM render_cache WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(list(keys[i : i + _CHUNK])),),
            ).fetchall()
        )
    return out


def save_renders(conn: sqlite3.Connection, fresh: Iterable[tuple[str, str]], used: Sequence[str]) -> None:
    """Store new ``(key, html)`` entries in one transaction; drop unused entries once there are
    more than twice as many entries as ``used`` keys (plus a margin)."""
    with transaction(conn):
        conn.executemany("INSERT OR REPLACE INTO render_cache (key, html) VALUES (?, ?)", fresh)
        total = conn.execute("SELECT count(*) FROM render_cache").fetchone()[0]
        if total > 2 * len(used) + 1000:
            conn.execute(
                "DELETE FROM render_cache WHERE key NOT IN (SELECT value FROM json_each(?))",
                (json.dumps(list(used)),),
            )
