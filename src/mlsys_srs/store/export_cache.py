"""The export cache: what the last Anki export of a deck was built from, to rebuild only what changed.

A separate SQLite file (in the user cache folder, one per database and output
path), attached to the review database's connection as ``xc`` while an export
runs. It holds:

- ``meta``: the options the cached package was built with and the size and
  modification time of the ``.apkg`` it wrote (a package replaced or touched
  since is rebuilt in full);
- ``src``: one row per exported card: its Anki note's key (``nkey``: ``b<card
  id>`` for a basic card, ``c<note id>:<line>`` for a cloze paragraph or a card
  that moved in from Anki, whose block id starts ``anki-``) and a
  signature of everything the card's Anki rows are made from;
- ``nmap``: each Anki note's key, its row id in the cached collection, and
  whether it must be built again on every export (``volatile``: it shows images,
  whose files may change, or it drew an export warning, which must be repeated);

The cached collection itself is an Anki collection file beside it (``.anki2``),
changed in place; ``meta`` records its size and modification time too, and is
cleared before the collection is touched, so a build cut short leaves a cache
that is not used.

The signature is put together by SQLite from the card, its note and its tags
and stored as a 16-byte BLAKE2b digest (one Python call a card), so finding the
few changed cards among 200,000 costs a fraction of a second. A full build
records each card's signature as it read the card, in the same transaction, so
a card a sync changes while the build runs is built again next time. It carries the card's place (note, line), kind, identity (uid, block
id), the note's path, title, domain and content hash, the card's fingerprint
and the lengths of its texts, its tags, and, for exports with scheduling, its
scheduling columns and review count. A card's text comes only from its note's
content (hashed) and the parse options, which are part of the options key with
the program's version, so text changes are caught without storing the text.

Everything here is a cache: a missing, damaged or foreign file only means a
full build.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from .filters import CardFilter
from .schema import CARD_SCHEDULE_COLUMNS

ALIAS = "xc"

_PARAGRAPH = "(card.kind = 'cloze' OR ifnull(card.block_id, '') LIKE 'anki-%')"
"""The cards keyed by paragraph: clozes, and cards that moved in from Anki (whose ``:::`` sides may
make one Anki note)."""
_NKEY = f"CASE WHEN {_PARAGRAPH} THEN 'c' || card.note_id || ':' || card.line ELSE 'b' || card.id END"

_SIG_PARTS = (
    "card.note_id",
    "card.line",
    "card.kind",
    "card.cloze",
    "card.direction",
    "card.block_id",
    "card.uid",
    "card.fingerprint",
    "card.updated_at",
    "note.path",
    "note.title",
    "note.domain",
    "note.content_hash",
    "length(card.question)",
    "length(card.answer)",
    "length(card.source)",
    "length(card.context)",
    "(SELECT group_concat(tag, ' ') FROM card_tag WHERE card_tag.card_id = card.id)",
)
_SCHEDULE_PARTS = (
    *(f"card.{c}" for c in CARD_SCHEDULE_COLUMNS),
    "(SELECT count(*) || ':' || ifnull(max(review.id), '') FROM review WHERE review.card_id = card.id)",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {ALIAS}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {ALIAS}.src (id INTEGER PRIMARY KEY, nkey TEXT NOT NULL, sig BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {ALIAS}.ix_src_nkey ON src (nkey);
CREATE TABLE IF NOT EXISTS {ALIAS}.nmap (
    nkey TEXT NOT NULL, nid INTEGER NOT NULL, volatile INTEGER NOT NULL, PRIMARY KEY (nkey, nid)
);
CREATE INDEX IF NOT EXISTS {ALIAS}.ix_nmap_volatile ON nmap (volatile);
"""


def _sig(scheduling: bool) -> str:
    """The SQL of a card's signature: a 16-byte digest of the parts (``_digest``, which the
    connection must have: ``_with_digest``)."""
    parts = (*_SIG_PARTS, *(_SCHEDULE_PARTS if scheduling else ()))
    return f"{_DIGEST}(" + " || char(31) || ".join(f"ifnull({p}, '')" for p in parts) + ")"


_DIGEST = "mlsys_srs_digest"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _with_digest(conn: sqlite3.Connection) -> None:
    # SQLite refuses to replace a function while a statement runs (a full build in one process
    # reads its batches from one query): it is there already, from the first batch.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.create_function(_DIGEST, 1, _digest, deterministic=True)


def _exported(flt: CardFilter) -> tuple[str, list[object]]:
    """The condition (over ``card JOIN note``) of the cards an export writes."""
    where, params = flt.where()
    return f"({where}) AND card.retired = 0", params


@contextlib.contextmanager
def hold(path: Path | None) -> Iterator[Path | None]:
    """Hold the cache at ``path`` for one export (``flock`` on ``<path>.lock``): yields ``path``, or
    None when there is no cache or another export holds it (that export then builds without it)."""
    if path is None:
        yield None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield None
            return
        yield path
    finally:
        os.close(fd)


def prune(keep: Path, now: datetime, max_age: timedelta) -> int:
    """Remove the other caches beside ``keep`` that no export has used for ``max_age`` before ``now``
    (and that no export holds now); how many went. Nothing here is needed: an export whose cache
    was pruned builds in full."""
    gone = 0
    cutoff = (now - max_age).timestamp()
    for index in keep.parent.glob("*.sqlite"):
        if index.stem == keep.stem:
            continue
        files = [index, index.with_suffix(".anki2"), index.with_name(index.name + ".lock")]
        try:
            if max(f.stat().st_mtime for f in files if f.exists()) >= cutoff:
                continue
        except (OSError, ValueError):
            continue
        with hold(index) as held:
            if held is None:
                continue
            for f in files:
                with contextlib.suppress(OSError):
                    f.unlink()
            gone += 1
    return gone


def attach(conn: sqlite3.Connection, path: Path) -> None:
    """Attach the cache file at ``path`` as ``xc`` (created when missing) and make its tables.

    Raises:
        sqlite3.Error: the file cannot be opened or is not a cache (the caller builds in full).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _with_digest(conn)
    conn.execute(f"ATTACH DATABASE ? AS {ALIAS}", (str(path),))
    try:
        conn.executescript(_SCHEMA)
    except sqlite3.Error:
        detach(conn)
        raise


def detach(conn: sqlite3.Connection) -> None:
    """Detach the cache file (if attached)."""
    if any(row[1] == ALIAS for row in conn.execute("PRAGMA database_list")):
        conn.execute(f"DETACH DATABASE {ALIAS}")


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    """The cache's ``meta`` entries."""
    return {str(k): str(v) for k, v in conn.execute(f"SELECT key, value FROM {ALIAS}.meta")}


def changed_keys(conn: sqlite3.Connection, flt: CardFilter, *, scheduling: bool) -> tuple[set[str], set[str]]:
    """The Anki note keys to build again: ``(changed, recheck)``.

    ``changed``: the keys whose cards changed, appeared or went since the cache was written.
    ``recheck``: the others that are built on every export (volatile notes, and cloze paragraphs
    sharing a block id); their cards did not change, so a note built the same is kept as it was.
    """
    where, params = _exported(flt)
    keys: set[str] = set()
    # A changed card's note is rebuilt under its key now and the one it had (a card that moved line).
    for now_key, then_key in conn.execute(
        f"SELECT {_NKEY}, s.nkey FROM card JOIN note ON note.id = card.note_id"
        f" LEFT JOIN {ALIAS}.src AS s ON s.id = card.id WHERE {where} AND s.sig IS NOT {_sig(scheduling)}",
        params,
    ):
        keys.add(str(now_key))
        if then_key is not None:
            keys.add(str(then_key))
    keys.update(
        str(k)
        for (k,) in conn.execute(
            f"SELECT s.nkey FROM {ALIAS}.src AS s WHERE NOT EXISTS (SELECT 1 FROM card JOIN note"
            f" ON note.id = card.note_id WHERE card.id = s.id AND {where})",
            params,
        )
    )
    recheck = {str(k) for (k,) in conn.execute(f"SELECT nkey FROM {ALIAS}.nmap WHERE volatile = 1")}
    # A block id copied into two paragraphs: which one keeps it depends on the others, so all rebuild.
    recheck.update(
        f"c{n}:{ln}"
        for n, ln in conn.execute(
            "SELECT card.note_id, card.line FROM card JOIN note ON note.id = card.note_id"
            f" WHERE {where} AND card.kind = 'cloze' AND card.block_id IN ("
            "SELECT card.block_id FROM card JOIN note ON note.id = card.note_id"
            f" WHERE {where} AND card.kind = 'cloze' AND card.block_id IS NOT NULL"
            " GROUP BY card.block_id HAVING count(DISTINCT card.note_id || ':' || card.line) > 1)",
            [*params, *params],
        )
    )
    return keys, recheck - keys


def card_ids_of_keys(conn: sqlite3.Connection, flt: CardFilter, keys: Iterable[str]) -> list[int]:
    """The exported cards whose Anki note key is one of ``keys`` (found through the cached keys and
    each key's own card or paragraph)."""
    where, params = _exported(flt)
    keys = list(keys)
    basic = [int(k[1:]) for k in keys if k.startswith("b")]
    paragraphs = [tuple(int(x) for x in k[1:].split(":")) for k in keys if k.startswith("c")]
    return [
        int(i)
        for (i,) in conn.execute(
            f"SELECT card.id FROM card JOIN note ON note.id = card.note_id WHERE {where} AND ("
            f"(NOT {_PARAGRAPH} AND card.id IN (SELECT value FROM json_each(?)))"
            f" OR ({_PARAGRAPH} AND card.note_id || ':' || card.line IN (SELECT value FROM json_each(?))))",
            [*params, json.dumps(basic), json.dumps([f"{n}:{ln}" for n, ln in paragraphs])],
        )
    ]


def note_ids_of_keys(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, list[int]]:
    """The cached collection's note ids of the note keys ``keys``."""
    out: dict[str, list[int]] = {}
    for k, n in conn.execute(
        f"SELECT nkey, nid FROM {ALIAS}.nmap WHERE nkey IN (SELECT value FROM json_each(?))",
        (json.dumps(list(keys)),),
    ):
        out.setdefault(str(k), []).append(int(n))
    return out


def exported_notes(
    conn: sqlite3.Connection, flt: CardFilter
) -> list[tuple[int, str, str, int, bool, bool, bool]]:
    """``(note id, path, domain, cards, moved in, has cloze cards, has other cards)`` of the notes
    with exported cards: how many of their cards are exported, whether one of them moved in from
    Anki (an ``anki-`` block id), and their kinds."""
    where, params = _exported(flt)
    return conn.execute(
        "SELECT note.id, note.path, note.domain, count(*), max(ifnull(card.block_id, '') LIKE 'anki-%'),"
        " max(card.kind = 'cloze'), max(card.kind != 'cloze')"
        f" FROM card JOIN note ON note.id = card.note_id WHERE {where} GROUP BY note.id",
        params,
    ).fetchall()


def card_order(conn: sqlite3.Connection, flt: CardFilter, note_ids: Iterable[int]) -> dict[int, list[int]]:
    """Note id -> the ids of its exported cards in learning order (by line, then id), of ``note_ids``."""
    where, params = _exported(flt)
    out: dict[int, list[int]] = {}
    for n, c in conn.execute(
        f"SELECT card.note_id, card.id FROM card JOIN note ON note.id = card.note_id WHERE {where}"
        " AND card.note_id IN (SELECT value FROM json_each(?)) ORDER BY card.note_id, card.line, card.id",
        [*params, json.dumps(sorted(set(note_ids)))],
    ):
        out.setdefault(int(n), []).append(int(c))
    return out


def keys_of_notes(conn: sqlite3.Connection, flt: CardFilter, note_ids: Iterable[int]) -> set[str]:
    """The Anki note keys of the exported cards of ``note_ids``."""
    where, params = _exported(flt)
    return {
        str(k)
        for (k,) in conn.execute(
            f"SELECT DISTINCT {_NKEY} FROM card JOIN note ON note.id = card.note_id WHERE {where}"
            " AND card.note_id IN (SELECT value FROM json_each(?))",
            [*params, json.dumps(sorted(set(note_ids)))],
        )
    }


def sources(
    conn: sqlite3.Connection, flt: CardFilter, card_ids: Sequence[int], *, scheduling: bool
) -> list[tuple[int, str, bytes]]:
    """``(card id, note key, signature)`` of those exported cards among ``card_ids``: what ``save``
    records of a full build, read in the same transaction as the cards the build was given (so a
    card that changes while the build runs is built again next time)."""
    where, params = _exported(flt)
    _with_digest(conn)
    return conn.execute(
        f"SELECT card.id, {_NKEY}, {_sig(scheduling)} FROM card JOIN note ON note.id = card.note_id"
        f" WHERE {where} AND card.id IN (SELECT value FROM json_each(?))",
        [*params, json.dumps(list(card_ids))],
    ).fetchall()


def save(
    conn: sqlite3.Connection,
    flt: CardFilter,
    *,
    scheduling: bool,
    meta: dict[str, str],
    notes: Sequence[tuple[str, int, bool]],
    card_ids: Sequence[int] | None,
    dropped: Iterable[str] = (),
    built: Iterable[tuple[int, str, bytes]] = (),
) -> None:
    """Record what the package was built from, in one transaction.

    Args:
        meta: The options and the stamps of the package and the collection (replacing the old entries).
        notes: ``(key, note id, volatile)`` of the notes just built.
        card_ids: The cards just built (None: a full build; the cache is rewritten from ``built``).
        dropped: The keys rebuilt (their old rows go).
        built: A full build's cards as ``sources`` read them.
    """
    where, params = _exported(flt)
    sig = _sig(scheduling)
    # A deferred transaction: it writes only the cache, so it never holds the review database's lock.
    conn.execute("BEGIN")
    try:
        if card_ids is None:
            conn.execute(f"DELETE FROM {ALIAS}.src")
            conn.execute(f"DELETE FROM {ALIAS}.nmap")
            conn.executemany(f"INSERT INTO {ALIAS}.src VALUES (?, ?, ?)", built)
        else:
            gone = json.dumps(list(dropped))
            conn.execute(f"DELETE FROM {ALIAS}.src WHERE nkey IN (SELECT value FROM json_each(?))", (gone,))
            conn.execute(f"DELETE FROM {ALIAS}.nmap WHERE nkey IN (SELECT value FROM json_each(?))", (gone,))
            conn.execute(
                f"INSERT OR REPLACE INTO {ALIAS}.src SELECT card.id, {_NKEY}, {sig} FROM card JOIN note"
                f" ON note.id = card.note_id WHERE {where} AND card.id IN (SELECT value FROM json_each(?))",
                [*params, json.dumps(list(card_ids))],
            )
        conn.executemany(
            f"INSERT OR REPLACE INTO {ALIAS}.nmap VALUES (?, ?, ?)", [(k, n, int(v)) for k, n, v in notes]
        )
        (count,) = conn.execute(f"SELECT count(*) FROM {ALIAS}.src").fetchone()
        conn.execute(f"DELETE FROM {ALIAS}.meta")
        conn.executemany(
            f"INSERT INTO {ALIAS}.meta VALUES (?, ?)", sorted({**meta, "cards": str(count)}.items())
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def forget(conn: sqlite3.Connection) -> None:
    """Empty the cache (after a failed write)."""
    conn.execute("BEGIN")
    for table in ("meta", "src", "nmap"):
        conn.execute(f"DELETE FROM {ALIAS}.{table}")
    conn.execute("COMMIT")


def invalidate(conn: sqlite3.Connection) -> None:
    """Clear ``meta`` (before the cached collection is changed: until ``save``, the cache is not used)."""
    conn.execute(f"DELETE FROM {ALIAS}.meta")
