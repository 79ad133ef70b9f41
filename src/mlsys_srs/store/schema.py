"""Column lists for the ``sqlite3`` code of ``store/``: each table's, and named runs of the card's.

The SQLModel models (``models.py``) are the schema of record; runtime code does
not import them (SQLModel alone costs more than the start-up budget of ``due``) but
reads each table's columns from ``ddl.py``, generated from the models. The runs of
card columns that mean something (what a sync writes, what a grade changes) are
named here; a test checks that each is a run of the model's columns, in order.
"""

from __future__ import annotations

from .ddl import COLUMNS

NOTE_COLUMNS = COLUMNS["note"]

CARD_COLUMNS = COLUMNS["card"]

CARD_TEXT_COLUMNS = (
    "note_id",
    "line",
    "end_line",
    "kind",
    "syntax",
    "direction",
    "cloze",
    "question",
    "answer",
    "source",
    "context",
    "block_id",
    "fingerprint",
)
"""What a sync writes from the parsed card: its place, text and identity (a run of ``CARD_COLUMNS``)."""

CARD_SCHEDULE_COLUMNS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "suspended",
    "buried_until",
)
"""The card columns a review, bury or suspend may change; ``review.before`` snapshots them (a run of
``CARD_COLUMNS``)."""

CARD_TAG_COLUMNS = COLUMNS["card_tag"]

LINK_COLUMNS = COLUMNS["link"]

REVIEW_COLUMNS = COLUMNS["review"]

EVENT_COLUMNS = COLUMNS["event"]

JOURNAL_FILE_COLUMNS = COLUMNS["journal_file"]

META_COLUMNS = COLUMNS["meta"]

TABLES = {
    "note": NOTE_COLUMNS,
    "card": CARD_COLUMNS,
    "card_tag": CARD_TAG_COLUMNS,
    "link": LINK_COLUMNS,
    "review": REVIEW_COLUMNS,
    "event": EVENT_COLUMNS,
    "journal_file": JOURNAL_FILE_COLUMNS,
    "meta": META_COLUMNS,
}
"""Every table of the review store that ``check_schema`` requires, and its columns, in schema order."""


def cols(columns: tuple[str, ...], table: str | None = None) -> str:
    """A SQL column list (``"card.id, card.note_id"``); names are quoted where SQL needs it."""
    prefix = f"{table}." if table else ""
    return ", ".join(f'{prefix}"{c}"' if c == "before" else f"{prefix}{c}" for c in columns)
