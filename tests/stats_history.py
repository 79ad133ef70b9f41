"""Review histories written straight into the store, for the stats and graph tests.

The review session (another module) normally writes these rows; the tests
write them by hand so that every figure has a known answer.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mlsys_srs.days import DayClock
from mlsys_srs.store import dt_to_db, open_db

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
        values = [dt_to_db(v) if isinstance(v, datetime) else v for v in cols.values()]
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.conn.execute(f"UPDATE card SET {sets} WHERE id = ?", [*values, card_id])

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
    ) -> None:
        """Insert one review row."""
        self.conn.execute(
            "INSERT INTO review (card_id, rating, reviewed_at, duration_ms, state_before, state_after, "
            'stability_after, difficulty_after, due_after, "before") VALUES (?,?,?,?,?,?,?,?,?,?)',
            (
                card_id,
                rating,
                dt_to_db(at),
                duration_ms,
                before,
                after or ("relearning" if rating == 1 else "review"),
                3.0,
                5.0,
                dt_to_db(due_after),
                "{}",
            ),
        )

    def tag(self, card_id: int, tag: str) -> None:
        """Add a tag to a card."""
        self.conn.execute("INSERT OR IGNORE INTO card_tag (card_id, tag) VALUES (?, ?)", (card_id, tag))


def inline_cards(prefix: str, n: int) -> str:
    """A note body with ``n`` inline cards, one per line starting at line 3."""
    return f"# {prefix}\n\n" + "".join(f"{prefix} question {i} :: answer {i}\n" for i in range(n))
