"""Column lists of each table, written once, for the ``sqlite3`` code of ``store/``.

The SQLModel models (``models.py``) are the schema of record; runtime code does
not import them (SQLModel alone costs more than the start-up budget of ``due``).
These tuples are the one place the runtime names a table's columns; a test
checks that they equal the models' columns, in order.
"""

from __future__ import annotations

NOTE_COLUMNS = (
    "id",
    "path",
    "title",
    "domain",
    "tags",
    "aliases",
    "srs",
    "size",
    "mtime_ns",
    "content_hash",
    "present",
    "diagnostics",
    "synced_at",
)

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
"""What a sync writes from the parsed card: its place, text and identity."""

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
"""The card columns a review, bury or suspend may change; ``review.before`` snapshots them."""

CARD_COLUMNS = (
    "id",
    *CARD_TEXT_COLUMNS,
    *CARD_SCHEDULE_COLUMNS,
    "retired",
    "retired_at",
    "created_at",
    "updated_at",
    "uid",
)

CARD_TAG_COLUMNS = ("card_id", "tag")

LINK_COLUMNS = ("id", "note_id", "card_id", "line", "target", "heading", "block", "display", "target_note_id")

REVIEW_COLUMNS = (
    "id",
    "card_id",
    "rating",
    "reviewed_at",
    "duration_ms",
    "state_before",
    "state_after",
    "stability_after",
    "difficulty_after",
    "due_after",
    "before",
    "uid",
    "kind",
)

EVENT_COLUMNS = ("id", "device", "kind", "at", "card_uid", "card_key", "data", "card_id")

JOURNAL_FILE_COLUMNS = ("path", "device", "size", "mtime_ns", "head", "consumed")

META_COLUMNS = ("key", "value")

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
"""Every table of the review store and its columns, in schema order."""


def cols(columns: tuple[str, ...], table: str | None = None) -> str:
    """A SQL column list (``"card.id, card.note_id"``); names are quoted where SQL needs it."""
    prefix = f"{table}." if table else ""
    return ", ".join(f'{prefix}"{c}"' if c == "before" else f"{prefix}{c}" for c in columns)
