"""Hostile Anki packages, each with the one line ``import anki`` answers it with.

Packages are binary, so they are built here on demand (into a test's tmp folder)
rather than committed. A package is a zip around a collection database whose
tables carry no types or constraints, so any value can go in any column, as a
crafted file can. ``PACKAGES`` maps a name to its builder and the message that
follows ``error: <package>: `` on the one line ``import anki`` prints.
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MID = 1_700_000_000_001
DECK = 1_700_000_000_002
REVIEWED_MS = 1_760_000_000_000
"""2025-10-09: a review inside the window an import takes."""
GB = 1 << 30

NoteRow = tuple[Any, Any, Any, Any, Any, Any]


def basic_models(name: str = "Basic (hostile)") -> dict[str, Any]:
    """``col.models`` with one two-field note type."""
    return {
        str(MID): {
            "name": name,
            "type": 0,
            "flds": [{"name": "Front", "ord": 0}, {"name": "Back", "ord": 1}],
            "tmpls": [{"name": "Card 1"}],
        }
    }


@dataclass
class Spec:
    """The rows of a schema-11 collection: one valid note, card and review unless told otherwise."""

    models: Any = field(default_factory=lambda: json.dumps(basic_models()))
    decks: Any = field(default_factory=lambda: json.dumps({str(DECK): {"name": "Hostile"}}))
    notes: Sequence[Sequence[Any]] = ((1, "hostile01", MID, " tag ", "front\x1fback", 0),)
    """(id, guid, mid, tags, flds, mod)"""
    cards: Sequence[Sequence[Any]] = ((2, 1, DECK, 0, 0, 0),)
    """(id, nid, did, ord, odid, queue)"""
    revlog: Sequence[Sequence[Any]] = ((REVIEWED_MS, 2, 3, 1, 0, 2500, 8000, 1),)
    """(id, cid, ease, ivl, lastIvl, factor, time, type)"""
    extra_sql: Sequence[str] = ()


def legacy_db(path: Path, spec: Spec) -> Path:
    """A schema-11 collection of ``spec``'s rows, in tables that take any value."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE col (id, crt, mod, scm, ver, dty, usn, ls, conf, models, decks, dconf, tags);
        CREATE TABLE notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data);
        CREATE TABLE cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses,
                            left, odue, odid, flags, data);
        CREATE TABLE revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type);
        """
    )
    conn.execute(
        "INSERT INTO col VALUES (1, 0, 0, 0, 11, 0, 0, 0, '{}', ?, ?, '{}', '{}')", (spec.models, spec.decks)
    )
    conn.executemany(
        "INSERT INTO notes VALUES (?, ?, ?, ?, -1, ?, ?, '', 0, 0, '')",
        [(n[0], n[1], n[2], n[5], n[3], n[4]) for n in spec.notes],
    )
    conn.executemany(
        "INSERT INTO cards VALUES (?, ?, ?, ?, 0, -1, 0, ?, 0, 0, 0, 0, 0, 0, 0, ?, 0, '')",
        [(c[0], c[1], c[2], c[3], c[5], c[4]) for c in spec.cards],
    )
    conn.executemany(
        "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
        [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in spec.revlog],
    )
    for sql in spec.extra_sql:
        conn.executescript(sql)
    conn.commit()
    conn.close()
    return path


def schema18_db(
    path: Path,
    *,
    deck_name: Any = "Hostile",
    config: Any = b"",
    mtime: Any = 0,
    field_config: Any = b"",
    template_config: Any = b"",
) -> Path:
    """A schema-18 collection (note types and decks in tables) with one note, card and review."""
    legacy_db(path, Spec(models="", decks=""))
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE notetypes (id, name, mtime_secs, usn, config);
        CREATE TABLE fields (ntid, ord, name, config);
        CREATE TABLE templates (ntid, ord, name, mtime_secs, usn, config);
        CREATE TABLE decks (id, name, mtime_secs, usn, common, kind);
        """
    )
    conn.execute("INSERT INTO notetypes VALUES (?, 'Basic (hostile)', ?, 0, ?)", (MID, mtime, config))
    conn.executemany(
        "INSERT INTO fields VALUES (?, ?, ?, ?)", [(MID, 0, "Front", field_config), (MID, 1, "Back", b"")]
    )
    conn.execute("INSERT INTO templates VALUES (?, 0, 'Card 1', 0, 0, ?)", (MID, template_config))
    conn.execute("INSERT INTO decks VALUES (?, ?, 0, 0, x'', x'')", (DECK, deck_name))
    conn.commit()
    conn.close()
    return path


def zstd_bytes(data: bytes) -> bytes:
    """``data`` as one zstd frame."""
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def package(
    out: Path,
    collection: bytes | Path,
    *,
    member: str = "collection.anki2",
    media_index: bytes | str | None = "{}",
    media: dict[str, bytes] | None = None,
    meta: bytes | None = None,
) -> Path:
    """A zip holding ``collection`` as ``member``, the media index and the media entries."""
    data = collection.read_bytes() if isinstance(collection, Path) else collection
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if meta is not None:
            z.writestr("meta", meta)
        z.writestr(member, data)
        if media_index is not None:
            z.writestr("media", media_index)
        for name, blob in (media or {}).items():
            z.writestr(name, blob)
    return out


def apkg(tmp: Path, spec: Spec | None = None, **kw: Any) -> Path:
    """An ``.apkg`` of a schema-11 collection."""
    db = legacy_db(tmp / "collection.anki2", spec or Spec())
    return package(tmp / "hostile.apkg", db, **kw)


def _zip(out: Path, members: Sequence[tuple[str, int, bytes, int, int]]) -> Path:
    """A zip written by hand: ``(name, method, data as stored, CRC-32, size)`` per member (method 8:
    ``data`` is a raw deflate stream), so a bomb needs no time to compress."""
    body = bytearray()
    central = bytearray()
    for name, method, data, crc, size in members:
        raw = name.encode()
        head = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                len(body),
            )
            + raw
        )
        body += head + raw + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    out.write_bytes(bytes(body + central + end))
    return out


def zeros_deflated(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` zero bytes (a multiple of 1 MiB) and their CRC-32, made by
    repeating one flushed block: about a thousandth of ``size``, in a fraction of a second."""
    chunk = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    return block * (size // len(chunk)) + b"\x03\x00", crc


def _stored(name: str, data: bytes) -> tuple[str, int, bytes, int, int]:
    return name, 0, data, zlib.crc32(data), len(data)


def deflate_bomb(tmp: Path) -> Path:
    """About 1 MB whose collection inflates to 1 GB of zeros."""
    data, crc = zeros_deflated(GB)
    return _zip(tmp / "bomb.apkg", [("collection.anki2", 8, data, crc, GB)])


def zstd_bomb(tmp: Path) -> Path:
    """About 66 KB: a ``.colpkg`` whose ``collection.anki21b`` is 2 GB of zstd zeros."""
    import zstandard

    buf = io.BytesIO()
    chunk = bytes(1 << 24)
    with zstandard.ZstdCompressor(level=1).stream_writer(buf, size=2 * GB, closefd=False) as w:
        for _ in range(2 * GB // len(chunk)):
            w.write(chunk)
    members = [_stored("meta", b"\x08\x03"), _stored("collection.anki21b", buf.getvalue())]
    return _zip(tmp / "bomb.colpkg", [*members, _stored("media", zstd_bytes(b""))])


def media_bomb(tmp: Path) -> Path:
    """A valid collection whose note shows ``big.png``: 1 MB that inflates to 1 GB."""
    db = legacy_db(
        tmp / "collection.anki2",
        Spec(notes=((1, "hostile01", MID, "", 'see <img src="big.png">\x1fback', 0),)),
    )
    data, crc = zeros_deflated(GB)
    members = [
        _stored("collection.anki2", db.read_bytes()),
        _stored("media", json.dumps({"0": "big.png"}).encode()),
        ("0", 8, data, crc, GB),
    ]
    return _zip(tmp / "media-bomb.apkg", members)


def _note(flds: Any = "front\x1fback", **over: Any) -> Spec:
    row = {"id": 1, "guid": "hostile01", "mid": MID, "tags": " tag ", "flds": flds, "mod": 0}
    row.update(over)
    return Spec(notes=((row["id"], row["guid"], row["mid"], row["tags"], row["flds"], row["mod"]),))


def _card(**over: Any) -> Spec:
    row = {"id": 2, "nid": 1, "did": DECK, "ord": 0, "odid": 0, "queue": 0}
    row.update(over)
    return Spec(cards=((row["id"], row["nid"], row["did"], row["ord"], row["odid"], row["queue"]),))


def _revlog(**over: Any) -> Spec:
    row = {
        "id": REVIEWED_MS,
        "cid": 2,
        "ease": 3,
        "ivl": 1,
        "lastIvl": 0,
        "factor": 2500,
        "time": 8000,
        "type": 1,
    }
    row.update(over)
    return Spec(revlog=(tuple(row.values()),))


def _colpkg18(tmp: Path, **kw: Any) -> Path:
    db = schema18_db(tmp / "collection.anki21", **kw)
    return package(tmp / "hostile.colpkg", db, member="collection.anki21")


Builder = Callable[[Path], Path]

NOTHING = "; nothing was imported"
PACKAGES: dict[str, tuple[Builder, str]] = {
    "zero-byte": (
        lambda t: (t / "empty.apkg", (t / "empty.apkg").write_bytes(b""))[0],
        "the file is empty (0 bytes); not an Anki package",
    ),
    "not-a-zip": (
        lambda t: (t / "text.apkg", (t / "text.apkg").write_text("hello"))[0],
        "not an Anki package (not a zip archive)",
    ),
    "no-collection": (
        lambda t: package(t / "x.apkg", b"", member="readme.txt"),
        "no collection inside (is it an Anki package?)",
    ),
    "deflate-bomb": (
        deflate_bomb,
        "collection.anki2 expands more than 1000:1 (over 1 GiB from 1.0 MiB), the limit"
        f"{NOTHING} (raise the limit with --max-ratio)",
    ),
    "media-bomb": (
        media_bomb,
        "media file big.png (entry 0) expands more than 100:1 (over 1 GiB from 1.0 MiB), the limit"
        f"{NOTHING} (raise the limit with --max-ratio)",
    ),
    "zstd-bomb": (
        zstd_bomb,
        "collection.anki21b expands more than 1000:1 (over 63 MiB from 64 KiB), the limit"
        f"{NOTHING} (raise the limit with --max-ratio)",
    ),
    "not-sqlite": (
        lambda t: package(t / "x.apkg", b"not a database at all"),
        "not an Anki collection (not an SQLite database)",
    ),
    "media-index-list": (
        lambda t: apkg(t, media_index='["a.png"]'),
        f"the media index is not a mapping of entries to names{NOTHING}",
    ),
    "media-index-bad-json": (
        lambda t: apkg(t, media_index="{"),
        f"the media index is not valid JSON{NOTHING}",
    ),
    "media-entry-missing": (
        lambda t: apkg(t, media_index=json.dumps({"0": "a.png"})),
        f"media file a.png (entry 0) is missing from the package{NOTHING}",
    ),
    "flds-null": (lambda t: apkg(t, _note(None)), f"notes row 1: flds is NULL, not text{NOTHING}"),
    "flds-blob": (lambda t: apkg(t, _note(b"\x00\x01")), f"notes row 1: flds is a blob, not text{NOTHING}"),
    "tags-null": (lambda t: apkg(t, _note(tags=None)), f"notes row 1: tags is NULL, not text{NOTHING}"),
    "tags-int": (lambda t: apkg(t, _note(tags=7)), f"notes row 1: tags is an integer, not text{NOTHING}"),
    "guid-null": (lambda t: apkg(t, _note(guid=None)), f"notes row 1: guid is NULL, not text{NOTHING}"),
    "guid-escape": (
        lambda t: apkg(t, _note(guid="ab\x1b[2Jcd")),
        "notes row 1: guid 'ab␛[2Jcd' is not an id (1 to 100 printable characters, no spaces)" + NOTHING,
    ),
    "note-id-text": (
        lambda t: apkg(t, _note(id="one")),
        f"notes row 'one': id is text, not an integer{NOTHING}",
    ),
    "ord-null": (lambda t: apkg(t, _card(ord=None)), f"cards row 2: ord is NULL, not an integer{NOTHING}"),
    "ord-text": (lambda t: apkg(t, _card(ord="1")), f"cards row 2: ord is text, not an integer{NOTHING}"),
    "ord-negative": (
        lambda t: apkg(t, _card(ord=-1)),
        f"cards row 2: ord -1 is out of range (0 to 65535){NOTHING}",
    ),
    "ord-huge": (
        lambda t: apkg(t, _card(ord=2**62)),
        f"cards row 2: ord {2**62} is out of range (0 to 65535){NOTHING}",
    ),
    "models-invalid-json": (
        lambda t: apkg(t, replace(Spec(), models="{not json")),
        "col.models is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
        f"(char 1)){NOTHING}",
    ),
    "models-a-list": (
        lambda t: apkg(t, replace(Spec(), models="[1, 2]")),
        f"col.models is a list, not a JSON object{NOTHING}",
    ),
    "models-nested": (
        lambda t: apkg(t, replace(Spec(), models="[" * 200_000 + "]" * 200_000)),
        f"col.models is JSON nested too deeply{NOTHING}",
    ),
    "models-null": (
        lambda t: apkg(t, replace(Spec(), models=None)),
        f"col.models is NULL, not JSON text{NOTHING}",
    ),
    "deck-key-abc": (
        lambda t: apkg(t, replace(Spec(), decks=json.dumps({"abc": {"name": "x"}}))),
        f"col.decks: key 'abc' is not an id{NOTHING}",
    ),
    "deck-name-int": (
        lambda t: apkg(t, replace(Spec(), decks=json.dumps({str(DECK): {"name": 5}}))),
        f"col.decks row {DECK}: name is an integer, not text{NOTHING}",
    ),
    "ease-text": (
        lambda t: apkg(t, _revlog(ease="three")),
        f"revlog row {REVIEWED_MS}: ease is text, not an integer{NOTHING}",
    ),
    "revlog-id-real": (
        lambda t: apkg(t, _revlog(id=1.5)),
        f"revlog row 1.5: id is a real number, not an integer{NOTHING}",
    ),
    "schema18-deck-name-null": (
        lambda t: _colpkg18(t, deck_name=None),
        f"decks row {DECK}: name is NULL, not text{NOTHING}",
    ),
    "schema18-config-null": (
        lambda t: _colpkg18(t, config=None),
        f"notetypes row {MID}: config is NULL, not a blob{NOTHING}",
    ),
    "schema18-config-garbage": (
        lambda t: _colpkg18(t, config=b"\xff\xff\xff"),
        f"notetypes row {MID}: config is not a note type's settings (truncated or overlong varint){NOTHING}",
    ),
    "schema18-mtime-text": (
        lambda t: _colpkg18(t, mtime="yesterday"),
        f"notetypes row {MID}: mtime_secs is text, not an integer{NOTHING}",
    ),
    "schema18-field-config-null": (
        lambda t: _colpkg18(t, field_config=None),
        f"fields row {MID}: config is NULL, not a blob{NOTHING}",
    ),
    "schema18-template-config-huge-int": (
        lambda t: _colpkg18(t, template_config=2**40),  # bytes(2**40) would ask for a terabyte
        f"templates row {MID}: config is an integer, not a blob{NOTHING}",
    ),
    "notes-a-view": (
        lambda t: apkg(
            t,
            replace(
                Spec(),
                extra_sql=(
                    "ALTER TABLE notes RENAME TO real_notes;"
                    "CREATE VIEW notes AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)"
                    " SELECT i AS id, 'g' AS guid, 1 AS mid, '' AS tags, '' AS flds, 0 AS mod FROM r;",
                ),
            ),
        ),
        "not an Anki collection (notes is not a plain table)",
    ),
    "generated-column": (
        lambda t: apkg(
            t,
            replace(
                Spec(),
                extra_sql=(
                    "DROP TABLE notes; CREATE TABLE notes (id, guid, mid, mod, usn, tags,"
                    " flds AS (zeroblob(1000000000)), sfld, csum, flags, data);",
                ),
            ),
        ),
        "not an Anki collection (notes has generated columns)",
    ),
}
"""name -> (builder, the message after ``<package>: ``)."""
