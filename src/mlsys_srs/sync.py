"""Reconcile a vault with the review database while keeping every card's identity.

``sync_vault`` walks the vault, reads only notes whose size or mtime changed,
re-parses only notes whose content hash changed, and matches each parsed card
to a stored one (FORMAT.md, "Card identity"):

1. the block id (``^srs-7f3a9c``) with direction and cloze number, anywhere;
2. the fingerprint within the same note;
3. the fingerprint anywhere in the vault (a card moved to another note);
4. the most similar unmatched card of the same note, above ``SIMILARITY``.

A stored card is matched at most once. Matched cards keep their id and review
history; unmatched parsed cards are added; stored cards left unmatched are
retired (never deleted) and come back if they reappear. All database writes of
one sync happen in a single transaction.

``write_block_ids`` appends block ids to cards that have none; it is the only
code that writes to notes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, NamedTuple

from .errors import VaultError
from .parse import Diagnostic, LinkResolver, ParsedCard, ParsedNote, parse_note
from .store import dt_to_db, transaction

SYSTEM_TAGS = frozenset({"leech"})
"""Tags that mlsys-srs sets on cards itself; a sync never removes them."""

SIMILARITY = 0.6
"""Least similarity (0-1) of question or answer for an edited card to keep its identity."""

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while notes are read."""


@dataclass(frozen=True)
class VaultFile:
    """A note file found in the vault."""

    path: str
    abspath: Path
    size: int
    mtime_ns: int


@dataclass
class SyncReport:
    """What one sync saw and changed."""

    notes_seen: int = 0
    notes_read: int = 0
    notes_parsed: int = 0
    notes_added: int = 0
    notes_deleted: int = 0
    notes_renamed: int = 0
    cards_added: int = 0
    cards_changed: int = 0
    cards_moved: int = 0
    cards_retired: int = 0
    cards_revived: int = 0
    cards_unchanged: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ids_written: int = 0

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
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "message": d.message}
                for d in self.diagnostics
            ],
        }


# -- the vault ----------------------------------------------------------------------


def walk_vault(vault: Path, ignore: Sequence[str] = ()) -> list[VaultFile]:
    """Every note of the vault, sorted by path.

    Skips folders whose name starts with ``.`` and paths matched by ``ignore``
    globs (matched against the vault-relative path, ``*`` crossing folders).

    Raises:
        VaultError: the vault does not exist or is not a folder.
    """
    if not vault.exists():
        raise VaultError(f"{vault}: vault folder not found (use --vault or set MLSYS_SRS_VAULT)")
    if not vault.is_dir():
        raise VaultError(f"{vault}: the vault must be a folder of Markdown notes")
    out: list[VaultFile] = []
    stack = [(vault, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relpath = f"{rel}{name}"
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _ignored(relpath + "/", ignore):
                        stack.append((Path(entry.path), relpath + "/"))
                    continue
                if not name.lower().endswith(".md") or _ignored(relpath, ignore):
                    continue
                st = entry.stat()
            except OSError:
                continue
            out.append(VaultFile(relpath, Path(entry.path), st.st_size, st.st_mtime_ns))
    out.sort(key=lambda f: f.path)
    return out


def _ignored(relpath: str, ignore: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(relpath, g) or fnmatch.fnmatchcase(relpath.rstrip("/"), g) for g in ignore)


def content_hash(data: bytes) -> str:
    """The content hash stored per note."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decode_note(data: bytes, path: str) -> str | Diagnostic:
    """Decode a note as UTF-8 (BOM accepted); a diagnostic if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Diagnostic(
            path, line, f"not valid UTF-8 (byte {exc.start}); the note was skipped", code="encoding"
        )


def read_vault(
    vault: Path, ignore: Sequence[str] = (), progress: Progress | None = None
) -> tuple[list[ParsedNote], list[Diagnostic]]:
    """Parse every note of the vault without touching the database (for ``check``)."""
    notes: list[ParsedNote] = []
    diags: list[Diagnostic] = []
    files = walk_vault(vault, ignore)
    for i, f in enumerate(files):
        try:
            data = f.abspath.read_bytes()
        except OSError as exc:
            diags.append(Diagnostic(f.path, 1, f"cannot read the note ({exc.strerror})", code="io"))
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            diags.append(text)
            continue
        note = parse_note(text, f.path)
        notes.append(note)
        diags.extend(note.diagnostics)
        if progress is not None:
            progress(i + 1, len(files))
    diags.extend(duplicate_block_ids(notes))
    return notes, diags


def duplicate_block_ids(notes: Iterable[ParsedNote]) -> list[Diagnostic]:
    """A diagnostic for each block id that a later note uses again (path order)."""
    first: dict[str, str] = {}
    out = []
    for note in notes:
        seen_here: set[str] = set()
        for card in note.cards:
            bid = card.block_id
            if bid is None or bid in seen_here:
                continue
            seen_here.add(bid)
            if bid in first and first[bid] != note.path:
                out.append(
                    Diagnostic(
                        note.path,
                        card.line,
                        f"block id ^{bid} is already used in {first[bid]}; this copy is treated as a new card",
                        code="duplicate-id",
                    )
                )
            else:
                first.setdefault(bid, note.path)
    return out


# -- matching -----------------------------------------------------------------------


class _NoteRow(NamedTuple):
    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    present: bool
    title: str
    aliases: str


@dataclass
class _Stored:
    id: int
    note_id: int
    fingerprint: str
    block_id: str | None
    kind: str
    direction: str
    cloze: int | None
    question: str
    answer: str
    source: str
    context: str
    line: int
    end_line: int
    syntax: str
    retired: bool


_CARD_COLS = (
    "id, note_id, fingerprint, block_id, kind, direction, cloze, question, answer, source, "
    "context, line, end_line, syntax, retired"
)


def _stored(rows: Iterable[Any]) -> list[_Stored]:
    return [
        _Stored(
            int(r[0]),
            int(r[1]),
            str(r[2]),
            r[3],
            str(r[4]),
            str(r[5]),
            r[6],
            str(r[7]),
            str(r[8]),
            str(r[9]),
            str(r[10]),
            int(r[11]),
            int(r[12]),
            str(r[13]),
            bool(r[14]),
        )
        for r in rows
    ]


def _block_key(block_id: str, direction: str, cloze: int | None) -> tuple[str, str, int]:
    return (block_id, direction, cloze or 0)


def _similarity(a: ParsedCard, b: _Stored) -> float:
    best = 0.0
    for x, y in ((a.question, b.question), (a.answer, b.answer)):
        sm = SequenceMatcher(None, x, y, autojunk=False)
        if sm.real_quick_ratio() < SIMILARITY or sm.quick_ratio() < SIMILARITY:
            continue
        best = max(best, sm.ratio())
    return best


def _match(
    parsed: list[tuple[int, ParsedCard]],
    pool: list[_Stored],
    taken_elsewhere: set[tuple[str, str, int]],
) -> tuple[dict[int, _Stored], list[tuple[int, ParsedCard, str]]]:
    """Match parsed cards ``(note_id, card)`` to stored cards of the pool.

    Returns the matches (index into ``parsed`` -> stored card) and diagnostics
    for block ids that another card already holds, as ``(index, card, message)``.
    """
    matched: dict[int, _Stored] = {}
    used: set[int] = set()
    dup: list[tuple[int, ParsedCard, str]] = []
    by_block: dict[tuple[str, str, int], list[_Stored]] = {}
    by_fp: dict[str, list[_Stored]] = {}
    for s in sorted(pool, key=lambda s: (s.retired, s.id)):
        if s.block_id:
            by_block.setdefault(_block_key(s.block_id, s.direction, s.cloze), []).append(s)
        by_fp.setdefault(s.fingerprint, []).append(s)

    # 1. block ids; where two copies claim one id, the copy in the card's old note wins.
    claims: dict[tuple[str, str, int], list[int]] = {}
    for i, (_, card) in enumerate(parsed):
        if card.block_id:
            claims.setdefault(_block_key(card.block_id, card.direction, card.cloze), []).append(i)
    for key, idxs in claims.items():
        cands = [s for s in by_block.get(key, []) if s.id not in used]
        if key in taken_elsewhere:
            for i in idxs:
                dup.append((i, parsed[i][1], "is already used by a card in an unchanged note"))
            continue
        if cands:
            s = cands[0]
            idxs = sorted(idxs, key=lambda i: parsed[i][0] != s.note_id)
            matched[idxs[0]] = s
            used.add(s.id)
        # Without a stored card, the first copy is a new card that keeps the id.
        for i in idxs[1:]:
            dup.append((i, parsed[i][1], "is used twice in the vault"))

    # 2. fingerprint in the same note, then 3. anywhere.
    for same_note in (True, False):
        for i, (note_id, card) in enumerate(parsed):
            if i in matched:
                continue
            for s in by_fp.get(card.fingerprint, []):
                if s.id in used or (same_note and s.note_id != note_id):
                    continue
                if s.block_id and card.block_id and s.block_id != card.block_id:
                    continue
                matched[i] = s
                used.add(s.id)
                break

    # 4. similarity within the same note, best pairs first.
    rest_parsed = [i for i in range(len(parsed)) if i not in matched]
    if rest_parsed:
        by_note: dict[int, list[_Stored]] = {}
        for s in pool:
            if s.id not in used:
                by_note.setdefault(s.note_id, []).append(s)
        pairs: list[tuple[float, bool, int, int, _Stored]] = []
        for i in rest_parsed:
            note_id, card = parsed[i]
            for s in by_note.get(note_id, []):
                if (s.kind, s.direction, s.cloze or 0) != (card.kind, card.direction, card.cloze or 0):
                    continue
                if s.block_id and card.block_id and s.block_id != card.block_id:
                    continue
                score = _similarity(card, s)
                if score >= SIMILARITY:
                    pairs.append((-score, s.retired, s.id, i, s))
        pairs.sort(key=lambda p: (p[0], p[1], p[2], p[3]))
        for _, _, sid, i, s in pairs:
            if i in matched or sid in used:
                continue
            matched[i] = s
            used.add(sid)
    return matched, dup


# -- sync -----------------------------------------------------------------------------


@dataclass
class _Changed:
    file: VaultFile
    hash: str
    note: ParsedNote
    note_id: int | None = None


def sync_vault(
    conn: sqlite3.Connection,
    vault: Path,
    now: datetime,
    *,
    ignore: Sequence[str] = (),
    progress: Progress | None = None,
    only: Iterable[str] | None = None,
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

    Raises:
        VaultError: the vault is missing.
        DatabaseError: the database cannot be written.
    """
    report = SyncReport()
    files = walk_vault(vault, ignore)
    only_set = set(only) if only is not None else None
    report.notes_seen = len(files)
    stored_notes = {
        r[1]: _NoteRow(*r)
        for r in conn.execute(
            "SELECT id, path, size, mtime_ns, content_hash, present, title, aliases FROM note"
        )
    }
    present_paths = set()
    stat_only: list[tuple[int, int, int]] = []
    changed: list[_Changed] = []
    unreadable: set[str] = set()
    to_read = [
        f
        for f in files
        if (only_set is None or f.path in only_set)
        and not (
            (row := stored_notes.get(f.path)) is not None
            and row.present
            and row.size == f.size
            and row.mtime_ns == f.mtime_ns
        )
    ]
    for f in files:
        present_paths.add(f.path)
    for done, f in enumerate(to_read, 1):
        try:
            data = f.abspath.read_bytes()
        except OSError as exc:
            report.diagnostics.append(
                Diagnostic(f.path, 1, f"cannot read the note ({exc.strerror})", code="io")
            )
            unreadable.add(f.path)
            continue
        report.notes_read += 1
        h = content_hash(data)
        row = stored_notes.get(f.path)
        if row is not None and row.present and row.content_hash == h:
            stat_only.append((f.size, f.mtime_ns, row.id))
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            report.diagnostics.append(text)
            unreadable.add(f.path)
            continue
        note = parse_note(text, f.path)
        report.notes_parsed += 1
        changed.append(_Changed(f, h, note))
        if progress is not None:
            progress(done, len(to_read))

    if only_set is None:
        deleted = [
            row
            for path, row in stored_notes.items()
            if row.present and path not in present_paths and path not in unreadable
        ]
    else:
        deleted = [
            row
            for path, row in stored_notes.items()
            if row.present and path in only_set and path not in present_paths
        ]

    if not changed and not deleted:
        if stat_only:
            with transaction(conn):
                conn.executemany("UPDATE note SET size = ?, mtime_ns = ? WHERE id = ?", stat_only)
        report.cards_unchanged = 0
        return report

    stamp = dt_to_db(now)
    with transaction(conn):
        if stat_only:
            conn.executemany("UPDATE note SET size = ?, mtime_ns = ? WHERE id = ?", stat_only)
        _apply(conn, report, changed, deleted, stored_notes, stamp)
    return report


def _apply(
    conn: sqlite3.Connection,
    report: SyncReport,
    changed: list[_Changed],
    deleted: list[_NoteRow],
    stored_notes: dict[str, _NoteRow],
    stamp: str | None,
) -> None:
    # Renames: a new path whose content equals a vanished note's is the same note.
    vanished_by_hash: dict[str, list[_NoteRow]] = {}
    for row in deleted:
        vanished_by_hash.setdefault(row.content_hash, []).append(row)
    renamed_ids: set[int] = set()
    note_set_changed = bool(deleted)
    for ch in changed:
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
            old = olds.pop(0)
            ch.note_id = old.id
            renamed_ids.add(ch.note_id)
            report.notes_renamed += 1

    # Write notes first, so new notes have ids.
    for ch in changed:
        n = ch.note
        values = (
            n.path,
            n.title,
            n.domain,
            json.dumps(list(n.tags)),
            json.dumps(list(n.aliases)),
            int(n.srs),
            ch.file.size,
            ch.file.mtime_ns,
            ch.hash,
            json.dumps([[d.line, d.severity, d.message] for d in n.diagnostics]),
            stamp,
        )
        if ch.note_id is None:
            cur = conn.execute(
                "INSERT INTO note (path, title, domain, tags, aliases, srs, size, mtime_ns, "
                "content_hash, present, diagnostics, synced_at) VALUES (?,?,?,?,?,?,?,?,?,1,?,?)",
                values,
            )
            ch.note_id = _rowid(cur)
            report.notes_added += 1
        else:
            conn.execute(
                "UPDATE note SET path=?, title=?, domain=?, tags=?, aliases=?, srs=?, size=?, "
                "mtime_ns=?, content_hash=?, present=1, diagnostics=?, synced_at=? WHERE id=?",
                (*values, ch.note_id),
            )
        report.diagnostics.extend(n.diagnostics)
    gone = [row for row in deleted if row.id not in renamed_ids]
    for row in gone:
        conn.execute("UPDATE note SET present = 0, synced_at = ? WHERE id = ?", (stamp, row.id))
        conn.execute("DELETE FROM link WHERE note_id = ?", (row.id,))
    report.notes_deleted = len(gone)

    # The pool of stored cards that parsed cards may claim.
    touched = [ch.note_id for ch in changed] + [r.id for r in gone]
    pool = _stored(
        conn.execute(
            f"SELECT {_CARD_COLS} FROM card WHERE retired = 1 OR note_id IN (SELECT value FROM json_each(?))",
            (json.dumps(touched),),
        )
    )
    parsed = [(ch.note_id, card) for ch in changed for card in ch.note.cards]
    assert all(nid is not None for nid, _ in parsed)
    parsed_typed: list[tuple[int, ParsedCard]] = [(nid, c) for nid, c in parsed if nid is not None]
    pool_ids = {s.id for s in pool}
    block_ids = sorted({c.block_id for _, c in parsed_typed if c.block_id})
    taken_elsewhere: set[tuple[str, str, int]] = set()
    if block_ids:
        for r in conn.execute(
            "SELECT id, block_id, direction, cloze FROM card WHERE retired = 0 AND block_id IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(block_ids),),
        ):
            if r[0] not in pool_ids:
                taken_elsewhere.add(_block_key(r[1], r[2], r[3]))
    matched, dups = _match(parsed_typed, pool, taken_elsewhere)
    note_paths = {ch.note_id: ch.note.path for ch in changed}
    dup_idx = set()
    for i, card, why in dups:
        dup_idx.add(i)
        report.diagnostics.append(
            Diagnostic(
                note_paths[parsed_typed[i][0]],
                card.line,
                f"block id ^{card.block_id} {why}; this copy is treated as a new card",
                code="duplicate-id",
            )
        )

    card_ids: list[int] = []
    for i, (note_id, card) in enumerate(parsed_typed):
        block_id = None if i in dup_idx else card.block_id
        s = matched.get(i)
        fields = (
            note_id,
            card.line,
            card.end_line,
            card.kind,
            card.syntax,
            card.direction,
            card.cloze,
            card.question,
            card.answer,
            card.source,
            card.context,
            block_id,
            card.fingerprint,
        )
        if s is None:
            cur = conn.execute(
                "INSERT INTO card (note_id, line, end_line, kind, syntax, direction, cloze, question, "
                "answer, source, context, block_id, fingerprint, state, reps, lapses, suspended, "
                "retired, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'new',0,0,0,0,?,?)",
                (*fields, stamp, stamp),
            )
            card_ids.append(_rowid(cur))
            report.cards_added += 1
            continue
        card_ids.append(s.id)
        text_changed = (s.question, s.answer, s.source) != (card.question, card.answer, card.source)
        moved = s.note_id != note_id and s.note_id not in renamed_ids
        if s.retired:
            report.cards_revived += 1
        elif moved:
            report.cards_moved += 1
        elif text_changed:
            report.cards_changed += 1
        else:
            report.cards_unchanged += 1
        conn.execute(
            "UPDATE card SET note_id=?, line=?, end_line=?, kind=?, syntax=?, direction=?, cloze=?, "
            "question=?, answer=?, source=?, context=?, block_id=?, fingerprint=?, retired=0, "
            "retired_at=NULL, updated_at=CASE WHEN ? THEN ? ELSE updated_at END WHERE id=?",
            (*fields, int(text_changed or moved or s.retired), stamp, s.id),
        )

    used = {s.id for s in matched.values()}
    to_retire = [s.id for s in pool if not s.retired and s.id not in used]
    conn.executemany(
        "UPDATE card SET retired = 1, retired_at = ? WHERE id = ?", [(stamp, cid) for cid in to_retire]
    )
    report.cards_retired = len(to_retire)

    # Tags and links of the changed notes.
    # Tags the tool itself sets (``leech``) are not the note's to remove.
    conn.execute(
        "DELETE FROM card_tag WHERE card_id IN (SELECT value FROM json_each(?)) "
        "AND tag NOT IN (SELECT value FROM json_each(?))",
        (json.dumps(card_ids), json.dumps(sorted(SYSTEM_TAGS))),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (?, ?)",
        [(cid, tag) for cid, (_, card) in zip(card_ids, parsed_typed, strict=True) for tag in card.tags],
    )
    changed_ids = [ch.note_id for ch in changed]
    conn.execute(
        "DELETE FROM link WHERE note_id IN (SELECT value FROM json_each(?))", (json.dumps(changed_ids),)
    )
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for cid, (note_id, card) in zip(card_ids, parsed_typed, strict=True):
        spans.setdefault(note_id, []).append((card.line, card.end_line, cid))
    link_rows = []
    for ch in changed:
        assert ch.note_id is not None
        for lk in ch.note.links:
            card_id = next((cid for a, b, cid in spans.get(ch.note_id, []) if a <= lk.line <= b), None)
            link_rows.append(
                (ch.note_id, card_id, lk.line, lk.target, lk.heading, lk.block, lk.display, int(lk.markdown))
            )
    conn.executemany(
        "INSERT INTO link (note_id, card_id, line, target, heading, block, display) VALUES (?,?,?,?,?,?,?)",
        [r[:7] for r in link_rows],
    )
    _resolve_links(
        conn,
        [] if note_set_changed else changed_ids,
        markdown_targets={(r[0], r[3]) for r in link_rows if r[7]},
    )


def _rowid(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just wrote."""
    if cur.lastrowid is None:
        raise RuntimeError("INSERT returned no row id")
    return cur.lastrowid


def _resolve_links(
    conn: sqlite3.Connection, note_ids: list[int | None], markdown_targets: set[tuple[int | None, str]]
) -> None:
    """Set ``link.target_note_id``: for the given notes' links, or for all links if none given."""
    notes = list(conn.execute("SELECT id, path, aliases FROM note WHERE present = 1"))
    resolver = LinkResolver.build((str(p), json.loads(a)) for _, p, a in notes)
    id_of = {str(p): int(i) for i, p, _ in notes}
    if note_ids:
        rows = list(
            conn.execute(
                "SELECT link.id, link.target, link.note_id, note.path FROM link JOIN note ON note.id = link.note_id "
                "WHERE link.note_id IN (SELECT value FROM json_each(?))",
                (json.dumps(note_ids),),
            )
        )
    else:
        rows = list(
            conn.execute(
                "SELECT link.id, link.target, link.note_id, note.path FROM link JOIN note ON note.id = link.note_id"
            )
        )
    from .parse import Link

    updates = []
    for link_id, target, note_id, path in rows:
        markdown = (note_id, target) in markdown_targets or target.lower().endswith(".md")
        hit = resolver.resolve(Link(target=target, line=0, markdown=markdown), path)
        updates.append((id_of.get(hit) if hit else None, link_id))
    conn.executemany("UPDATE link SET target_note_id = ? WHERE id = ?", updates)


# -- writing block ids -----------------------------------------------------------------


def _new_block_id(card_id: int, taken: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.blake2b(f"{card_id}:{salt}".encode(), digest_size=3).hexdigest()
        bid = f"srs-{digest}"
        if bid not in taken:
            taken.add(bid)
            return bid
        salt += 1


def write_block_ids(
    conn: sqlite3.Connection, vault: Path, now: datetime, *, ignore: Sequence[str] = ()
) -> tuple[int, list[Diagnostic]]:
    """Append a block id to every card of the vault that has none.

    Call after ``sync_vault``. Each note is rewritten atomically (temporary file
    and rename); only `` ^id`` is appended to a card's last line (or, where that
    line closes a code or math block, an ``^id`` line is added after it).
    A note whose content differs from what the last sync read is refused.

    Returns:
        The number of ids written and diagnostics for refused notes.
    """
    diags: list[Diagnostic] = []
    rows = list(
        conn.execute(
            "SELECT card.id, card.note_id, card.line, card.end_line, card.direction, card.cloze, "
            "note.path, note.content_hash FROM card JOIN note ON note.id = card.note_id "
            "WHERE card.block_id IS NULL AND card.retired = 0 AND note.present = 1 ORDER BY note.path, card.end_line"
        )
    )
    taken = {r[0] for r in conn.execute("SELECT DISTINCT block_id FROM card WHERE block_id IS NOT NULL")}
    by_note: dict[str, list[Any]] = {}
    for r in rows:
        by_note.setdefault(str(r[6]), []).append(r)
    written = 0
    assignments: list[tuple[str, int]] = []
    for path, cards in by_note.items():
        target = vault / path
        try:
            data = target.read_bytes()
        except OSError as exc:
            diags.append(
                Diagnostic(path, 1, f"cannot read the note ({exc.strerror}); no ids written", code="io")
            )
            continue
        if content_hash(data) != cards[0][7]:
            diags.append(
                Diagnostic(
                    path,
                    1,
                    "the note changed since it was synced; run sync again; no ids written",
                    code="changed",
                )
            )
            continue
        text = data.decode("utf-8-sig")
        bom = data.startswith(b"\xef\xbb\xbf")
        lines = text.splitlines(keepends=True)
        by_end: dict[int, list[Any]] = {}
        for r in cards:
            by_end.setdefault(int(r[3]), []).append(r)
        inserts: list[tuple[int, str]] = []
        for end_line, group in sorted(by_end.items()):
            if end_line > len(lines):
                continue
            bid = _new_block_id(int(group[0][0]), taken)
            inserts.append((end_line, bid))
            assignments.extend((bid, int(r[0])) for r in group)
        for end_line, bid in sorted(inserts, reverse=True):
            idx = end_line - 1
            line = lines[idx]
            body = line.rstrip("\r\n")
            ending = line[len(body) :] or ("\r\n" if "\r\n" in text else "\n")
            quote = _QUOTE_PREFIX.match(body)
            prefix = quote.group(0) if quote else ""
            if _ends_in_block(lines, end_line):
                if not line.endswith(("\n", "\r")):
                    lines[idx] = body + ending
                lines.insert(idx + 1, f"{prefix}^{bid}" + (line[len(body) :] or ""))
            else:
                lines[idx] = f"{body} ^{bid}{line[len(body) :]}"
            written += 1
        new_text = "".join(lines)
        try:
            _atomic_write(target, new_text.encode("utf-8"), data, bom)
        except _ChangedError:
            diags.append(
                Diagnostic(
                    path, 1, "the note changed while ids were being written; no ids written", code="changed"
                )
            )
            written -= len(inserts)
            assignments = [a for a in assignments if a[0] not in {b for _, b in inserts}]
            continue
    if assignments:
        with transaction(conn):
            conn.executemany("UPDATE card SET block_id = ? WHERE id = ?", assignments)
    return written, diags


def _ends_in_block(lines: list[str], end_line: int) -> bool:
    """True if the card's last line closes a fence or $$ block (an id cannot go there)."""
    if end_line < 1 or end_line > len(lines):
        return False
    s = _QUOTE_PREFIX.sub("", lines[end_line - 1]).strip()
    return s.startswith(("```", "~~~", "$$")) or s.endswith("$$")


_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+")


class _ChangedError(Exception):
    pass


def _atomic_write(target: Path, new: bytes, expected: bytes, bom: bool) -> None:
    """Replace ``target`` with ``new`` unless it no longer holds ``expected``."""
    if bom:
        new = b"\xef\xbb\xbf" + new
    tmp = target.with_name(f".{target.name}.mlsys-srs.tmp")
    st = target.stat()
    with open(tmp, "wb") as fh:
        fh.write(new)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.chmod(tmp, st.st_mode & 0o7777)
        if target.read_bytes() != expected:
            raise _ChangedError
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
