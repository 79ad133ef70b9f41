"""The first sync of an empty database: notes read, parsed and written in one pass, a share at a time.

With nothing stored there is nothing to match: every card is new, no card is retired or
revived, no note is renamed. ``cold_sync`` writes exactly the rows, report and diagnostics that
``sync_vault``'s phases write for such a database (tests/test_sync_cold.py compares them), but
forked workers read, parse and shape the rows of one share of the notes after another while
this process writes the shares before it, and nothing of a share is kept once it is written
but its links, which are resolved once every note is in. So a first sync of 20,000 notes
neither holds every parsed note at once nor leaves the cores idle while it writes.

The caller holds the write transaction for the whole pass; ``sync_vault`` takes this path only
for a database without notes and from ``COLD_MIN`` notes on (a smaller vault is read and
parsed before its transaction, as every later sync is).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..identity import card_uid, salted
from ..parse import Diagnostic, parse_note
from ..store import cards as card_store
from ..store import links as link_store
from ..store import notes as note_store
from .match import block_key
from .parallel import PARALLEL_MIN, ordered_shares, workers_for
from .rows import BLOCK_ID_FIELD, card_fields, link_cards, markdown_targets, note_values
from .walk import Progress, VaultFile, content_hash, decode_note, read_file

if TYPE_CHECKING:
    from .apply import SyncReport

COLD_MIN = PARALLEL_MIN
"""Notes from which a first sync streams (below it the whole parse is small and quick)."""
SHARE = 100
"""Notes per share: what a worker reads and parses at a time."""

UNREADABLE, UNDECODABLE, NOTE = range(3)

_FILES: Sequence[VaultFile] = ()
_HIGHLIGHT = False
_STAMP: str | None = None

# What a worker sends back for one file, as plain tuples (cheap to pickle):
#   (UNREADABLE | UNDECODABLE, Diagnostic), or
#   (NOTE, (note values, diagnostics, cards, links)) where each card is
#   (card_fields, uid, uid without its block id or None, tags) and each link
#   (index of its card in the note or None, line, target, heading, block, display, markdown).
_Card = tuple[tuple[Any, ...], str, str | None, tuple[str, ...]]
_Link = tuple[int | None, int, str, str | None, str | None, str | None, bool]
_Note = tuple[tuple[Any, ...], tuple[Diagnostic, ...], list[_Card], list[_Link]]
_Result = tuple[int, Diagnostic | _Note]


def _read_share(a: int, b: int) -> list[_Result]:
    """Read, decode and parse files ``a..b`` of ``_FILES``; shape what will be written."""
    out: list[_Result] = []
    for f in _FILES[a:b]:
        data = read_file(f)
        if isinstance(data, Diagnostic):
            out.append((UNREADABLE, data))
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            out.append((UNDECODABLE, text))
            continue
        note = parse_note(text, f.path, highlight_cloze=_HIGHLIGHT)
        cards: list[_Card] = [
            (
                card_fields(card),
                card_uid(note.path, card.fingerprint, card.block_id, card.direction, card.cloze),
                card_uid(note.path, card.fingerprint, None, card.direction, card.cloze)
                if card.block_id
                else None,
                card.tags,
            )
            for card in note.cards
        ]
        md = markdown_targets(note)
        links: list[_Link] = [
            (idx, lk.line, lk.target, lk.heading, lk.block, lk.display, lk.target in md)
            for lk, idx in zip(note.links, link_cards(note), strict=True)
        ]
        values = note_values(note, f.size, f.mtime_ns, content_hash(data), _STAMP)
        out.append((NOTE, (values, note.diagnostics, cards, links)))
    return out


def cold_sync(
    conn: sqlite3.Connection,
    files: Sequence[VaultFile],
    report: SyncReport,
    progress: Progress | None,
    *,
    highlight_cloze: bool,
    stamp: str | None,
) -> None:
    """Write every note of ``files`` into the empty database, inside the caller's transaction.

    ``report`` is filled as ``sync_vault`` fills it; its walk diagnostics are already in it.
    """
    global _FILES, _HIGHLIGHT, _STAMP
    read_diags: list[Diagnostic] = []
    note_diags: list[Diagnostic] = []
    dups: list[tuple[int, int, Diagnostic]] = []  # (rank of the block id, card index, diagnostic)
    claimed: dict[tuple[str, str, int], int] = {}  # block id, direction, cloze -> rank of first claim
    taken: set[str] = set()  # uids given so far (the database had none)
    links: list[tuple[int, int | None, int, str, str | None, str | None, str | None, str, bool]] = []
    index = 0  # of the card among all cards, in note order
    done = 0
    next_id = card_store.next_card_id(conn)
    _FILES, _HIGHLIGHT, _STAMP = files, highlight_cloze, stamp
    # The parser imports its YAML reader on first use: once here, not once in every worker.
    from ..parse import meta  # noqa: F401

    try:
        with card_store.bulk_cards(conn, next_id, indexes=True, tables=("card", "card_tag", "link")):
            shares = ordered_shares(_read_share, len(files), share=SHARE, workers=workers_for(len(files)))
            for share in shares:
                notes: list[_Note] = []
                for kind, payload in share:
                    if isinstance(payload, Diagnostic):
                        read_diags.append(payload)
                        report.notes_read += kind == UNDECODABLE
                    else:
                        notes.append(payload)
                        report.notes_read += 1
                report.notes_parsed += len(notes)
                report.notes_added += len(notes)
                note_ids = note_store.insert_notes(conn, [n[0] for n in notes])
                card_rows = []
                tag_rows: list[tuple[int, str]] = []
                for note_id, (values, diagnostics, cards, note_links) in zip(note_ids, notes, strict=True):
                    note_diags.extend(diagnostics)
                    path = str(values[0])
                    first = next_id
                    for fields, uid, plain_uid, tags in cards:
                        bid = fields[BLOCK_ID_FIELD]
                        if bid:
                            key = block_key(bid, fields[4], fields[5])
                            if key in claimed:
                                # As match_cards: the first copy keeps the id, later ones are new cards.
                                dups.append(
                                    (
                                        claimed[key],
                                        index,
                                        Diagnostic(
                                            path,
                                            fields[0],
                                            f"block id ^{bid} is used twice in the vault; "
                                            "this copy is treated as a new card",
                                            code="duplicate-id",
                                        ),
                                    )
                                )
                                fields = card_fields_without_block_id(fields)
                                assert plain_uid is not None
                                uid = plain_uid
                            else:
                                claimed[key] = len(claimed)
                        given = uid
                        if given in taken:
                            n = 1
                            given = salted(uid, n)
                            while given in taken:
                                n += 1
                                given = salted(uid, n)
                        taken.add(given)
                        card_rows.append((next_id, note_id, *fields, stamp, stamp, given))
                        for tag in tags:
                            tag_rows.append((next_id, tag))
                        next_id += 1
                        index += 1
                    for idx, line, target, heading, block, display, md in note_links:
                        cid = None if idx is None else first + idx
                        links.append((note_id, cid, line, target, heading, block, display, path, md))
                card_store.insert_card_rows(conn, card_rows)
                card_store.insert_card_tags(conn, tag_rows)
                report.cards_added += len(card_rows)
                done += len(share)
                if progress is not None:
                    progress(done, len(files))
            # Links are written resolved, now that every note is in.
            targets = link_store.LinkTargets(conn)
            link_store.replace_links(
                conn,
                [],
                [
                    (nid, cid, line, target, heading, block, display, targets.note_id(target, path, md))
                    for nid, cid, line, target, heading, block, display, path, md in links
                ],
            )
    finally:
        _FILES = ()
    dups.sort(key=lambda d: (d[0], d[1]))
    report.diagnostics.extend(read_diags)
    report.diagnostics.extend(note_diags)
    report.diagnostics.extend(d for _, _, d in dups)


def card_fields_without_block_id(fields: tuple[object, ...]) -> tuple[object, ...]:
    """``card_fields`` of a duplicate copy: its block id is not written."""
    return (*fields[:BLOCK_ID_FIELD], None, *fields[BLOCK_ID_FIELD + 1 :])
