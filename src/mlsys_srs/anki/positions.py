"""New cards' positions in Anki: our learning order, sparse, and kept from one export to the next.

Anki introduces new cards deck by deck (decks in name order, ``anki.labels``
numbers them like the folders) and, in a deck, by position: a new card's ``due``.
``review`` introduces them in learning order (``scheduling.queue.learning_ranks``:
numbered folders first, a folder's index note and the notes it links to in
order, then by name; in a note, by line). So each exported note gets a *base*
position in that order and its cards follow it: ``base + k`` for its k-th card
(by line, then id).

The bases are sparse and remembered: the package records them (``CONF_KEY`` in
its collection's configuration) and the next export to the same file keeps every
base that is still in order, placing a new note in the gap between its
neighbours. So inserting a note renumbers no other note, and the cards already
in Anki (whose positions an import never changes) and the new ones interleave
in learning order. A first export puts the i-th note at ``(i + 1) * NOTE_GAP``
(closer when that would pass ``POSITION_LIMIT``, above which Anki's "Check
Database" renumbers new cards). A note whose base must move (it moved in the
learning order, or its neighbours left it no room) is built again by an
incremental export (``moved``).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..store import export_cache
from ..store import notes as note_store
from ..store.filters import CardFilter

CONF_KEY = "mlsysSrsPositions"
"""Where a package records its notes' base positions (``{note path: base}``) in its ``col.conf``."""
POSITION_LIMIT = 1_000_000
"""Anki's "Check Database" renumbers new cards at or above this position."""
NOTE_GAP = 1_000
"""Free positions left after each note by a first export (room for notes inserted later)."""


class ExportedNote(NamedTuple):
    """A note with exported cards (a named tuple: a vault has tens of thousands)."""

    id: int
    path: str
    domain: str
    cards: int
    moved_in: int
    """One of its cards moved in from Anki (its block id starts ``anki-``): 1, else 0."""
    has_cloze: int
    has_basic: int


@dataclass
class Positions:
    """The exported notes in learning order and their base positions."""

    notes: list[ExportedNote]
    bases: dict[int, int] = field(default_factory=dict)
    """Note id -> base position (set by ``assign``)."""
    previous: dict[str, int] = field(default_factory=dict)
    """The bases of the package before, by note path (set by ``assign``)."""

    @classmethod
    def plan(cls, conn: sqlite3.Connection, flt: CardFilter) -> Positions:
        """The notes of the cards ``flt`` exports, in the order ``review`` introduces them.

        The ranks come from every present note and the index notes' links, as ``review`` ranks them.
        """
        from ..scheduling.queue import learning_ranks

        notes = [ExportedNote._make(row) for row in export_cache.exported_notes(conn, flt)]
        ranks = learning_ranks(
            note_store.present_note_paths(conn).values(),
            lambda indexes: note_store.resolved_note_links(conn, indexes),
        )
        notes.sort(key=lambda n: (ranks.get(n.path, ((), 0, "")), n.path))
        return cls(notes)

    def assign(self, previous: Any) -> None:
        """Give every note its base: kept from ``previous`` (``{path: base}``, as ``conf`` wrote
        it; anything else counts as none) where still in order and with room, else in the gap."""
        self.previous = _previous(previous)
        bases = assign_bases([(n.path, n.cards) for n in self.notes], self.previous)
        self.bases = {n.id: b for n, b in zip(self.notes, bases, strict=True)}

    def moved(self) -> list[int]:
        """The notes the previous package placed that ``assign`` placed elsewhere (their cards need
        new positions)."""
        prev = self.previous
        return [n.id for n in self.notes if n.path in prev and prev[n.path] != self.bases.get(n.id)]

    def conf(self) -> dict[str, Any]:
        """What the package records: ``{CONF_KEY: {path: base}}``."""
        return {CONF_KEY: {n.path: self.bases[n.id] for n in self.notes if n.id in self.bases}}

    def of_cards(self, order: Mapping[int, Sequence[int]]) -> dict[int, int]:
        """Card id -> position, for ``order`` (note id -> its exported cards in learning order)."""
        out: dict[int, int] = {}
        for note_id, cards in order.items():
            base = self.bases.get(note_id)
            if base is not None:
                out.update((cid, base + k) for k, cid in enumerate(cards))
        return out


def _previous(previous: Any) -> dict[str, int]:
    if not isinstance(previous, dict):
        return {}
    return {k: v for k, v in previous.items() if type(v) is int and v >= 0 and type(k) is str}


def _increasing(values: Sequence[int]) -> list[int]:
    """The indexes of a longest strictly increasing subsequence of ``values``."""
    tails: list[int] = []  # tails[k]: the smallest last value of an increasing run of length k + 1
    tail_at: list[int] = []
    before: list[int] = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k] = v
            tail_at[k] = i
        before[i] = tail_at[k - 1] if k else -1
    out: list[int] = []
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        out.append(i)
        i = before[i]
    return out[::-1]


def assign_bases(
    notes: Sequence[tuple[str, int]],
    previous: Mapping[str, int],
    *,
    limit: int = POSITION_LIMIT,
    gap: int = NOTE_GAP,
) -> list[int]:
    """Base positions for ``notes`` (``(path, cards)`` in learning order), each note's cards taking
    ``cards`` positions from its base.

    The bases of ``previous`` that are still in increasing order (a longest such run) and leave
    room for the notes between them are kept. The other notes take their place on a grid, the
    i-th note at ``(i + 1) * step`` (``step`` is ``gap``, less when the notes would not fit below
    ``limit``; a note with more cards than ``step`` pushes the next ones along), or, where the
    grid does not fit between two kept bases, are spread evenly over the gap between them. So
    a first export and one that keeps every base agree as long as no note outgrows its step.
    """
    spans = [max(1, c) for _, c in notes]
    before = [0]
    for s in spans:
        before.append(before[-1] + s)

    def room(a: int, b: int) -> int:
        """Positions the notes ``a..b-1`` take."""
        return before[b] - before[a]

    step = min(gap, limit // (len(notes) + 1))
    known = [i for i, (p, _) in enumerate(notes) if p in previous and previous[p] < limit]
    run = [known[j] for j in _increasing([previous[notes[i][0]] for i in known])]
    kept: list[int] = []
    end, last = 0, -1
    for i in run:
        base = previous[notes[i][0]]
        if base >= end + room(last + 1, i):
            kept.append(i)
            end, last = base + spans[i], i
    while kept and end + room(last + 1, len(notes)) > max(limit, (len(notes) + 1) * step):
        kept.pop()
        last = kept[-1] if kept else -1
        end = previous[notes[last][0]] + spans[last] if kept else 0

    bases = [0] * len(notes)
    lo, first = 0, 0
    for i in [*kept, len(notes)]:
        hi = previous[notes[i][0]] if i < len(notes) else None
        grid, pos = [], lo
        for j in range(first, i):
            pos = max((j + 1) * step, pos)
            grid.append(pos)
            pos += spans[j]
        if hi is None or pos <= hi:
            bases[first:i] = grid
        else:  # spread evenly over the gap
            spread = (hi - lo - room(first, i)) // (i - first + 1)
            pos = lo + spread
            for j in range(first, i):
                bases[j] = pos
                pos += spans[j] + spread
        if hi is not None:
            bases[i] = hi
            lo, first = hi + spans[i], i + 1
    return bases
