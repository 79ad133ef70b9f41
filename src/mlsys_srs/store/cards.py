"""Card rows: reading cards (``CardView``), their scheduling state, and every card write.

Each row shape is mapped here once; callers get named values, never positions.
Writes that belong together run in one transaction opened by the caller
(``db.transaction``) or here, as each function says.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import CardNotFound
from .db import dt_from_db, dt_to_db
from .filters import CardFilter
from .migrations import CARD_FTS_INSERT_TRIGGER
from .schema import CARD_SCHEDULE_COLUMNS, CARD_TEXT_COLUMNS, cols

SEP = "\x1f"
LEECH_TAG = "leech"
"""The tag the leech rule sets on a card (and ``stats`` lists leeches by)."""
SYSTEM_TAGS = frozenset({LEECH_TAG})
"""Tags that mlsys-srs sets on cards itself; a sync never removes them."""


def _ids_json(ids: Iterable[int | None]) -> str:
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
            (_ids_json(ids),),
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
            "SELECT id FROM card WHERE id IN (SELECT value FROM json_each(?))", (_ids_json(ids),)
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
            (_ids_json(ids),),
        )
    ]


def content_times(conn: sqlite3.Connection, ids: Sequence[int] | None = None) -> dict[int, datetime]:
    """When each active card (of ``ids``; None: every one) last changed its text (sync bumps it on
    edits, moves and revivals)."""
    out: dict[int, datetime] = {}
    sql, args = "SELECT id, updated_at FROM card WHERE retired = 0", []
    if ids is not None:
        sql += " AND id IN (SELECT value FROM json_each(?))"
        args.append(_ids_json(ids))
    for card_id, updated_at in conn.execute(sql, args):
        stamp = dt_from_db(updated_at)
        if stamp is not None:
            out[card_id] = stamp
    return out


# -- the queue's view of cards -------------------------------------------------------


class Candidate(NamedTuple):
    """What the review queue needs of a card (a tuple: built for thousands of cards per ``due``)."""

    id: int
    note_id: int
    line: int
    domain: str
    path: str
    state: str
    due: datetime | None
    stability: float | None
    last_review: datetime | None


_CANDIDATE_SELECT = """
SELECT card.id, card.note_id, card.line, note.domain, note.path, card.state, card.due,
       card.stability, card.last_review
FROM card JOIN note ON note.id = card.note_id
"""


def _candidate(r: Sequence[Any]) -> Candidate:
    if r[5] == "new":
        return Candidate(r[0], r[1], r[2], r[3], r[4], "new", None, None, None)
    return Candidate(r[0], r[1], r[2], r[3], r[4], r[5], dt_from_db(r[6]), r[7], dt_from_db(r[8]))


_AVAILABLE = (
    " AND card.retired = 0 AND card.suspended = 0 AND (card.buried_until IS NULL OR card.buried_until <= ?)"
)


def queue_candidates(
    conn: sqlite3.Connection,
    now: datetime,
    day_end: datetime,
    flt: CardFilter | None = None,
    *,
    new: bool = True,
) -> list[Candidate]:
    """Active cards that are new or due before ``day_end``, not suspended or buried at ``now``.

    Args:
        new: Include the new cards (False: only scheduled cards due before ``day_end``;
            ``new_card_notes`` and ``new_candidates`` then fetch new cards a note at a time).
    """
    where, params = (flt or CardFilter()).where()
    sql = _CANDIDATE_SELECT + f" WHERE {where}" + _AVAILABLE
    sql += " AND (card.state = 'new' OR card.due < ?)" if new else " AND card.state != 'new' AND card.due < ?"
    return [_candidate(r) for r in conn.execute(sql, [*params, dt_to_db(now), dt_to_db(day_end)])]


def new_card_notes(conn: sqlite3.Connection, now: datetime, flt: CardFilter | None = None) -> dict[int, int]:
    """Note id -> how many of its cards are new queue candidates at ``now`` (notes with none left out)."""
    where, params = (flt or CardFilter()).where()
    sql = (
        "SELECT card.note_id, count(*) FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where}" + _AVAILABLE + " AND card.state = 'new' GROUP BY card.note_id"
    )
    return {int(n): int(k) for n, k in conn.execute(sql, [*params, dt_to_db(now)])}


def new_candidates(
    conn: sqlite3.Connection, now: datetime, note_ids: Sequence[int], flt: CardFilter | None = None
) -> list[Candidate]:
    """The new queue candidates of the notes ``note_ids``, by line and id."""
    where, params = (flt or CardFilter()).where()
    sql = (
        _CANDIDATE_SELECT + " WHERE card.note_id IN (SELECT value FROM json_each(?))"
        f" AND {where}" + _AVAILABLE + " AND card.state = 'new' ORDER BY card.line, card.id"
    )
    return [_candidate(r) for r in conn.execute(sql, [_ids_json(note_ids), *params, dt_to_db(now)])]


def new_candidate_groups(
    conn: sqlite3.Connection, now: datetime, note_ids: Sequence[int], flt: CardFilter | None = None
) -> list[tuple[int, int]]:
    """``(note id, line)`` of each new queue candidate of the notes ``note_ids`` (one per card)."""
    where, params = (flt or CardFilter()).where()
    sql = (
        "SELECT card.note_id, card.line FROM card JOIN note ON note.id = card.note_id"
        f" WHERE card.note_id IN (SELECT value FROM json_each(?)) AND {where}"
        + _AVAILABLE
        + " AND card.state = 'new'"
    )
    return [(int(n), int(ln)) for n, ln in conn.execute(sql, [_ids_json(note_ids), *params, dt_to_db(now)])]


def study_candidates(
    conn: sqlite3.Connection,
    now: datetime,
    flt: CardFilter | None = None,
    *,
    due_before: datetime | None = None,
    lapsed_since: datetime | None = None,
    note_ids: Sequence[int] | None = None,
    new_only: bool = False,
) -> list[Candidate]:
    """Active, unsuspended, unburied cards for a study mode (cram, ahead, forgotten, weak, preview).

    Args:
        due_before: Only scheduled cards due before this time (review ahead).
        lapsed_since: Only cards failed (an Again review, cram answers aside) at or after this time.
        note_ids: Only the cards of these notes (the weakest concepts).
        new_only: Only new cards (preview).
    """
    where, params = (flt or CardFilter()).where()
    sql = (
        _CANDIDATE_SELECT + f" WHERE {where} AND card.retired = 0 AND card.suspended = 0"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
    )
    args: list[Any] = [*params, dt_to_db(now)]
    if new_only:
        sql += " AND card.state = 'new'"
    if due_before is not None:
        sql += " AND card.state != 'new' AND card.due < ?"
        args.append(dt_to_db(due_before))
    if lapsed_since is not None:
        sql += (
            " AND card.id IN (SELECT card_id FROM review WHERE rating = 1 AND kind != 'cram'"
            " AND reviewed_at >= ?)"
        )
        args.append(dt_to_db(lapsed_since))
    if note_ids is not None:
        sql += f" AND card.note_id IN ({','.join('?' * len(note_ids)) or 'NULL'})"
        args.extend(note_ids)
    return [_candidate(r) for r in conn.execute(sql, args)]


def due_between(
    conn: sqlite3.Connection, start: datetime, until: datetime, flt: CardFilter | None = None
) -> int:
    """Active, unsuspended scheduled cards due in ``[start, until)`` (e.g. during tomorrow)."""
    where, params = (flt or CardFilter()).where()
    row = conn.execute(
        f"SELECT count(*) FROM card JOIN note ON note.id = card.note_id WHERE {where} AND card.retired = 0"
        " AND card.suspended = 0 AND card.state != 'new' AND card.due >= ? AND card.due < ?",
        [*params, dt_to_db(start), dt_to_db(until)],
    ).fetchone()
    return int(row[0])


def linked_due_candidates(
    conn: sqlite3.Connection, note_id: int, now: datetime, start: datetime, until: datetime
) -> list[Candidate]:
    """Review cards of the notes ``note_id`` links to, due in ``[start, until)``, by due time."""
    sql = (
        _CANDIDATE_SELECT
        + " WHERE card.note_id IN (SELECT DISTINCT target_note_id FROM link WHERE link.note_id = ?"
        " AND target_note_id IS NOT NULL AND target_note_id != ?)"
        " AND card.retired = 0 AND card.suspended = 0 AND card.state = 'review'"
        " AND (card.buried_until IS NULL OR card.buried_until <= ?)"
        " AND card.due >= ? AND card.due < ? ORDER BY card.due, card.id"
    )
    return [
        _candidate(r)
        for r in conn.execute(sql, (note_id, note_id, dt_to_db(now), dt_to_db(start), dt_to_db(until)))
    ]


def next_due_after(
    conn: sqlite3.Connection, now: datetime, day_end: datetime, flt: CardFilter | None = None
) -> tuple[datetime | None, datetime | None]:
    """When active, scheduled cards next fall due (or are unburied), as ``(learning, review)``.

    ``learning``: the earliest learning or relearning card after ``now``; ``review``: the
    earliest card in review at or after ``day_end`` (review cards due before it are today's).
    """
    where, params = (flt or CardFilter()).where()
    row = conn.execute(
        "SELECT min(CASE WHEN card.state != 'review' AND eff > ? THEN eff END),"
        " min(CASE WHEN card.state = 'review' AND eff >= ? THEN eff END)"
        " FROM (SELECT card.state, max(card.due, coalesce(card.buried_until, '')) AS eff"
        " FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where} AND card.retired = 0 AND card.suspended = 0 AND card.state != 'new') AS card",
        [dt_to_db(now), dt_to_db(day_end), *params],
    ).fetchone()
    if not row:
        return None, None
    return dt_from_db(row[0]), dt_from_db(row[1])


# -- the statistics' view of cards ----------------------------------------------------


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


def card_pass(conn: sqlite3.Connection, flt: CardFilter, *, active_only: bool = False) -> Iterator[CardPass]:
    """Every card of ``flt`` (retired ones too unless ``active_only``), as ``CardPass`` rows."""
    where, params = flt.where()
    sql = (
        "SELECT card.id, card.note_id, note.domain, card.state, card.stability, card.due, card.last_review,"
        " card.lapses, card.suspended, card.retired, card.buried_until"
        f" FROM card JOIN note ON note.id = card.note_id WHERE {where}"
    )
    if active_only:
        sql += " AND card.retired = 0"
    for r in conn.execute(sql, params):
        yield CardPass(*r)


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


# -- what a sync reads and writes -----------------------------------------------------


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


_STORED_COLS = (
    "id",
    "note_id",
    "fingerprint",
    "block_id",
    "kind",
    "direction",
    "cloze",
    "question",
    "answer",
    "source",
    "context",
    "line",
    "end_line",
    "syntax",
    "retired",
)


def card_pool(conn: sqlite3.Connection, note_ids: Sequence[int | None]) -> list[StoredCard]:
    """The stored cards a sync may match: those of ``note_ids`` and every retired card."""
    rows = conn.execute(
        f"SELECT {cols(_STORED_COLS)} FROM card WHERE retired = 1 OR note_id IN (SELECT value FROM json_each(?))",
        (_ids_json(note_ids),),
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
    conn: sqlite3.Connection, first: int, *, indexes: bool, tables: Sequence[str] = ("card",)
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
    conn.execute(
        "INSERT INTO card_fts (rowid, question, answer, context, note) "
        "SELECT card.id, card.question, card.answer, card.context, note.path || ' ' || note.title "
        "FROM card JOIN note ON note.id = card.note_id WHERE card.id >= ? ORDER BY card.id",
        (first,),
    )
    conn.execute(CARD_FTS_INSERT_TRIGGER)


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


def uids_of(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, str]:
    """The uids of cards, by local id."""
    return {
        int(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT id, uid FROM card WHERE id IN (SELECT value FROM json_each(?))", (_ids_json(ids),)
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
    arg = (_ids_json(ids),)
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
            (_ids_json(old), json.dumps(sorted(SYSTEM_TAGS))),
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
