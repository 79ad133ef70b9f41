"""``sync_vault``: bring the database in line with the vault, in named phases.

1. read: walk the vault, read notes whose size or mtime changed, parse those
   whose content hash changed;
2. notes: recognise renames (same content at a new path), write note rows,
   mark vanished notes gone;
3. cards: match parsed cards to stored ones (``match``), add, update, revive
   and retire cards;
4. tags and links of the changed notes, then link resolution.

All writes of one sync happen in a single transaction, which re-reads the
stored notes it decides on: if another process synced since the vault was
read, the decisions are made again on what that process stored.

The first sync of a database without notes, from ``cold.COLD_MIN`` notes on, writes the
same rows in one streaming pass instead (``cold``): reading, parsing and writing overlap
and nothing is matched, as there is nothing stored to match.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.identity import card_uid, salted
from ..core.workers import cyclic_gc_paused
from ..errors import SrsError
from ..parse import Diagnostic, ParsedCard, ParsedNote
from ..store import card_sync as sync_store
from ..store import cards as card_store
from ..store import links as link_store
from ..store import notes as note_store
from ..store.card_sync import StoredCard
from ..store.db import dt_to_db, first_load, transaction
from ..store.events import get_meta, set_meta
from ..store.notes import NoteRow
from .match import block_key, match_cards
from .parallel import parse_many
from .rows import card_fields, link_cards, markdown_targets, note_values
from .walk import Progress, VaultFile, content_hash, decode_note, read_file, walk_vault


@dataclass
class SyncReport:
    """What one sync saw and changed."""

    notes_seen: int = 0
    notes_read: int = 0
    notes_parsed: int = 0
    notes_added: int = 0
    notes_deleted: int = 0
    """Notes gone from the vault whose cards went nowhere (a moved note is not deleted)."""
    notes_renamed: int = 0
    """Notes found at a new path with the same content."""
    notes_moved: int = 0
    """Notes at a new path: renamed, or renamed and edited at once (their cards followed them)."""
    cards_added: int = 0
    cards_changed: int = 0
    cards_moved: int = 0
    cards_retired: int = 0
    cards_revived: int = 0
    cards_unchanged: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ids_written: int = 0
    journal: dict[str, object] | None = None
    """What merging the review journals did (``history.MergeReport.as_dict``), when they were merged."""

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity ``error``."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def as_dict(self) -> dict[str, object]:
        """The report as plain data, for ``--json``."""
        return {
            "notes": {
                "seen": self.notes_seen,
                "read": self.notes_read,
                "parsed": self.notes_parsed,
                "added": self.notes_added,
                "deleted": self.notes_deleted,
                "renamed": self.notes_renamed,
                "moved": self.notes_moved,
            },
            "cards": {
                "added": self.cards_added,
                "changed": self.cards_changed,
                "moved": self.cards_moved,
                "retired": self.cards_retired,
                "revived": self.cards_revived,
                "unchanged": self.cards_unchanged,
            },
            "ids_written": self.ids_written,
            "journal": self.journal,
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "message": d.message}
                for d in self.diagnostics
            ],
        }


PARSE_OPTIONS = "parse_options"
"""``meta`` key: the parser options of the last full sync (a change parses every note again)."""

MASS_RETIRE_MIN = 20
"""A sync may retire this many cards without asking, whatever the share."""


class MassRetire(SrsError):
    """A sync would retire more than half of the vault's active cards: nearly always a wrong folder."""

    def __init__(self, retiring: int, active: int, vault: Path) -> None:
        super().__init__(
            f"{vault}: this sync would retire {retiring} of {active} active cards; nothing was changed. "
            "Is this the right vault folder (or is a drive not mounted)? If the notes really went, "
            "run `mlsys-srs sync --yes`."
        )
        self.retiring = retiring
        self.active = active


@dataclass
class _Changed:
    file: VaultFile
    hash: str
    note: ParsedNote
    note_id: int | None = None


@dataclass
class _Read:
    """What the read phase found."""

    changed: list[_Changed] = field(default_factory=list)
    deleted: list[NoteRow] = field(default_factory=list)
    stat_only: list[tuple[int, int, int]] = field(default_factory=list)


def sync_vault(
    conn: sqlite3.Connection,
    vault: Path,
    now: datetime,
    *,
    ignore: Sequence[str] = (),
    progress: Progress | None = None,
    only: Iterable[str] | None = None,
    allow_mass_retire: bool = False,
    highlight_cloze: bool = False,
) -> SyncReport:
    """Bring the database in line with the vault; return what changed.

    Args:
        conn: An open review database.
        vault: The vault folder.
        now: The current time (UTC-aware); stamps added, changed and retired cards.
        ignore: Glob patterns of vault paths that are not notes.
        progress: Called as notes are read, for a progress bar.
        only: Vault paths to re-check (e.g. the note just edited during a review);
            other notes are left as they are, even if they changed.
        allow_mass_retire: Retire even when more than half of the active cards
            (and more than ``MASS_RETIRE_MIN``) would go; without it that raises.
        highlight_cloze: ``==text==`` is a cloze (``parse_note``); when this differs from
            the last sync, every note is parsed again.

    Raises:
        MassRetire: the sync would retire most of the vault; nothing is changed.
        VaultError: the vault is missing.
        DatabaseError: the database cannot be written.
    """
    # A sync allocates millions of objects that live to its end and no cycles (batch.cyclic_gc_paused).
    with cyclic_gc_paused():
        return _sync_vault(
            conn,
            vault,
            now,
            ignore=ignore,
            progress=progress,
            only=only,
            allow_mass_retire=allow_mass_retire,
            highlight_cloze=highlight_cloze,
        )


def _sync_vault(
    conn: sqlite3.Connection,
    vault: Path,
    now: datetime,
    *,
    ignore: Sequence[str],
    progress: Progress | None,
    only: Iterable[str] | None,
    allow_mass_retire: bool,
    highlight_cloze: bool,
) -> SyncReport:
    only_set = set(only) if only is not None else None
    report = SyncReport()
    stored_notes = note_store.note_rows(conn)
    options = "highlight_cloze" if highlight_cloze else ""
    reparse = (get_meta(conn, PARSE_OPTIONS) or "") != options and only is None

    walked: tuple[list[VaultFile], list[Diagnostic]] | None = None
    if not stored_notes and only is None:
        # A first sync: from COLD_MIN notes on, read, parse and write in one streaming pass.
        from .cold import COLD_MIN

        walk_diags: list[Diagnostic] = []
        files = walk_vault(vault, ignore, walk_diags)
        if len(files) >= COLD_MIN:
            cold = _cold(
                conn, files, walk_diags, now, progress, highlight_cloze, options if reparse else None
            )
            if cold is not None:
                return cold
        walked = (files, walk_diags)

    def read(notes: dict[str, NoteRow], into: SyncReport) -> _Read:
        nonlocal walked
        pre, walked = walked, None
        return _read_phase(
            vault,
            ignore,
            notes,
            into,
            progress,
            only_set,
            highlight_cloze=highlight_cloze,
            reparse=reparse,
            walked=pre,
        )

    found = read(stored_notes, report)
    if not found.changed and not found.deleted and not found.stat_only and not reparse:
        return report
    stamp = dt_to_db(now)
    with transaction(conn):
        # Decide on what is stored now, under the write lock: another process may
        # have synced since the notes were read (its rows would collide with ours).
        fresh = note_store.note_rows(conn)
        if fresh != stored_notes:
            report = SyncReport()
            stored_notes = fresh
            found = read(stored_notes, report)
        active = card_store.active_count(conn)
        if found.stat_only:
            note_store.update_file_stats(conn, found.stat_only)
        if found.changed or found.deleted:
            renamed, gone, note_set_changed = _notes_phase(conn, report, found, stored_notes, stamp)
            parsed, card_ids, new_card_ids = _cards_phase(conn, report, found.changed, gone, renamed, stamp)
            retiring = report.cards_retired - report.cards_revived
            if not allow_mass_retire and retiring > MASS_RETIRE_MIN and retiring * 2 > active:
                raise MassRetire(retiring, active, vault)
            _tags_and_links_phase(conn, found.changed, parsed, card_ids, new_card_ids, note_set_changed)
        if reparse:
            set_meta(conn, PARSE_OPTIONS, options)
    return report


def _cold(
    conn: sqlite3.Connection,
    files: list[VaultFile],
    walk_diags: list[Diagnostic],
    now: datetime,
    progress: Progress | None,
    highlight_cloze: bool,
    options: str | None,
) -> SyncReport | None:
    """A first sync through ``cold.cold_sync``; None when the database is no longer empty under the
    write lock (another process synced meanwhile: the phases decide on what it stored)."""
    from .cold import cold_sync

    report = SyncReport(notes_seen=len(files), diagnostics=list(walk_diags))
    with first_load(conn), transaction(conn):
        if note_store.note_rows(conn):
            return None
        cold_sync(conn, files, report, progress, highlight_cloze=highlight_cloze, stamp=dt_to_db(now))
        if options is not None:
            set_meta(conn, PARSE_OPTIONS, options)
    return report


def _read_phase(
    vault: Path,
    ignore: Sequence[str],
    stored_notes: dict[str, NoteRow],
    report: SyncReport,
    progress: Progress | None,
    only_set: set[str] | None,
    *,
    highlight_cloze: bool = False,
    reparse: bool = False,
    walked: tuple[list[VaultFile], list[Diagnostic]] | None = None,
) -> _Read:
    if walked is None:
        files = walk_vault(vault, ignore, report.diagnostics)
    else:
        files = walked[0]
        report.diagnostics.extend(walked[1])
    report.notes_seen = len(files)
    out = _Read()
    unreadable: set[str] = set()
    present_paths = {f.path for f in files}
    to_read = [
        f
        for f in files
        if (only_set is None or f.path in only_set)
        and not (
            not reparse
            and (row := stored_notes.get(f.path)) is not None
            and row.present
            and row.size == f.size
            and row.mtime_ns == f.mtime_ns
        )
    ]
    pending: list[tuple[VaultFile, str, str]] = []
    for f in to_read:
        data = read_file(f)
        if isinstance(data, Diagnostic):
            report.diagnostics.append(data)
            unreadable.add(f.path)
            continue
        report.notes_read += 1
        h = content_hash(data)
        row = stored_notes.get(f.path)
        if not reparse and row is not None and row.present and row.content_hash == h:
            out.stat_only.append((f.size, f.mtime_ns, row.id))
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            report.diagnostics.append(text)
            unreadable.add(f.path)
            continue
        pending.append((f, h, text))
    # Notes are parsed together (over the cores when there are many), in the order read.
    base = len(to_read) - len(pending)

    def parsed(done: int) -> None:
        if progress is not None:
            progress(base + done, len(to_read))

    notes = parse_many(
        [(text, f.path) for f, _, text in pending], highlight_cloze=highlight_cloze, progress=parsed
    )
    report.notes_parsed += len(notes)
    out.changed = [_Changed(f, h, note) for (f, h, _), note in zip(pending, notes, strict=True)]
    out.deleted = [
        row
        for path, row in stored_notes.items()
        if row.present
        and path not in present_paths
        and (path not in unreadable if only_set is None else path in only_set)
    ]
    return out


def _notes_phase(
    conn: sqlite3.Connection,
    report: SyncReport,
    found: _Read,
    stored_notes: dict[str, NoteRow],
    stamp: str | None,
) -> tuple[set[int], list[NoteRow], bool]:
    """Renames, note rows and vanished notes; returns (renamed ids, gone notes, note set changed)."""
    # A new path whose content equals a vanished note's is the same note, renamed.
    vanished_by_hash: dict[str, list[NoteRow]] = {}
    for row in found.deleted:
        vanished_by_hash.setdefault(row.content_hash, []).append(row)
    renamed: set[int] = set()
    note_set_changed = bool(found.deleted)
    for ch in found.changed:
        known = stored_notes.get(ch.file.path)
        if known is not None:
            ch.note_id = known.id
            if (
                not known.present
                or known.title != ch.note.title
                or json.loads(known.aliases) != list(ch.note.aliases)
            ):
                note_set_changed = True
            continue
        note_set_changed = True
        olds = vanished_by_hash.get(ch.hash)
        if olds:
            ch.note_id = olds.pop(0).id
            renamed.add(ch.note_id)
            report.notes_renamed += 1

    new_notes: list[tuple[_Changed, tuple[object, ...]]] = []
    for ch in found.changed:
        n = ch.note
        values = note_values(n, ch.file.size, ch.file.mtime_ns, ch.hash, stamp)
        if ch.note_id is None:
            new_notes.append((ch, values))
            report.notes_added += 1
        else:
            note_store.update_note(conn, ch.note_id, values)
        report.diagnostics.extend(n.diagnostics)
    new_ids = note_store.insert_notes(conn, [v for _, v in new_notes])
    for (ch, _), note_id in zip(new_notes, new_ids, strict=True):
        ch.note_id = note_id
    gone = [row for row in found.deleted if row.id not in renamed]
    for row in gone:
        note_store.mark_gone(conn, row.id, stamp)
    report.notes_deleted = len(gone)
    return renamed, gone, note_set_changed


def _cards_phase(
    conn: sqlite3.Connection,
    report: SyncReport,
    changed: list[_Changed],
    gone: list[NoteRow],
    renamed: set[int],
    stamp: str | None,
) -> tuple[list[tuple[int, ParsedCard]], list[int], set[int]]:
    """Match, add, update, revive and retire cards; returns the parsed cards, their card ids and the
    ids of the cards added."""
    pool = sync_store.card_pool(conn, [ch.note_id for ch in changed] + [r.id for r in gone])
    parsed: list[tuple[int, ParsedCard]] = [
        (ch.note_id, card) for ch in changed if ch.note_id is not None for card in ch.note.cards
    ]
    pool_ids = {s.id for s in pool}
    block_ids = sorted({c.block_id for _, c in parsed if c.block_id})
    taken_elsewhere = {
        block_key(bid, direction, cloze)
        for cid, bid, direction, cloze in (sync_store.active_block_ids(conn, block_ids) if block_ids else [])
        if cid not in pool_ids
    }
    matched, dups = match_cards(parsed, pool, taken_elsewhere)
    note_paths = {ch.note_id: ch.note.path for ch in changed}
    dup_idx = set()
    for i, card, why in dups:
        dup_idx.add(i)
        report.diagnostics.append(
            Diagnostic(
                note_paths[parsed[i][0]],
                card.line,
                f"block id ^{card.block_id} {why}; this copy is treated as a new card",
                code="duplicate-id",
            )
        )

    gone_ids = {r.id for r in gone}
    moved_from: set[int] = set()
    new_uids = _new_uids(conn, parsed, matched, dup_idx, note_paths)
    card_ids: list[int] = []
    fresh: list[tuple[int, tuple[Any, ...], str]] = []  # (index into card_ids, text, uid) of new cards
    for i, (note_id, card) in enumerate(parsed):
        text = (note_id, *card_fields(card, i in dup_idx))
        s = matched.get(i)
        if s is None:
            fresh.append((len(card_ids), text, new_uids[i]))
            card_ids.append(0)
            report.cards_added += 1
            continue
        card_ids.append(s.id)
        text_changed = (s.question, s.answer, s.source) != (card.question, card.answer, card.source)
        moved = s.note_id != note_id and s.note_id not in renamed
        if s.retired:
            report.cards_revived += 1
        elif moved:
            report.cards_moved += 1
            if s.note_id in gone_ids:
                moved_from.add(s.note_id)
        elif text_changed:
            report.cards_changed += 1
        else:
            report.cards_unchanged += 1
        sync_store.update_card_text(conn, s.id, text, text_changed or moved or s.retired, stamp)
    new_ids = sync_store.insert_cards(conn, [(t, u) for _, t, u in fresh], stamp)
    for (pos, _, _), cid in zip(fresh, new_ids, strict=True):
        card_ids[pos] = cid

    used = {s.id for s in matched.values()}
    to_retire = [s.id for s in pool if not s.retired and s.id not in used]
    sync_store.retire_cards(conn, to_retire, stamp)
    report.cards_retired = len(to_retire)
    # A note gone from one path whose cards now live at another was moved (and edited), not deleted.
    report.notes_moved = report.notes_renamed + len(moved_from)
    report.notes_deleted -= len(moved_from)
    return parsed, card_ids, set(new_ids)


def _new_uids(
    conn: sqlite3.Connection,
    parsed: list[tuple[int, ParsedCard]],
    matched: dict[int, StoredCard],
    dup_idx: set[int],
    note_paths: dict[int | None, str],
) -> dict[int, str]:
    """The uid of each new card (index into ``parsed``): derived from what every device sees, salted
    only where two cards would share one."""
    wanted = {
        i: card_uid(
            note_paths[note_id],
            card.fingerprint,
            None if i in dup_idx else card.block_id,
            card.direction,
            card.cloze,
        )
        for i, (note_id, card) in enumerate(parsed)
        if i not in matched
    }
    if not wanted:
        return {}
    taken = sync_store.uids_taken(conn, sorted(set(wanted.values())))
    out: dict[int, str] = {}
    for i, uid in sorted(wanted.items()):
        n = 0
        while salted(uid, n) in taken:
            n += 1
            if n == 1:
                # Salted alternatives may be taken too: look them up in bulk once.
                taken |= sync_store.uids_taken(conn, [salted(uid, k) for k in range(1, 64)])
        out[i] = salted(uid, n)
        taken.add(out[i])
    return out


def _tags_and_links_phase(
    conn: sqlite3.Connection,
    changed: list[_Changed],
    parsed: list[tuple[int, ParsedCard]],
    card_ids: list[int],
    new_card_ids: set[int],
    note_set_changed: bool,
) -> None:
    sync_store.replace_tags(
        conn, [(cid, card.tags) for cid, (_, card) in zip(card_ids, parsed, strict=True)], new_card_ids
    )
    # Links are written resolved; other notes' links are resolved again when the set of notes changed.
    targets = link_store.LinkTargets(conn)
    first_card: dict[int, int] = {}  # note id -> index into card_ids of its first card
    for pos, (note_id, _) in enumerate(parsed):
        first_card.setdefault(note_id, pos)
    rows = []
    markdown: set[tuple[int | None, str]] = set()
    changed_ids = [ch.note_id for ch in changed if ch.note_id is not None]
    for ch in changed:
        nid = ch.note_id
        assert nid is not None
        md = markdown_targets(ch.note)
        markdown.update((nid, t) for t in md)
        for lk, idx in zip(ch.note.links, link_cards(ch.note), strict=True):
            cid = None if idx is None else card_ids[first_card[nid] + idx]
            target = targets.note_id(lk.target, ch.note.path, lk.target in md)
            rows.append((nid, cid, lk.line, lk.target, lk.heading, lk.block, lk.display, target))
    link_store.replace_links(conn, changed_ids, rows)
    if note_set_changed:
        link_store.resolve_links(conn, [], markdown, targets=targets, exclude=changed_ids)
