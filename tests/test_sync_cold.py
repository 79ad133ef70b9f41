"""The first sync of an empty database (``sync.cold``) writes exactly what the sync phases write."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlsys_srs.store import open_db
from mlsys_srs.sync import apply, cold, sync_vault

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synth import make_vault

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "notes"

EDGE = {
    # The same block id in two notes: the first copy (path order) keeps it.
    "dup/a.md": "Q: first copy\nA: one ^shared\n\nk :: v ^only-a\n",
    "dup/b.md": "Q: second copy\nA: two ^shared\n\nboth ways ::: here ^rev\n",
    "dup/c.md": "both ways ::: again ^rev\n\nC: {{c1::x}} {{c2::y}} ^cz\n",
    "dup/d.md": "C: {{c1::p}} {{c2::q}} {{c3::r}} ^cz\n",
    "dup/e.md": "k :: v ^only-a\n",  # its diagnostic comes before c.md's: grouped by first claim
    # Identical cards in one note share a uid: later copies are salted.
    "same/twice.md": "x :: y\n\nx :: y\n\nx :: y\n",
    "same/again.md": "x :: y\n",
    # Diagnostics, a note that makes no cards, srs: false, links of every kind.
    "diag/broken.md": "Q: no answer here\n\n{{c1::}} alone\n\n```\nunclosed fence\n",
    "diag/frontmatter.md": "---\ntags: [a\n---\nq :: a\n",
    "plain/prose.md": "# Just prose\n\nNo cards, [[dup/a]] and [md](../dup/b.md) and [[nowhere]].\n",
    "plain/off.md": "---\nsrs: false\naliases: [offnote]\n---\nq :: a [[offnote]]\n",
    "plain/highlight.md": "A ==highlight== cloze and {{c1::a real one}} [[plain/prose#Just prose|shown]]\n",
}


def _vault(root: Path, unreadable: bool = True) -> None:
    make_vault(root / "synth", 40, 6, seed=5)
    shutil.copytree(GOLDEN, root / "golden")
    for rel, text in EDGE.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    if unreadable:
        (root / "bad").mkdir()
        (root / "bad" / "latin1.md").write_bytes("caf\xe9 :: coffee\n".encode("latin-1"))


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    out = {
        "schema": conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall(),
        "fts": conn.execute("SELECT rowid, * FROM card_fts ORDER BY rowid").fetchall(),
    }
    for table in ("note", "card", "card_tag", "link", "meta"):
        out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    return out


def _sync(
    vault: Path, db: Path, highlight: bool
) -> tuple[dict[str, object], dict[str, list[tuple[object, ...]]]]:
    conn = open_db(db, NOW)
    try:
        report = sync_vault(conn, vault, NOW, highlight_cloze=highlight)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return report.as_dict(), _dump(conn)
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize(
    ("highlight", "unreadable"),
    # Without an unreadable note, the links the workers resolved are kept (those to an alias or
    # to no note are resolved at the end); with one, every link is resolved again.
    [(False, True), (True, True), (False, False)],
)
def test_a_cold_sync_writes_what_the_phases_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, highlight: bool, unreadable: bool
) -> None:
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork")
    vault = tmp_path / "vault"
    _vault(vault, unreadable)
    monkeypatch.setattr(cold, "COLD_MIN", 10**9)
    phases = _sync(vault, tmp_path / "phases.db", highlight)
    monkeypatch.setattr(cold, "COLD_MIN", 0)
    monkeypatch.setattr(cold, "SHARE", 7)
    monkeypatch.setattr(cold, "workers_for", lambda n: workers)
    streamed = _sync(vault, tmp_path / "cold.db", highlight)
    report, dump = streamed
    assert report == phases[0]
    cards = report["cards"]
    assert isinstance(cards, dict) and cards["added"] > 1000
    diagnostics = report["diagnostics"]
    assert isinstance(diagnostics, list)
    messages = [str(d["message"]) for d in diagnostics]
    assert any("used twice in the vault" in m for m in messages)
    assert any("not valid UTF-8" in m for m in messages) == unreadable
    for key, rows in phases[1].items():
        # The note rows hold each file's mtime: equal, as both synced the same files.
        assert dump[key] == rows, key


def test_a_cold_sync_reports_progress_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = tmp_path / "vault"
    make_vault(vault, 30, 3, seed=2)
    monkeypatch.setattr(cold, "COLD_MIN", 0)
    monkeypatch.setattr(cold, "SHARE", 4)
    seen: list[tuple[int, int]] = []
    conn = open_db(tmp_path / "db", NOW)
    sync_vault(conn, vault, NOW, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (30, 30) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_cold_sync_decides_again_when_another_synced_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database was empty when the sync looked, but not under the write lock: the phases decide."""
    vault, db = tmp_path / "v", tmp_path / "srs.db"
    make_vault(vault, 12, 3, seed=4)
    monkeypatch.setattr(cold, "COLD_MIN", 0)
    first, second = open_db(db, NOW), open_db(db, NOW)
    real = apply.walk_vault
    calls: list[int] = []

    def walk_then_other_syncs(*args: object, **kwargs: object) -> object:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        if not calls:
            calls.append(1)
            monkeypatch.setattr(apply, "walk_vault", real)
            sync_vault(second, vault, NOW)  # another process syncs the same notes first
        return found

    monkeypatch.setattr(apply, "walk_vault", walk_then_other_syncs)
    report = sync_vault(first, vault, NOW)
    assert calls and report.cards_added == 0 and report.notes_added == 0
    total = first.execute("SELECT count(*), count(DISTINCT uid) FROM card").fetchone()
    assert total[0] == total[1] > 12


def test_a_cold_sync_loads_through_a_journal_only_when_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alone, the load goes through a rollback journal and the WAL is back after it; with another
    connection open it goes through the WAL, without waiting for that connection. Same rows."""
    vault = tmp_path / "vault"
    _vault(vault)
    monkeypatch.setattr(cold, "COLD_MIN", 0)
    modes: list[tuple[str, int]] = []
    real = cold.cold_sync

    def watched(conn: sqlite3.Connection, *args: object, **kwargs: object) -> None:
        modes.append(
            (
                conn.execute("PRAGMA journal_mode").fetchone()[0],
                conn.execute("PRAGMA foreign_keys").fetchone()[0],
            )
        )
        real(conn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cold, "cold_sync", watched)
    alone = _sync(vault, tmp_path / "alone.db", False)
    other = open_db(tmp_path / "shared.db", NOW)
    try:
        shared = _sync(vault, tmp_path / "shared.db", False)
        assert other.execute("SELECT count(*) FROM card").fetchone()[0] == alone[0]["cards"]["added"]  # type: ignore[index]
    finally:
        other.close()
    assert modes == [("delete", 0), ("wal", 0)]
    assert shared == alone
    for db in ("alone.db", "shared.db"):
        conn = sqlite3.connect(tmp_path / db)  # as the file says, not as open_db sets it
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
