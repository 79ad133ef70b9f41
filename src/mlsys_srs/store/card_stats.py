"""The statistics' view of cards: one pass over every card, the leech and lapse lists, memory states.

Stored instants are handed over as stored (ISO text, which sorts as time), so the statistics
compare them with stored day boundaries without parsing each one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .cards import LEECH_TAG
from .filters import CardFilter


class CardPass(NamedTuple):
    """One card as the statistics read it (a tuple: one pass over every card)."""

    id: int
    note_id: int
    domain: str
    state: str
    stability: float | None
    due: str | None
    """As stored (ISO text, sorts as time), compared with stored stamps without parsing."""
    last_review: str | None
    lapses: int
    suspended: bool
    retired: bool
    buried_until: str | None
    difficulty: float | None


def card_pass(conn: sqlite3.Connection, flt: CardFilter, *, active_only: bool = False) -> list[CardPass]:
    """Every card of ``flt`` (retired ones too unless ``active_only``), as ``CardPass`` rows."""
    where, params = flt.where()
    sql = (
        "SELECT card.id, card.note_id, note.domain, card.state, card.stability, card.due, card.last_review,"
        " card.lapses, card.suspended, card.retired, card.buried_until, card.difficulty"
        f" FROM card JOIN note ON note.id = card.note_id WHERE {where}"
    )
    if active_only:
        sql += " AND card.retired = 0"
    return list(map(CardPass._make, conn.execute(sql, params)))


@dataclass(frozen=True)
class CardRef:
    """A card named by its note path and line, for leech and lapse lists."""

    id: int
    note: str
    line: int
    domain: str
    question: str
    lapses: int
    reps: int
    state: str
    suspended: bool


_REF_SELECT = (
    "SELECT card.id, note.path, card.line, note.domain, card.question, card.lapses, card.reps, "
    "card.state, card.suspended FROM card JOIN note ON note.id = card.note_id "
)


def _ref(r: Sequence[Any]) -> CardRef:
    return CardRef(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))


def leeches(conn: sqlite3.Connection, flt: CardFilter) -> list[CardRef]:
    """Suspended cards tagged as leeches, most lapses first."""
    where, params = flt.where()
    rows = conn.execute(
        _REF_SELECT + f"WHERE {where} AND card.suspended = 1 AND EXISTS (SELECT 1 FROM card_tag "
        "WHERE card_tag.card_id = card.id AND card_tag.tag = ?) "
        "ORDER BY card.lapses DESC, note.path, card.line, card.id",
        [*params, LEECH_TAG],
    )
    return [_ref(r) for r in rows]


def most_lapsed(conn: sqlite3.Connection, flt: CardFilter, limit: int) -> list[CardRef]:
    """The cards with the most lapses (at least one)."""
    where, params = flt.where()
    rows = conn.execute(
        _REF_SELECT + f"WHERE {where} AND card.lapses > 0 "
        f"ORDER BY card.lapses DESC, note.path, card.line, card.id LIMIT {int(limit)}",
        params,
    )
    return [_ref(r) for r in rows]


class CardMemory(NamedTuple):
    """An active card's text and memory state, for distributions and the report's card lists."""

    id: int
    note_id: int
    question: str
    state: str
    stability: float | None
    difficulty: float | None
    last_review: str | None
    suspended: bool


def card_memory(conn: sqlite3.Connection, flt: CardFilter) -> list[CardMemory]:
    """Every active (not retired) card of ``flt``, by id."""
    where, params = flt.where()
    return [
        CardMemory(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]))
        for r in conn.execute(
            "SELECT card.id, card.note_id, card.question, card.state, card.stability, card.difficulty,"
            " card.last_review, card.suspended FROM card JOIN note ON note.id = card.note_id"
            f" WHERE {where} AND card.retired = 0 ORDER BY card.id",
            params,
        )
    ]
