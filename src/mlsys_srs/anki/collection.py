"""Every SQL statement on Anki's schema: reading a collection for an import, writing one for an export.

The rest of the Anki package works on the plain values this module returns and
hands it plain rows to write.

Reading (``open_collection``): an ``.apkg``, ``.colpkg`` or a profile's ``collection.anki2``.

- A package is a zip. Anki 2.1.50+ writes ``collection.anki21b`` (SQLite,
  zstd-compressed) beside a stub ``collection.anki2`` that only says to update
  Anki; older packages hold ``collection.anki21`` or ``collection.anki2``.
  The newest packages also compress each media file and the media index (a
  protobuf message) with zstd. ``anki.archive`` takes the bytes out, streamed
  and within the limits of ``ImportLimits``.
- The collection database is written to a temporary file and opened read-only
  there; a profile's ``collection.anki2`` is copied first and never opened in
  place (opening it would leave files beside it). While Anki has it open, a
  ``collection.anki2-wal`` file sits beside it: then the import stops and asks
  to close Anki or to use File > Export.
- Collections of schema 18 (Anki 2.1.28+) keep decks and note types in tables
  whose names use Anki's ``unicase`` collation, which plain SQLite must be
  given before it can read them; older ones keep them as JSON in ``col``.
  Each note type is kept whole (``Notetype.model``, the JSON of the legacy
  schema: as ``col.models`` holds it, or built from the ``config`` blobs of the
  ``notetypes``, ``fields`` and ``templates`` rows by ``anki.notetype_json``);
  one whose field or template configs are not protobuf has none (``{}``).
- The tables read must be plain tables (no view, virtual table or generated
  column: any of those would run a package's own SQL), no value may be longer
  than 256 MiB, and every row is checked by ``anki.schema_checks`` before it is used.
  Any failure is one ``AnkiImportError`` line; nothing is written.

Writing (``CollectionWriter``): the schema-11 collection genanki writes, built in
memory by a full export or changed in place in the export cache. Notes and cards
go in as genanki's ``Package.write_to_db`` would write them (same ids from the
same counter, same rows, same order), in two statements; the ``col`` row (decks,
note types, scheduler settings, the collection's creation day) is written last
and left alone when unchanged, so an export that changed nothing writes the same
bytes. ``PreviousPackage`` reads back the notes of the package an export replaces.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..core.fmt import display_path
from . import schema_checks as check
from .archive import (
    ZSTD_HINT,
    AnkiImportError,
    Budget,
    ImportLimits,
    MediaSource,
    PackageTooLarge,
    copy_profile,
    is_sqlite,
    rollback_header,
    unpack_package,
)
from .ids import first_row_id
from .notetype_json import legacy_model

if TYPE_CHECKING:
    from .notetypes import AnkiNote

__all__ = [
    "ZSTD_HINT",
    "AnkiImportError",
    "Card",
    "Collection",
    "CollectionWriter",
    "ImportLimits",
    "MediaSource",
    "Note",
    "Notetype",
    "PackageTooLarge",
    "PreviousPackage",
    "Revlog",
    "open_collection",
]

MAX_VALUE = 256 << 20
"""The longest text or blob a collection's row may hold (SQLite's length limit while reading)."""
PACKAGE_SUFFIXES = (".apkg", ".colpkg")
_TABLES_11 = ("col", "notes", "cards", "revlog")
_TABLES_18 = ("notetypes", "fields", "templates", "decks")


@dataclass(frozen=True)
class Notetype:
    """What an import needs of a note type."""

    id: int
    name: str
    cloze: bool
    templates: int
    fields: tuple[str, ...]
    model: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The whole note type as the JSON of Anki's legacy schema (``anki.notetype_json``): what an
    export gives back to Anki for the notes that moved in."""


@dataclass(frozen=True)
class Note:
    """An Anki note: its GUID, note type, fields (HTML) and tags."""

    id: int
    guid: str
    notetype: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mod: int


@dataclass(frozen=True)
class Card:
    """An Anki card: its note, template ordinal, and home deck (the original one while in a filtered deck)."""

    id: int
    note: int
    ord: int
    deck: str
    queue: int


@dataclass(frozen=True)
class Revlog:
    """One review log row: ``id`` is the answer time in milliseconds."""

    id: int
    card: int
    ease: int
    ivl: int
    last_ivl: int
    factor: int
    time_ms: int
    type: int


@dataclass
class Collection:
    """Everything read from one collection (the database is closed again)."""

    source: Path
    notetypes: dict[int, Notetype]
    notes: list[Note]
    cards: list[Card]
    revlog: list[Revlog]
    media: MediaSource = field(default_factory=lambda: MediaSource())
    warnings: list[str] = field(default_factory=list)
    """What was read but not taken (review-log rows out of range, media that are links)."""


# -- opening -------------------------------------------------------------------------------


def _unicase(a: str, b: str) -> int:
    x, y = a.casefold(), b.casefold()
    return (x > y) - (x < y)


def _connect(db_file: Path, source: Path) -> sqlite3.Connection:
    """The collection database at ``db_file``, read-only, checked to be one this reader may query."""
    src = display_path(source)
    if not is_sqlite(db_file):
        raise AnkiImportError(f"{src}: not an Anki collection (not an SQLite database)")
    rollback_header(db_file)
    conn = sqlite3.connect(f"{db_file.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        conn.text_factory = lambda b: b.decode("utf-8", "replace")
        conn.create_collation("unicase", _unicase)
        kinds = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view')"))
        needed = _TABLES_11 + (_TABLES_18 if "notetypes" in kinds else ())
        for name in needed:
            sql = kinds.get(name)
            if sql is None:
                raise AnkiImportError(f"{src}: not an Anki collection (no {name} table)")
            if not sql.lstrip().upper().startswith("CREATE TABLE"):
                raise AnkiImportError(f"{src}: not an Anki collection ({name} is not a plain table)")
            if any(hidden in (2, 3) for *_, hidden in conn.execute(f'PRAGMA table_xinfo("{name}")')):
                raise AnkiImportError(f"{src}: not an Anki collection ({name} has generated columns)")
    except sqlite3.Error as exc:
        conn.close()
        raise AnkiImportError(f"{src}: not an Anki collection ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def open_collection(
    path: Path, *, limits: ImportLimits | None = None, now: datetime | None = None
) -> Collection:
    """Read the notes, cards, note types, decks, review log and media index of a collection.

    Args:
        limits: How far the package may expand (default: ``ImportLimits()``).
        now: The current time (UTC-aware): review-log rows more than a day after it are skipped.

    Raises:
        PackageTooLarge: the package expands beyond ``limits``.
        AnkiImportError: not a readable collection, a row Anki could not read, Anki has it
            open, or the zstd extra is needed and missing.
    """
    src = display_path(path)
    if not path.exists():
        raise AnkiImportError(f"{src}: no such file")
    if not path.is_file():
        raise AnkiImportError(f"{src}: not a file (name an .apkg, a .colpkg or a collection.anki2)")
    if path.stat().st_size == 0:
        raise AnkiImportError(f"{src}: the file is empty (0 bytes); not an Anki package")
    budget = Budget(limits or ImportLimits(), path)
    zipped = zipfile.is_zipfile(path)
    if not zipped and path.suffix.lower() in PACKAGE_SUFFIXES:
        raise AnkiImportError(f"{src}: not an Anki package (not a zip archive)")
    if not zipped and Path(f"{path}-wal").exists():
        raise AnkiImportError(
            f"{src}: Anki has this collection open; close Anki (or use File > Export in Anki) and try again"
        )
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-anki-") as tmp:
        db_file = Path(tmp) / "collection.sqlite"
        media = unpack_package(path, db_file, budget) if zipped else copy_profile(path, db_file, budget)
        if not zipped and Path(f"{path}-wal").exists():
            raise AnkiImportError(
                f"{src}: Anki opened this collection while it was read; close Anki (or use File > Export) "
                "and try again"
            )
        conn = _connect(db_file, path)
        try:
            return _read(conn, path, media, check.review_window(now))
        except check.RowError as exc:
            raise AnkiImportError(f"{src}: {exc}; nothing was imported") from None
        except sqlite3.Error as exc:
            raise AnkiImportError(
                f"{src}: cannot read the collection ({exc}); nothing was imported"
            ) from None
        finally:
            conn.close()


def _read(conn: sqlite3.Connection, source: Path, media: MediaSource, window: tuple[int, int]) -> Collection:
    notetypes: dict[int, Notetype] = {}
    decks: dict[int, str] = {}
    if "notetypes" in {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
        fields: dict[int, list[tuple[int, str, bytes]]] = {}
        for row in conn.execute("SELECT ntid, ord, name, config FROM fields"):
            ntid, ord_, name, fconfig = check.field_row(row)
            fields.setdefault(ntid, []).append((ord_, name, fconfig))
        templates: dict[int, list[tuple[int, str, bytes]]] = {}
        for row in conn.execute("SELECT ntid, ord, name, config FROM templates"):
            ntid, ord_, name, tconfig = check.template_row(row)
            templates.setdefault(ntid, []).append((ord_, name, tconfig))
        for row in conn.execute("SELECT id, name, mtime_secs, config FROM notetypes"):
            ntid, name, mtime, config, cloze = check.notetype(row)
            names = tuple(n for _, n, _ in sorted(fields.get(ntid, [])))
            tmpls = templates.get(ntid, [])
            try:
                model = legacy_model(ntid, name, mtime, config, fields.get(ntid, []), tmpls)
            except (ValueError, RecursionError):  # a field's or template's config is not protobuf
                model = {}
            notetypes[ntid] = Notetype(ntid, name, cloze, len(tmpls) or 1, names, model)
        decks = dict(check.deck(row) for row in conn.execute("SELECT id, name FROM decks"))
    else:
        row = conn.execute("SELECT models, decks FROM col").fetchone()
        if row is None:
            raise check.RowError("col: the table is empty (an Anki collection has one row)")
        for ntid, name, cloze, count, names, model in check.legacy_notetypes(row[0]):
            notetypes[ntid] = Notetype(ntid, name, cloze, count, names, model)
        decks = check.legacy_decks(row[1])
    notes = [
        Note(*check.note(row))
        for row in conn.execute("SELECT id, guid, mid, tags, flds, mod FROM notes ORDER BY id")
    ]
    cards = []
    for row in conn.execute("SELECT id, nid, ord, did, odid, queue FROM cards ORDER BY nid, ord"):
        cid, nid, ord_, did, odid, queue = check.card(row)
        cards.append(Card(cid, nid, ord_, decks.get(odid or did, "Default"), queue))
    checked, outside = check.revlog(
        conn.execute("SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog ORDER BY cid, id"),
        window,
    )
    found: list[str] = []
    if outside:
        found.append(
            f"{outside:,} review-log {'row is' if outside == 1 else 'rows are'} dated before 2006 or in the "
            "future; skipped"
        )
    if media.links:
        found.append(
            f"{len(media.links):,} media {'file is a symbolic link' if len(media.links) == 1 else 'files are symbolic links'}"
            " in the collection's media folder; not copied"
        )
    return Collection(source, notetypes, notes, cards, [Revlog(*r) for r in checked], media, found)


# -- writing -------------------------------------------------------------------------------


class OldNote(NamedTuple):
    """A note of a collection, as far as a rebuilt note must equal it to be kept."""

    guid: str
    mid: int
    fields: str
    tags: str
    """Its tags, sorted, one space apart."""
    mod: int
    cards: frozenset[tuple[int, int, int | None]]
    """``(deck id, ordinal, position)`` of its cards (position: ``due`` of a new card, else None)."""


def _genanki_collection(cur: sqlite3.Cursor, decks: Iterable[Any], timestamp: float) -> None:
    """genanki's empty collection with ``decks`` (its note types are written with the header)."""
    import genanki

    with warnings.catch_warnings():
        # Fields are HTML we produced; genanki's tag heuristics only add noise.
        warnings.simplefilter("ignore")
        genanki.Package(list(decks)).write_to_db(cur, timestamp, itertools.count())


def write_notes(
    cur: sqlite3.Cursor,
    decks: Sequence[tuple[Any, Sequence[AnkiNote]]],
    timestamp: float,
    first_id: int | None = None,
    *,
    models_json: bool = True,
) -> list[int]:
    """Write the notes and cards and each model's JSON exactly as genanki's ``Package.write_to_db``
    does (same ids from the same counter, same rows, same order), in two statements.

    Args:
        decks: Each genanki deck with its notes.
        first_id: Where the ids count from (default: the timestamp in milliseconds, as genanki).
        models_json: Also record the models in the ``col`` row (False: the caller writes them).

    Returns:
        The note ids, in the order of the notes.
    """
    ids = itertools.count(first_row_id(timestamp) if first_id is None else first_id)
    nids: list[int] = []
    mod = int(timestamp)
    notes: list[tuple[Any, ...]] = []
    cards: list[tuple[Any, ...]] = []
    models: dict[int, Any] = {}
    for deck, deck_list in decks:
        for note in deck_list:
            models[note.model.model_id] = (note.model, deck.deck_id)
        for note in deck_list:
            nid = next(ids)
            nids.append(nid)
            fields = note.fields
            notes.append(
                (
                    nid,
                    note.guid,
                    note.model.model_id,
                    mod if note.mod is None else note.mod,
                    -1,
                    " " + " ".join(note.tags) + " ",
                    "\x1f".join(fields),
                    fields[note.model.sort_field_index],
                    0,
                    0,
                    "",
                )
            )
            for o in note.ords:
                due = note.positions.get(o, 0)  # a new card's position in Anki's new-card order
                cards.append(
                    (next(ids), nid, deck.deck_id, o, mod, -1, 0, 0, due, 0, 0, 0, 0, 0, 0, 0, 0, "")
                )
    if models_json:
        (stored_json,) = cur.execute("SELECT models FROM col").fetchone()
        stored = json.loads(stored_json)
        stored.update({str(mid): model.to_json(timestamp, did) for mid, (model, did) in models.items()})
        cur.execute("UPDATE col SET models = ?", (json.dumps(stored),))
    cur.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", notes)
    cur.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
    return nids


class CollectionWriter:
    """A collection an export writes: a new one in memory, or the export cache's changed in place.

    A collection changed in place is written in one transaction, committed by ``commit``;
    one closed before that is left as it was.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cur = conn.cursor()

    @classmethod
    def new(cls, decks: Iterable[Any], timestamp: float) -> CollectionWriter:
        """An empty collection in memory holding the genanki ``decks``."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            _genanki_collection(conn.cursor(), decks, timestamp)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @classmethod
    def open(cls, path: Path) -> CollectionWriter:
        """The collection file at ``path``, to change in place (a cache: it is written without syncing,
        since a torn file is never used)."""
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("BEGIN")
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @contextlib.contextmanager
    def indexes_dropped(self) -> Iterator[None]:
        """Rows go in faster when the indexes the build does not read are built once, after them."""
        indexes = self.cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND name != 'ix_cards_nid'"  # (writing the scheduling looks cards up by note)
        ).fetchall()
        for name, _ in indexes:
            self.cur.execute(f'DROP INDEX "{name}"')
        yield
        for _, sql in indexes:
            self.cur.execute(sql)

    def write_notes(
        self, decks: Sequence[tuple[Any, Sequence[AnkiNote]]], timestamp: float, first_id: int
    ) -> list[int]:
        """Write notes and their cards with ids from ``first_id`` (``write_notes``; the note types are
        recorded by ``write_header``); their ids, in order."""
        return write_notes(self.cur, decks, timestamp, first_id, models_json=False)

    def next_id(self) -> int:
        """The first id above every note and card id of the collection."""
        row = self.cur.execute(
            "SELECT max(ifnull((SELECT max(id) FROM notes), 0), ifnull((SELECT max(id) FROM cards), 0))"
        )
        return int(row.fetchone()[0]) + 1

    def revlog_ids(self) -> set[int]:
        """The ids of the collection's review log."""
        return {int(r) for (r,) in self.cur.execute("SELECT id FROM revlog")}

    def card_slots(self, nids: Sequence[int]) -> list[tuple[int, str, int]]:
        """``(card id, note GUID, ordinal)`` of the cards of the notes ``nids``."""
        rows = self.cur.execute(
            "SELECT cards.id, notes.guid, cards.ord FROM cards JOIN notes ON notes.id = cards.nid"
            " WHERE notes.id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(nids)),),
        )
        return [(int(cid), str(guid), int(ord_)) for cid, guid, ord_ in rows.fetchall()]

    def set_progress(self, updates: Sequence[tuple[Any, ...]], revlog: Sequence[tuple[int, ...]]) -> None:
        """Rewrite card rows with their progress and add review-log rows.

        Args:
            updates: ``(type, queue, due, ivl, factor, reps, lapses, left, data, mod, card id)``.
            revlog: ``(id, cid, usn, ease, ivl, lastIvl, factor, time, type)``.
        """
        self.cur.executemany(
            "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, lapses = ?,"
            " left = ?, data = ?, mod = ? WHERE id = ?",
            updates,
        )
        self.cur.executemany("INSERT INTO revlog VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", revlog)

    def old_notes(self, nids: Sequence[int]) -> dict[int, OldNote]:
        """The collection's notes ``nids`` by id."""
        ids = json.dumps(list(nids))
        cards: dict[int, set[tuple[int, int, int | None]]] = {}
        for nid, did, ord_, type_, due in self.cur.execute(
            "SELECT nid, did, ord, type, due FROM cards WHERE nid IN (SELECT value FROM json_each(?))", (ids,)
        ):
            cards.setdefault(nid, set()).add((did, ord_, due if type_ == 0 else None))
        return {
            nid: OldNote(guid, mid, flds, " ".join(sorted(tags.split())), mod, frozenset(cards.get(nid, ())))
            for nid, guid, mid, flds, tags, mod in self.cur.execute(
                "SELECT id, guid, mid, flds, tags, mod FROM notes WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        }

    def delete_notes(self, nids: Sequence[int]) -> None:
        """Remove notes, their cards and their cards' review log."""
        ids = json.dumps(list(nids))
        self.cur.execute(
            "DELETE FROM revlog WHERE cid IN (SELECT id FROM cards WHERE nid IN (SELECT value FROM json_each(?)))",
            (ids,),
        )
        self.cur.execute("DELETE FROM cards WHERE nid IN (SELECT value FROM json_each(?))", (ids,))
        self.cur.execute("DELETE FROM notes WHERE id IN (SELECT value FROM json_each(?))", (ids,))

    def write_header(
        self,
        decks: Iterable[Any],
        model_decks: Mapping[int, tuple[Any, int]],
        timestamp: float,
        *,
        created: int,
        rollover: int,
        models_mtime: Mapping[int, int],
        conf: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the ``col`` row: its decks, the note types (each with the deck it was last used in),
        the scheduler settings and the collection's creation time.

        Args:
            created: When the collection's first day starts (Unix time); due days count from it.
            rollover: The hour a review day starts.
            models_mtime: The modification time of note types by id (Anki replaces a note type only
                for a newer one); the others keep the time their JSON carries.
            conf: More entries of the collection's configuration (``conf_value`` reads them back).
        """
        fresh = sqlite3.connect(":memory:")
        try:
            _genanki_collection(fresh.cursor(), decks, timestamp)
            row = fresh.execute("SELECT * FROM col").fetchone()
            names = [d[0] for d in fresh.execute("SELECT * FROM col").description]
        finally:
            fresh.close()
        col = dict(zip(names, row, strict=True))
        settings = json.loads(col["conf"])
        settings.update({"schedVer": 2, "rollover": rollover, **(conf or {})})
        models = json.loads(col["models"])
        models.update({str(mid): model.to_json(timestamp, did) for mid, (model, did) in model_decks.items()})
        for mid, model in models.items():
            if int(mid) in models_mtime:
                model["mod"] = models_mtime[int(mid)]
        col.update(
            crt=created,
            conf=json.dumps(settings, sort_keys=True),
            models=json.dumps(models, sort_keys=True),
        )
        if self.cur.execute("SELECT * FROM col").fetchall() == [tuple(col.values())]:
            return  # as it was: an export that changed nothing writes the same bytes
        self.cur.execute("DELETE FROM col")
        self.cur.execute(
            f"INSERT INTO col ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", list(col.values())
        )

    def counts(self) -> tuple[int, int]:
        """How many notes and cards the collection holds."""
        notes, cards = self.cur.execute(
            "SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM cards)"
        ).fetchone()
        return int(notes), int(cards)

    def scheduling_counts(self) -> tuple[int, int]:
        """Cards with progress and review-log rows in the collection."""
        row = self.cur.execute(
            "SELECT (SELECT count(*) FROM cards WHERE type != 0), (SELECT count(*) FROM revlog)"
        )
        scheduled, reviews = row.fetchone()
        return int(scheduled), int(reviews)

    def serialize(self) -> bytes:
        """The collection file's bytes."""
        return self.conn.serialize()

    def commit(self) -> None:
        """Commit a collection changed in place."""
        self.cur.execute("COMMIT")

    def close(self) -> None:
        """Let the collection go (uncommitted changes are dropped)."""
        self.conn.close()


def _conf_value(db: sqlite3.Connection, key: str) -> Any:
    try:
        row = db.execute("SELECT conf FROM col").fetchone()
        conf = json.loads(row[0]) if row else {}
    except (sqlite3.Error, ValueError, TypeError):
        return None
    return conf.get(key) if isinstance(conf, dict) else None


def conf_value(path: Path, key: str) -> Any:
    """An entry of the configuration of the collection file at ``path`` (None: none, or unreadable)."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, OSError, ValueError):
        return None
    try:
        return _conf_value(db, key)
    finally:
        db.close()


class PreviousPackage:
    """The package already at a path, its notes looked up by GUID a batch at a time."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None = None
        if not path.is_file():
            return
        try:
            with zipfile.ZipFile(path) as z:
                data = z.read("collection.anki2")
            self.db = sqlite3.connect(":memory:")
            self.db.deserialize(data)
            self.db.execute("CREATE INDEX IF NOT EXISTS ix_guid ON notes (guid)")
        except (OSError, KeyError, zipfile.BadZipFile, sqlite3.Error):
            self.close()

    def of(self, guids: Sequence[str]) -> dict[str, tuple[str, str, int]]:
        """``guid -> (fields, tags, modification time)`` of those ``guids`` the package holds."""
        if self.db is None:
            return {}
        try:
            rows = self.db.execute(
                "SELECT guid, flds, tags, mod FROM notes WHERE guid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(guids)),),
            ).fetchall()
        except sqlite3.Error:
            return {}
        return {guid: (flds, " ".join(sorted(tags.split())), int(mod)) for guid, flds, tags, mod in rows}

    def conf_value(self, key: str) -> Any:
        """An entry of the package's collection configuration (None: none, or no package)."""
        return None if self.db is None else _conf_value(self.db, key)

    def close(self) -> None:
        """Let the package go."""
        if self.db is not None:
            self.db.close()
            self.db = None
