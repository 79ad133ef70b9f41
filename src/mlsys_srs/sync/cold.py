"""The first sync of an empty database: notes read, parsed and written in one pass, a share at a time.

With nothing stored there is nothing to match: every card is new, no card is retired or
revived, no note is renamed. ``cold_sync`` writes exactly the rows, report and diagnostics that
``sync_vault``'s phases write for such a database (tests/test_sync_cold.py compares them), but
forked workers read, parse and shape the rows of one share of the notes after another while
this process writes the shares before it (cards, tags, links, and every 10,000 cards the search
index), and nothing of a share is kept once it is written. The workers resolve links against
the paths of every file found, with the ids those notes get when every file can be read; at the
end only the links to no path or name (an alias, or no note) are resolved, or every link when a
file could not be read. So a first sync of 20,000 notes neither holds every parsed note at once
nor leaves the cores idle while it writes, and little is left to do once the parse is over: the
card, tag and link indexes (built in one pass each) and the commit.

The caller holds the write transaction for the whole pass, inside ``store.db.first_load`` (links
are written before the notes they name: foreign keys are not checked row by row); ``sync_vault``
takes this path only for a database without notes and from ``COLD_MIN`` notes on (a smaller
vault is read and parsed before its transaction, as every later sync is).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.identity import card_uid, salted
from ..core.workers import fork_map, shares
from ..parse import Diagnostic, parse_note
from ..store import card_sync as sync_store
from ..store import links as link_store
from ..store import notes as note_store
from .match import block_key
from .parallel import PARALLEL_MIN, workers_for
from .rows import BLOCK_ID_FIELD, card_fields, link_cards, markdown_targets, note_values
from .walk import Progress, VaultFile, content_hash, decode_note, read_file

if TYPE_CHECKING:
    from .apply import SyncReport

COLD_MIN = PARALLEL_MIN
"""Notes from which a first sync streams (below it the whole parse is small and quick)."""
SHARE = 100
"""Notes per share: what a worker reads and parses at a time."""
SEARCH_BATCH = 10_000
"""Cards added to the search index at a time (each statement leaves it one more segment to merge)."""


@dataclass(frozen=True)
class _ColdJob:
    """What the workers of a cold sync read (inherited when they are forked)."""

    files: Sequence[VaultFile]
    highlight_cloze: bool
    stamp: str | None
    targets: link_store.LinkTargets
    """Every file found as a note, ids counting from the first note's: links are resolved against
    them as they are parsed (right unless a file cannot be read; ``cold_sync`` checks)."""


@dataclass
class _Share:
    """What a worker sends back for one share of files, as rows (cheap to pickle).

    Ids in the rows count from 0 within the share (notes: among its readable notes; cards: among
    its cards); ``cold_sync`` has the database add where the share's notes and cards start.
    """

    read_diags: list[Diagnostic] = field(default_factory=list)
    """Files that cannot be read or decoded, in file order."""
    notes_read: int = 0
    """Files read (decoded or not)."""
    notes: list[tuple[Any, ...]] = field(default_factory=list)
    """``(note, *NOTE_WRITE_COLUMNS)``."""
    note_diags: list[Diagnostic] = field(default_factory=list)
    cards: list[tuple[Any, ...]] = field(default_factory=list)
    """``(card, note, *card_fields, created_at, updated_at, uid)``."""
    plain_uids: dict[int, str] = field(default_factory=dict)
    """card -> its uid without its block id (a duplicate copy's), for the cards that have one."""
    tags: list[tuple[int, str]] = field(default_factory=list)
    """``(card, tag)``."""
    links: list[tuple[int, int | None, int, str, str | None, str | None, str | None, int | None]] = field(
        default_factory=list
    )
    """``(note, card or None, line, target, heading, block, display, target note id or None)``."""
    markdown_targets: list[tuple[int, str]] = field(default_factory=list)
    """``(note, target)``: the note links to the target with a Markdown link."""
    unresolved: int = 0
    """Links to no file's path or name."""


# Where a card row holds its line, direction, cloze, block id and uid.
_LINE, _DIRECTION, _CLOZE = 2, 6, 7
_BLOCK_ID = 2 + BLOCK_ID_FIELD


def _read_share(job: _ColdJob, a: int, b: int) -> _Share:
    """Read, decode and parse files ``a..b`` of the job; shape the rows that will be written."""
    out = _Share()
    stamp = job.stamp
    for f in job.files[a:b]:
        data = read_file(f)
        if isinstance(data, Diagnostic):
            out.read_diags.append(data)
            continue
        out.notes_read += 1
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            out.read_diags.append(text)
            continue
        note = parse_note(text, f.path, highlight_cloze=job.highlight_cloze)
        rel_note = len(out.notes)
        out.notes.append((rel_note, *note_values(note, f.size, f.mtime_ns, content_hash(data), stamp)))
        out.note_diags.extend(note.diagnostics)
        first = len(out.cards)
        for card in note.cards:
            rel = len(out.cards)
            uid = card_uid(note.path, card.fingerprint, card.block_id, card.direction, card.cloze)
            out.cards.append((rel, rel_note, *card_fields(card), stamp, stamp, uid))
            if card.block_id:
                out.plain_uids[rel] = card_uid(note.path, card.fingerprint, None, card.direction, card.cloze)
            for tag in card.tags:
                out.tags.append((rel, tag))
        md = markdown_targets(note)
        out.markdown_targets.extend((rel_note, t) for t in md)
        targets = job.targets.note_ids(note.links, note.path, md)
        out.unresolved += targets.count(None)
        for lk, idx, target in zip(note.links, link_cards(note), targets, strict=True):
            card_at = None if idx is None else first + idx
            out.links.append(
                (rel_note, card_at, lk.line, lk.target, lk.heading, lk.block, lk.display, target)
            )
    return out


def _give_ids(
    share: _Share,
    first: int,
    claimed: dict[tuple[str, str, int], int],
    taken: set[str],
    dups: list[tuple[int, int, Diagnostic]],
) -> None:
    """Settle the block ids and uids of a share's cards (ids from ``first`` on), as ``match_cards``
    and ``_new_uids`` would: a block id already claimed is dropped with a diagnostic, a uid
    already given is salted. ``claimed``, ``taken`` and ``dups`` carry over from share to share."""
    cards = share.cards
    for k, plain in share.plain_uids.items():
        row = cards[k]
        bid = row[_BLOCK_ID]
        key = block_key(bid, row[_DIRECTION], row[_CLOZE])
        if key in claimed:
            # As match_cards: the first copy keeps the id, later ones are new cards.
            path = share.notes[row[1]][1]
            message = f"block id ^{bid} is used twice in the vault; this copy is treated as a new card"
            dups.append((claimed[key], first + k, Diagnostic(path, row[_LINE], message, code="duplicate-id")))
            cards[k] = (*row[:_BLOCK_ID], None, *row[_BLOCK_ID + 1 : -1], plain)
        else:
            claimed[key] = len(claimed)
    uids = [row[-1] for row in cards]
    if taken.isdisjoint(uids) and len(set(uids)) == len(uids):
        taken.update(uids)
        return
    for k, uid in enumerate(uids):
        if uid in taken:
            n = 1
            given = salted(uid, n)
            while given in taken:
                n += 1
                given = salted(uid, n)
            cards[k] = (*cards[k][:-1], given)
            uid = given
        taken.add(uid)


def cold_sync(
    conn: sqlite3.Connection,
    files: Sequence[VaultFile],
    report: SyncReport,
    progress: Progress | None,
    *,
    highlight_cloze: bool,
    stamp: str | None,
) -> None:
    """Write every note of ``files`` into the empty database, inside the caller's transaction
    (under ``store.db.first_load``: a link is written before the note it names).

    ``report`` is filled as ``sync_vault`` fills it; its walk diagnostics are already in it.
    """
    read_diags: list[Diagnostic] = []
    note_diags: list[Diagnostic] = []
    dups: list[tuple[int, int, Diagnostic]] = []  # (rank of the block id, card id, diagnostic)
    claimed: dict[tuple[str, str, int], int] = {}  # block id, direction, cloze -> rank of first claim
    taken: set[str] = set()  # uids given so far (the database had none)
    md_targets: set[tuple[int | None, str]] = set()
    unresolved = 0
    done = 0
    first_card = next_card = searched = sync_store.next_card_id(conn)
    first_note = next_note = note_store.next_note_id(conn)
    # Link targets among the files found, as the notes they become if every file can be read.
    targets = link_store.LinkTargets.of_notes((first_note + i, f.path, ()) for i, f in enumerate(files))
    job = _ColdJob(files, highlight_cloze, stamp, targets)
    # The parser imports its YAML reader on first use: once here, not once in every worker.
    from ..parse import meta  # noqa: F401

    with sync_store.bulk_cards(
        conn, first_card, indexes=True, tables=("card", "card_tag", "link"), search=False
    ):
        parts = fork_map(_read_share, job, shares(len(files), SHARE), workers=workers_for(len(files)))
        for share in parts:
            read_diags += share.read_diags
            note_diags += share.note_diags
            report.notes_read += share.notes_read
            report.notes_parsed += len(share.notes)
            report.notes_added += len(share.notes)
            note_store.insert_notes_with_ids(conn, share.notes, next_note)
            cards = share.cards
            _give_ids(share, next_card, claimed, taken, dups)
            sync_store.insert_card_rows(conn, cards, id_offset=next_card, note_offset=next_note)
            sync_store.insert_card_tags(conn, share.tags, id_offset=next_card)
            link_store.insert_links(conn, share.links, note_offset=next_note, card_offset=next_card)
            md_targets.update((next_note + n, t) for n, t in share.markdown_targets)
            unresolved += share.unresolved
            report.cards_added += len(cards)
            next_note += len(share.notes)
            next_card += len(cards)
            if next_card - searched >= SEARCH_BATCH:
                # Indexed for search as they are written, while the workers parse the next shares.
                sync_store.index_for_search(conn, searched, next_card)
                searched = next_card
            done += min(SHARE, len(files) - done)
            if progress is not None:
                progress(done, len(files))
        sync_store.index_for_search(conn, searched)
        if read_diags:
            # A file counted as a note is none: the notes after it have other ids, and a link
            # may have been resolved to it.
            link_store.resolve_links(conn, [], md_targets)
        elif unresolved:
            # Links to no note's path or name: to a note's alias, or to no note.
            link_store.resolve_links(conn, [], md_targets, unresolved=True)
    dups.sort(key=lambda d: (d[0], d[1]))
    report.diagnostics.extend(read_diags)
    report.diagnostics.extend(note_diags)
    report.diagnostics.extend(d for _, _, d in dups)
