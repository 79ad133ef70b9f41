"""What a sync reads and writes of cards: the cards it may match, new cards (in bulk: the
search index and the card table's indexes built once), new text and places, retirement,
tags and block ids; and ``purge``'s deletion of long-retired cards.

Cards are retired, never deleted, except by ``purge``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from .cards import SYSTEM_TAGS, card_ids_by_uid, ids_json
from .db import dt_to_db
from .migrations import CARD_FTS_INSERT_TRIGGER
from .schema import CARD_TEXT_COLUMNS, cols


@dataclass
class StoredCard:
    """A stored card as sync matches it: identity, text and place."""

    id: int
    note_id: int
    fingerprint: str
    block_id: str | None
    kind: str
    direction: str
    cloze: int | None
    question: str
    answer: str
    source: str
    context: str
    line: int
    end_line: int
    syntax: str
    retired: bool


_STORED_COLS = tuple(f.name for f in fields(StoredCard))
"""The columns a ``StoredCard`` is read from: its fields, in order."""


def card_pool(conn: sqlite3.Connection, note_ids: Sequence[int | None]) -> list[StoredCard]:
    """The stored cards a sync may match: those of ``note_ids`` and every retired card."""
    rows = conn.execute(
        f"SELECT {cols(_STORED_COLS)} FROM card WHERE retired = 1 OR note_id IN (SELECT value FROM json_each(?))",
        (ids_json(note_ids),),
    )
    out = []
    for r in rows:
        values = dict(zip(_STORED_COLS, r, strict=True))
        values["retired"] = bool(values["retired"])
        out.append(StoredCard(**values))
    return out


def active_block_ids(
    conn: sqlite3.Connection, block_ids: Sequence[str]
) -> list[tuple[int, str, str, int | None]]:
    """``(id, block_id, direction, cloze)`` of active cards holding any of ``block_ids``."""
    return [
        (int(r[0]), str(r[1]), str(r[2]), r[3])
        for r in conn.execute(
            "SELECT id, block_id, direction, cloze FROM card WHERE retired = 0 AND block_id IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(list(block_ids)),),
        )
    ]


_INSERT_CARD = (
    f"INSERT INTO card ({cols(CARD_TEXT_COLUMNS)}, state, reps, lapses, suspended, retired, created_at, "
    f"updated_at, uid) VALUES ({','.join('?' * len(CARD_TEXT_COLUMNS))},'new',0,0,0,0,?,?,?)"
)


_INSERT_CARD_WITH_ID = (
    f"INSERT INTO card (id, {cols(CARD_TEXT_COLUMNS)}, state, reps, lapses, suspended, retired, created_at, "
    f"updated_at, uid) VALUES (?,{','.join('?' * len(CARD_TEXT_COLUMNS))},'new',0,0,0,0,?,?,?)"
)


_MAX_ROWID = 2**63 - 1


def insert_cards(
    conn: sqlite3.Connection, cards: Sequence[tuple[Sequence[Any], str]], stamp: str | None
) -> list[int]:
    """Add new cards ``(text, uid)`` in one statement; return their ids in the order given.

    Inside the caller's transaction the cards get the ids SQLite would give them (one more than
    the largest id so far, then counting up), written with the rows: no look-up afterwards. A
    large batch is written under ``bulk_cards``.
    """
    if not cards:
        return []
    first = next_card_id(conn) if conn.in_transaction else _MAX_ROWID
    if first + len(cards) > _MAX_ROWID:
        # Rows are made per chunk: a 200,000-card sync never holds a second copy of every card.
        conn.executemany(_INSERT_CARD, ((*text, stamp, stamp, uid) for text, uid in cards))
        ids = card_ids_by_uid(conn, [uid for _, uid in cards])
        return [ids[uid] for _, uid in cards]
    new_ids = list(range(first, first + len(cards)))
    rows = ((cid, *text, stamp, stamp, uid) for cid, (text, uid) in zip(new_ids, cards, strict=True))
    if len(cards) < _BULK_FTS:
        insert_card_rows(conn, rows)
        return new_ids
    with bulk_cards(conn, first, indexes=len(cards) >= max(_BULK_INDEX, first - 1)):
        insert_card_rows(conn, rows)
    return new_ids


def next_card_id(conn: sqlite3.Connection) -> int:
    """The id SQLite gives the next card: one more than the largest so far (call inside the writing
    transaction, which holds the write lock)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM card").fetchone()[0])


def insert_card_rows(
    conn: sqlite3.Connection, rows: Iterable[Sequence[Any]], *, id_offset: int = 0, note_offset: int = 0
) -> None:
    """Add new cards given as ``(id, *CARD_TEXT_COLUMNS, created_at, updated_at, uid)`` rows; the
    database adds ``id_offset`` to each id and ``note_offset`` to each note id."""
    if not id_offset and not note_offset:
        conn.executemany(_INSERT_CARD_WITH_ID, rows)
        return
    conn.executemany(
        _INSERT_CARD_WITH_ID.replace(
            "VALUES (?,?,", f"VALUES (? + {int(id_offset)},? + {int(note_offset)},", 1
        ),
        rows,
    )


@contextmanager
def bulk_cards(
    conn: sqlite3.Connection,
    first: int,
    *,
    indexes: bool,
    tables: Sequence[str] = ("card",),
    search: bool = True,
) -> Iterator[None]:
    """Write many new cards, ids from ``first`` on, inside the caller's transaction, then index them.

    The search index's per-row trigger costs ~15x a bulk fill (measured: 1.76 s against 0.27 s
    for 23,333 cards): it is lifted, and the new cards are added to the index in one statement
    at the end. With ``indexes`` (a batch as large as the table, such as a first sync) the card
    table's indexes are dropped too and built again in one pass each: their random uid and
    fingerprint keys cost as much as the rows themselves; ``tables`` names the tables whose
    indexes are dropped (a first sync writes every tag and link inside too). The same rows and
    indexes at the commit, and no other connection ever sees the schema in between. On an
    exception nothing is put back: the caller's transaction rolls it all back.

    Without ``search`` the caller adds the new cards to the search index itself, as it writes
    them (``index_for_search``); the index holds the same rows at the end.
    """
    conn.execute("DROP TRIGGER IF EXISTS card_fts_insert")
    dropped: list[tuple[str, str]] = []
    if indexes:
        dropped = [
            (str(name), str(sql))
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN (SELECT value FROM json_each(?)) ORDER BY tbl_name, name",
                (json.dumps(list(tables)),),
            )
        ]
        for name, _ in dropped:
            conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in dropped:
        conn.execute(sql)
    if search:
        index_for_search(conn, first)
    conn.execute(CARD_FTS_INSERT_TRIGGER)


def index_for_search(conn: sqlite3.Connection, first: int, end: int | None = None) -> None:
    """Add the cards with ids from ``first`` (up to ``end``, excluded) to the search index in one
    statement (inside ``bulk_cards``, which lifts the per-card trigger)."""
    upto = "" if end is None else f" AND card.id < {int(end)}"
    conn.execute(
        "INSERT INTO card_fts (rowid, question, answer, context, note) "
        "SELECT card.id, card.question, card.answer, card.context, note.path || ' ' || note.title "
        f"FROM card JOIN note ON note.id = card.note_id WHERE card.id >= ?{upto} ORDER BY card.id",
        (first,),
    )


_BULK_FTS = 200
"""From this many new cards on, ``insert_cards`` fills the search index in bulk."""


_BULK_INDEX = 2000
"""From this many new cards on (and no fewer than the table's largest id), ``insert_cards`` builds
the card table's indexes after the rows."""


def uids_taken(conn: sqlite3.Connection, uids: Sequence[str]) -> set[str]:
    """Which of ``uids`` some card (retired ones too) already holds."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT uid FROM card WHERE uid IN (SELECT value FROM json_each(?))", (json.dumps(list(uids)),)
        )
    }


def update_card_text(
    conn: sqlite3.Connection, card_id: int, text: Sequence[Any], touched: bool, stamp: str | None
) -> None:
    """Give a matched card its new place and text, unretire it; bump ``updated_at`` when ``touched``."""
    conn.execute(_UPDATE_CARD_TEXT, (*text, int(touched), stamp, card_id))


_UPDATE_CARD_TEXT = (
    "UPDATE card SET "
    + ", ".join(f"{c}=?" for c in CARD_TEXT_COLUMNS)
    + ", retired=0, retired_at=NULL, updated_at=CASE WHEN ? THEN ? ELSE updated_at END WHERE id=?"
)


def retire_cards(conn: sqlite3.Connection, ids: Sequence[int], stamp: str | None) -> None:
    """Retire cards (never deleted: their history stays)."""
    conn.executemany("UPDATE card SET retired = 1, retired_at = ? WHERE id = ?", [(stamp, i) for i in ids])


def retired_before(conn: sqlite3.Connection, cutoff: datetime) -> list[int]:
    """The retired cards retired before ``cutoff`` (a card retired before retire times were kept: by its
    last change), oldest first."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM card WHERE retired = 1 AND COALESCE(retired_at, updated_at) < ?"
            " ORDER BY COALESCE(retired_at, updated_at), id",
            (dt_to_db(cutoff),),
        )
    ]


def delete_cards(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Delete cards for good with their reviews, tags and events; links inside them stay, unattached
    (caller's transaction; only ``purge`` does this)."""
    arg = (ids_json(ids),)
    where = "card_id IN (SELECT value FROM json_each(?))"
    conn.execute(f"DELETE FROM review WHERE {where}", arg)
    conn.execute(f"DELETE FROM card_tag WHERE {where}", arg)
    conn.execute(f"UPDATE link SET card_id = NULL WHERE {where}", arg)
    conn.execute(f"DELETE FROM event WHERE {where}", arg)
    conn.execute("DELETE FROM card WHERE id IN (SELECT value FROM json_each(?))", arg)


def replace_tags(
    conn: sqlite3.Connection, tags_by_card: Sequence[tuple[int, Iterable[str]]], new: Container[int] = ()
) -> None:
    """Set the note-given tags of cards, keeping the tags the tool sets itself (``SYSTEM_TAGS``).

    ``new``: ids among them of cards added in this transaction (they have no tags to replace).
    """
    old = [cid for cid, _ in tags_by_card if cid not in new]
    if old:
        conn.execute(
            "DELETE FROM card_tag WHERE card_id IN (SELECT value FROM json_each(?)) "
            "AND tag NOT IN (SELECT value FROM json_each(?))",
            (ids_json(old), json.dumps(sorted(SYSTEM_TAGS))),
        )
    insert_card_tags(conn, [(cid, tag) for cid, tags in tags_by_card for tag in tags])


def insert_card_tags(
    conn: sqlite3.Connection, rows: Iterable[tuple[int, str]], *, id_offset: int = 0
) -> None:
    """Add ``(card id, tag)`` rows (a tag a card already has is left as it is); the database adds
    ``id_offset`` to each card id."""
    conn.executemany(
        f"INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (? + {int(id_offset)}, ?)"
        if id_offset
        else "INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (?, ?)",
        rows,
    )


class IdlessCard(NamedTuple):
    """An active card without a block id, and its note's path and stored content hash."""

    id: int
    note_id: int
    line: int
    end_line: int
    direction: str
    cloze: int | None
    path: str
    content_hash: str


def cards_without_block_ids(conn: sqlite3.Connection) -> list[IdlessCard]:
    """Active cards of present notes that have no block id, by note path and last line."""
    return [
        IdlessCard(*r)
        for r in conn.execute(
            "SELECT card.id, card.note_id, card.line, card.end_line, card.direction, card.cloze, "
            "note.path, note.content_hash FROM card JOIN note ON note.id = card.note_id "
            "WHERE card.block_id IS NULL AND card.retired = 0 AND note.present = 1 ORDER BY note.path, card.end_line"
        )
    ]


def block_ids_in_use(conn: sqlite3.Connection) -> set[str]:
    """Every block id any card (retired ones too) holds."""
    return {r[0] for r in conn.execute("SELECT DISTINCT block_id FROM card WHERE block_id IS NOT NULL")}


def set_block_ids(conn: sqlite3.Connection, assignments: Sequence[tuple[str, int]]) -> None:
    """Record ``(block id, card id)`` pairs written into the notes."""
    conn.executemany("UPDATE card SET block_id = ? WHERE id = ?", assignments)
