"""A card's scheduling state, and the numbers Anki and py-fsrs give each state.

The database stores the state's name (``new``, ``learning``, ``review``, ``relearning``);
``CardState`` is a ``StrEnum``, so a name read from a row compares equal to its member.
Anki numbers the same states in three ways (the card's ``type``, a review log row's ``type``,
the fsrs-optimizer's ``state``), and py-fsrs in a fourth (no "new": a new card is learning):
each is a property here, and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum


class CardState(StrEnum):
    """Where a card is in its schedule."""

    NEW = "new"
    LEARNING = "learning"
    REVIEW = "review"
    RELEARNING = "relearning"

    @property
    def anki_type(self) -> int:
        """Anki's ``cards.type`` (and the fsrs-optimizer's ``state``): 0 new, 1 learning, 2 review, 3 relearning."""
        return _ANKI_TYPE[self]

    @property
    def anki_revlog_type(self) -> int:
        """Anki's ``revlog.type`` of an answer given in this state: 0 learn, 1 review, 2 relearn."""
        return _REVLOG_TYPE[self]

    @property
    def fsrs_state(self) -> int:
        """py-fsrs's ``State`` value: 1 learning (new cards too), 2 review, 3 relearning."""
        return _FSRS_STATE[self]

    @property
    def learning(self) -> bool:
        """In (re)learning steps: shown again the same day."""
        return self in (CardState.LEARNING, CardState.RELEARNING)

    @classmethod
    def from_fsrs(cls, code: int) -> CardState:
        """The state of py-fsrs's ``State`` value ``code`` (1, 2 or 3)."""
        return _FROM_FSRS[code]


STATES: tuple[str, ...] = tuple(s.value for s in CardState)
"""Every state's name, in schedule order."""

_ANKI_TYPE = {CardState.NEW: 0, CardState.LEARNING: 1, CardState.REVIEW: 2, CardState.RELEARNING: 3}
_REVLOG_TYPE = {CardState.NEW: 0, CardState.LEARNING: 0, CardState.REVIEW: 1, CardState.RELEARNING: 2}
_FSRS_STATE = {CardState.NEW: 1, CardState.LEARNING: 1, CardState.REVIEW: 2, CardState.RELEARNING: 3}
_FROM_FSRS = {1: CardState.LEARNING, 2: CardState.REVIEW, 3: CardState.RELEARNING}


def state_of(name: str | None) -> CardState | None:
    """The ``CardState`` named ``name`` (None for an unknown or missing name)."""
    try:
        return CardState(name) if name is not None else None
    except ValueError:
        return None
