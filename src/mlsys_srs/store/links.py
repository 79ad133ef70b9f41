"""Concept links: written by sync per note, resolved to notes, read by the graph."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from ..parse import Link, LinkResolver
from .schema import LINK_COLUMNS, cols

_WRITE = LINK_COLUMNS[1:-1]  # note_id, card_id, line, target, heading, block, display


def replace_links(
    conn: sqlite3.Connection, note_ids: Sequence[int], rows: Sequence[Sequence[object]]
) -> None:
    """Replace the links of ``note_ids`` by ``rows`` (note_id, card_id, line, target, heading, block, display)."""
    conn.execute(
        "DELETE FROM link WHERE note_id IN (SELECT value FROM json_each(?))", (json.dumps(list(note_ids)),)
    )
    conn.executemany(
        f"INSERT INTO link ({cols(_WRITE)}) VALUES ({','.join('?' * len(_WRITE))})", [tuple(r) for r in rows]
    )


def resolve_links(
    conn: sqlite3.Connection, note_ids: Sequence[int | None], markdown_targets: set[tuple[int | None, str]]
) -> None:
    """Set ``link.target_note_id`` as Obsidian resolves links: for the given notes, or all links if none."""
    notes = list(conn.execute("SELECT id, path, aliases FROM note WHERE present = 1"))
    resolver = LinkResolver.build((str(p), json.loads(a)) for _, p, a in notes)
    id_of = {str(p): int(i) for i, p, _ in notes}
    sql = "SELECT link.id, link.target, link.note_id, note.path FROM link JOIN note ON note.id = link.note_id"
    if note_ids:
        rows = list(
            conn.execute(
                sql + " WHERE link.note_id IN (SELECT value FROM json_each(?))", (json.dumps(list(note_ids)),)
            )
        )
    else:
        rows = list(conn.execute(sql))
    updates = []
    for link_id, target, note_id, path in rows:
        markdown = (note_id, target) in markdown_targets or target.lower().endswith(".md")
        hit = resolver.resolve(Link(target=target, line=0, markdown=markdown), path)
        updates.append((id_of.get(hit) if hit else None, link_id))
    conn.executemany("UPDATE link SET target_note_id = ? WHERE id = ?", updates)


class GraphLink(NamedTuple):
    """A link of a present note, as the concept graph reads it."""

    source: int
    line: int
    target: str
    heading: str | None
    target_id: int | None


def present_links(conn: sqlite3.Connection) -> list[GraphLink]:
    """The links written in present notes, by note and line."""
    return [
        GraphLink(*r)
        for r in conn.execute(
            "SELECT link.note_id, link.line, link.target, link.heading, link.target_note_id FROM link "
            "JOIN note ON note.id = link.note_id WHERE note.present = 1 ORDER BY link.note_id, link.line, link.id"
        )
    ]
