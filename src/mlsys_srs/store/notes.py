"""Note rows: what sync stores per Markdown file, and what the concept graph reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .schema import cols


class NoteRow(NamedTuple):
    """A stored note as sync compares it with the file."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    present: bool
    title: str
    aliases: str


_NOTE_ROW_COLS = NoteRow._fields
NOTE_WRITE_COLUMNS = (
    "path",
    "title",
    "domain",
    "tags",
    "aliases",
    "srs",
    "size",
    "mtime_ns",
    "content_hash",
    "diagnostics",
    "synced_at",
)
"""What sync writes for a note it read, in this order."""


def note_rows(conn: sqlite3.Connection) -> dict[str, NoteRow]:
    """Every stored note (present or not), by path."""
    return {r[1]: NoteRow(*r) for r in conn.execute(f"SELECT {cols(_NOTE_ROW_COLS)} FROM note")}


def update_file_stats(conn: sqlite3.Connection, stats: Sequence[tuple[int, int, int]]) -> None:
    """Record ``(size, mtime_ns, note id)`` of notes whose content did not change."""
    conn.executemany("UPDATE note SET size = ?, mtime_ns = ? WHERE id = ?", stats)


def insert_notes(conn: sqlite3.Connection, rows: Sequence[Sequence[object]]) -> list[int]:
    """Add notes (each in ``NOTE_WRITE_COLUMNS`` order) in one statement; return their ids in order."""
    if not rows:
        return []
    conn.executemany(
        f"INSERT INTO note ({cols(NOTE_WRITE_COLUMNS)}, present) "
        f"VALUES ({','.join('?' * len(NOTE_WRITE_COLUMNS))}, 1)",
        [tuple(r) for r in rows],
    )
    paths = [str(r[0]) for r in rows]
    ids = {
        str(p): int(i)
        for p, i in conn.execute(
            "SELECT path, id FROM note WHERE path IN (SELECT value FROM json_each(?))", (json.dumps(paths),)
        )
    }
    return [ids[p] for p in paths]


def next_note_id(conn: sqlite3.Connection) -> int:
    """The id SQLite gives the next note: one more than the largest so far (call inside the writing
    transaction, which holds the write lock)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM note").fetchone()[0])


def insert_notes_with_ids(conn: sqlite3.Connection, rows: Iterable[Sequence[object]], id_offset: int) -> None:
    """Add notes given as ``(id, *NOTE_WRITE_COLUMNS)`` rows; the database adds ``id_offset`` to each id."""
    conn.executemany(
        f"INSERT INTO note (id, {cols(NOTE_WRITE_COLUMNS)}, present) "
        f"VALUES (? + {int(id_offset)}, {','.join('?' * len(NOTE_WRITE_COLUMNS))}, 1)",
        rows,
    )


def update_note(conn: sqlite3.Connection, note_id: int, values: Sequence[object]) -> None:
    """Rewrite a note's row (``values`` in ``NOTE_WRITE_COLUMNS`` order) and mark it present."""
    assignments = ", ".join(f"{c}=?" for c in NOTE_WRITE_COLUMNS)
    conn.execute(f"UPDATE note SET {assignments}, present=1 WHERE id=?", (*values, note_id))


def mark_gone(conn: sqlite3.Connection, note_id: int, stamp: str | None) -> None:
    """A note's file is gone: keep the row (its cards keep their history), drop its links."""
    conn.execute("UPDATE note SET present = 0, synced_at = ? WHERE id = ?", (stamp, note_id))
    conn.execute("DELETE FROM link WHERE note_id = ?", (note_id,))


@dataclass(frozen=True)
class GraphNote:
    """A present note as the concept graph reads it."""

    id: int
    path: str
    title: str
    domain: str
    aliases: tuple[str, ...]
    srs: bool


def present_notes(conn: sqlite3.Connection) -> list[GraphNote]:
    """Every note whose file is present, with its aliases parsed."""
    out = []
    for nid, path, title, domain, alias_json, srs in conn.execute(
        "SELECT id, path, title, domain, aliases, srs FROM note WHERE present = 1"
    ):
        try:
            loaded = json.loads(alias_json or "[]")
        except ValueError:
            loaded = []
        aliases = tuple(str(a) for a in loaded) if isinstance(loaded, list) else ()
        out.append(GraphNote(int(nid), str(path), str(title), str(domain), aliases, bool(srs)))
    return out


def present_note_paths(conn: sqlite3.Connection) -> dict[int, str]:
    """Note id -> path of every note whose file is present."""
    return {int(i): str(p) for i, p in conn.execute("SELECT id, path FROM note WHERE present = 1")}


def resolved_note_links(
    conn: sqlite3.Connection, sources: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """``(source path, target path)`` of every resolved link between present notes, by source and line
    (the order an index note lists its folder's notes in).

    Args:
        sources: Only the links of the notes at these paths (None: of every note).
    """
    sql = (
        "SELECT src.path, dst.path FROM link JOIN note AS src ON src.id = link.note_id"
        " JOIN note AS dst ON dst.id = link.target_note_id WHERE src.present = 1 AND dst.present = 1"
    )
    args: list[str] = []
    if sources is not None:
        sql += " AND src.path IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(list(sources)))
    return [
        (str(a), str(b)) for a, b in conn.execute(sql + " ORDER BY link.note_id, link.line, link.id", args)
    ]
