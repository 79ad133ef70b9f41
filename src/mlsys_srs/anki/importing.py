"""``import anki``: reviews done in Anki come back, and an Anki collection moves in with its history.

Each Anki note is one of three things:

1. **Ours**: its GUID is one an export gives a card (``anki.ids.note_guids``,
   computed for every card, retired ones too). Its cards are our cards.
2. **Moved in before**: a card of the vault carries the block id derived from
   its GUID (``anki.ids.anki_block_id``). Its cards are those cards.
3. **New**: it becomes Markdown in the vault (``--into``, default
   ``anki-import/``), one note per Anki deck, each card ending in that block id,
   so the next import recognises it (``anki.fields``: text stays text, code
   stays code; the note's tags on the card's first line). Existing notes are
   never overwritten. Its note type, deck and the fields its card has no place
   for are recorded beside it (``anki.origins``), so an export gives it back to
   Anki as it was; a note that moved in before without such a record gets one.
   Notes of our own note types whose GUID matches no card (a package from
   another vault) are reported, not moved in.

New notes are planned before anything is written: every note is rendered and
every media file it links is read into a staging folder outside the vault
(within the package's limits, ``anki.archive``). Then the files are created, each
never over another file or through a link out of the vault (``vault.writes``);
if one cannot be, those this import created are removed. Deck and media names
are made safe (``anki.safe_names``). An ``--into`` folder that leads out of the
vault is refused; one that is a link inside it is followed. The origins file
(``anki.origins``) is planned with the notes and written after them.

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
from ..history.merge import key_of, record
from ..history.replay import replay_cards
from ..parse import Diagnostic, parse_note
from ..store import events as event_store
from ..store.cards import list_cards
from ..store.db import transaction
from ..store.filters import CardFilter
from ..vault.writes import NoteWriteError, copy_new_file, create_file, rewrite_note
from .collection import Card, Collection, Note, Notetype, Revlog
from .fields import card_lines, one_line, to_markdown
from .ids import anki_block_id, note_guids
from .notetypes import BASIC_MODEL_NAME, CLOZE_MODEL_NAME
from .origins import SIDECAR, Origin, read_record, recorded, roles, updated_record
from .revlog import answered_at, revlog_event_id, revlog_kind
from .safe_names import deck_path, heading, media_name, visible_only, yaml_str

if TYPE_CHECKING:
    from ..history.journal import Journal
    from ..scheduling.memory import CardScheduler

DEFAULT_INTO = "anki-import"
MEDIA_FOLDER = "media"
DEFAULT_MAX_ANSWER_MS = 60_000
"""Answer times are capped as the review screen caps them (``[review] max_answer_seconds``)."""
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
    """Put ``suffix`` (the block id) at the end of the last line, or on a line of its own after a block."""
    last = lines[-1].strip()
    if last.startswith(("```", "~~~", "$$")) or last.endswith("$$"):
        return [*lines, suffix]
    return [*lines[:-1], f"{lines[-1]} {suffix}"]


def _cloze_extra(note: Note, nt: Notetype, media: Any) -> list[str]:
    """A cloze note's extra field (its second) as lines to write below the text."""
    if len(nt.fields) < 2 or len(note.fields) < 2:
        return []
    return [ln for ln in card_lines(to_markdown(note.fields[1], media), keep_fences=False) if ln]


def render_note(
    note: Note, nt: Notetype, ords: Sequence[int], media: Any, *, plain: bool = False
) -> tuple[str, str]:
    """One Anki note as a paragraph of our card syntax (``plain``: the simplest form, as a fallback),
    and the Markdown of a cloze note's extra field written below its text ("" if none).

    The note's tags go at the end of the card's first line (they are the card's tags), its
    block id at the end of its last one; an answer that is only code is a code block.
    """
    block = f"^{anki_block_id(note.guid)}"
    tags = _tag_text(note.tags)

    def tagged(line: str) -> str:
        return f"{line} {tags}" if tags else line

    fields = [*note.fields, "", ""]
    if nt.cloze:
        text = to_markdown(fields[0], media)
        lines = [one_line(text)] if plain else card_lines(text, keep_fences=False)
        lines = [ln for ln in lines if ln] or ["(empty)"]
        extra = [] if plain else _cloze_extra(note, nt, media)
        lines = [*lines, *extra]
        lines[0] = tagged("C: " + lines[0])
        return "\n".join(_end(lines, block)), "\n".join(extra)
    front_md, back_md = to_markdown(fields[0], media), to_markdown(fields[1], media)
    if 1 in ords and nt.templates == 2:
        f = one_line(front_md) or "(empty)"
        b = one_line(back_md) or "(empty)"
        single = (
            len(card_lines(front_md, keep_fences=False)) <= 1
            and len(card_lines(back_md, keep_fences=False)) <= 1
        )
        if plain or (single and "{{" not in f + b and not re.search(r"\s:{2,3}\s", f)):
            return f"{tagged(f'{f} ::: {b}')} {block}", ""
        q = card_lines(front_md, keep_fences=False) or ["(empty)"]
        a = card_lines(back_md, keep_fences=False) or ["(empty)"]
        q[0] = tagged(q[0])
        return "\n".join([*q, "??", *_end(a, block)]), ""
    if plain:
        return (
            f"{tagged('Q: ' + (one_line(front_md) or '(empty)'))}\nA: {one_line(back_md) or '(empty)'} {block}",
            "",
        )
    q = card_lines(front_md, keep_fences=False) or ["(empty)"]
    a = card_lines(back_md, keep_fences=True) or ["(empty)"]
    q[0] = tagged("Q: " + q[0])
    # An answer that starts with code: a bare "A:" line, then the code block.
    a = ["A:", *a] if a[0].startswith(("```", "~~~")) else ["A: " + a[0], *a[1:]]
    return "\n".join([*q, *_end(a, block)]), ""


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


def _preview(field: str) -> str:
    """The start of a field, for a message."""
    return inert(one_line(_markdown(field, lambda _: None)))[:60]


def _markdown(field: str, media: Any) -> str:
    """``to_markdown``, or the field's text without its tags when its HTML nests too deeply to convert."""
    try:
        return to_markdown(field, media)
    except RecursionError:
        return html.unescape(re.sub(r"<[^>]*>", " ", field)).strip()


def _render(
    note: Note, nt: Notetype, ords: Sequence[int], media: Any, *, plain: bool = False
) -> tuple[str, str]:
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


def _check_folders(vault: Path, rels: Sequence[str], files: Sequence[str] = ()) -> None:
    """Refuse the plan if a folder it writes into (or one of ``files``, which it may rewrite) leads
    out of the vault through a link.

    Raises:
        SrsError: one does.
    """
    for folder in sorted({str(PurePosixPath(rel).parent) for rel in rels} | set(files)):
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
    matched, new_notes, moved_before = _sort_notes(conn, coll, report)
    with tempfile.TemporaryDirectory(prefix="mlsys-srs-media-") as staging:
        try:
            plan = _plan_notes(vault, str(into_path), coll, new_notes, report, Path(staging))
        finally:
            coll.media.close()
        _record_moved_before(vault, str(into_path), moved_before, plan)
        report.media = len(plan.media)
        written = [] if dry_run else _write_planned(vault, plan)
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
) -> tuple[list[_Matched], list[tuple[Note, Notetype, list[Card]]], list[tuple[Note, Notetype, list[Card]]]]:
    """The Anki cards that are ours or moved in before, matched to our cards, the notes new to the
    vault and the notes that moved in before (with their cards), counted in ``report``."""
    ours = note_guids(list_cards(conn, CardFilter(include_retired=True)))
    cards_by_note: dict[int, list[Card]] = {}
    for c in coll.cards:
        cards_by_note.setdefault(c.note, []).append(c)
    keyed = _keyed_cards(conn)
    own_types = {BASIC_MODEL_NAME, CLOZE_MODEL_NAME}
    matched: list[_Matched] = []
    new_notes: list[tuple[Note, Notetype, list[Card]]] = []
    before: list[tuple[Note, Notetype, list[Card]]] = []
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
            before.append((note, nt, cards))
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
    return matched, new_notes, before


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


@dataclass
class _Plan:
    """What an import writes to the vault, all worked out before anything is written."""

    notes: list[tuple[str, bytes]] = field(default_factory=list)
    """``(vault path, text)`` of each new note."""
    media: list[tuple[str, Path]] = field(default_factory=list)
    """``(vault path, staged file)`` of each media file the notes link."""
    origins: dict[str, Origin] = field(default_factory=dict)
    """The origins to record, by GUID (notes new to the vault, and notes moved in before)."""
    models: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Their note types by id."""
    record: tuple[str, bytes | None, bytes] | None = None
    """The origins file to write: ``(vault path, its bytes as read (None: it is new), its new bytes)``."""


def _plan_notes(
    vault: Path,
    into: str,
    coll: Collection,
    new_notes: Sequence[tuple[Note, Notetype, list[Card]]],
    report: AnkiImportReport,
    staging: Path,
) -> _Plan:
    """One Markdown note per deck for the notes new to the vault, the media they link (staged) and
    their origins (``anki.origins``). Nothing is written to the vault."""
    plan = _Plan()
    if not new_notes:
        return plan
    media = _Media(vault, str(PurePosixPath(into, MEDIA_FOLDER)), coll, staging, coll.media.names())
    by_deck: dict[str, list[tuple[Note, Notetype, list[Card]]]] = {}
    for item in new_notes:
        deck = min(item[2], key=lambda c: c.ord).deck
        by_deck.setdefault(deck, []).append(item)
    taken: set[str] = set()
    for deck in sorted(by_deck):
        rel = _free_path(vault, deck_path(into, deck), taken)
        taken.add(rel.casefold())
        media.note_dir = str(PurePosixPath(rel).parent)
        top = " ".join(visible_only(deck.split("::")[0], " ").split()) or "Default"
        parts = [
            "---",
            f"domain: {yaml_str(top)}",
            f"anki-deck: {yaml_str(deck)}",
            "---",
            f"# {heading(deck)}",
            "",
        ]
        # Render every note, parse the file once, and fall back to the plainest form for
        # any note whose cards the parser would not find as written.
        items = by_deck[deck]
        ords = [sorted(c.ord for c in cards) for _, _, cards in items]
        rendered = [_render(note, nt, o, media) for (note, nt, _), o in zip(items, ords, strict=True)]
        texts = [text for text, _ in rendered]
        wants = [_expected(note, nt, o) for (note, nt, _), o in zip(items, ords, strict=True)]
        found = _found("\n\n".join([*parts, *texts]), rel)
        for i, (note, nt, _) in enumerate(items):
            if not wants[i] <= found:
                rendered[i] = _render(note, nt, ords[i], media, plain=True)
                texts[i] = rendered[i][0]
                if not wants[i] <= _found(texts[i], rel):
                    report.diagnostics.append(
                        Diagnostic(
                            rel,
                            1,
                            f"Anki note {note.guid} could not be written as a card",
                            "warning",
                            "import",
                        )
                    )
                    continue
            if nt.model:
                plan.origins[note.guid] = _origin(note, nt, deck, rendered[i][1])
                plan.models[nt.id] = nt.model
        for text in texts:
            parts.extend([text, ""])
        report.files.append(rel)
        plan.notes.append((rel, "\n".join(parts).encode("utf-8")))
    plan.media = media.writes
    return plan


def _origin(note: Note, nt: Notetype, deck: str, extra: str) -> Origin:
    """What the vault keeps of a moved-in note besides its card (``anki.origins``): its note type,
    its deck, the fields the card has no place for, and the Markdown of the extra field written
    below a cloze note's text (a cloze note's extra field not written there is kept as it was)."""
    used = set(roles(nt.model).values())
    if nt.cloze and not extra:
        used.discard(1)
    kept = {i: html for i, html in enumerate(note.fields) if i not in used and html}
    return Origin(nt.id, deck, kept, extra)


def _record_moved_before(
    vault: Path, into: str, notes: Sequence[tuple[Note, Notetype, list[Card]]], plan: _Plan
) -> None:
    """Plan the origins file (``anki.origins.SIDECAR``) of the folder ``into``: the origins of the
    new notes, and of the notes that moved in before and have none there (they moved in with a
    version that did not record them). Nothing is written here; ``_write_planned`` writes it.

    Raises:
        SrsError: the origins file is there but cannot be read.
    """
    if not plan.origins and not notes:
        return
    try:
        old = read_record(vault, into)
    except NoteWriteError as exc:
        raise SrsError(f"{exc}; nothing was imported") from None
    have = recorded(old)
    for note, nt, cards in notes:
        if note.guid in have or not nt.model:
            continue
        try:
            extra = "\n".join(_cloze_extra(note, nt, lambda _: None)) if nt.cloze else ""
        except RecursionError:  # moved in from the fields' text alone (``_render``): no extra below it
            extra = ""
        plan.origins[note.guid] = _origin(note, nt, min(cards, key=lambda c: c.ord).deck, extra)
        plan.models[nt.id] = nt.model
    new = updated_record(old, plan.models, plan.origins)
    if new is not None:
        plan.record = (str(PurePosixPath(into, SIDECAR)), old, new)


def _write_planned(vault: Path, plan: _Plan) -> list[str]:
    """Create the planned media and notes in the vault (never over a file, never through a link that
    leads out of it), then write the origins file; the notes' vault paths. If one cannot be
    written, the files created are removed (and the origins file is left as it was).

    Raises:
        SrsError: a file could not be written (nothing this import made is left).
    """
    record = [plan.record[0]] if plan.record is not None else []
    _check_folders(vault, [rel for rel, _ in [*plan.notes, *plan.media]] + record, files=record)
    created: list[Path] = []
    rels = [rel for rel, _ in [*plan.notes, *plan.media]] + record
    folders = {p for rel in rels for p in PurePosixPath(rel).parents if str(p) != "."}
    missing = sorted((f for f in folders if not os.path.lexists(vault / f)), key=lambda f: -len(f.parts))
    try:
        for rel, staged in plan.media:
            copy_new_file(vault / rel, staged, inside=vault)
            created.append(vault / rel)
        for rel, data in plan.notes:
            create_file(vault / rel, data, inside=vault)
            created.append(vault / rel)
        if plan.record is not None:
            rel, old, new = plan.record
            if old is None:
                create_file(vault / rel, new, inside=vault)
                created.append(vault / rel)
            else:
                rewrite_note(vault / rel, old, new)
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
    return [rel for rel, _ in plan.notes]
