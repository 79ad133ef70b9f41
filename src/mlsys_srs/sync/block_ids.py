"""``sync --write-ids``: append block ids to cards that have none. The only code that writes notes."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..parse import Diagnostic
from ..parse.lines import QUOTE_PREFIX_RE
from ..parse.text import split_lines
from ..store import card_sync as sync_store
from ..store.card_sync import IdlessCard
from ..store.db import transaction
from ..vault.writes import DiskFull, NoteChanged, NoteWriteError, ReadOnlyNote, rewrite_note
from .walk import content_hash


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

    Call after ``sync_vault``. Each note is rewritten by ``vault.writes.rewrite_note``
    (never a read-only note, links and owner kept); only `` ^id`` is appended to a card's last line (or, where that
    line closes a code or math block, an ``^id`` line is added after it).
    A note whose content differs from what the last sync read is refused, and
    so is one that changes while it is written; a full disk stops the writing.

    Returns:
        The number of ids written and diagnostics for refused notes.
    """
    from ..parse import parse_note  # not at import: sync imports this module on every run

    diags: list[Diagnostic] = []
    rows = sync_store.cards_without_block_ids(conn)
    taken = sync_store.block_ids_in_use(conn)
    by_note: dict[str, list[IdlessCard]] = {}
    for r in rows:
        by_note.setdefault(r.path, []).append(r)
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
        if content_hash(data) != cards[0].content_hash:
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
        lines = split_lines(text, keepends=True)
        by_end: dict[int, list[IdlessCard]] = {}
        for r in cards:
            by_end.setdefault(r.end_line, []).append(r)
        inserts: list[tuple[int, str, bool]] = []
        # Anything appended inside a code or math block that never closes would be part of it.
        unclosed = min(
            (d.line for d in parse_note(text, path).diagnostics if d.code == "unclosed-fence"), default=None
        )
        for end_line, group in sorted(by_end.items()):
            if end_line > len(lines):
                continue
            if unclosed is not None and end_line >= unclosed:
                diags.append(
                    Diagnostic(
                        path,
                        group[0].line,
                        f"the card runs into the code block opened at line {unclosed}, which is never closed; "
                        "close it to give the card an id",
                        severity="warning",
                        code="unclosed-fence",
                    )
                )
                continue
            bid = _new_block_id(group[0].id, taken)
            inserts.append((end_line, bid, end_line > group[0].line))
            assignments.extend((bid, r.id) for r in group)
        for end_line, bid, multiline in sorted(inserts, reverse=True):
            idx = end_line - 1
            line = lines[idx]
            body = line.rstrip("\r\n")
            ending = line[len(body) :] or ("\r\n" if "\r\n" in text else "\n")
            quote = QUOTE_PREFIX_RE.match(body)
            prefix = quote.group(0) if quote else ""
            # A one-line card takes its id on its line, even one that looks like a fence or ends
            # in $$ (the parser reads an id on the next line only after a card of several lines).
            if multiline and _ends_in_block(lines, end_line):
                if not line.endswith(("\n", "\r")):
                    lines[idx] = body + ending
                lines.insert(idx + 1, f"{prefix}^{bid}" + (line[len(body) :] or ""))
            else:
                lines[idx] = f"{body} ^{bid}{line[len(body) :]}"
            written += 1
        new = ("\ufeff" if bom else "") + "".join(lines)
        try:
            rewrite_note(target, data, new.encode("utf-8"))
        except NoteWriteError as exc:
            code = {ReadOnlyNote: "read-only", NoteChanged: "changed", DiskFull: "disk-full"}.get(
                type(exc), "io"
            )
            diags.append(Diagnostic(path, 1, f"{exc.reason}; no ids written", code=code))
            written -= len(inserts)
            assignments = [a for a in assignments if a[0] not in {b for _, b, _ in inserts}]
            if isinstance(exc, DiskFull):
                break
            continue
    if assignments:
        with transaction(conn):
            sync_store.set_block_ids(conn, assignments)
    return written, diags


def _ends_in_block(lines: list[str], end_line: int) -> bool:
    """True if the card's last line closes a fence or $$ block (an id cannot go there)."""
    if end_line < 1 or end_line > len(lines):
        return False
    s = QUOTE_PREFIX_RE.sub("", lines[end_line - 1]).strip()
    return s.startswith(("```", "~~~", "$$")) or s.endswith("$$")
