"""Review progress carried into Anki: a card's scheduling as Anki's card columns, with its review log.

genanki writes every card as new; an export with scheduling rewrites the card rows
of reviewed cards (type, queue, due, interval, reps, lapses, steps left, and the
FSRS memory state in ``cards.data``) and fills ``revlog`` (``anki.revlog``).
Anki's importer shifts day-based due dates by the difference between the
package's collection day and its own, so due dates are written as days from the
package's collection day (``today``), which starts at the start of the export day.

Everything here is values in, rows out: ``anki.collection`` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..core.states import CardState, state_of
from ..scheduling.memory import DEFAULT_DECAY
from .revlog import anki_revlog_rows

if TYPE_CHECKING:
    from ..scheduling.days import DayClock
    from ..store.cards import CardView
    from ..store.review_log import HistoryRow

# Anki queue numbers (card types are ``CardState.anki_type``).
_QUEUE_SUSPENDED, _QUEUE_LEARN, _QUEUE_REVIEW, _QUEUE_DAY_LEARN = -1, 1, 2, 3
_DEFAULT_EASE = 2500


@dataclass(frozen=True)
class SchedulingOptions:
    """What Anki needs besides the card rows to carry FSRS progress."""

    desired_retention: float = 0.9
    decay: float = DEFAULT_DECAY
    learning_steps: int = 2
    relearning_steps: int = 1


def _memory_data(card: CardView, opts: SchedulingOptions) -> str:
    """``cards.data``: the card's FSRS memory state as Anki's FSRS keeps it ("" without one)."""
    if card.stability is None or card.difficulty is None:
        return ""
    data: dict[str, float | int] = {
        "s": round(card.stability, 4),
        "d": round(min(max(card.difficulty, 1.0), 10.0), 3),
        "dr": round(opts.desired_retention, 2),
        "decay": round(opts.decay, 4),
    }
    if card.last_review is not None:
        data["lrt"] = int(card.last_review.timestamp())
    return json.dumps(data, separators=(",", ":"))


def anki_card_row(
    card: CardView, *, clock: DayClock, today: date, now: datetime, opts: SchedulingOptions, position: int = 0
) -> tuple[int, int, int, int, int, int, int, int, str]:
    """Anki's ``(type, queue, due, ivl, factor, reps, lapses, left, data)`` for a card's state.

    Day-based due dates count days from ``today`` (the package's collection is
    created at its start); intraday learning is due at a Unix time; a new card's
    due is its ``position`` in Anki's new-card order (``anki.positions``).
    """
    ctype = st.anki_type if (st := state_of(card.state)) else 0
    due_at = card.due or now
    if card.state == CardState.REVIEW:
        queue, due = _QUEUE_REVIEW, (clock.day_of(due_at) - today).days
        if card.last_review is not None:
            ivl = (clock.day_of(due_at) - clock.day_of(card.last_review)).days
        else:
            ivl = round(card.stability or 1)
        ivl, factor, left = max(1, ivl), _DEFAULT_EASE, 0
    elif card.state in (CardState.LEARNING, CardState.RELEARNING):
        steps = opts.learning_steps if card.state == CardState.LEARNING else opts.relearning_steps
        left = max(1, steps - (card.step or 0))  # Anki counts the steps still to go
        if clock.day_of(due_at) <= today:
            queue, due = _QUEUE_LEARN, int(due_at.timestamp())
        else:
            queue, due = _QUEUE_DAY_LEARN, (clock.day_of(due_at) - today).days
        relearning = card.state == CardState.RELEARNING
        ivl, factor = (1, _DEFAULT_EASE) if relearning else (0, 0)
    else:
        queue = _QUEUE_SUSPENDED if card.suspended else 0
        return (0, queue, position, 0, 0, card.reps, card.lapses, 0, "")
    if card.suspended:
        queue = _QUEUE_SUSPENDED
    return (ctype, queue, due, ivl, factor, card.reps, card.lapses, left, _memory_data(card, opts))


def progress_rows(
    slots: Iterable[tuple[int, str, int]],
    by_guid_ord: Mapping[tuple[str, int], CardView],
    history: Mapping[int, Sequence[HistoryRow]],
    *,
    used_ids: set[int],
    clock: DayClock,
    today: date,
    now: datetime,
    opts: SchedulingOptions,
    timestamp: float,
    positions: Mapping[int, int] | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[int, ...]]]:
    """The card updates and review-log rows of a package's cards that carry progress.

    Args:
        slots: ``(Anki card id, note GUID, ordinal)`` of the cards written.
        by_guid_ord: Our card of each ``(GUID, ordinal)``.
        history: Each card's review history (``store.review_log.review_history``).
        used_ids: The ids in the collection's revlog (the new rows' ids are added to it).
        positions: Each card's new-card position, by our card id (a suspended new card keeps it).

    Returns:
        ``(type, queue, due, ivl, factor, reps, lapses, left, data, mod, Anki card id)`` of each
        card that is not new (or is suspended), and their review-log rows.
    """
    updates: list[tuple[Any, ...]] = []
    revlog: list[tuple[int, ...]] = []
    for anki_id, guid, ord_ in slots:
        card = by_guid_ord.get((guid, ord_))
        if card is None or (card.state == CardState.NEW and not card.suspended):
            continue
        position = (positions or {}).get(card.id, 0)
        row = anki_card_row(card, clock=clock, today=today, now=now, opts=opts, position=position)
        updates.append((*row, int(timestamp), anki_id))
        revlog.extend(anki_revlog_rows(history.get(card.id, ()), anki_id, clock, used_ids))
    return updates, revlog
