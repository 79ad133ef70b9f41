"""The schema of record (``models.py``) as the runtime reads it: GENERATED, do not edit.

Written by ``python -m mlsys_srs.store.models --ddl`` from the SQLModel tables; a test
regenerates it and compares. Runtime code reads the schema from here, not from the models,
because importing SQLModel costs more (0.35 s) than the start-up budget of ``due``.
Migrations (``migrations.py``) are history and stay as they shipped; a test checks that they
build exactly these tables.
"""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, ...]] = {
    "schema_migration": (
        "name",
        "applied_at",
    ),
    "note": (
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
    ),
    "card": (
        "id",
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
        "retired",
        "retired_at",
        "created_at",
        "updated_at",
        "uid",
    ),
    "card_tag": (
        "card_id",
        "tag",
    ),
    "link": (
        "id",
        "note_id",
        "card_id",
        "line",
        "target",
        "heading",
        "block",
        "display",
        "target_note_id",
    ),
    "review": (
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
    ),
    "event": (
        "id",
        "device",
        "kind",
        "at",
        "card_uid",
        "card_key",
        "data",
        "card_id",
    ),
    "journal_file": (
        "path",
        "device",
        "size",
        "mtime_ns",
        "head",
        "consumed",
        "problems",
    ),
    "journal_problem": (
        "path",
        "line",
        "reason",
    ),
    "waiting_event": (
        "id",
        "path",
        "line",
        "reason",
        "due",
        "text",
    ),
    "meta": (
        "key",
        "value",
    ),
    "render_cache": (
        "key",
        "html",
    ),
}
"""Each table's columns, in schema order."""

DDL: dict[str, tuple[str, ...]] = {
    "schema_migration": (
        """CREATE TABLE IF NOT EXISTS schema_migration (
    name VARCHAR NOT NULL,
    applied_at VARCHAR NOT NULL,
    PRIMARY KEY (name)
)""",
    ),
    "note": (
        """CREATE TABLE IF NOT EXISTS note (
    id INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    domain VARCHAR NOT NULL,
    tags VARCHAR NOT NULL,
    aliases VARCHAR NOT NULL,
    srs BOOLEAN NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    present BOOLEAN NOT NULL,
    diagnostics VARCHAR NOT NULL,
    synced_at VARCHAR NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (path)
)""",
        "CREATE INDEX IF NOT EXISTS ix_note_domain ON note (domain)",
    ),
    "card": (
        """CREATE TABLE IF NOT EXISTS card (
    id INTEGER NOT NULL,
    note_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    syntax VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    cloze INTEGER,
    question VARCHAR NOT NULL,
    answer VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    context VARCHAR NOT NULL,
    block_id VARCHAR,
    fingerprint VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    step INTEGER,
    stability FLOAT,
    difficulty FLOAT,
    due VARCHAR,
    last_review VARCHAR,
    reps INTEGER NOT NULL,
    lapses INTEGER NOT NULL,
    suspended BOOLEAN NOT NULL,
    buried_until VARCHAR,
    retired BOOLEAN NOT NULL,
    retired_at VARCHAR,
    created_at VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(note_id) REFERENCES note (id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_card_block_id ON card (block_id)",
        "CREATE INDEX IF NOT EXISTS ix_card_due ON card (due)",
        "CREATE INDEX IF NOT EXISTS ix_card_fingerprint ON card (fingerprint)",
        "CREATE INDEX IF NOT EXISTS ix_card_note_id ON card (note_id)",
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_card_uid ON card (uid)",
    ),
    "card_tag": (
        """CREATE TABLE IF NOT EXISTS card_tag (
    card_id INTEGER NOT NULL,
    tag VARCHAR NOT NULL,
    PRIMARY KEY (card_id, tag),
    FOREIGN KEY(card_id) REFERENCES card (id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_card_tag_tag ON card_tag (tag)",
    ),
    "link": (
        """CREATE TABLE IF NOT EXISTS link (
    id INTEGER NOT NULL,
    note_id INTEGER NOT NULL,
    card_id INTEGER,
    line INTEGER NOT NULL,
    target VARCHAR NOT NULL,
    heading VARCHAR,
    block VARCHAR,
    display VARCHAR,
    target_note_id INTEGER,
    PRIMARY KEY (id),
    FOREIGN KEY(note_id) REFERENCES note (id),
    FOREIGN KEY(card_id) REFERENCES card (id),
    FOREIGN KEY(target_note_id) REFERENCES note (id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_link_card_id ON link (card_id)",
        "CREATE INDEX IF NOT EXISTS ix_link_note_id ON link (note_id)",
        "CREATE INDEX IF NOT EXISTS ix_link_target_note_id ON link (target_note_id)",
    ),
    "review": (
        """CREATE TABLE IF NOT EXISTS review (
    id INTEGER NOT NULL,
    card_id INTEGER NOT NULL,
    rating INTEGER NOT NULL,
    reviewed_at VARCHAR NOT NULL,
    duration_ms INTEGER,
    state_before VARCHAR NOT NULL,
    state_after VARCHAR NOT NULL,
    stability_after FLOAT,
    difficulty_after FLOAT,
    due_after VARCHAR,
    "before" VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(card_id) REFERENCES card (id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_review_card_id ON review (card_id)",
        "CREATE INDEX IF NOT EXISTS ix_review_reviewed_at ON review (reviewed_at)",
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_review_uid ON review (uid)",
    ),
    "event": (
        """CREATE TABLE IF NOT EXISTS event (
    id VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    at VARCHAR NOT NULL,
    card_uid VARCHAR NOT NULL,
    card_key VARCHAR NOT NULL,
    data VARCHAR NOT NULL,
    card_id INTEGER,
    PRIMARY KEY (id),
    FOREIGN KEY(card_id) REFERENCES card (id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_event_card_id ON event (card_id)",
        "CREATE INDEX IF NOT EXISTS ix_event_card_uid ON event (card_uid)",
    ),
    "journal_file": (
        """CREATE TABLE IF NOT EXISTS journal_file (
    path VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head VARCHAR NOT NULL,
    consumed INTEGER NOT NULL,
    problems INTEGER DEFAULT '0' NOT NULL,
    PRIMARY KEY (path)
)""",
    ),
    "journal_problem": (
        """CREATE TABLE IF NOT EXISTS journal_problem (
    path VARCHAR NOT NULL,
    line INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    PRIMARY KEY (path, line)
)""",
    ),
    "waiting_event": (
        """CREATE TABLE IF NOT EXISTS waiting_event (
    id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    line INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    due VARCHAR,
    text VARCHAR NOT NULL,
    PRIMARY KEY (id)
)""",
    ),
    "meta": (
        """CREATE TABLE IF NOT EXISTS meta (
    "key" VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY ("key")
)""",
    ),
    "render_cache": (
        """CREATE TABLE IF NOT EXISTS render_cache (
    "key" VARCHAR NOT NULL,
    html VARCHAR NOT NULL,
    PRIMARY KEY ("key")
)""",
    ),
}
"""Each table's CREATE TABLE statement, then its indexes', as SQLAlchemy writes them for SQLite."""
