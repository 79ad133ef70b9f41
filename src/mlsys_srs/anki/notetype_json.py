"""An Anki note type as the JSON of Anki's legacy schema (11), from the rows of a newer collection.

A package this tool writes is a schema-11 collection: its note types are JSON
objects in the ``col`` row (``id``, ``name``, ``type``, ``mod``, ``sortf``,
``flds``, ``tmpls``, ``css``, ``latexPre``, ``latexPost``, ``latexsvg``,
``req``, ``originalStockKind``, ``originalId``). Collections of Anki 2.1.28 and
later keep note types in tables whose ``config`` columns are protobuf messages
(``Notetype.Config``, ``Notetype.Field.Config``, ``Notetype.Template.Config`` of
Anki's ``notetypes.proto``); ``legacy_model`` turns those rows into the same JSON
Anki itself writes for them (``rslib/src/notetype/schema11.rs``), keeping the
field and template ids Anki matches them by on import. Everything here is
values in, values out: ``anki.collection`` reads the rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .protobuf import proto_fields, varint

_REQ_KINDS = {0: "none", 1: "any", 2: "all"}


def _signed(value: int) -> int:
    """An ``int64`` read as an unsigned varint, back to its sign."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(value: int | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _other(value: int | bytes) -> dict[str, Any]:
    """The ``other`` bytes of a config: JSON keys Anki keeps for add-ons and older versions."""
    if not isinstance(value, bytes) or not value:
        return {}
    try:
        loaded = json.loads(value)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _field(ord_: int, name: str, config: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "ord": ord_,
        "sticky": False,
        "rtl": False,
        "font": "Arial",
        "size": 20,
    }
    out.update(
        description="", plainText=False, collapsed=False, excludeFromSearch=False, preventDeletion=False
    )
    other: dict[str, Any] = {}
    for num, v in proto_fields(config):
        if num == 1:
            out["sticky"] = bool(v)
        elif num == 2:
            out["rtl"] = bool(v)
        elif num == 3:
            out["font"] = _text(v)
        elif num == 4 and isinstance(v, int):
            out["size"] = v
        elif num == 5:
            out["description"] = _text(v)
        elif num == 6:
            out["plainText"] = bool(v)
        elif num == 7:
            out["collapsed"] = bool(v)
        elif num == 8:
            out["excludeFromSearch"] = bool(v)
        elif num == 9 and isinstance(v, int):
            out["id"] = _signed(v)
        elif num == 10 and isinstance(v, int):
            out["tag"] = v
        elif num == 11:
            out["preventDeletion"] = bool(v)
        elif num == 255:
            other = _other(v)
    return {**other, **out}


def _template(ord_: int, name: str, config: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "ord": ord_, "qfmt": "", "afmt": "", "bqfmt": "", "bafmt": ""}
    out.update(did=None, bfont="", bsize=0)
    other: dict[str, Any] = {}
    for num, v in proto_fields(config):
        if num == 1:
            out["qfmt"] = _text(v)
        elif num == 2:
            out["afmt"] = _text(v)
        elif num == 3:
            out["bqfmt"] = _text(v)
        elif num == 4:
            out["bafmt"] = _text(v)
        elif num == 5 and isinstance(v, int) and _signed(v) > 0:
            out["did"] = _signed(v)
        elif num == 6:
            out["bfont"] = _text(v)
        elif num == 7 and isinstance(v, int):
            out["bsize"] = v
        elif num == 8 and isinstance(v, int):
            out["id"] = _signed(v)
        elif num == 255:
            other = _other(v)
    return {**other, **out}


def _requirement(buf: bytes) -> list[Any]:
    card_ord, kind, fields = 0, 0, []
    for num, v in proto_fields(buf):
        if num == 1 and isinstance(v, int):
            card_ord = v
        elif num == 2 and isinstance(v, int):
            kind = v
        elif num == 3:
            if isinstance(v, bytes):  # packed
                i = 0
                while i < len(v):
                    n, i = varint(v, i)
                    fields.append(n)
            else:
                fields.append(v)
    return [card_ord, _REQ_KINDS.get(kind, "none"), fields]


def legacy_model(
    ntid: int,
    name: str,
    mtime: int,
    config: bytes,
    fields: Sequence[tuple[int, str, bytes]],
    templates: Sequence[tuple[int, str, bytes]],
) -> dict[str, Any]:
    """A note type's schema-11 JSON from its ``notetypes`` row and its ``fields`` and ``templates`` rows.

    Args:
        config: ``notetypes.config`` (``Notetype.Config``).
        fields: ``(ord, name, config)`` of its fields.
        templates: ``(ord, name, config)`` of its templates.

    Raises:
        ValueError: a config is not a protobuf message.
    """
    model: dict[str, Any] = {
        "id": ntid,
        "name": name,
        "type": 0,
        "mod": mtime,
        "usn": -1,
        "sortf": 0,
        "did": None,
        "css": "",
        "latexPre": "",
        "latexPost": "",
        "latexsvg": False,
        "req": [],
    }
    other: dict[str, Any] = {}
    for num, v in proto_fields(config):
        if num == 1 and isinstance(v, int):
            model["type"] = v
        elif num == 2 and isinstance(v, int):
            model["sortf"] = v
        elif num == 3:
            model["css"] = _text(v)
        elif num == 5:
            model["latexPre"] = _text(v)
        elif num == 6:
            model["latexPost"] = _text(v)
        elif num == 7:
            model["latexsvg"] = bool(v)
        elif num == 8 and isinstance(v, bytes):
            model["req"].append(_requirement(v))
        elif num == 9 and isinstance(v, int) and v:
            model["originalStockKind"] = v
        elif num == 10 and isinstance(v, int):
            model["originalId"] = _signed(v)
        elif num == 255:
            other = _other(v)
    model["flds"] = [_field(o, n, c) for o, n, c in sorted(fields)]
    model["tmpls"] = [_template(o, n, c) for o, n, c in sorted(templates)]
    return {**other, **model}
