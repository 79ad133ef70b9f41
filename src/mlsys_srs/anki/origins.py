"""Where the notes that moved in from Anki came from: their note types, kept in the vault, and the way back.

``import anki`` writes the notes that move in as Markdown (``anki.importing``) and
records, in ``anki-note-types.json`` in its ``--into`` folder (``SIDECAR``), what
the Markdown cannot say:

- ``note_types``: each Anki note type of those notes, whole (id, name, fields,
  templates, CSS: the JSON of Anki's legacy schema, ``anki.notetype_json``), and
  which of its fields a card's parts are (``roles``: ``front``/``back`` for a
  standard note type, ``text``/``extra`` for a cloze one);
- ``notes``: for each note, by its GUID, its note type, its Anki deck, the
  fields its card has no place for (``kept``: field number -> HTML as it was),
  and for a cloze note the Markdown of its extra field that the import wrote
  below the text (``extra``).

``export anki`` reads it back (``Origins.load``, from the folders of the notes
that moved in and the folders above them): a card whose block id spells a
recorded GUID goes to Anki with its own note type and into its own deck, its
fields filled from the card (rendered like every card) and from ``kept``, the
two sides of a reversed note as that note's two cards, its tags without a
domain tag. Importing such a package into the collection the notes came from
therefore updates them and adds no note, card, note type or deck. Notes without
an entry (moved in before this file existed, or it was deleted) go to Anki as
``mlsys-srs`` notes, as any card of the vault.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..parse.model import Diagnostic
from ..vault.writes import NoteWriteError

if TYPE_CHECKING:
    from ..store.cards import CardView
    from .ids import NoteSpec

SIDECAR = "anki-note-types.json"
"""The file, in an ``import anki --into`` folder, that records the moved-in notes' note types."""
_ABOUT = (
    "Written by `mlsys-srs import anki`: the Anki note types of the notes that moved in, so that "
    "`mlsys-srs export anki` gives them back to Anki as they were. Edit the notes, not this file."
)


@dataclass(frozen=True)
class Origin:
    """What a moved-in note was in Anki, besides its text."""

    note_type: int
    deck: str
    kept: dict[int, str] = field(default_factory=dict)
    """Fields the card has no place for: field number -> HTML as it was in Anki."""
    extra: str = ""
    """A cloze note's extra field as the Markdown the import wrote below the text ("" if empty)."""

    def as_json(self) -> dict[str, Any]:
        """The note's entry in ``SIDECAR``."""
        out: dict[str, Any] = {"deck": self.deck, "type": self.note_type}
        if self.kept:
            out["kept"] = {str(k): v for k, v in sorted(self.kept.items())}
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: Any) -> Origin | None:
        """A note's entry, or None when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("type"), int):
            return None
        kept = data.get("kept") or {}
        if not isinstance(kept, dict):
            return None
        return cls(
            int(data["type"]),
            str(data.get("deck") or ""),
            {int(k): str(v) for k, v in kept.items() if str(k).isdigit()},
            str(data.get("extra") or ""),
        )


def roles(model: Mapping[str, Any]) -> dict[str, int]:
    """Which fields of a note type a card's parts are: the first two fields, as the import reads them
    (``front``/``back``, or ``text``/``extra`` for a cloze note type)."""
    names = ("text", "extra") if model.get("type") == 1 else ("front", "back")
    count = len(model.get("flds") or [])
    return {name: i for i, name in enumerate(names) if i < count}


class ForeignModel:
    """A moved-in note's own note type, as ``anki.collection`` writes a genanki model."""

    CLOZE = 1

    def __init__(self, data: Mapping[str, Any]) -> None:
        """A note type from its legacy-schema JSON (``anki.notetype_json``)."""
        self.data = dict(data)
        self.model_id = int(data["id"])
        self.name = str(data.get("name", ""))
        self.model_type = self.CLOZE if data.get("type") == 1 else 0
        self.templates: list[dict[str, Any]] = [dict(t) for t in data.get("tmpls") or []]
        self.fields: list[dict[str, Any]] = [dict(f) for f in data.get("flds") or []]
        self.sort_field_index = int(data.get("sortf") or 0)
        self.roles = roles(data)

    def to_json(self, timestamp: float, deck_id: int) -> dict[str, Any]:
        """The note type's JSON as the package records it (its own modification time kept, so Anki
        keeps the note type it has unless it is older)."""
        out = copy.deepcopy(self.data)
        out.update(id=self.model_id, did=deck_id, usn=-1)
        return out

    @property
    def reversed(self) -> bool:
        """A standard note type with two templates (its notes' reverse side is the second card, as
        the import reads it)."""
        return self.model_type != self.CLOZE and len(self.templates) == 2


@dataclass
class Origins:
    """The recorded origins of the vault's moved-in notes (``SIDECAR`` files), by GUID."""

    notes: dict[str, Origin] = field(default_factory=dict)
    models: dict[int, ForeignModel] = field(default_factory=dict)
    digest: str = ""
    """A hash of the files read (a change of them means an export builds everything again)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def load(cls, vault: Path, note_paths: Iterable[str]) -> Origins:
        """The ``SIDECAR`` files in the folders of ``note_paths`` (vault paths of notes that moved in)
        and the folders above them, up to the vault's top. Deeper files are read first, and the
        first entry of a GUID or note type read is the one used."""
        folders: set[PurePosixPath] = set()
        for path in note_paths:
            folders.update(PurePosixPath(path).parents)
        out = cls()
        digest = hashlib.blake2b(digest_size=16)
        for folder in sorted(folders, key=lambda f: (-len(f.parts), str(f))):
            rel = folder / SIDECAR
            try:
                data = (vault / rel).read_bytes()
            except OSError:
                continue
            digest.update(f"{rel}\0{len(data)}\0".encode())
            digest.update(data)
            out._take(str(rel), data)
        out.digest = digest.hexdigest() if out.models or out.notes else ""
        return out

    def _take(self, rel: str, data: bytes) -> None:
        try:
            loaded = json.loads(data)
            types = loaded.get("note_types") or {}
            notes = loaded.get("notes") or {}
            if not isinstance(types, dict) or not isinstance(notes, dict):
                raise ValueError("not a note types file")
            models = {int(k): ForeignModel(v["model"]) for k, v in types.items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.diagnostics.append(
                Diagnostic(
                    rel,
                    1,
                    f"cannot read the Anki note types ({exc}); the notes that moved in go to Anki "
                    "as mlsys-srs notes",
                    severity="warning",
                    code="export",
                )
            )
            return
        for mid, model in models.items():
            self.models.setdefault(mid, model)
        for guid, entry in notes.items():
            origin = Origin.from_json(entry)
            if origin is not None and origin.note_type in self.models:
                self.notes.setdefault(str(guid), origin)

    def of(self, guid: str) -> tuple[Origin, ForeignModel] | None:
        """The origin of the moved-in note ``guid`` and its note type, if recorded."""
        origin = self.notes.get(guid)
        return None if origin is None else (origin, self.models[origin.note_type])

    @property
    def paired(self) -> set[str]:
        """The GUIDs of recorded reversed notes (both sides of their card are one Anki note)."""
        return {g for g, o in self.notes.items() if self.models[o.note_type].reversed}


def foreign_note(
    spec: NoteSpec, origin: Origin, model: ForeignModel, render: Callable[[str], str]
) -> tuple[list[str], list[int]]:
    """The fields and card ordinals of a moved-in note built from its cards (``render``: Markdown ->
    field HTML).

    A standard note's front and back come from its forward card (or its reverse card, turned
    round); a cloze note's text is the paragraph, less the extra field the import wrote below it
    while that is still there as written (else the whole paragraph is the text); the other
    fields are as they were.
    """
    from .ids import card_ordinal

    fields = [origin.kept.get(i, "") for i in range(len(model.fields))]
    r = model.roles
    if model.model_type == model.CLOZE:
        text, extra = spec.cards[0].source, ""
        if origin.extra and text.endswith("\n" + origin.extra):
            text, extra = text[: -len(origin.extra) - 1], origin.extra
        if "text" in r:
            fields[r["text"]] = render(text)
        if "extra" in r:
            fields[r["extra"]] = render(extra) if extra else ""
        return fields, sorted({card_ordinal(spec, c) for c in spec.cards})
    forward = next((c for c in spec.cards if c.direction == "forward"), None)
    if forward is not None:
        front, back = forward.question, forward.answer
    else:
        front, back = spec.cards[0].answer, spec.cards[0].question
    if "front" in r:
        fields[r["front"]] = render(front)
    if "back" in r:
        fields[r["back"]] = render(back)
    return fields, sorted({card_ordinal(spec, c) for c in spec.cards})


def foreign_tags(cards: Sequence[CardView]) -> list[str]:
    """A moved-in note's Anki tags: its cards' tags (no domain tag), Anki-safe, sorted and unique."""
    from .labels import anki_tag

    tags = {anki_tag(t) for c in cards for t in c.tags}
    tags.discard("")
    return sorted(tags)


# --- writing (import anki) ---------------------------------------------------------------------


def _render_file(types: Mapping[int, dict[str, Any]], notes: Mapping[str, dict[str, Any]]) -> bytes:
    """The ``SIDECAR`` text: one line per note type and per note (small diffs between imports)."""

    def block(entries: Mapping[str, Any]) -> str:
        return ",\n".join(
            f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)}"
            for k, v in sorted(entries.items())
        )

    about = json.dumps(_ABOUT, ensure_ascii=False)
    note_types = block({str(k): v for k, v in types.items()})
    return f'{{\n "about": {about},\n "note_types": {{\n{note_types}\n }},\n "notes": {{\n{block(notes)}\n }}\n}}\n'.encode()


def read_record(vault: Path, into: str) -> bytes | None:
    """The ``SIDECAR`` of the vault folder ``into`` as it is (None: there is none).

    Raises:
        NoteWriteError: it is there but is not a regular file, or cannot be read.
    """
    path = vault / into / SIDECAR
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NoteWriteError(path, f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NoteWriteError(path, "is not a regular file")
        try:
            return fh.read()
        except OSError as exc:
            raise NoteWriteError(path, f"cannot be read ({exc.strerror or exc})") from None


def recorded(data: bytes | None) -> set[str]:
    """The GUIDs a ``SIDECAR`` (its bytes, as ``read_record`` read them) records (none if it is
    missing or unreadable)."""
    if data is None:
        return set()
    try:
        notes = json.loads(data).get("notes") or {}
    except (ValueError, AttributeError, RecursionError):
        return set()
    return {str(g) for g in notes} if isinstance(notes, dict) else set()


def updated_record(
    old: bytes | None, models: Mapping[int, Mapping[str, Any]], notes: Mapping[str, Origin]
) -> bytes | None:
    """A ``SIDECAR``'s new bytes with note types and notes added to ``old`` (its bytes, None if it is
    missing; entries already there are kept, a note type's entry is replaced by the newer one).
    None when there is nothing to change. The import writes it (``anki.importing``)."""
    if not notes:
        return None
    types: dict[int, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    if old is not None:
        try:
            loaded = json.loads(old)
            types = {int(k): v for k, v in (loaded.get("note_types") or {}).items()}
            entries = {str(k): v for k, v in (loaded.get("notes") or {}).items()}
        except (ValueError, TypeError, AttributeError, RecursionError):
            types, entries = {}, {}
    for mid, model in models.items():
        types[mid] = {"model": dict(model), "roles": roles(model)}
    for guid, origin in notes.items():
        entries[guid] = origin.as_json()
    data = _render_file(types, entries)
    return None if data == old else data
