"""The names our cards have in Anki: note GUIDs, deck ids, row ids, and the block id of a GUID.

The one rule: a note's GUID comes from the card's identity, never from its text
(genanki's default hashes the fields, so an edited card would come back to Anki as a
duplicate). An export and an import both ask this module, so they always agree:

- a basic card's note: from the card's uid (cards from before uids, ``L<id>``, keep
  the GUID of their old id);
- a cloze paragraph's note (its cards share note, line and source): from its block
  id, else its cards' lowest uid;
- a card that moved in from Anki: the GUID it had there, spelt in its block id
  (``anki-`` and the GUID in hex), so an export gives it back under that GUID
  (with both sides of a reversed note as one note's two cards, when its note
  type is recorded: ``anki.origins``).

Decks are matched by name in Anki; their ids are derived from their names so that
they stay put. Note and card row ids count up from the export time in milliseconds,
as genanki counts them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.identity import legacy_card_id

if TYPE_CHECKING:
    from ..store.cards import CardView

GUID_NAMESPACE = "mlsys-srs"
BLOCK_PREFIX = "anki-"
"""How the block id of a card that moved in from Anki starts."""

_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"


def guid_for(*values: object) -> str:
    """genanki's ``guid_for``, computed faster (the same GUIDs; tests/test_export_bulk.py checks):
    the first 8 bytes of SHA-256 of the values joined by ``__``, in Anki's base 91."""
    digest = hashlib.sha256("__".join(str(v) for v in values).encode("utf-8")).digest()
    n = int.from_bytes(digest[:8], "big")
    out: list[str] = []
    while n > 0:
        n, r = divmod(n, 91)
        out.append(_BASE91[r])
    return "".join(reversed(out))


def basic_guid(uid: str) -> str:
    """The GUID of a basic card's note: from the card's uid (the same on every device), so edits
    update it in Anki. Cards from before uids (``L<id>``) keep the GUID they were exported with."""
    legacy = legacy_card_id(uid)
    if legacy is not None:
        return guid_for(GUID_NAMESPACE, "card", legacy)
    return guid_for(GUID_NAMESPACE, "uid", uid)


def cloze_guid(block_id: str | None, uids: Iterable[str]) -> str:
    """The GUID of a cloze paragraph's note: its block id, else its cards' lowest uid (as above,
    cards from before uids keep the GUID of their lowest old id)."""
    if block_id:
        return guid_for(GUID_NAMESPACE, "block", block_id)
    uids = list(uids)
    legacy = [n for n in (legacy_card_id(u) for u in uids) if n is not None]
    if legacy and len(legacy) == len(uids):
        return guid_for(GUID_NAMESPACE, "cloze", min(legacy))
    return guid_for(GUID_NAMESPACE, "cloze-uid", min(uids))


def anki_block_id(guid: str) -> str:
    """The block id a moved-in Anki note's cards carry: its GUID, spelt in hex (block ids allow only
    letters, digits and ``-``), so every import recognises the note and an export gives it back to
    Anki under its own GUID (``guid_of_block``)."""
    return BLOCK_PREFIX + guid.encode("utf-8").hex()


def guid_of_block(block_id: str | None) -> str | None:
    """The Anki GUID a moved-in note's block id spells (``anki_block_id``), else None."""
    if not block_id or not block_id.startswith(BLOCK_PREFIX):
        return None
    try:
        guid = bytes.fromhex(block_id[len(BLOCK_PREFIX) :]).decode("utf-8")
    except ValueError:
        return None
    return guid if guid.isprintable() and 0 < len(guid) <= 64 else None


def stable_id(name: str) -> int:
    """A deck id derived from its name (Anki matches decks by name; the id just stays put)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return (1 << 30) + int.from_bytes(digest, "big") % (1 << 30)


def first_row_id(timestamp: float) -> int:
    """Where a package's note and card ids count from: the export time in milliseconds, as genanki."""
    return int(timestamp * 1000)


# --- cards grouped into notes ----------------------------------------------------------------


@dataclass
class NoteSpec:
    """The cards of one Anki note, and its GUID."""

    cloze: bool
    cards: list[CardView]
    guid: str = ""
    paired: bool = False
    """Both sides of a ``:::``/``??`` card in one note (a reversed note that moved in from Anki and
    goes back with its own note type): the reverse side is the note's second card."""

    @property
    def key(self) -> str:
        """The export cache's key of the note (``store.export_cache``): a basic card's id; a cloze
        paragraph's, or a moved-in card's (its block id starts ``anki-``), note and line."""
        first = self.cards[0]
        if self.cloze or (first.block_id or "").startswith(BLOCK_PREFIX):
            return f"c{first.note_id}:{first.line}"
        return f"b{first.id}"


def group_notes(
    cards: Sequence[CardView], used_blocks: set[str] | None = None, paired: Collection[str] = ()
) -> list[NoteSpec]:
    """One note per basic card; one per cloze paragraph (its cards share note, line and source).

    Args:
        used_blocks: The block ids earlier paragraphs took (for cards passed a batch at a time);
            the block ids taken here are added to it.
        paired: The GUIDs of moved-in reversed notes that go back to Anki as one note with two
            cards (``anki.origins``): both sides of their ``:::``/``??`` card make that note.
    """
    notes: list[NoteSpec] = []
    paragraphs: dict[tuple[int, int, str], NoteSpec] = {}
    pairs: dict[tuple[str, int, int], NoteSpec] = {}
    for card in cards:
        if card.kind != "cloze":
            # A card that moved in from Anki goes back as the note it came from: both sides when
            # its note type is known (``paired``), else its forward side (the reverse is then a
            # basic note of its own).
            own = guid_of_block(card.block_id)
            if own is not None and own in paired:
                where = (own, card.note_id, card.line)
                if where in pairs:
                    pairs[where].cards.append(card)
                else:
                    pairs[where] = NoteSpec(False, [card], own, paired=True)
                    notes.append(pairs[where])
                continue
            own = own if card.direction == "forward" else None
            notes.append(NoteSpec(False, [card], own or basic_guid(card.uid)))
            continue
        key = (card.note_id, card.line, card.source)
        if key not in paragraphs:
            paragraphs[key] = NoteSpec(True, [])
            notes.append(paragraphs[key])
        paragraphs[key].cards.append(card)
    if used_blocks is None:
        used_blocks = set()
    for note in paragraphs.values():
        block = note.cards[0].block_id
        # A block id copied into two paragraphs must not merge them into one Anki note.
        if block in used_blocks:
            block = None
        if block:
            used_blocks.add(block)
        note.guid = guid_of_block(block) or cloze_guid(block, (c.uid for c in note.cards))
    return notes


def card_ordinal(note: NoteSpec, card: CardView) -> int:
    """The card's template ordinal in its Anki note (a cloze card's number, less one; the reverse
    side of a paired note is its second card)."""
    if note.cloze:
        return (card.cloze or 1) - 1
    return 1 if note.paired and card.direction == "reverse" else 0


def note_guids(cards: Sequence[CardView], paired: Collection[str] = ()) -> dict[tuple[str, int], CardView]:
    """``(note GUID, card ordinal) -> card``: what an export names each card in Anki.

    Pass every card, retired ones too: an import matches Anki's notes back to
    cards by these GUIDs.
    """
    out: dict[tuple[str, int], CardView] = {}
    for note in group_notes(cards, paired=paired):
        for card in note.cards:
            out[(note.guid, card_ordinal(note, card))] = card
    return out
