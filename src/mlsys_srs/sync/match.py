"""Matching parsed cards to stored cards: the identity rules of a sync.

1. the block id (``^srs-7f3a9c``) with direction and cloze number, anywhere;
2. the fingerprint within the same note;
3. the fingerprint anywhere in the vault (a card moved to another note);
4. the most similar unmatched card of the same note, above ``SIMILARITY``.

A stored card is matched at most once. Pure: values in, values out.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from ..parse import ParsedCard
from ..store.card_sync import StoredCard

SIMILARITY = 0.6
"""Least similarity (0-1) of question or answer for an edited card to keep its identity."""


def block_key(block_id: str, direction: str, cloze: int | None) -> tuple[str, str, int]:
    return (block_id, direction, cloze or 0)


def _similarity(a: ParsedCard, b: StoredCard) -> float:
    best = 0.0
    for x, y in ((a.question, b.question), (a.answer, b.answer)):
        sm = SequenceMatcher(None, x, y, autojunk=False)
        if sm.real_quick_ratio() < SIMILARITY or sm.quick_ratio() < SIMILARITY:
            continue
        best = max(best, sm.ratio())
    return best


def match_cards(
    parsed: list[tuple[int, ParsedCard]],
    pool: list[StoredCard],
    taken_elsewhere: set[tuple[str, str, int]],
) -> tuple[dict[int, StoredCard], list[tuple[int, ParsedCard, str]]]:
    """Match parsed cards ``(note_id, card)`` to stored cards of the pool.

    Returns the matches (index into ``parsed`` -> stored card) and diagnostics
    for block ids that another card already holds, as ``(index, card, message)``.
    """
    matched: dict[int, StoredCard] = {}
    used: set[int] = set()
    dup: list[tuple[int, ParsedCard, str]] = []
    by_block: dict[tuple[str, str, int], list[StoredCard]] = {}
    by_fp: dict[str, list[StoredCard]] = {}
    for s in sorted(pool, key=lambda s: (s.retired, s.id)):
        if s.block_id:
            by_block.setdefault(block_key(s.block_id, s.direction, s.cloze), []).append(s)
        by_fp.setdefault(s.fingerprint, []).append(s)

    # 1. block ids; where two copies claim one id, the copy in the card's old note wins.
    claims: dict[tuple[str, str, int], list[int]] = {}
    for i, (_, card) in enumerate(parsed):
        if card.block_id:
            claims.setdefault(block_key(card.block_id, card.direction, card.cloze), []).append(i)
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
        by_note: dict[int, list[StoredCard]] = {}
        for s in pool:
            if s.id not in used:
                by_note.setdefault(s.note_id, []).append(s)
        pairs: list[tuple[float, bool, int, int, StoredCard]] = []
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
