"""Which cards a command works on, as SQL: ``CardFilter`` and deck recipes.

The one place that turns card-selection options (``--domain``, ``--tag``,
``--note``, ``--deck``, state, due date, ids) into a ``WHERE`` condition over
``card JOIN note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .db import dt_to_db

if TYPE_CHECKING:
    from ..vault.decks import DeckRecipe


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def tag_condition(tag: str) -> tuple[str, list[Any]]:
    """A card has ``tag`` or a tag nested below it (``gpu`` matches ``gpu/cuda``)."""
    return (
        "EXISTS (SELECT 1 FROM card_tag WHERE card_tag.card_id = card.id AND "
        "(card_tag.tag = ? OR card_tag.tag LIKE ? ESCAPE '\\'))",
        [tag, _like_escape(tag) + "/%"],
    )


def deck_condition(deck: DeckRecipe) -> tuple[str, list[Any]]:
    """The cards of a deck recipe: any of its domains, tags (nested included) or note globs."""
    parts: list[str] = []
    params: list[Any] = []
    if deck.domains:
        parts.append(f"note.domain IN ({','.join('?' * len(deck.domains))})")
        params.extend(deck.domains)
    for tag in deck.tags:
        sql, p = tag_condition(tag)
        parts.append(sql)
        params.extend(p)
    for glob in deck.notes:
        parts.append("note.path GLOB ?")
        params.append(glob)
    if not parts:
        return "0", []
    return "(" + " OR ".join(parts) + ")", params


@dataclass(frozen=True)
class CardFilter:
    """Which cards a command works on. Empty fields do not filter."""

    domains: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    note_globs: tuple[str, ...] = ()
    state: str | None = None
    due_before: datetime | None = None
    include_retired: bool = False
    only_retired: bool = False
    ids: tuple[int, ...] = ()
    deck: DeckRecipe | None = None
    min_lapses: int | None = None
    within: CardFilter | None = None
    """Only cards that are also cards of this filter (e.g. a plan's selection within ``--domain``)."""

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition (over ``card JOIN note``) and parameters for this filter."""
        conds: list[str] = []
        params: list[Any] = []
        if self.only_retired:
            conds.append("card.retired = 1")
        elif not self.include_retired:
            conds.append("card.retired = 0")
        if self.domains:
            conds.append(f"note.domain IN ({','.join('?' * len(self.domains))})")
            params.extend(self.domains)
        if self.tags:
            parts = []
            for tag in self.tags:
                sql, p = tag_condition(tag)
                parts.append(sql)
                params.extend(p)
            conds.append("(" + " OR ".join(parts) + ")")
        if self.note_globs:
            conds.append("(" + " OR ".join("note.path GLOB ?" for _ in self.note_globs) + ")")
            params.extend(self.note_globs)
        if self.state:
            if self.state == "suspended":
                conds.append("card.suspended = 1")
            else:
                conds.append("card.state = ?")
                params.append(self.state)
        if self.due_before is not None:
            conds.append("card.state != 'new' AND card.due <= ?")
            params.append(dt_to_db(self.due_before))
        if self.deck is not None:
            deck_sql, deck_params = deck_condition(self.deck)
            conds.append(deck_sql)
            params.extend(deck_params)
        if self.min_lapses is not None:
            conds.append("card.lapses >= ?")
            params.append(self.min_lapses)
        if self.ids:
            conds.append(f"card.id IN ({','.join('?' * len(self.ids))})")
            params.extend(self.ids)
        if self.within is not None:
            inner, inner_params = self.within.where()
            conds.append(f"({inner})")
            params.extend(inner_params)
        return (" AND ".join(conds) or "1"), params

    def scope(self) -> CardFilter:
        """The same selection of cards (domains, tags, notes, deck, ids) with retired cards kept
        and no state or due condition: whose history a statistic covers."""
        from dataclasses import replace

        return replace(
            self, include_retired=True, only_retired=False, state=None, due_before=None, min_lapses=None
        )
