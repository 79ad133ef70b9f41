"""Review histories written through the store, for the stats and graph tests.

The review session normally writes these rows; the tests write them directly
(through the store's functions) so that every figure has a known answer.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.store import open_db
from mlsys_srs.store.cards import add_tag

from .conftest import add_review, set_card

LA = ZoneInfo("America/Los_Angeles")
CLOCK = DayClock(LA, 4)


def local(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    """A Los Angeles wall-clock time as a UTC-aware instant."""
    return datetime(y, m, d, h, mi, tzinfo=LA).astimezone(UTC)


class History:
    """Card states and review rows written by hand into a synced database."""

    def __init__(self, db: Path, now: datetime) -> None:
        self.conn: sqlite3.Connection = open_db(db, now)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def cards(self, note: str) -> list[int]:
        """The ids of a note's cards, by line."""
        rows = self.conn.execute(
            "SELECT card.id FROM card JOIN note ON note.id = card.note_id WHERE note.path = ? "
            "ORDER BY card.line, card.cloze, card.direction",
            (note,),
        )
        return [r[0] for r in rows]

    def set_card(self, card_id: int, **cols: Any) -> None:
        """Set card columns; datetimes are stored as the store stores them."""
        set_card(self.conn, card_id, **cols)

    def study(
        self,
        card_id: int,
        *,
        stability: float,
        last_review: datetime,
        due: datetime,
        state: str = "review",
        lapses: int = 0,
        **more: Any,
    ) -> None:
        """Give a card a memory state."""
        self.set_card(
            card_id,
            state=state,
            stability=stability,
            difficulty=5.0,
            last_review=last_review,
            due=due,
            lapses=lapses,
            reps=max(1, lapses),
            **more,
        )

    def review(
        self,
        card_id: int,
        at: datetime,
        rating: int = 3,
        *,
        before: str = "review",
        after: str | None = None,
        due_after: datetime | None = None,
        duration_ms: int = 8000,
        stability_after: float | None = 3.0,
    ) -> None:
        """Insert one review row."""
        add_review(
            self.conn,
            card_id,
            at,
            rating,
            before=before,
            after=after,
            due_after=due_after,
            duration_ms=duration_ms,
            stability_after=stability_after,
        )

    def tag(self, card_id: int, tag: str) -> None:
        """Add a tag to a card."""
        add_tag(self.conn, card_id, tag)


def inline_cards(prefix: str, n: int) -> str:
    """A note body with ``n`` inline cards, one per line starting at line 3."""
    return f"# {prefix}\n\n" + "".join(f"{prefix} question {i} :: answer {i}\n" for i in range(n))
