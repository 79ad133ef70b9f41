"""Card rows: reading cards (``CardView``, lists, search), their scheduling state and tags.

The other views of the card table have their own modules: ``candidates`` (the review
queue's), ``card_stats`` (the statistics') and ``card_sync`` (what a sync reads and writes).
Each row shape is mapped in one place; callers get named values, never positions.
Writes that belong together run in one transaction opened by the caller
(``db.transaction``) or here, as each function says.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..errors import CardNotFound
from .db import dt_from_db, dt_to_db
from .filters import CardFilter
from .schema import CARD_SCHEDULE_COLUMNS, CARD_TEXT_COLUMNS, cols

SEP = "\x1f"
LEECH_TAG = "leech"
"""The tag the leech rule sets on a card (and ``stats`` lists leeches by)."""
SYSTEM_TAGS = frozenset({LEECH_TAG})
"""Tags that mlsys-srs sets on cards itself; a sync never removes them."""


def ids_json(ids: Iterable[int | None]) -> str:
    """Card or note ids as a JSON array for ``json_each`` (None left out)."""
    return json.dumps([i for i in ids if i is not None])


# -- reading a card with its note, tags and links ------------------------------------


@dataclass(frozen=True, slots=True)
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
    uid: str = ""
    """The card's identity on every device (``identity.card_uid``)."""

    def as_json(self) -> dict[str, Any]:
        """The card as ``cards --json`` prints it."""
        return {
            "id": self.id,
            "uid": self.uid,
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


_VIEW_TEXT = tuple(c for c in CARD_TEXT_COLUMNS if c != "note_id")
CARD_SELECT = f"""
SELECT card.id, card.note_id, note.path, note.title, note.domain, {cols(_VIEW_TEXT, "card")},
       (SELECT group_concat(tag, '{SEP}') FROM card_tag WHERE card_tag.card_id = card.id),
       (SELECT group_concat(target, '{SEP}') FROM link WHERE link.card_id = card.id),
       {cols(CARD_SCHEDULE_COLUMNS, "card")}, card.retired, card.uid
FROM card JOIN note ON note.id = card.note_id
"""


_N_TEXT = len(_VIEW_TEXT)
# ``_view`` passes a row's values by position: CardView's fields are in CARD_SELECT's order.
assert [f.name for f in fields(CardView)] == [
    "id", "note_id", "note", "title", "domain", *_VIEW_TEXT, "tags", "links", *CARD_SCHEDULE_COLUMNS,
    "retired", "uid",
]  # fmt: skip


def _view(r: Sequence[Any]) -> CardView:
    n = _N_TEXT
    tags, links = r[5 + n], r[6 + n]
    (state, step, stability, difficulty, due, last_review, reps, lapses, suspended, buried_until) = r[
        7 + n : 17 + n
    ]
    # The row's first values go in by position (see the check above).
    return CardView(  # type: ignore[call-arg]
        *r[: 5 + n],
        tuple(sorted(tags.split(SEP))) if tags else (),
        tuple(dict.fromkeys(links.split(SEP))) if links else (),
        state,
        step,
        stability,
        difficulty,
        dt_from_db(due) if due is not None else None,
        dt_from_db(last_review) if last_review is not None else None,
        reps,
        lapses,
        bool(suspended),
        dt_from_db(buried_until) if buried_until is not None else None,
        bool(r[-2]),
        r[-1],
    )


_LIST_ORDER = "note.path, card.line, card.cloze, card.direction, card.id"


def list_cards(
    conn: sqlite3.Connection, flt: CardFilter | None = None, limit: int | None = None
) -> list[CardView]:
    """Cards matching ``flt``, by note path and line."""
    where, params = (flt or CardFilter()).where()
    sql = CARD_SELECT + f" WHERE {where} ORDER BY {_LIST_ORDER}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_view(r) for r in conn.execute(sql, params)]


def iter_cards(
    conn: sqlite3.Connection, flt: CardFilter | None = None, *, batch: int = 5000
) -> Iterator[list[CardView]]:
    """Cards matching ``flt`` in ``list_cards`` order, in lists of about ``batch`` cards; a note's
    cards are never split between two lists."""
    where, params = (flt or CardFilter()).where()
    rows = conn.execute(CARD_SELECT + f" WHERE {where} ORDER BY {_LIST_ORDER}", params)
    out: list[CardView] = []
    while chunk := rows.fetchmany(1000):
        for r in chunk:
            if len(out) >= batch and r[1] != out[-1].note_id:
                yield out
                out = []
            out.append(_view(r))
    if out:
        yield out


def card_id_batches(conn: sqlite3.Connection, flt: CardFilter, *, batch: int) -> list[tuple[int, ...]]:
    """The ids of the cards matching ``flt`` in ``list_cards`` order, cut as ``iter_cards`` cuts
    them: lists of about ``batch`` ids, a note's cards never split between two."""
    where, params = flt.where()
    out: list[tuple[int, ...]] = []
    ids: list[int] = []
    last = None
    for card_id, note_id in conn.execute(
        f"SELECT card.id, card.note_id FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where} ORDER BY {_LIST_ORDER}",
        params,
    ):
        if len(ids) >= batch and note_id != last:
            out.append(tuple(ids))
            ids = []
        ids.append(card_id)
        last = note_id
    if ids:
        out.append(tuple(ids))
    return out


_SEARCH_WEIGHTS = "10.0, 4.0, 2.0, 1.0"  # question, answer, context, note
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def search_cards(
    conn: sqlite3.Connection, text: str, flt: CardFilter | None = None, limit: int | None = None
) -> list[CardView]:
    """Cards whose question, answer, context or note match ``text``, best first.

    Ranked in tiers, then by BM25 within a tier (the question weighs most): the
    exact phrase; every word (the last one as a prefix, so a word being typed
    matches); any word. Words are taken from ``text`` (FTS syntax in it is not
    interpreted).
    """
    words = _TOKEN_RE.findall(text.lower())
    if not words:
        return []
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    tiers = [
        '"' + " ".join(words).replace('"', '""') + '"',
        " ".join([*quoted[:-1], quoted[-1] + "*"]),
        " OR ".join(quoted),
    ]
    where, params = (flt or CardFilter()).where()
    hits = " UNION ALL ".join(
        f"SELECT rowid AS id, {i} AS tier, bm25(card_fts, {_SEARCH_WEIGHTS}) AS score "
        "FROM card_fts WHERE card_fts MATCH ?"
        for i in range(len(tiers))
    )
    sql = (
        CARD_SELECT.replace(
            "FROM card JOIN note ON note.id = card.note_id",
            f"FROM (SELECT id, min(tier) AS tier, min(score) AS score FROM ({hits}) GROUP BY id) AS hit "
            "JOIN card ON card.id = hit.id JOIN note ON note.id = card.note_id",
        )
        + f" WHERE {where} ORDER BY hit.tier, hit.score, card.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_view(r) for r in conn.execute(sql, [*tiers, *params])]


def load_card(conn: sqlite3.Connection, card_id: int) -> CardView | None:
    """One card with its note's title and domain, tags and links (None if no such card)."""
    row = conn.execute(CARD_SELECT + " WHERE card.id = ?", (card_id,)).fetchone()
    return _view(row) if row is not None else None


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Counts of notes, cards (active, retired, suspended), reviews and links."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM note WHERE present = 1),"
        " (SELECT count(*) FROM card WHERE retired = 0),"
        " (SELECT count(*) FROM card WHERE retired = 1),"
        " (SELECT count(*) FROM card WHERE retired = 0 AND suspended = 1),"
        " (SELECT count(*) FROM review),"
        " (SELECT count(*) FROM link),"
        " (SELECT count(*) FROM link WHERE target_note_id IS NULL)"
    ).fetchone()
    keys = ("notes", "cards", "retired", "suspended", "reviews", "links", "dangling_links")
    return dict(zip(keys, (int(x) for x in row), strict=True))


# -- the scheduling columns --------------------------------------------------------


def schedule_of(conn: sqlite3.Connection, card_id: int) -> dict[str, Any]:
    """A card's scheduling columns as stored (``CARD_SCHEDULE_COLUMNS`` -> value).

    Raises:
        CardNotFound: no such card.
    """
    row = conn.execute(f"SELECT {cols(CARD_SCHEDULE_COLUMNS)} FROM card WHERE id = ?", (card_id,)).fetchone()
    if row is None:
        raise CardNotFound(f"no card with id {card_id}")
    return dict(zip(CARD_SCHEDULE_COLUMNS, row, strict=True))


def set_schedule(conn: sqlite3.Connection, card_id: int, raw: dict[str, Any]) -> None:
    """Write a card's scheduling columns (as ``schedule_of`` returns them)."""
    assignments = ", ".join(f"{c} = ?" for c in CARD_SCHEDULE_COLUMNS)
    conn.execute(
        f"UPDATE card SET {assignments} WHERE id = ?", (*(raw[c] for c in CARD_SCHEDULE_COLUMNS), card_id)
    )


def set_schedules(conn: sqlite3.Connection, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Write the scheduling columns of many cards (``(card id, as schedule_of returns them)``)."""
    assignments = ", ".join(f"{c} = ?" for c in CARD_SCHEDULE_COLUMNS)
    conn.executemany(
        f"UPDATE card SET {assignments} WHERE id = ?",
        [(*(raw[c] for c in CARD_SCHEDULE_COLUMNS), cid) for cid, raw in rows],
    )


def schedules(conn: sqlite3.Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The scheduling columns of cards with their ``id``, in the order given (unknown ids skipped)."""
    rows = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, {cols(CARD_SCHEDULE_COLUMNS)} FROM card WHERE id IN (SELECT value FROM json_each(?))",
            (ids_json(ids),),
        )
    }
    return [dict(zip(("id", *CARD_SCHEDULE_COLUMNS), rows[i], strict=True)) for i in ids if i in rows]


def schedules_by_key(conn: sqlite3.Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """The scheduling columns of every active card, keyed by ``(note path, fingerprint/direction/cloze)``
    so that two databases of one vault can be compared."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in conn.execute(
        f"SELECT note.path, card.fingerprint, card.direction, coalesce(card.cloze, 0), {cols(CARD_SCHEDULE_COLUMNS, 'card')} "
        "FROM card JOIN note ON note.id = card.note_id WHERE card.retired = 0"
    ):
        key = (str(r[0]), f"{r[1]}/{r[2]}/{r[3]}")
        out[key] = dict(zip(CARD_SCHEDULE_COLUMNS, r[4:], strict=True))
    return out


def check_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Raise ``CardNotFound`` naming every id that is not a card."""
    found = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM card WHERE id IN (SELECT value FROM json_each(?))", (ids_json(ids),)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise CardNotFound(f"no card with id {', '.join(map(str, missing))}")


def set_suspended(conn: sqlite3.Connection, ids: Sequence[int], suspended: bool) -> None:
    """Suspend or unsuspend cards (inside the caller's transaction)."""
    conn.executemany("UPDATE card SET suspended = ? WHERE id = ?", [(int(suspended), i) for i in ids])


def set_buried(conn: sqlite3.Connection, ids: Sequence[int], until: datetime) -> None:
    """Hide cards until ``until`` (inside the caller's transaction)."""
    conn.executemany("UPDATE card SET buried_until = ? WHERE id = ?", [(dt_to_db(until), i) for i in ids])


def set_new(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Forget the memory state of cards (suspension kept, burial cleared; inside the caller's transaction)."""
    conn.executemany(
        "UPDATE card SET state = 'new', step = NULL, stability = NULL, difficulty = NULL, due = NULL, "
        "last_review = NULL, reps = 0, lapses = 0, buried_until = NULL WHERE id = ?",
        [(i,) for i in ids],
    )


def add_tag(conn: sqlite3.Connection, card_id: int, tag: str) -> bool:
    """Tag a card; True if the tag was new."""
    return bool(
        conn.execute("INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (?, ?)", (card_id, tag)).rowcount
    )


def remove_tag(conn: sqlite3.Connection, card_id: int, tag: str) -> None:
    """Remove a tag from a card."""
    conn.execute("DELETE FROM card_tag WHERE card_id = ? AND tag = ?", (card_id, tag))


def active_count(conn: sqlite3.Connection) -> int:
    """How many cards are active (not retired)."""
    return int(conn.execute("SELECT count(*) FROM card WHERE retired = 0").fetchone()[0])


def holds_history(conn: sqlite3.Connection) -> bool:
    """Whether any card was ever reviewed or is suspended (what a first journal is seeded with)."""
    return bool(
        conn.execute(
            "SELECT EXISTS (SELECT 1 FROM review) OR EXISTS (SELECT 1 FROM card WHERE suspended = 1)"
        ).fetchone()[0]
    )


def suspended_cards(conn: sqlite3.Connection) -> list[int]:
    """Ids of the suspended cards."""
    return [int(r[0]) for r in conn.execute("SELECT id FROM card WHERE suspended = 1 ORDER BY id")]


def new_cards(conn: sqlite3.Connection, ids: Sequence[int]) -> list[int]:
    """Which of ``ids`` are in the ``new`` state."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM card WHERE state = 'new' AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (ids_json(ids),),
        )
    ]


def content_times(conn: sqlite3.Connection, ids: Sequence[int] | None = None) -> dict[int, datetime]:
    """When each active card (of ``ids``; None: every one) last changed its text (sync bumps it on
    edits, moves and revivals)."""
    out: dict[int, datetime] = {}
    sql, args = "SELECT id, updated_at FROM card WHERE retired = 0", []
    if ids is not None:
        sql += " AND id IN (SELECT value FROM json_each(?))"
        args.append(ids_json(ids))
    for card_id, updated_at in conn.execute(sql, args):
        stamp = dt_from_db(updated_at)
        if stamp is not None:
            out[card_id] = stamp
    return out


# -- identities and what the cards hold ------------------------------------------------


def uids_of(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, str]:
    """The uids of cards, by local id."""
    return {
        int(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT id, uid FROM card WHERE id IN (SELECT value FROM json_each(?))", (ids_json(ids),)
        )
    }


def card_ids_by_uid(conn: sqlite3.Connection, uids: Sequence[str]) -> dict[str, int]:
    """Local card ids of the cards holding ``uids``."""
    return {
        str(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT uid, id FROM card WHERE uid IN (SELECT value FROM json_each(?))",
            (json.dumps(list(uids)),),
        )
    }


def domains_and_tags(conn: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """The domains of notes with active cards, and every tag of an active card (to check filters)."""
    domains = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT note.domain FROM note JOIN card ON card.note_id = note.id WHERE card.retired = 0"
        )
    }
    tags = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT card_tag.tag FROM card_tag JOIN card ON card.id = card_tag.card_id "
            "WHERE card.retired = 0"
        )
    }
    return domains, tags
