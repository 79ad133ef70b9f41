"""Reading an Anki collection: ``.apkg``, ``.colpkg`` or a profile's ``collection.anki2``.

Every SQL statement run on an Anki collection for an import is here; the rest
of the import works on the plain values this module returns.

- A package is a zip. Anki 2.1.50+ writes ``collection.anki21b`` (SQLite,
  zstd-compressed) beside a stub ``collection.anki2`` that only says to update
  Anki; older packages hold ``collection.anki21`` or ``collection.anki2``.
  The newest packages also compress each media file and the media index (a
  protobuf message) with zstd.
- A profile's ``collection.anki2`` is copied first and never opened in place
  (opening it would leave files beside it). While Anki has it open, a
  ``collection.anki2-wal`` file sits beside it: then the import stops and asks
  to close Anki or to use File > Export.
- Collections of schema 18 (Anki 2.1.28+) keep decks and note types in tables
  whose names use Anki's ``unicase`` collation, which plain SQLite must be
  given before it can read them; older ones keep them as JSON in ``col``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SrsError

ZSTD_HINT = "pip install 'mlsys-srs[anki]'"


class AnkiImportError(SrsError):
    """The file is not an Anki collection this version can read."""


@dataclass(frozen=True)
class Notetype:
    """What an import needs of a note type."""

    id: int
    name: str
    cloze: bool
    templates: int
    fields: tuple[str, ...]


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


@dataclass
class MediaSource:
    """Where the collection's media files are: a package's zip entries, or a profile's media folder."""

    package: Path | None = None
    entries: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """name -> (zip entry, zstd-compressed)"""
    folder: Path | None = None

    def names(self) -> set[str]:
        """The media file names the collection holds."""
        if self.folder is not None:
            try:
                return {p.name for p in self.folder.iterdir() if p.is_file()}
            except OSError:
                return set()
        return set(self.entries)

    def read(self, name: str) -> bytes | None:
        """A media file's bytes (None if the collection does not hold it)."""
        if self.folder is not None:
            p = self.folder / name
            if "/" in name or "\\" in name or name.startswith(".") or not p.is_file():
                return None
            return p.read_bytes()
        hit = self.entries.get(name)
        if hit is None or self.package is None:
            return None
        entry, compressed = hit
        with zipfile.ZipFile(self.package) as z:
            data = z.read(entry)
        return _unzstd(data) if compressed else data


# -- protobuf, the little that is needed -----------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """``(field number, value)`` of a protobuf message (varints as ints, length-delimited as bytes)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
            yield num, v
        elif wire == 2:
            n, i = _varint(buf, i)
            yield num, buf[i : i + n]
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _unzstd(data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise AnkiImportError(
            f"this Anki package is zstd-compressed (Anki 2.1.50+); install the Anki extra: {ZSTD_HINT}"
        ) from None
    return zstandard.ZstdDecompressor().stream_reader(data).read()


# -- opening -------------------------------------------------------------------------------


def _unicase(a: str, b: str) -> int:
    x, y = a.casefold(), b.casefold()
    return (x > y) - (x < y)


def _connect_bytes(data: bytes, source: Path) -> sqlite3.Connection:
    if len(data) > 19 and data[18:20] == b"\x02\x02":
        # A database in WAL mode cannot be opened from memory: mark it as a rollback-journal one.
        data = data[:18] + b"\x01\x01" + data[20:]
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        conn.create_collation("unicase", _unicase)
        conn.execute("SELECT count(*) FROM notes").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise AnkiImportError(f"{source}: not an Anki collection ({exc})") from None
    return conn


def _package(path: Path) -> tuple[sqlite3.Connection, MediaSource]:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            version = 1
            if "meta" in names:
                for num, v in _fields(z.read("meta")):
                    if num == 1 and isinstance(v, int):
                        version = v
            if "collection.anki21b" in names:
                data = _unzstd(z.read("collection.anki21b"))
            elif "collection.anki21" in names:
                data = z.read("collection.anki21")
            elif "collection.anki2" in names:
                data = z.read("collection.anki2")
            else:
                raise AnkiImportError(f"{path}: no collection inside (is it an Anki package?)")
            media = MediaSource(package=path)
            if "media" in names:
                raw = z.read("media")
                if version >= 3:
                    index = -1
                    for num, entry in _fields(_unzstd(raw)):
                        if num != 1 or not isinstance(entry, bytes):
                            continue
                        index += 1
                        name, zip_name = "", None
                        for n2, v2 in _fields(entry):
                            if n2 == 1 and isinstance(v2, bytes):
                                name = v2.decode("utf-8", "replace")
                            elif n2 == 255 and isinstance(v2, int):
                                zip_name = str(v2)
                        if name:
                            media.entries[name] = (zip_name or str(index), True)
                else:
                    index_map = json.loads(raw.decode("utf-8") or "{}")
                    for entry_name, name in index_map.items():
                        if isinstance(name, str) and entry_name in names:
                            media.entries[name] = (entry_name, False)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise AnkiImportError(f"{path}: cannot read the package ({exc})") from None
    return _connect_bytes(data, path), media


def _profile(path: Path) -> tuple[sqlite3.Connection, MediaSource]:
    if Path(f"{path}-wal").exists():
        raise AnkiImportError(
            f"{path}: Anki has this collection open; close Anki (or use File > Export in Anki) and try again"
        )
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-anki-") as tmp:
        copy = Path(tmp) / "collection.anki2"
        try:
            shutil.copyfile(path, copy)
            data = copy.read_bytes()
        except OSError as exc:
            raise AnkiImportError(f"{path}: cannot copy the collection ({exc.strerror or exc})") from None
    if Path(f"{path}-wal").exists():
        raise AnkiImportError(
            f"{path}: Anki opened this collection while it was read; close Anki (or use File > Export) and try again"
        )
    media = MediaSource(folder=path.with_name(path.stem + ".media"))
    return _connect_bytes(data, path), media


def open_collection(path: Path) -> Collection:
    """Read the notes, cards, note types, decks, review log and media index of a collection.

    Raises:
        AnkiImportError: not a readable collection, Anki has it open, or the
            zstd extra is needed and missing.
    """
    if not path.is_file():
        raise AnkiImportError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        conn, media = _package(path)
    else:
        conn, media = _profile(path)
    try:
        return _read(conn, path, media)
    except sqlite3.Error as exc:
        raise AnkiImportError(f"{path}: cannot read the collection ({exc})") from None
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return bool(
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    )


def _read(conn: sqlite3.Connection, source: Path, media: MediaSource) -> Collection:
    notetypes: dict[int, Notetype] = {}
    decks: dict[int, str] = {}
    if _has_table(conn, "notetypes"):
        fields: dict[int, list[tuple[int, str]]] = {}
        for ntid, ord_, name in conn.execute("SELECT ntid, ord, name FROM fields"):
            fields.setdefault(ntid, []).append((ord_, name))
        templates: dict[int, int] = dict(conn.execute("SELECT ntid, count(*) FROM templates GROUP BY ntid"))
        for ntid, name, config in conn.execute("SELECT id, name, config FROM notetypes"):
            cloze = any(num == 1 and v == 1 for num, v in _fields(bytes(config)))
            names = tuple(n for _, n in sorted(fields.get(ntid, [])))
            notetypes[ntid] = Notetype(ntid, name, cloze, templates.get(ntid, 1), names)
        for did, name in conn.execute("SELECT id, name FROM decks"):
            decks[did] = name.replace("\x1f", "::")
    else:
        models_json, decks_json = conn.execute("SELECT models, decks FROM col").fetchone()
        for key, m in json.loads(models_json or "{}").items():
            names = tuple(f.get("name", "") for f in sorted(m.get("flds", []), key=lambda f: f.get("ord", 0)))
            notetypes[int(key)] = Notetype(
                int(key), str(m.get("name", "")), m.get("type") == 1, len(m.get("tmpls", [])) or 1, names
            )
        for key, d in json.loads(decks_json or "{}").items():
            decks[int(key)] = str(d.get("name", ""))
    notes = [
        Note(nid, guid, mid, tuple(flds.split("\x1f")), tuple(tags.split()), mod)
        for nid, guid, mid, tags, flds, mod in conn.execute(
            "SELECT id, guid, mid, tags, flds, mod FROM notes ORDER BY id"
        )
    ]
    cards = [
        Card(cid, nid, ord_, decks.get(odid or did, "Default"), queue)
        for cid, nid, ord_, did, odid, queue in conn.execute(
            "SELECT id, nid, ord, did, odid, queue FROM cards ORDER BY nid, ord"
        )
    ]
    revlog = [
        Revlog(*r)
        for r in conn.execute(
            "SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog ORDER BY cid, id"
        )
    ]
    return Collection(source, notetypes, notes, cards, revlog, media)
