"""The store: migrations equal the models, pragmas, datetimes, unusable databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import mlsys_srs.store.models  # noqa: F401  (registers the tables)
from mlsys_srs.errors import DatabaseError
from mlsys_srs.store import SCHEMA_VERSION, dt_from_db, dt_to_db, open_db, schema_version
from mlsys_srs.store.migrations import MIGRATIONS

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
AFFINITY = {"INTEGER": "INTEGER", "BOOLEAN": "NUMERIC", "FLOAT": "REAL", "VARCHAR": "TEXT"}


def describe(path: Path) -> dict[str, object]:
    """Tables -> columns (name, affinity, not null, pk), foreign keys and indexes."""
    conn = sqlite3.connect(path)
    out: dict[str, object] = {}
    tables = [
        r[0]
        for r in conn.execute(
            # card_fts*: the full-text index (a derived FTS5 table, not a model).
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'card_fts%'"
        )
    ]
    for t in sorted(tables):
        cols = [
            (r[1], AFFINITY.get(r[2].upper(), r[2].upper()), bool(r[3]), r[5])
            for r in conn.execute(f"PRAGMA table_info({t})")
        ]
        fks = sorted((r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({t})"))
        idx = sorted(
            (tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')")), bool(r[2]))
            for r in conn.execute(f"PRAGMA index_list({t})")
        )
        out[t] = (cols, fks, idx)
    conn.close()
    return out


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.db"
    open_db(migrated, NOW).close()
    from_models = tmp_path / "models.db"
    engine = create_engine(f"sqlite:///{from_models}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    assert describe(migrated) == describe(from_models)


def test_the_generated_ddl_builds_the_models_tables(tmp_path: Path) -> None:
    from mlsys_srs.store.ddl import DDL

    generated = tmp_path / "generated.db"
    conn = sqlite3.connect(generated)
    for statements in DDL.values():
        for statement in statements:
            conn.execute(statement)
            conn.execute(statement)  # idempotent: IF NOT EXISTS
    conn.close()
    from_models = tmp_path / "models.db"
    engine = create_engine(f"sqlite:///{from_models}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    assert describe(generated) == describe(from_models)


def test_migrations_are_recorded_and_run_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = open_db(path, NOW)
    assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS)
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migration")]
    assert names == [name for name, _ in MIGRATIONS]
    conn.close()
    conn = open_db(path, NOW + timedelta(days=1))
    assert conn.execute("SELECT count(*) FROM schema_migration").fetchone()[0] == len(MIGRATIONS)
    conn.close()


def test_pragmas(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "db.sqlite", NOW)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO review (card_id, rating, reviewed_at, state_before, state_after, before) "
            "VALUES (999, 3, 'x', 'new', 'learning', '{}')"
        )


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 8, 10, 59, 59, 123456, tzinfo=UTC),
        datetime(2026, 3, 8, 2, 30, tzinfo=timezone(timedelta(hours=-8))),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_utc_datetimes_round_trip(value: datetime) -> None:
    back = dt_from_db(dt_to_db(value))
    assert back == value
    assert back is not None and back.tzinfo is UTC
    with pytest.raises(ValueError):
        dt_to_db(datetime(2026, 1, 1))


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError) as info:
        open_db(bad, NOW)
    assert str(bad) in str(info.value)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = open_db(path, NOW)
    conn.execute("INSERT INTO schema_migration VALUES ('m999_future', 'x')")
    conn.close()
    with pytest.raises(DatabaseError, match="newer mlsys-srs"):
        open_db(path, NOW)
