"""Read queries over the store that several commands share."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .db import dt_from_db, dt_to_db

if TYPE_CHECKING:
    from ..decks import DeckRecipe

SEP = "\x1f"
STATES = ("new", "learning", "review", "relearning")


@dataclass(frozen=True)
class CardView:
    """A card with its note's path, title and domain, its tags and concept links."""

    id: int
    note_id: int
    note: str
    title: str
    domain: str
    line: int
    end_line: int
    kind: str
    syntax: str
    direction: str
    cloze: int | None
    question: str
    answer: str
    source: str
    context: str
    block_id: str | None
    fingerprint: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    state: str
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime | None
    last_review: datetime | None
    reps: int
    lapses: int
    suspended: bool
    buried_until: datetime | None
    retired: bool

    def as_json(self) -> dict[str, Any]:
        """The card as ``cards --json`` prints it."""
        return {
            "id": self.id,
            "note": self.note,
            "title": self.title,
            "line": self.line,
            "kind": self.kind,
            "syntax": self.syntax,
            "direction": self.direction,
            "cloze": self.cloze,
            "question": self.question,
            "answer": self.answer,
            "context": self.context,
            "domain": self.domain,
            "tags": list(self.tags),
            "block_id": self.block_id,
            "links": list(self.links),
            "state": self.state,
            "due": dt_to_db(self.due),
            "stability": self.stability,
            "difficulty": self.difficulty,
            "reps": self.reps,
            "lapses": self.lapses,
            "last_review": dt_to_db(self.last_review),
            "suspended": self.suspended,
            "buried_until": dt_to_db(self.buried_until),
            "retired": self.retired,
        }


CARD_SELECT = f"""
SELECT card.id, card.note_id, note.path, note.title, note.domain, card.line, card.end_line,
       card.kind, card.syntax, card.direction, card.cloze, card.question, card.answer,
       card.source, card.context, card.block_id, card.fingerprint,
       (SELECT group_concat(tag, '{SEP}') FROM card_tag WHERE card_tag.card_id = card.id),
       (SELECT group_concat(target, '{SEP}') FROM link WHERE link.card_id = card.id),
       card.state, card.step, card.stability, card.difficulty, card.due, card.last_review,
       card.reps, card.lapses, card.suspended, card.buried_until, card.retired
FROM card JOIN note ON note.id = card.note_id
"""


def card_from_row(r: Sequence[Any]) -> CardView:
    """Build a ``CardView`` from a row of ``CARD_SELECT``."""
    return CardView(
        id=r[0],
        note_id=r[1],
        note=r[2],
        title=r[3],
        domain=r[4],
        line=r[5],
        end_line=r[6],
        kind=r[7],
        syntax=r[8],
        direction=r[9],
        cloze=r[10],
        question=r[11],
        answer=r[12],
        source=r[13],
        context=r[14],
        block_id=r[15],
        fingerprint=r[16],
        tags=tuple(sorted(r[17].split(SEP))) if r[17] else (),
        links=tuple(dict.fromkeys(r[18].split(SEP))) if r[18] else (),
        state=r[19],
        step=r[20],
        stability=r[21],
        difficulty=r[22],
        due=dt_from_db(r[23]),
        last_review=dt_from_db(r[24]),
        reps=r[25],
        lapses=r[26],
        suspended=bool(r[27]),
        buried_until=dt_from_db(r[28]),
        retired=bool(r[29]),
    )


@dataclass(frozen=True)
class CardFilter:
    """Which cards a command works on. Empty fields do not filter."""

    domains: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    note_globs: tuple[str, ...] = ()
    state: str | None = None
    due_before: datetime | None = None
    include_retired: bool = False
    only_retired: bool = False
    ids: tuple[int, ...] = ()
    deck: DeckRecipe | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and parameters for this filter."""
        conds: list[str] = []
        params: list[Any] = []
        if self.only_retired:
            conds.append("card.retired = 1")
        elif not self.include_retired:
            conds.append("card.retired = 0")
        if self.domains:
            conds.append(f"note.domain IN ({','.join('?' * len(self.domains))})")
            params.extend(self.domains)
        if self.tags:
            # A tag matches itself and its nested children: "gpu" matches "gpu/cuda".
            parts = []
            for tag in self.tags:
                parts.append("(card_tag.tag = ? OR card_tag.tag LIKE ? ESCAPE '\\')")
                esc = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                params.extend([tag, esc + "/%"])
            conds.append(
                "EXISTS (SELECT 1 FROM card_tag WHERE card_tag.card_id = card.id AND ("
                + " OR ".join(parts)
                + "))"
            )
        if self.note_globs:
            conds.append("(" + " OR ".join("note.path GLOB ?" for _ in self.note_globs) + ")")
            params.extend(self.note_globs)
        if self.state:
            if self.state == "suspended":
                conds.append("card.suspended = 1")
            else:
                conds.append("card.state = ?")
                params.append(self.state)
        if self.due_before is not None:
            conds.append("card.state != 'new' AND card.due <= ?")
            params.append(dt_to_db(self.due_before))
        if self.deck is not None:
            deck_sql, deck_params = self.deck.where()
            conds.append(deck_sql)
            params.extend(deck_params)
        if self.ids:
            conds.append(f"card.id IN ({','.join('?' * len(self.ids))})")
            params.extend(self.ids)
        return (" AND ".join(conds) or "1"), params


def list_cards(
    conn: sqlite3.Connection, flt: CardFilter | None = None, limit: int | None = None
) -> list[CardView]:
    """Cards matching ``flt``, by note path and line."""
    where, params = (flt or CardFilter()).where()
    sql = CARD_SELECT + f" WHERE {where} ORDER BY note.path, card.line, card.cloze, card.direction"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [card_from_row(r) for r in conn.execute(sql, params)]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Counts of notes, cards (active, retired, suspended) and reviews."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM note WHERE present = 1),"
        " (SELECT count(*) FROM card WHERE retired = 0),"
        " (SELECT count(*) FROM card WHERE retired = 1),"
        " (SELECT count(*) FROM card WHERE retired = 0 AND suspended = 1),"
        " (SELECT count(*) FROM review),"
        " (SELECT count(*) FROM link),"
        " (SELECT count(*) FROM link WHERE target_note_id IS NULL)"
    ).fetchone()
    return {
        "notes": row[0],
        "cards": row[1],
        "retired": row[2],
        "suspended": row[3],
        "reviews": row[4],
        "links": row[5],
        "dangling_links": row[6],
    }
