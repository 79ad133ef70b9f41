"""Concept links: written by sync per note, resolved to notes, read by the graph."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Container, Iterable, Sequence
from typing import NamedTuple

from ..parse import Link, LinkResolver
from .schema import LINK_COLUMNS, cols

_WRITE = LINK_COLUMNS[1:]  # note_id, card_id, line, target, heading, block, display, target_note_id


class LinkTargets:
    """Resolves link targets to note ids as Obsidian resolves them, over the present notes.

    Built once per sync, after the notes are written; ``resolve_links`` and the links a sync
    writes use the same one.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        notes = conn.execute("SELECT id, path, aliases FROM note WHERE present = 1")
        self._set((int(i), str(p), json.loads(a)) for i, p, a in notes)

    @classmethod
    def of_notes(cls, notes: Iterable[tuple[int, str, Sequence[str]]]) -> LinkTargets:
        """Targets among notes given as ``(id, path, aliases)``, not read from a database (a first
        sync's workers resolve links against the notes it is about to write)."""
        targets = cls.__new__(cls)
        targets._set(notes)
        return targets

    def _set(self, notes: Iterable[tuple[int, str, Sequence[str]]]) -> None:
        rows = list(notes)
        self.resolver = LinkResolver.build((p, a) for _, p, a in rows)
        self.id_of = {p: i for i, p, _ in rows}
        self._plain: dict[str, int | None] = {}

    def note_id(self, target: str, from_path: str, markdown: bool) -> int | None:
        """The id of the note a link in ``from_path`` to ``target`` names (None: dangling).

        ``markdown``: the link is a Markdown link (or the note has one to the same target);
        a target ending in ``.md`` is always read as a path.
        """
        markdown = markdown or target.lower().endswith(".md")
        if not markdown:
            # Not read as a path: the note does not depend on where the link is (a vault links to
            # the same few concepts many times).
            if target in self._plain:
                return self._plain[target]
            hit = self.resolver.resolve(Link(target=target, line=0), from_path)
            found = self._plain[target] = self.id_of.get(hit) if hit else None
            return found
        hit = self.resolver.resolve(Link(target=target, line=0, markdown=markdown), from_path)
        return self.id_of.get(hit) if hit else None

    def note_ids(self, links: Iterable[Link], from_path: str, markdown: Container[str]) -> list[int | None]:
        """``note_id`` of each of a note's links; ``markdown``: the targets it links to with a Markdown
        link."""
        plain = self._plain
        out: list[int | None] = []
        for lk in links:
            target = lk.target
            if target in plain and target not in markdown:
                out.append(plain[target])
            else:
                out.append(self.note_id(target, from_path, target in markdown))
        return out


def insert_links(
    conn: sqlite3.Connection, rows: Iterable[Sequence[object]], *, note_offset: int, card_offset: int
) -> None:
    """Add links given as (note_id, card_id, line, target, heading, block, display, target_note_id)
    rows; the database adds ``note_offset`` to each note id and ``card_offset`` to each card id (a
    link outside every card keeps no card)."""
    conn.executemany(
        f"INSERT INTO link ({cols(_WRITE)}) VALUES (? + {int(note_offset)}, ? + {int(card_offset)}, "
        f"{','.join('?' * (len(_WRITE) - 2))})",
        rows,
    )


def replace_links(
    conn: sqlite3.Connection, note_ids: Sequence[int], rows: Sequence[Sequence[object]]
) -> None:
    """Replace the links of ``note_ids`` by ``rows`` (note_id, card_id, line, target, heading, block,
    display, target_note_id)."""
    conn.execute(
        "DELETE FROM link WHERE note_id IN (SELECT value FROM json_each(?))", (json.dumps(list(note_ids)),)
    )
    conn.executemany(f"INSERT INTO link ({cols(_WRITE)}) VALUES ({','.join('?' * len(_WRITE))})", rows)


def resolve_links(
    conn: sqlite3.Connection,
    note_ids: Sequence[int | None],
    markdown_targets: set[tuple[int | None, str]],
    *,
    targets: LinkTargets | None = None,
    exclude: Sequence[int] = (),
    unresolved: bool = False,
) -> None:
    """Set ``link.target_note_id`` as Obsidian resolves links: for the given notes, or all links if none
    (but those of the notes in ``exclude``, already resolved as they were written); with
    ``unresolved``, only among the links that have no target yet."""
    if targets is None:
        targets = LinkTargets(conn)
    sql = (
        "SELECT link.id, link.target, link.note_id, note.path, link.target_note_id FROM link "
        "JOIN note ON note.id = link.note_id"
    )
    if note_ids:
        where, arg = "IN", list(note_ids)
    elif exclude:
        where, arg = "NOT IN", list(exclude)
    else:
        where, arg = "", []
    if where:
        sql += f" WHERE link.note_id {where} (SELECT value FROM json_each(?))"
    if unresolved:
        sql += (" AND" if where else " WHERE") + " link.target_note_id IS NULL"
    updates = []
    for link_id, target, note_id, path, old in conn.execute(sql, (json.dumps(arg),) if where else ()):
        new = targets.note_id(target, path, (note_id, target) in markdown_targets)
        if new != old:
            updates.append((new, link_id))
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
