"""Anki notes built from cards: their note type, fields, tags, deck, cards' positions and date.

``Builder`` turns cards (whole notes' cards) into ``Built`` notes for
``anki.export`` to write:

- a card of the vault becomes a note of our note types (``anki.notetypes``):
  a basic card's own note, one note per cloze paragraph;
- a card that moved in from Anki and whose origin is recorded
  (``anki.origins``) goes back as the note it was: its own note type and deck,
  the two sides of a reversed note as its two cards;
- every card gets its position in Anki's new-card order (``anki.positions``);
- a note is dated when its content last changed (``dated`` then dates it by the
  package before, so a re-import updates exactly the notes that changed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from ..parse.model import Diagnostic
from ..store import export_cache
from ..store.cards import CardView, content_times
from ..store.filters import CardFilter
from ..store.render_cache import cached_renders, has_renders
from .collection import OldNote
from .ids import BLOCK_PREFIX, NoteSpec, card_ordinal, group_notes
from .labels import anki_tags, deck_name, folder_number, source_field
from .notetypes import AnkiNote
from .origins import Origins, foreign_note, foreign_tags
from .positions import Positions


@dataclass
class Built:
    """One Anki note built from cards, ready to write."""

    key: str
    deck: str
    note: AnkiNote
    mtime: datetime
    volatile: bool
    scheduled: frozenset[int] = frozenset()
    """The ordinals of its cards that are not new in the package (they carry scheduling)."""


def as_row(b: Built, deck_id: int) -> OldNote:
    """What a freshly built note would be as a row of the collection."""
    return OldNote(
        b.note.guid,
        b.note.model.model_id,
        "\x1f".join(b.note.fields),
        " ".join(sorted(b.note.tags)),
        int(b.mtime.timestamp()),
        frozenset((deck_id, o, None if o in b.scheduled else p) for o, p in b.note.positions.items()),
    )


_NONE: frozenset[int] = frozenset()


class Builder:
    """Builds Anki notes from cards, a batch at a time (a full build) or all at once (incremental)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        renderer: Any,
        models: tuple[Any, Any],
        root: str,
        vault_name: str | None,
        now: datetime,
    ) -> None:
        self.conn = conn
        self.renderer = renderer
        self.basic, self.cloze = models
        self.root = root
        self.vault_name = vault_name
        self.now = now
        self.cached = has_renders(conn)
        self.used_blocks: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.fresh: list[tuple[str, str]] = []
        """Rendered HTML to add to the render cache."""
        self.use(CardFilter(), Positions([]), Origins(), {}, scheduling=False)

    def use(
        self,
        flt: CardFilter,
        positions: Positions,
        origins: Origins,
        numbers: dict[str, int | None],
        scheduling: bool,
    ) -> None:
        """What the notes are built with besides the cards: the export's filter, the notes' positions
        (``anki.positions``), the origins of the notes that moved in, the deck numbers by domain, and
        whether the cards carry scheduling."""
        self.flt, self.positions, self.origins, self.numbers = flt, positions, origins, numbers
        self.scheduling = scheduling
        self.paired = origins.paired

    def deck(self, card: CardView) -> str:
        """The deck of a card's domain (numbered like the folder its notes start in)."""
        number = self.numbers[card.domain] if card.domain in self.numbers else folder_number(card.note)
        return deck_name(self.root, card.domain, number)

    def build(self, cards: Sequence[CardView]) -> tuple[list[Built], dict[tuple[str, int], CardView]]:
        """The notes of ``cards`` (whole notes' cards, in export order), each dated when its content
        last changed (``dated`` then dates it by the package before), and their cards by
        ``(GUID, ordinal)``."""
        renderer, now = self.renderer, self.now
        renderer.cache = (
            cached_renders(
                self.conn,
                renderer.keys_for(
                    (text, c.note)
                    for c in cards
                    for text in ((c.source,) if c.kind == "cloze" else (c.question, c.answer))
                ),
            )
            if self.cached and cards
            else {}
        )
        renderer.fresh = {}
        changed_at = content_times(self.conn, [c.id for c in cards])
        order = export_cache.card_order(self.conn, self.flt, {c.note_id for c in cards}) if cards else {}
        positions = self.positions.of_cards(order)
        built: list[Built] = []
        by_guid_ord: dict[tuple[str, int], CardView] = {}
        for spec in group_notes(cards, self.used_blocks, self.paired):
            images, warned = renderer.images, len(self.diagnostics)
            first = spec.cards[0]
            deck = self.deck(first)
            home = self.origins.of(spec.guid) if (first.block_id or "").startswith(BLOCK_PREFIX) else None
            if home is not None:
                origin, model = home

                def render(text: str, first: CardView = first) -> str:
                    # A line of a moved-in note is a line of its Anki field (the import wrote
                    # them so): single line breaks are breaks, whatever the vault's setting.
                    return str(renderer.render(text, note=first.note, line=first.line, breaks=True))

                fields, ords = foreign_note(spec, origin, model, render)
                note = AnkiNote(model, fields, foreign_tags(spec.cards), spec.guid, ords)
                deck = origin.deck or deck
            else:
                note = self._own_note(spec)
            for card in spec.cards:
                by_guid_ord[(spec.guid, card_ordinal(spec, card))] = card
            scheduled = self._place(spec, note, positions)
            mtime = min(now, max(changed_at.get(c.id, now) for c in spec.cards))
            volatile = renderer.images != images or len(self.diagnostics) != warned
            note.mod = int(mtime.timestamp())
            built.append(Built(spec.key, deck, note, mtime, volatile, scheduled))
        self.fresh.extend(renderer.fresh.items())
        return built, by_guid_ord

    def _own_note(self, spec: NoteSpec) -> AnkiNote:
        """A note of our own note types (``mlsys-srs Basic``/``Cloze``)."""
        renderer, first = self.renderer, spec.cards[0]
        context = escape(first.context, quote=False)
        source = source_field(first.note, first.line, self.vault_name)
        if not spec.cloze:
            front = renderer.render(first.question, note=first.note, line=first.line)
            back = renderer.render(first.answer, note=first.note, line=first.line)
            return AnkiNote(self.basic, [front, back, context, source], anki_tags(first), spec.guid)
        text = renderer.render(first.source, note=first.note, line=first.line)
        note = AnkiNote(self.cloze, [text, "", context, source], anki_tags(first), spec.guid)
        if len(note.ords) != len(spec.cards):
            self.diagnostics.append(
                Diagnostic(
                    first.note,
                    first.line,
                    f"cloze paragraph has {len(spec.cards)} cards here but {len(note.ords)} in Anki "
                    "(a deletion inside code or a link?)",
                    severity="warning",
                    code="export",
                )
            )
        return note

    def _place(self, spec: NoteSpec, note: AnkiNote, positions: dict[int, int]) -> frozenset[int]:
        """Give the note's cards their positions in Anki's new-card order (a card Anki makes that
        has no card here takes the note's first position); the ordinals of its cards that carry
        scheduling."""
        cards = spec.cards
        if len(cards) == 1 and note.ords == [0]:  # most notes: one card
            note.positions = {0: positions.get(cards[0].id, 0)}
            return frozenset((0,)) if self.scheduling and cards[0].state != "new" else _NONE
        by_ord = {card_ordinal(spec, c): c for c in cards}
        first = min((positions[c.id] for c in cards if c.id in positions), default=0)
        note.positions = {o: positions.get(by_ord[o].id, first) if o in by_ord else first for o in note.ords}
        if not self.scheduling:
            return _NONE
        return frozenset(o for o, c in by_ord.items() if o in note.positions and c.state != "new")


def dated(
    built: list[Built], previous: Callable[[list[str]], dict[str, tuple[str, str, int]]], now: datetime
) -> list[Built]:
    """``built``, each note that the package before holds dated by it: as it was there when its
    fields and tags are the same, else now (they changed without a text change: a tag, a heading,
    a rename). ``previous`` gives ``GUID -> (fields, tags, time)`` of the package before."""
    before_of = previous([b.note.guid for b in built])
    for b in built:
        before = before_of.get(b.note.guid)
        if before is None:
            continue
        if before[:2] != ("\x1f".join(b.note.fields), " ".join(sorted(b.note.tags))):
            b.mtime = now
        else:
            b.mtime = min(now, datetime.fromtimestamp(before[2], now.tzinfo))
        b.note.mod = int(b.mtime.timestamp())
    return built
