"""Numbered schema migrations, recorded by name in ``schema_migration``.

Append new migrations to ``MIGRATIONS``; never edit one that has shipped. Each
runs in its own transaction, so a failure leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from .ddl import DDL

M001_INITIAL = """
CREATE TABLE note (
    id INTEGER NOT NULL PRIMARY KEY,
    path VARCHAR NOT NULL UNIQUE,
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
    synced_at VARCHAR NOT NULL
);
CREATE INDEX ix_note_domain ON note (domain);
CREATE TABLE card (
    id INTEGER NOT NULL PRIMARY KEY,
    note_id INTEGER NOT NULL REFERENCES note (id),
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
    updated_at VARCHAR NOT NULL
);
CREATE INDEX ix_card_block_id ON card (block_id);
CREATE INDEX ix_card_note_id ON card (note_id);
CREATE INDEX ix_card_fingerprint ON card (fingerprint);
CREATE INDEX ix_card_due ON card (due);
CREATE TABLE card_tag (
    card_id INTEGER NOT NULL REFERENCES card (id),
    tag VARCHAR NOT NULL,
    PRIMARY KEY (card_id, tag)
);
CREATE INDEX ix_card_tag_tag ON card_tag (tag);
CREATE TABLE link (
    id INTEGER NOT NULL PRIMARY KEY,
    note_id INTEGER NOT NULL REFERENCES note (id),
    card_id INTEGER REFERENCES card (id),
    line INTEGER NOT NULL,
    target VARCHAR NOT NULL,
    heading VARCHAR,
    block VARCHAR,
    display VARCHAR,
    target_note_id INTEGER REFERENCES note (id)
);
CREATE INDEX ix_link_card_id ON link (card_id);
CREATE INDEX ix_link_note_id ON link (note_id);
CREATE INDEX ix_link_target_note_id ON link (target_note_id);
CREATE TABLE review (
    id INTEGER NOT NULL PRIMARY KEY,
    card_id INTEGER NOT NULL REFERENCES card (id),
    rating INTEGER NOT NULL,
    reviewed_at VARCHAR NOT NULL,
    duration_ms INTEGER,
    state_before VARCHAR NOT NULL,
    state_after VARCHAR NOT NULL,
    stability_after FLOAT,
    difficulty_after FLOAT,
    due_after VARCHAR,
    "before" VARCHAR NOT NULL
);
CREATE INDEX ix_review_reviewed_at ON review (reviewed_at);
CREATE INDEX ix_review_card_id ON review (card_id);
"""


M002_HISTORY = """
ALTER TABLE card ADD COLUMN uid VARCHAR NOT NULL DEFAULT '';
UPDATE card SET uid = 'L' || id;
CREATE UNIQUE INDEX ix_card_uid ON card (uid);
ALTER TABLE review ADD COLUMN uid VARCHAR NOT NULL DEFAULT '';
UPDATE review SET uid = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX ix_review_uid ON review (uid);
ALTER TABLE review ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'review';
CREATE TABLE event (
    id VARCHAR NOT NULL PRIMARY KEY,
    device VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    at VARCHAR NOT NULL,
    card_uid VARCHAR NOT NULL,
    card_key VARCHAR NOT NULL,
    data VARCHAR NOT NULL,
    card_id INTEGER REFERENCES card (id)
);
CREATE INDEX ix_event_card_id ON event (card_id);
CREATE INDEX ix_event_card_uid ON event (card_uid);
CREATE TABLE journal_file (
    path VARCHAR NOT NULL PRIMARY KEY,
    device VARCHAR NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head VARCHAR NOT NULL,
    consumed INTEGER NOT NULL
);
CREATE TABLE meta (
    key VARCHAR NOT NULL PRIMARY KEY,
    value VARCHAR NOT NULL
)
"""
"""Stable card identity (``card.uid``: the same on every device; cards that existed before it get
``L<id>``, which keeps their Anki GUIDs), global review ids and review kinds (``review``/``cram``),
the review journal's events and read positions, and a key/value ``meta`` table."""


M003_REVIEW_DAYS = """
INSERT OR REPLACE INTO meta (key, value) SELECT 'recompute_schedules', '1' WHERE EXISTS (SELECT 1 FROM review)
"""
"""Elapsed time in review days, due dates at day starts, seeded fuzz: every schedule must be
recomputed from its review log. A migration cannot see the user's settings, so it only leaves
the request (``meta.recompute_schedules``); ``sync`` does it, after a backup of the database."""


CARD_FTS_INSERT_TRIGGER = (
    "CREATE TRIGGER card_fts_insert AFTER INSERT ON card BEGIN "
    "INSERT INTO card_fts (rowid, question, answer, context, note) "
    "SELECT new.id, new.question, new.answer, new.context, note.path || ' ' || note.title "
    "FROM note WHERE note.id = new.note_id; END"
)
"""Indexes each new card for search; ``insert_cards`` lifts it for a large batch (see there)."""

M_CARD_SEARCH: tuple[str, ...] = (
    "CREATE VIRTUAL TABLE card_fts USING fts5("
    "question, answer, context, note, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO card_fts (rowid, question, answer, context, note) "
    "SELECT card.id, card.question, card.answer, card.context, note.path || ' ' || note.title "
    "FROM card JOIN note ON note.id = card.note_id",
    CARD_FTS_INSERT_TRIGGER,
    "CREATE TRIGGER card_fts_update AFTER UPDATE OF question, answer, context, note_id ON card BEGIN "
    "DELETE FROM card_fts WHERE rowid = old.id; "
    "INSERT INTO card_fts (rowid, question, answer, context, note) "
    "SELECT new.id, new.question, new.answer, new.context, note.path || ' ' || note.title "
    "FROM note WHERE note.id = new.note_id; END",
    "CREATE TRIGGER card_fts_delete AFTER DELETE ON card BEGIN "
    "DELETE FROM card_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER card_fts_note AFTER UPDATE OF path, title ON note BEGIN "
    "UPDATE card_fts SET note = new.path || ' ' || new.title "
    "WHERE rowid IN (SELECT id FROM card WHERE note_id = new.id); END",
)
"""Full-text search over cards (``cards --search``): an FTS5 index of each card's question,
answer, heading context and note (path and title), kept in step with ``card`` and ``note`` by
triggers. A derived index, not part of the models' schema: ``rebuild`` and a fresh database
fill it from the cards."""


M005_RENDER_CACHE = """
CREATE TABLE render_cache (
    key VARCHAR NOT NULL PRIMARY KEY,
    html VARCHAR NOT NULL
)
"""
"""Card HTML rendered for an Anki export, by a hash of the Markdown, the renderer's version and
its options (export/html.py ``MarkdownRenderer.cache_key``): a re-export renders only what changed.
A cache: deleting its rows loses nothing."""


M006_JOURNAL_QUARANTINE = """
ALTER TABLE journal_file ADD COLUMN problems INTEGER DEFAULT '0' NOT NULL;
CREATE TABLE journal_problem (
    path VARCHAR NOT NULL,
    line INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    PRIMARY KEY (path, line)
);
CREATE TABLE waiting_event (
    id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    line INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    due VARCHAR,
    text VARCHAR NOT NULL,
    PRIMARY KEY (id)
);
UPDATE journal_file SET head = ''
"""
"""The strict journal reader (issue 24): lines that are not valid events are quarantined and listed
(``journal_problem``); valid ones that cannot be applied yet wait (``waiting_event``: dated ahead,
or a newer version's). Every journal is read once more from its start, by the new rules."""


def _statements(statements: tuple[str, ...]) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)

    return run


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("m001_initial", _script(M001_INITIAL)),
    ("m002_history", _script(M002_HISTORY)),
    ("m003_review_days", _script(M003_REVIEW_DAYS)),
    ("m004_card_search", _statements(M_CARD_SEARCH)),
    ("m005_render_cache", _script(M005_RENDER_CACHE)),
    ("m006_journal_quarantine", _script(M006_JOURNAL_QUARANTINE)),
]

SCHEMA_VERSION = len(MIGRATIONS)


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations recorded in the database, in order applied."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'"
    ).fetchone()
    if not exists:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM schema_migration ORDER BY rowid")]


def migrate(conn: sqlite3.Connection, now: datetime) -> list[str]:
    """Apply every migration not yet recorded; return the names applied.

    Each migration runs in its own ``BEGIN IMMEDIATE`` transaction and is
    re-checked inside it, so that two processes opening a fresh database at
    once migrate it once (the second waits, then finds the work done).
    ``now`` (UTC-aware) stamps the records.
    """
    ran = []
    for name, fn in MIGRATIONS:
        stamp = now.astimezone(UTC).isoformat(timespec="microseconds")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(DDL["schema_migration"][0])  # the record of migrations, as the model says
            if conn.execute("SELECT 1 FROM schema_migration WHERE name = ?", (name,)).fetchone():
                conn.execute("COMMIT")
                continue
            fn(conn)
            conn.execute("INSERT INTO schema_migration (name, applied_at) VALUES (?, ?)", (name, stamp))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        ran.append(name)
    return ran
