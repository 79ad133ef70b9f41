"""The rows of an Anki collection, checked against Anki's schema before an import uses any of them.

SQLite keeps whatever a column is given; Anki's own reader (rslib) reads each
column as one Rust type and fails on anything else. A row Anki could not read
refuses the whole package (``RowError``: one line naming the table, the row and
the column, raised before anything is written):

- a NULL, text, a blob or a real number where Anki keeps an integer, and the
  other way round (``notes.flds``, ``tags``, ``guid``; ``cards.ord``; ``revlog.ease``;
  schema 18's ``decks.name``, ``notetypes.mtime_secs`` and the ``config`` blobs of
  ``notetypes``, ``fields`` and ``templates``);
- a number out of the range of Anki's type (``cards.ord`` is a u16);
- ``col.models`` and ``col.decks`` that are not the JSON objects Anki writes
  (keys that are not ids, note types without a list of fields), and note type
  configs that are not protobuf;
- a GUID that is empty, longer than 100 characters or holds a space or a
  control character; a deck name over 1,000 characters.

Values Anki can hold but no answer can have are skipped and counted, not refused:
review-log rows dated before 2006 (Anki's first release) or more than a day
after ``now`` (old clients wrote some revlog ids in seconds). Answer times are
capped where the import turns them into events. Fields keep no control
character but tab and newline (CR LF and a lone CR become LF).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.fmt import inert
from .protobuf import proto_fields

U16 = (0, 2**16 - 1)
MAX_GUID = 100
MAX_DECK_NAME = 1000
EARLIEST_REVIEW = datetime(2006, 1, 1, tzinfo=UTC)
"""Anki's first release: no review is older."""
LATEST_REVIEW = datetime(9000, 1, 1, tzinfo=UTC)
"""The upper end of the window when the reader is given no ``now``."""
_FIELD_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ID_RE = re.compile(r"-?\d{1,19}")

NoteRow = tuple[int, str, int, tuple[str, ...], tuple[str, ...], int]
CardRow = tuple[int, int, int, int, int, int]
RevlogRow = tuple[int, int, int, int, int, int, int, int]
NotetypeRow = tuple[int, str, bool, int, tuple[str, ...], dict[str, Any]]


class RowError(ValueError):
    """A row Anki could not read: the package is refused."""


def _kind(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a real number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "a blob"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _where(table: str, rid: object) -> str:
    shown = str(rid) if type(rid) is int else inert(repr(rid))[:40]
    return f"{table} row {shown}"


def _int(table: str, rid: object, col: str, v: object, bounds: tuple[int, int] | None = None) -> int:
    if type(v) is not int:
        raise RowError(f"{_where(table, rid)}: {col} is {_kind(v)}, not an integer")
    if bounds is not None and not bounds[0] <= v <= bounds[1]:
        raise RowError(f"{_where(table, rid)}: {col} {v} is out of range ({bounds[0]} to {bounds[1]})")
    return v


def _text(table: str, rid: object, col: str, v: object) -> str:
    if type(v) is not str:
        raise RowError(f"{_where(table, rid)}: {col} is {_kind(v)}, not text")
    return v


def clean_field(text: str) -> str:
    """A field without control characters but tab and newline (CR LF and a lone CR become LF)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _FIELD_CONTROL_RE.sub("", text)


def note(row: Sequence[object]) -> NoteRow:
    """``(id, guid, note type, fields, tags, mod)`` of a ``notes`` row ``(id, guid, mid, tags, flds, mod)``."""
    nid, guid, mid, tags, flds, mod = row
    t = "notes"
    nid = _int(t, nid, "id", nid)
    guid = _text(t, nid, "guid", guid)
    if not guid or len(guid) > MAX_GUID or not guid.isprintable() or " " in guid:
        raise RowError(
            f"{_where(t, nid)}: guid {inert(guid[:40])!r} is not an id (1 to {MAX_GUID} printable "
            "characters, no spaces)"
        )
    mid = _int(t, nid, "mid", mid)
    tags = _text(t, nid, "tags", tags)
    flds = _text(t, nid, "flds", flds)
    mod = _int(t, nid, "mod", mod)
    return nid, guid, mid, tuple(clean_field(f) for f in flds.split("\x1f")), tuple(tags.split()), mod


def card(row: Sequence[object]) -> CardRow:
    """``(id, note, ord, deck, original deck, queue)`` of a ``cards`` row."""
    cid, nid, ord_, did, odid, queue = row
    t = "cards"
    cid = _int(t, cid, "id", cid)
    return (
        cid,
        _int(t, cid, "nid", nid),
        _int(t, cid, "ord", ord_, U16),
        _int(t, cid, "did", did),
        _int(t, cid, "odid", odid),
        _int(t, cid, "queue", queue),
    )


def review_window(now: datetime | None) -> tuple[int, int]:
    """The revlog ids (answer times in milliseconds) an import takes: 2006 to a day after ``now``."""
    latest = LATEST_REVIEW if now is None else now + timedelta(days=1)
    return int(EARLIEST_REVIEW.timestamp() * 1000), int(latest.timestamp() * 1000)


def revlog(rows: Iterable[Sequence[object]], window: tuple[int, int]) -> tuple[list[RevlogRow], int]:
    """The ``revlog`` rows ``(id, cid, ease, ivl, lastIvl, factor, time, type)`` inside ``window``,
    and how many were outside it."""
    out: list[RevlogRow] = []
    outside = 0
    t = "revlog"
    for row in rows:
        rid = _int(t, row[0], "id", row[0])
        checked = (
            rid,
            _int(t, rid, "cid", row[1]),
            _int(t, rid, "ease", row[2]),
            _int(t, rid, "ivl", row[3]),
            _int(t, rid, "lastIvl", row[4]),
            _int(t, rid, "factor", row[5]),
            _int(t, rid, "time", row[6]),
            _int(t, rid, "type", row[7]),
        )
        if window[0] <= rid <= window[1]:
            out.append(checked)
        else:
            outside += 1
    return out, outside


def _json(what: str, raw: object) -> dict[str, Any]:
    if type(raw) is not str:
        raise RowError(f"{what} is {_kind(raw)}, not JSON text")
    try:
        data = json.loads(raw or "{}")
    except RecursionError:
        raise RowError(f"{what} is JSON nested too deeply") from None
    except ValueError as exc:
        raise RowError(f"{what} is not valid JSON ({inert(str(exc))[:80]})") from None
    if not isinstance(data, dict):
        raise RowError(f"{what} is {_kind(data)}, not a JSON object")
    return data


def _json_id(what: str, key: str) -> int:
    if not _ID_RE.fullmatch(key) or not -(2**63) <= int(key) < 2**63:
        raise RowError(f"{what}: key {inert(key[:40])!r} is not an id")
    return int(key)


def legacy_notetypes(models_json: object) -> list[NotetypeRow]:
    """The note types of ``col.models`` (schema 11): ``(id, name, cloze, templates, field names,
    model)``, the model being the note type's JSON object as it is there."""
    out: list[NotetypeRow] = []
    for key, m in _json("col.models", models_json).items():
        ntid = _json_id("col.models", key)
        what = f"col.models note type {ntid}"
        if not isinstance(m, dict):
            raise RowError(f"{what} is {_kind(m)}, not an object")
        name, kind, flds, tmpls = m.get("name", ""), m.get("type", 0), m.get("flds", []), m.get("tmpls", [])
        if type(name) is not str:
            raise RowError(f"{what}: name is {_kind(name)}, not text")
        if type(kind) is not int:
            raise RowError(f"{what}: type is {_kind(kind)}, not an integer")
        if not isinstance(flds, list) or not isinstance(tmpls, list):
            raise RowError(f"{what}: flds and tmpls must be lists")
        fields: list[tuple[int, str]] = []
        for i, f in enumerate(flds):
            if not isinstance(f, dict):
                raise RowError(f"{what}: field {i} is {_kind(f)}, not an object")
            fname, ford = f.get("name", ""), f.get("ord", i)
            if type(fname) is not str or type(ford) is not int:
                raise RowError(f"{what}: field {i} needs a text name and an integer ord")
            fields.append((ford, fname))
        out.append((ntid, name, kind == 1, len(tmpls) or 1, tuple(n for _, n in sorted(fields)), m))
    return out


def legacy_decks(decks_json: object) -> dict[int, str]:
    """Deck id -> name of ``col.decks`` (schema 11)."""
    out: dict[int, str] = {}
    for key, d in _json("col.decks", decks_json).items():
        did = _json_id("col.decks", key)
        if not isinstance(d, dict):
            raise RowError(f"col.decks deck {did} is {_kind(d)}, not an object")
        out[did] = deck_name("col.decks", did, d.get("name", ""))
    return out


def deck_name(table: str, did: object, name: object) -> str:
    """A deck's name (``::`` between its levels), checked."""
    name = _text(table, did, "name", name)
    if len(name) > MAX_DECK_NAME:
        raise RowError(f"{_where(table, did)}: the deck name is longer than {MAX_DECK_NAME} characters")
    return name.replace("\x1f", "::")


def deck(row: Sequence[object]) -> tuple[int, str]:
    """``(id, name)`` of a schema-18 ``decks`` row."""
    did = _int("decks", row[0], "id", row[0])
    return did, deck_name("decks", did, row[1])


def _blob(table: str, rid: object, col: str, v: object) -> bytes:
    if not isinstance(v, bytes):
        raise RowError(f"{_where(table, rid)}: {col} is {_kind(v)}, not a blob")
    return v


def notetype(row: Sequence[object]) -> tuple[int, str, int, bytes, bool]:
    """``(id, name, mtime, config, cloze)`` of a schema-18 ``notetypes`` row ``(id, name, mtime_secs, config)``."""
    t = "notetypes"
    ntid = _int(t, row[0], "id", row[0])
    name = _text(t, ntid, "name", row[1])
    mtime = _int(t, ntid, "mtime_secs", row[2])
    config = _blob(t, ntid, "config", row[3])
    try:
        cloze = any(num == 1 and v == 1 for num, v in proto_fields(config))
    except ValueError as exc:
        raise RowError(f"{_where(t, ntid)}: config is not a note type's settings ({exc})") from None
    return ntid, name, mtime, config, cloze


def _part_row(t: str, row: Sequence[object]) -> tuple[int, int, str, bytes]:
    ntid = _int(t, row[0], "ntid", row[0])
    return (
        ntid,
        _int(t, ntid, "ord", row[1]),
        _text(t, ntid, "name", row[2]),
        _blob(t, ntid, "config", row[3]),
    )


def field_row(row: Sequence[object]) -> tuple[int, int, str, bytes]:
    """``(note type, ord, name, config)`` of a schema-18 ``fields`` row."""
    return _part_row("fields", row)


def template_row(row: Sequence[object]) -> tuple[int, int, str, bytes]:
    """``(note type, ord, name, config)`` of a schema-18 ``templates`` row."""
    return _part_row("templates", row)
