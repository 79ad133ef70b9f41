"""``import anki``: reviews done in Anki come back, and an Anki collection moves in with its history.

Each Anki note is one of three things:

1. **Ours**: its GUID is one an export gives a card (``anki.ids.note_guids``,
   computed for every card, retired ones too). Its cards are our cards.
2. **Moved in before**: a card of the vault carries the block id derived from
   its GUID (``anki.ids.anki_block_id``). Its cards are those cards.
3. **New**: it becomes Markdown in the vault (``--into``, default
   ``anki-import/``), one note per Anki deck, each card ending in that block id,
   so the next import recognises it. Existing files are never overwritten.
   Notes of our own note types whose GUID matches no card (a package from
   another vault) are reported, not moved in.

New notes are planned before anything is written: every note is rendered and
every media file it links is read into a staging folder outside the vault
(within the package's limits, ``anki.archive``). Then the files are created, each
never over another file or through a link out of the vault (``vault.writes``);
if one cannot be, those this import created are removed. Names are made safe:
a deck level becomes a folder or file name without separators, control or
wildcard characters, leading dots or device names, at most 120 bytes
(``deck_path``); levels past 8 join the last; ``domain`` and ``anki-deck`` are
YAML strings with every control character escaped (``yaml_str``). A media file
loses its folders and any character that would break a Markdown link, and is
never stored under a name a sync reads as a note (``x.md`` -> ``x.md.txt``,
``media_name``). An ``--into`` folder that leads out of the vault is refused; one
that is a link inside it is followed.

Then each matched card's review log becomes journal events (``anki.revlog.revlog_kind``):
``review`` for an answer, ``cram`` for an answer in a filtered deck that did not
reschedule (revlog type 3), ``reset`` for Forget (ease 0, interval 0, factor 0);
other manual entries (set due date, reschedule) are skipped. An event's id is derived
from the revlog id and the card's GUID, so importing again adds nothing, and a
revlog row that an export wrote from one of our reviews (same card, same
millisecond, same rating) is recognised and not doubled. Answer times are capped
as the review screen caps them (``max_answer_ms``). The touched cards are
then replayed from their whole history, as the journal merge replays them.

Nothing here reads the clock (``now`` is passed in) or prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import re
import sqlite3
import stat
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..core.fmt import display_path, inert
from ..core.workers import cyclic_gc_paused
from ..errors import SrsError
from ..history.journal import CardKey, Event
from ..history.merge import key_of, record, replay_cards
from ..parse import Diagnostic, parse_note
from ..store import events as event_store
from ..store.cards import list_cards
from ..store.db import transaction
from ..store.filters import CardFilter
from ..vault.writes import NoteWriteError, copy_new_file, create_file
from .collection import Card, Collection, Note, Notetype, Revlog
from .fields import card_lines, one_line, to_markdown
from .ids import anki_block_id, note_guids
from .notetypes import BASIC_MODEL_NAME, CLOZE_MODEL_NAME
from .revlog import answered_at, revlog_event_id, revlog_kind

if TYPE_CHECKING:
    from ..history.journal import Journal
    from ..scheduling.memory import CardScheduler

DEFAULT_INTO = "anki-import"
MEDIA_FOLDER = "media"
DEFAULT_MAX_ANSWER_MS = 60_000
"""Answer times are capped as the review screen caps them (``[review] max_answer_seconds``)."""
_UNSAFE_NAME_RE = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f-\x9f]+')
_MEDIA_UNSAFE_RE = re.compile(r"[^\w .,()+=@'!~-]+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories never put in a file name, a heading or an unescaped YAML string."""
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
"""Names Windows gives to devices."""
MAX_NAME_BYTES = 120
"""The longest file or folder name written (Anki's own limit on media names)."""
MAX_DECK_DEPTH = 8
"""Deck levels below this become part of the last folder's note name."""
_OWN_MS_SLACK = 50
"""An export bumps a revlog id by a millisecond when two answers share one: allow a little."""


@dataclass
class AnkiImportReport:
    """What an import found, and did (or would do, with ``dry_run``)."""

    source: str
    dry_run: bool
    notes: int = 0
    notes_ours: int = 0
    notes_moved_in_before: int = 0
    notes_new: int = 0
    cards_matched: int = 0
    files: list[str] = field(default_factory=list)
    media: int = 0
    reviews: int = 0
    cram: int = 0
    resets: int = 0
    own_reviews: int = 0
    already_imported: int = 0
    skipped_manual: int = 0
    cards_replayed: int = 0
    unmatched: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "notes": {
                "total": self.notes,
                "ours": self.notes_ours,
                "moved_in_before": self.notes_moved_in_before,
                "new": self.notes_new,
            },
            "cards_matched": self.cards_matched,
            "files": list(self.files),
            "media": self.media,
            "events": {"reviews": self.reviews, "cram": self.cram, "resets": self.resets},
            "skipped": {
                "own_reviews": self.own_reviews,
                "already_imported": self.already_imported,
                "manual": self.skipped_manual,
            },
            "cards_replayed": self.cards_replayed,
            "unmatched": list(self.unmatched),
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "message": d.message}
                for d in self.diagnostics
            ],
        }


# -- Markdown for notes that move in ------------------------------------------------------


def _direction(nt: Notetype, ord_: int) -> tuple[str, int | None] | None:
    """Our ``(direction, cloze)`` of an Anki card (None: a template we have no card for)."""
    if nt.cloze:
        return "forward", ord_ + 1
    if ord_ == 0:
        return "forward", None
    if ord_ == 1 and nt.templates == 2:
        return "reverse", None
    return None


def _tag_text(tags: Sequence[str]) -> str:
    out = []
    for t in tags:
        name = "/".join(p for p in re.split(r"::", t) if p)
        name = re.sub(r"[^\w/-]+", "-", name).strip("-/")
        if name and not name.isdigit() and name.lower() != "leech":
            out.append("#" + name)
    return " ".join(dict.fromkeys(out))


def _end(lines: list[str], suffix: str) -> list[str]:
    """Put ``suffix`` (tags, block id) at the end of the last line, or on a line of its own after a block."""
    last = lines[-1].strip()
    if last.startswith(("```", "~~~", "$$")) or last.endswith("$$"):
        return [*lines, suffix]
    return [*lines[:-1], f"{lines[-1]} {suffix}"]


def render_note(note: Note, nt: Notetype, ords: Sequence[int], media: Any, *, plain: bool = False) -> str:
    """One Anki note as a paragraph of our card syntax (``plain``: the simplest form, as a fallback)."""
    block = anki_block_id(note.guid)
    tags = _tag_text(note.tags)
    suffix = f"{tags} ^{block}" if tags else f"^{block}"
    fields = [*note.fields, "", ""]
    if nt.cloze:
        text = to_markdown(fields[0], media)
        lines = [one_line(text)] if plain else card_lines(text, keep_fences=False)
        extra = card_lines(to_markdown(fields[1], media), keep_fences=False) if len(nt.fields) > 1 else []
        lines = [ln for ln in [*lines, *extra] if ln] or ["(empty)"]
        lines[0] = "C: " + lines[0]
        return "\n".join(_end(lines, suffix))
    front_md, back_md = to_markdown(fields[0], media), to_markdown(fields[1], media)
    if 1 in ords and nt.templates == 2:
        f = one_line(front_md) or "(empty)"
        b = one_line(back_md) or "(empty)"
        single = (
            len(card_lines(front_md, keep_fences=False)) <= 1
            and len(card_lines(back_md, keep_fences=False)) <= 1
        )
        if plain or (single and "{{" not in f + b and not re.search(r"\s:{2,3}\s", f)):
            return f"{f} ::: {b} {suffix}"
        q = card_lines(front_md, keep_fences=False) or ["(empty)"]
        a = card_lines(back_md, keep_fences=False) or ["(empty)"]
        return "\n".join([*q, "??", *_end(a, suffix)])
    if plain:
        return f"Q: {one_line(front_md) or '(empty)'}\nA: {one_line(back_md) or '(empty)'} {suffix}"
    q = card_lines(front_md, keep_fences=False) or ["(empty)"]
    a = card_lines(back_md, keep_fences=True) or ["(empty)"]
    q[0] = "Q: " + q[0]
    a[0] = "A: " + a[0] if not a[0].startswith(("```", "~~~")) else "A: " + "\n" + a[0]
    a = "\n".join(a).split("\n")
    if a[0] == "A: ":
        a = ["A: (code)", *a[1:]]
    return "\n".join([*q, *_end(a, suffix)])


def _expected(note: Note, nt: Notetype, ords: Sequence[int]) -> set[tuple[str, str, int]]:
    block = anki_block_id(note.guid)
    out = set()
    for o in ords:
        d = _direction(nt, o)
        if d is not None:
            out.add((block, d[0], d[1] or 0))
    return out


def _found(text: str, path: str) -> set[tuple[str, str, int]]:
    parsed = parse_note(text, path)
    return {(c.block_id or "", c.direction, c.cloze or 0) for c in parsed.cards if c.block_id is not None}


def _visible_only(text: str, replacement: str = "-") -> str:
    """``text`` with every control, format and line-separator character replaced."""
    if text.isprintable():
        return text
    return "".join(replacement if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)


def _fit(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    keep = limit - len(ext.encode("utf-8")) - (1 if ext else 0)
    cut = stem.encode("utf-8")[:keep].decode("utf-8", "ignore").rstrip(" .-")
    return f"{cut}.{ext}" if ext else cut


def _not_reserved(name: str) -> str:
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name


def _safe_part(name: str) -> str:
    """One deck level as a folder or file name: no separator, control or wildcard character, no
    leading dot, at most ``MAX_NAME_BYTES`` bytes, not a name Windows keeps for a device."""
    part = _UNSAFE_NAME_RE.sub("-", _visible_only(unicodedata.normalize("NFC", name))).strip(" .-")
    part = _fit(part, MAX_NAME_BYTES - 8).strip(" .-")  # room for " 12.md"
    return _not_reserved(part) if part else "Default"


def media_name(name: str) -> str:
    """The vault file name of an Anki media file: no folders, no control or link-breaking character,
    at most ``MAX_NAME_BYTES`` bytes, and never a name a sync reads as a note (``x.md`` is
    stored as ``x.md.txt``)."""
    safe = _visible_only(unicodedata.normalize("NFC", name)).replace("/", "_").replace("\\", "_")
    safe = _MEDIA_UNSAFE_RE.sub("-", safe).strip(" .-")
    if safe.lower().endswith(".md"):
        safe += ".txt"
    safe = _fit(safe).strip(" .-")
    if safe.lower().endswith(".md"):
        safe = _fit(safe[:-3], MAX_NAME_BYTES - 7) + ".md.txt"
    return _not_reserved(safe) if safe else "media"


def deck_path(into: str, deck: str) -> str:
    """The vault path of a deck's note: ``Top::Sub`` -> ``anki-import/Top/Sub.md``.

    Levels past ``MAX_DECK_DEPTH`` join the last one (``A::...::H::I`` -> ``.../H - I.md``).
    """
    parts = [_safe_part(p) for p in deck.split("::") if p.strip()] or ["Default"]
    if len(parts) > MAX_DECK_DEPTH:
        parts = [*parts[: MAX_DECK_DEPTH - 1], _safe_part(" - ".join(parts[MAX_DECK_DEPTH - 1 :]))]
    return str(PurePosixPath(into, *parts[:-1], parts[-1] + ".md"))


def yaml_str(s: str) -> str:
    """``s`` as a YAML double-quoted string: every control, format and line-separator character
    escaped (so no deck name can end the frontmatter or hide in it)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif unicodedata.category(ch) in _INVISIBLE or ch == "\ufeff":
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _heading(deck: str) -> str:
    leaf = " ".join(_visible_only(deck.split("::")[-1], " ").split())
    return leaf or "Default"


def _preview(field: str) -> str:
    """The start of a field, for a message."""
    return inert(one_line(_markdown(field, lambda _: None)))[:60]


def _markdown(field: str, media: Any) -> str:
    """``to_markdown``, or the field's text without its tags when its HTML nests too deeply to convert."""
    try:
        return to_markdown(field, media)
    except RecursionError:
        return html.unescape(re.sub(r"<[^>]*>", " ", field)).strip()


def _render(note: Note, nt: Notetype, ords: Sequence[int], media: Any, *, plain: bool = False) -> str:
    """``render_note``, from the fields' text alone when their HTML nests too deeply to convert."""
    try:
        return render_note(note, nt, ords, media, plain=plain)
    except RecursionError:
        fields = tuple(_markdown(f, media).replace("\n", " ") for f in note.fields)
        return render_note(
            Note(note.id, note.guid, note.notetype, fields, note.tags, note.mod), nt, ords, media, plain=True
        )


# -- the import ---------------------------------------------------------------------------


def _file_digest(path: Path) -> str | None:
    """The blake2b digest of the regular file at ``path`` (None: none there, or a link, a folder...)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    digest = hashlib.blake2b(digest_size=16)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Media:
    """Plans the media a note links: each file is read (within the package's limits) into a staging
    folder outside the vault, named for the vault (never over a different file) and listed to write."""

    vault: Path
    folder: str
    coll: Collection
    staging: Path
    names: set[str] = field(default_factory=set)
    placed: dict[str, str] = field(default_factory=dict)
    writes: list[tuple[str, Path]] = field(default_factory=list)
    taken: dict[str, str] = field(default_factory=dict)
    """Casefolded vault path -> digest of each media file this import links."""
    note_dir: str = ""
    staged: int = 0

    def __call__(self, ref: str) -> str | None:
        if "://" in ref or ref.startswith(("data:", "/")):
            return None
        name = ref if ref in self.names else unquote(ref)
        if name not in self.names:
            return None
        if name not in self.placed:
            placed = self._place(name)
            if placed is None:
                return None
            self.placed[name] = placed
        return os.path.relpath(self.placed[name], self.note_dir or ".").replace(os.sep, "/")

    def _place(self, name: str) -> str | None:
        self.staged += 1
        staged = self.staging / str(self.staged)
        copied = self.coll.media.copy(name, staged)
        if copied is None:
            return None
        digest = copied[1]
        safe = media_name(name)
        stem, dot, ext = safe.rpartition(".")
        for n in range(1000):
            if n == 0:
                candidate = safe
            else:
                tag = digest[:8] if n == 1 else f"{digest[:8]}-{n}"
                candidate = f"{stem}-{tag}.{ext}" if dot else f"{safe}-{tag}"
            rel = str(PurePosixPath(self.folder, candidate))
            key = rel.casefold()
            if key in self.taken:
                if self.taken[key] == digest:
                    return rel
                continue
            there = os.path.lexists(self.vault / rel)
            if there and _file_digest(self.vault / rel) != digest:
                continue
            self.taken[key] = digest
            if not there:
                self.writes.append((rel, staged))
            return rel
        return None


def _free_path(vault: Path, rel: str, taken: set[str]) -> str:
    """``rel``, or ``stem 2.md``, ``stem 3.md``...: the first name free in the vault and in ``taken``
    (compared without case, as a case-insensitive file system would)."""
    stem = rel[:-3]
    n = 1
    candidate = rel
    while candidate.casefold() in taken or os.path.lexists(vault / candidate):
        n += 1
        candidate = f"{stem} {n}.md"
    return candidate


def _outside(vault: Path, rel: str) -> str | None:
    """Where the vault path ``rel`` really leads, if that is outside the vault (else None)."""
    root = os.path.realpath(vault)
    real = os.path.realpath(vault / rel)
    return None if real == root or real.startswith(root.rstrip(os.sep) + os.sep) else real


def _resolve_into(vault: Path, into: str) -> str:
    """``into`` as the vault path it really is (a link inside the vault is followed, so the notes are
    synced where they are). A link out of the vault is refused.

    Raises:
        SrsError: ``into`` leads out of the vault.
    """
    outside = _outside(vault, into)
    if outside is not None:
        raise SrsError(
            f"{display_path(vault / into)}: leads outside the vault (a symbolic link to "
            f"{display_path(outside)}); nothing was imported"
        )
    rel = os.path.relpath(os.path.realpath(vault / into), os.path.realpath(vault))
    return PurePosixPath(*Path(rel).parts).as_posix() if rel != "." else into


def _check_folders(vault: Path, rels: Sequence[str]) -> None:
    """Refuse the plan if a folder it writes into leads out of the vault through a link.

    Raises:
        SrsError: one does.
    """
    for folder in sorted({str(PurePosixPath(rel).parent) for rel in rels}):
        outside = _outside(vault, folder)
        if outside is not None:
            raise SrsError(
                f"{display_path(vault / folder)}: leads outside the vault (a symbolic link to "
                f"{display_path(outside)}); nothing was imported"
            )


def import_anki(
    conn: sqlite3.Connection,
    coll: Collection,
    *,
    vault: Path,
    now: datetime,
    scheduler: CardScheduler,
    journal: Journal | None,
    into: str = DEFAULT_INTO,
    dry_run: bool = False,
    leech_threshold: int = 8,
    leech_action: str = "suspend",
    ignore: Sequence[str] = (),
    highlight_cloze: bool = False,
    max_answer_ms: int = DEFAULT_MAX_ANSWER_MS,
) -> AnkiImportReport:
    """Bring an Anki collection's reviews (and notes new to us) into the vault and the database.

    The whole import is planned first: every note new to the vault is rendered and
    every media file it links is read (within the package's limits) into a staging
    folder outside the vault. Only then are the files written; if one cannot be, the
    files this import created are removed again. A package refused while it is read
    writes nothing.

    Args:
        conn: The review database (synced with the vault).
        coll: The collection, as ``anki.collection.open_collection`` read it.
        vault: The vault folder.
        now: The current time (UTC-aware): stamps the cards that a sync adds.
        scheduler: Replays each touched card's history.
        journal: This device's journal (every imported review becomes an event in it).
        into: The vault folder (relative) new notes are written to.
        dry_run: Work out what would change; write nothing.
        max_answer_ms: Longer answer times are recorded as this long.

    Raises:
        AnkiImportError: the package expands beyond its limits while its media are read.
        SrsError: ``into`` leaves the vault, or a note or media file cannot be written.
    """
    into_path = PurePosixPath(into.replace("\\", "/").strip("/") or DEFAULT_INTO)
    if (
        into_path.is_absolute()
        or ".." in into_path.parts
        or any(p.startswith(".") for p in into_path.parts)
        or not str(into_path).isprintable()
    ):
        raise SrsError(f"{inert(into)}: --into must be a folder inside the vault (no '..', not hidden)")
    into_path = PurePosixPath(_resolve_into(vault, str(into_path)))
    report = AnkiImportReport(display_path(coll.source), dry_run, notes=len(coll.notes))
    report.diagnostics.extend(Diagnostic(report.source, 1, w, "warning", "import") for w in coll.warnings)
    matched, new_notes = _sort_notes(conn, coll, report)
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-media-") as staging:
        try:
            notes, media = _plan_notes(vault, str(into_path), coll, new_notes, report, Path(staging))
        finally:
            coll.media.close()
        report.media = len(media)
        written = [] if dry_run else _write_planned(vault, notes, media)
    if written and not dry_run:
        from ..sync import sync_vault

        sync = sync_vault(conn, vault, now, ignore=ignore, only=written, highlight_cloze=highlight_cloze)
        report.diagnostics.extend(sync.diagnostics)
        keyed = _keyed_cards(conn)
        for note, nt, cards in new_notes:
            _match_moved(note, nt, cards, keyed, matched, report)
    report.cards_matched = len(matched)

    revlog_by_card: dict[int, list[Revlog]] = {}
    for r in coll.revlog:
        revlog_by_card.setdefault(r.card, []).append(r)
    fresh = _new_events(
        conn,
        matched,
        revlog_by_card,
        journal.device if journal is not None else "local",
        report,
        max_answer_ms,
    )
    if dry_run:
        # The notes that would move in have no cards yet: count their history as it would arrive.
        for _, _, cards in new_notes:
            for card in cards:
                for entry in revlog_by_card.get(card.id, ()):
                    _count(report, revlog_kind(entry))
    for e, _ in fresh:
        _count(report, e.kind)
    if dry_run or not fresh:
        return report
    touched = sorted({cid for _, cid in fresh})
    with cyclic_gc_paused(), transaction(conn):
        record(conn, journal, fresh)
        report.cards_replayed = replay_cards(conn, touched, scheduler, leech_threshold, leech_action)
    return report


_Matched = tuple[Card, str, CardKey, int]
"""An Anki card, its note's GUID, and our card's key and id."""


def _keyed_cards(conn: sqlite3.Connection) -> dict[tuple[str, str, int], Any]:
    """The vault's cards that carry a block id, by ``(block id, direction, cloze)``."""
    return {(k.block_id, k.direction, k.cloze or 0): k for k in event_store.keyed_cards(conn) if k.block_id}


def _sort_notes(
    conn: sqlite3.Connection, coll: Collection, report: AnkiImportReport
) -> tuple[list[_Matched], list[tuple[Note, Notetype, list[Card]]]]:
    """The Anki cards that are ours or moved in before, matched to our cards, and the notes new to
    the vault (with their cards), counted in ``report``."""
    ours = note_guids(list_cards(conn, CardFilter(include_retired=True)))
    cards_by_note: dict[int, list[Card]] = {}
    for c in coll.cards:
        cards_by_note.setdefault(c.note, []).append(c)
    keyed = _keyed_cards(conn)
    own_types = {BASIC_MODEL_NAME, CLOZE_MODEL_NAME}
    matched: list[_Matched] = []
    new_notes: list[tuple[Note, Notetype, list[Card]]] = []
    for note in coll.notes:
        nt = coll.notetypes.get(note.notetype)
        cards = cards_by_note.get(note.id, [])
        if nt is None or not cards:
            continue
        block = anki_block_id(note.guid)
        if nt.name not in own_types and any(
            k[0] == block for k in _expected(note, nt, [c.ord for c in cards]) if k in keyed
        ):
            # It moved in before (its cards carry its GUID as their block id; an export of them
            # gives them this GUID again, so test this before our own GUIDs).
            report.notes_moved_in_before += 1
            _match_moved(note, nt, cards, keyed, matched, report)
            continue
        if any((note.guid, c.ord) in ours for c in cards) or nt.name in own_types:
            report.notes_ours += 1
            for c in cards:
                view = ours.get((note.guid, c.ord))
                if view is None:
                    report.unmatched.append(
                        f"{inert(nt.name)} note {note.guid} card {c.ord + 1} ({_preview(note.fields[0])}): "
                        "no card here has this identity (exported from another vault?)"
                    )
                    continue
                matched.append((c, note.guid, key_of(view), view.id))
            continue
        report.notes_new += 1
        new_notes.append((note, nt, cards))
    return matched, new_notes


def _new_events(
    conn: sqlite3.Connection,
    matched: Sequence[_Matched],
    revlog_by_card: dict[int, list[Revlog]],
    device: str,
    report: AnkiImportReport,
    max_answer_ms: int = DEFAULT_MAX_ANSWER_MS,
) -> list[tuple[Event, int]]:
    """The journal events (with our card's id) of the matched cards' review log that are new here:
    not imported before, and not an answer an export of ours wrote. Answer times are capped at
    ``max_answer_ms``, as the review screen caps them."""
    own: dict[int, list[tuple[int, int]]] = {}
    for row in event_store.all_reviews(conn):
        own.setdefault(row.card_id, []).append((int(row.reviewed_at.timestamp() * 1000), row.rating))
    candidates: list[tuple[Revlog, str, Card, CardKey, int, str]] = []
    for card, guid, key, card_id in matched:
        for entry in revlog_by_card.get(card.id, ()):
            kind = revlog_kind(entry)
            if kind is None:
                report.skipped_manual += 1
                continue
            candidates.append((entry, kind, card, key, card_id, revlog_event_id(entry, guid, card.ord)))
    known = event_store.known_event_ids(conn, [c[5] for c in candidates]) if candidates else set()
    fresh: list[tuple[Event, int]] = []
    for entry, kind, _card, key, card_id, eid in candidates:
        if eid in known:
            report.already_imported += 1
            continue
        if kind != "reset" and any(
            rating == entry.ease and 0 <= entry.id - ms <= _OWN_MS_SLACK
            for ms, rating in own.get(card_id, ())
        ):
            report.own_reviews += 1
            continue
        data: dict[str, Any] = {"source": "anki", "anki_revlog_id": entry.id}
        if kind != "reset":
            data.update({"rating": entry.ease, "ms": min(max(0, entry.time_ms), max_answer_ms)})
        fresh.append((Event(eid, kind, answered_at(entry), device, key, data), card_id))
    return fresh


def _count(report: AnkiImportReport, kind: str | None) -> None:
    """Count an event of ``kind`` (None: a manual entry, skipped) in ``report``."""
    if kind is None:
        report.skipped_manual += 1
    else:
        report.reviews += kind == "review"
        report.cram += kind == "cram"
        report.resets += kind == "reset"


def _match_moved(
    note: Note,
    nt: Notetype,
    cards: Sequence[Card],
    keyed: dict[tuple[str, str, int], Any],
    matched: list[_Matched],
    report: AnkiImportReport,
) -> None:
    """Match a moved-in note's cards to the vault's cards that carry its block id."""
    block = anki_block_id(note.guid)
    for c in cards:
        d = _direction(nt, c.ord)
        hit = keyed.get((block, d[0], d[1] or 0)) if d is not None else None
        if hit is None:
            report.unmatched.append(
                f"{inert(nt.name)} note {note.guid} card {c.ord + 1} ({_preview(note.fields[0])}): "
                "no card of the vault carries it (see the note's diagnostics)"
            )
            continue
        matched.append((c, note.guid, key_of(hit), hit.id))


def _plan_notes(
    vault: Path,
    into: str,
    coll: Collection,
    new_notes: Sequence[tuple[Note, Notetype, list[Card]]],
    report: AnkiImportReport,
    staging: Path,
) -> tuple[list[tuple[str, bytes]], list[tuple[str, Path]]]:
    """One Markdown note per deck for the notes new to the vault, and the media they link (staged):
    ``([(vault path, text)], [(vault path, staged file)])``. Nothing is written to the vault."""
    if not new_notes:
        return [], []
    media = _Media(vault, str(PurePosixPath(into, MEDIA_FOLDER)), coll, staging, coll.media.names())
    by_deck: dict[str, list[tuple[Note, Notetype, list[Card]]]] = {}
    for item in new_notes:
        deck = min(item[2], key=lambda c: c.ord).deck
        by_deck.setdefault(deck, []).append(item)
    planned: list[tuple[str, bytes]] = []
    taken: set[str] = set()
    for deck in sorted(by_deck):
        rel = _free_path(vault, deck_path(into, deck), taken)
        taken.add(rel.casefold())
        media.note_dir = str(PurePosixPath(rel).parent)
        top = " ".join(_visible_only(deck.split("::")[0], " ").split()) or "Default"
        parts = [
            "---",
            f"domain: {yaml_str(top)}",
            f"anki-deck: {yaml_str(deck)}",
            "---",
            f"# {_heading(deck)}",
            "",
        ]
        # Render every note, parse the file once, and fall back to the plainest form for
        # any note whose cards the parser would not find as written.
        items = by_deck[deck]
        ords = [sorted(c.ord for c in cards) for _, _, cards in items]
        texts = [_render(note, nt, o, media) for (note, nt, _), o in zip(items, ords, strict=True)]
        wants = [_expected(note, nt, o) for (note, nt, _), o in zip(items, ords, strict=True)]
        found = _found("\n\n".join([*parts, *texts]), rel)
        for i, (note, nt, _) in enumerate(items):
            if wants[i] <= found:
                continue
            texts[i] = _render(note, nt, ords[i], media, plain=True)
            if not wants[i] <= _found(texts[i], rel):
                report.diagnostics.append(
                    Diagnostic(
                        rel, 1, f"Anki note {note.guid} could not be written as a card", "warning", "import"
                    )
                )
        for text in texts:
            parts.extend([text, ""])
        report.files.append(rel)
        planned.append((rel, "\n".join(parts).encode("utf-8")))
    return planned, media.writes


def _write_planned(
    vault: Path, notes: Sequence[tuple[str, bytes]], media: Sequence[tuple[str, Path]]
) -> list[str]:
    """Create the planned media and notes in the vault (never over a file, never through a link that
    leads out of it); the notes' vault paths. If one cannot be created, those created are removed.

    Raises:
        SrsError: a file could not be created (nothing this import made is left).
    """
    _check_folders(vault, [rel for rel, _ in [*notes, *media]])
    created: list[Path] = []
    folders = {p for rel, _ in [*notes, *media] for p in PurePosixPath(rel).parents if str(p) != "."}
    missing = sorted((f for f in folders if not os.path.lexists(vault / f)), key=lambda f: -len(f.parts))
    try:
        for rel, staged in media:
            copy_new_file(vault / rel, staged, inside=vault)
            created.append(vault / rel)
        for rel, data in notes:
            create_file(vault / rel, data, inside=vault)
            created.append(vault / rel)
    except NoteWriteError as exc:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in missing:
            with contextlib.suppress(OSError):
                (vault / folder).rmdir()
        raise SrsError(
            f"{exc}; nothing was imported (the files this import had written were removed)"
        ) from None
    return [rel for rel, _ in notes]
