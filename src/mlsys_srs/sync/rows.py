"""The rows a sync writes for a parsed note: one definition for every path that writes them.

Pure functions of a parsed note (and the file it came from); the first sync of an empty
database calls them in its worker processes, an incremental sync in this one.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right

from ..parse import ParsedCard, ParsedNote

BLOCK_ID_FIELD = 10
"""Where ``card_fields`` puts the block id."""


def note_values(
    note: ParsedNote, size: int, mtime_ns: int, content_hash: str, stamp: str | None
) -> tuple[object, ...]:
    """A note's row in ``store.notes.NOTE_WRITE_COLUMNS`` order."""
    return (
        note.path,
        note.title,
        note.domain,
        json.dumps(list(note.tags)),
        json.dumps(list(note.aliases)),
        int(note.srs),
        size,
        mtime_ns,
        content_hash,
        json.dumps([[d.line, d.severity, d.message] for d in note.diagnostics]),
        stamp,
    )


def card_fields(card: ParsedCard, duplicate: bool = False) -> tuple[object, ...]:
    """A card's ``store.schema.CARD_TEXT_COLUMNS`` but ``note_id``, in that order; a ``duplicate``
    copy of a block id another card holds is written without it."""
    return (
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
        None if duplicate else card.block_id,
        card.fingerprint,
    )


def link_cards(note: ParsedNote) -> list[int | None]:
    """For each of the note's links, the index of the first card (in note order) whose lines hold
    the link's line; None for a link outside every card."""
    if not note.links:
        return []
    lines = sorted({lk.line for lk in note.links})
    first: dict[int, int] = {}
    for idx, card in enumerate(note.cards):
        for k in range(bisect_left(lines, card.line), bisect_right(lines, card.end_line)):
            first.setdefault(lines[k], idx)
    return [first.get(lk.line) for lk in note.links]


def markdown_targets(note: ParsedNote) -> set[str]:
    """Targets the note links to with a Markdown link: its links to them resolve as paths."""
    return {lk.target for lk in note.links if lk.markdown}
