"""The schema of record, as SQLModel tables, and the generator of the runtime's copy of it.

Migrations (``migrations.py``) create exactly these tables; a test checks that a
freshly migrated database equals ``SQLModel.metadata``. Runtime code talks to
SQLite through ``sqlite3`` (see ``db.py``) because importing SQLModel costs
more (0.35 s) than the whole start-up budget of ``due`` and a warm ``sync``;
these models stay the single description of what the tables hold. The runtime
reads them from ``ddl.py`` (each table's columns and CREATE statements), which
``python -m mlsys_srs.store.models --ddl`` writes from these models; a test checks
that it is current. After changing a model: regenerate ``ddl.py`` and append a
migration.

Datetimes are stored as ISO 8601 text in UTC with an explicit ``+00:00``
offset, so they sort as text and round-trip as aware datetimes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as ISO 8601 UTC text."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> str | None:
        from .db import dt_to_db

        return dt_to_db(value)

    def process_result_value(self, value: str | None, dialect: object) -> datetime | None:
        from .db import dt_from_db

        return dt_from_db(value)


class SchemaMigration(SQLModel, table=True):
    """One applied migration, by name."""

    __tablename__ = "schema_migration"
    name: str = Field(primary_key=True)
    applied_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Note(SQLModel, table=True):
    """A Markdown file of the vault. Kept (``present`` false) after the file goes."""

    __tablename__ = "note"
    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(sa_column=Column(String, nullable=False, unique=True))
    title: str
    domain: str = Field(index=True)
    tags: str = "[]"
    aliases: str = "[]"
    srs: bool = True
    size: int
    mtime_ns: int
    content_hash: str
    present: bool = True
    diagnostics: str = "[]"
    synced_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Card(SQLModel, table=True):
    """A card and its FSRS memory state. Retired, never deleted."""

    __tablename__ = "card"
    __table_args__ = (
        Index("ix_card_due", "due"),
        Index("ix_card_fingerprint", "fingerprint"),
        Index("ix_card_block_id", "block_id"),
        Index("ix_card_uid", "uid", unique=True),
    )
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    note_id: int = Field(foreign_key="note.id", index=True)
    line: int
    end_line: int
    kind: str
    syntax: str
    direction: str
    cloze: int | None = None
    question: str
    answer: str
    source: str
    context: str
    block_id: str | None = None
    fingerprint: str
    state: str = "new"
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_review: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    retired: bool = False
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    uid: str = Field(sa_column=Column(String, nullable=False))
    """The card's identity on every device and across rebuilds (journal events, Anki GUIDs, fuzz seed)."""


class CardTag(SQLModel, table=True):
    """A tag of a card (note tags and the card's own), nested tags kept whole."""

    __tablename__ = "card_tag"
    card_id: int = Field(sa_column=Column(Integer, ForeignKey("card.id"), primary_key=True))
    tag: str = Field(primary_key=True, index=True)


class ConceptLink(SQLModel, table=True):
    """A concept link written in a note; ``card_id`` is set when it sits in a card."""

    __tablename__ = "link"
    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", index=True)
    card_id: int | None = Field(default=None, foreign_key="card.id", index=True)
    line: int
    target: str
    heading: str | None = None
    block: str | None = None
    display: str | None = None
    target_note_id: int | None = Field(default=None, foreign_key="note.id", index=True)


class Review(SQLModel, table=True):
    """One answered review. ``before`` holds the card's full scheduling state for undo."""

    __tablename__ = "review"
    __table_args__ = (
        Index("ix_review_reviewed_at", "reviewed_at"),
        Index("ix_review_uid", "uid", unique=True),
    )
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    card_id: int = Field(foreign_key="card.id", index=True)
    rating: int
    reviewed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    duration_ms: int | None = None
    state_before: str
    state_after: str
    stability_after: float | None = None
    difficulty_after: float | None = None
    due_after: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    before: str
    uid: str
    """The review's id on every device (its journal event id)."""
    kind: str = "review"
    """``review`` (schedules the card) or ``cram`` (a study-mode answer: no schedule change)."""


class Event(SQLModel, table=True):
    """A journal event (review, undo, suspend, unsuspend, bury, reset, import, cram, purge) of any device.

    ``card_id`` is set once the event's card is known here; until then the event waits.
    """

    __tablename__ = "event"
    id: str = Field(primary_key=True)
    device: str
    kind: str
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    card_uid: str = Field(index=True)
    card_key: str
    data: str
    card_id: int | None = Field(default=None, foreign_key="card.id", index=True)


class JournalFile(SQLModel, table=True):
    """How much of one device's journal file has been read (a file that shrank or changed is re-read)."""

    __tablename__ = "journal_file"
    path: str = Field(primary_key=True)
    device: str
    size: int
    mtime_ns: int
    head: str
    consumed: int
    problems: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Lines of the file quarantined (not valid events), counted since it was last read whole."""


class JournalProblem(SQLModel, table=True):
    """A journal line that is not a valid event: quarantined (never applied), listed until it is fixed.

    At most ``store.events.PROBLEMS_KEPT`` lines are kept per file; ``journal_file.problems``
    counts them all.
    """

    __tablename__ = "journal_problem"
    path: str = Field(primary_key=True)
    line: int = Field(primary_key=True)
    reason: str


class WaitingEvent(SQLModel, table=True):
    """A valid journal line not applied yet: dated ahead of this device's clock (applied on its day),
    or written by a newer version (applied once this one knows its kind)."""

    __tablename__ = "waiting_event"
    id: str = Field(primary_key=True)
    path: str
    line: int
    reason: str
    due: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    text: str


class Meta(SQLModel, table=True):
    """Small facts about this database (the vault it belongs to, the journal's first export)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class RenderCache(SQLModel, table=True):
    """Card HTML of an Anki export, by a hash of its Markdown, the renderer's version and options."""

    __tablename__ = "render_cache"
    key: str = Field(primary_key=True)
    html: str


# -- the runtime's copy: store/ddl.py, generated from these models -----------------------------------

DDL_MODULE = Path(__file__).with_name("ddl.py")
"""The generated module the runtime reads the schema from (``python -m mlsys_srs.store.models --ddl``)."""

_DDL_HEADER = '''"""The schema of record (``models.py``) as the runtime reads it: GENERATED, do not edit.

Written by ``python -m mlsys_srs.store.models --ddl`` from the SQLModel tables; a test
regenerates it and compares. Runtime code reads the schema from here, not from the models,
because importing SQLModel costs more (0.35 s) than the start-up budget of ``due``.
Migrations (``migrations.py``) are history and stay as they shipped; a test checks that they
build exactly these tables.
"""

from __future__ import annotations
'''


def _sql(statement: CreateTable | CreateIndex) -> str:
    """A compiled statement as SQLite text, one column or constraint a line, no trailing blanks."""
    text = str(statement.compile(dialect=sqlite.dialect())).strip()
    return "\n".join(line.rstrip() for line in text.replace("\t", "    ").splitlines())


def _literal(text: str) -> str:
    """``text`` as a Python string literal the way ruff formats one (double quotes when it can)."""
    return f'"{text}"' if '"' not in text and "\\" not in text else repr(text)


def ddl_module_text() -> str:
    """The text of ``ddl.py``: each table's columns and its CREATE statements (idempotent: ``IF NOT
    EXISTS``), tables in the models' order, indexes by name."""
    tables = list(SQLModel.metadata.tables.values())
    out = [_DDL_HEADER, "COLUMNS: dict[str, tuple[str, ...]] = {"]
    for table in tables:
        out.append(f"    {_literal(table.name)}: (")
        out.extend(f"        {_literal(c.name)}," for c in table.columns)
        out.append("    ),")
    out += ["}", '"""Each table\'s columns, in schema order."""', "", "DDL: dict[str, tuple[str, ...]] = {"]
    for table in tables:
        out.append(f"    {_literal(table.name)}: (")
        out.append(f'        """{_sql(CreateTable(table, if_not_exists=True))}""",')
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            out.append(f"        {_literal(_sql(CreateIndex(index, if_not_exists=True)))},")
        out.append("    ),")
    out += [
        "}",
        '"""Each table\'s CREATE TABLE statement, then its indexes\', as SQLAlchemy writes them for SQLite."""',
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``--ddl``: write ``ddl.py`` from the models; ``--check``: exit 1 if it is out of date."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mlsys_srs.store.models", description=main.__doc__)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--ddl", action="store_true", help=f"write {DDL_MODULE}")
    what.add_argument("--check", action="store_true", help=f"exit 1 if {DDL_MODULE} is out of date")
    args = ap.parse_args(argv)
    text = ddl_module_text()
    if args.check:
        current = DDL_MODULE.read_text(encoding="utf-8") if DDL_MODULE.exists() else ""
        if current != text:
            print(f"{DDL_MODULE} is out of date: run python -m mlsys_srs.store.models --ddl")
            return 1
        return 0
    DDL_MODULE.write_text(text, encoding="utf-8")
    print(f"wrote {DDL_MODULE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
