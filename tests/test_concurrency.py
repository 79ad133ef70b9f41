"""Two writers on one database: the second waits its turn and succeeds; nothing is lost.

Each run forks two real processes that start a ``sync`` at the same moment
(released together through a pipe). Forking from a process that has already
imported mlsys-srs keeps 80 processes within a few seconds.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import traceback
from pathlib import Path

import pytest

from mlsys_srs import cli
from mlsys_srs.cli import context

RUNS = 20


def _child(go: int, args: list[str], log: Path) -> None:
    """In a forked child: wait for the go byte, run the CLI, exit with its code."""
    code = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        context.reset_consoles()
        os.read(go, 1)
        try:
            cli.app(args, standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            import click

            code = exc.exit_code if isinstance(exc, click.exceptions.Exit) else 1
            if not isinstance(exc, click.exceptions.Exit):
                traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _two_syncs_at_once(runs: list[tuple[Path, Path]], tmp: Path) -> list[tuple[int, str]]:
    """Start two ``sync`` processes per (vault, db), all released together; their codes and logs."""
    r, w = os.pipe()
    children: list[tuple[int, Path]] = []
    for i, (vault, db) in enumerate(runs):
        for k in range(2):
            log = tmp / f"log-{i}-{k}.txt"
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child never returns
                os.close(w)
                _child(r, ["--vault", str(vault), "--db", str(db), "sync"], log)
            children.append((pid, log))
    os.close(r)
    os.write(w, b"x" * len(children))
    os.close(w)
    out = []
    for pid, log in children:
        _, status = os.waitpid(pid, 0)
        out.append((os.waitstatus_to_exitcode(status), log.read_text(errors="replace")))
    return out


def _vault(root: Path, n: int, start: int = 0) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        sub = root / f"d{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"n{i}.md").write_text(f"# N{i}\n\nq{i} :: a{i}\n\nQ: other {i}?\nA: yes [[n{(i + 1) % n}]]\n")


def _cards(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM card WHERE retired = 0").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("scenario", ["fresh", "changed"])
def test_two_syncs_started_together_both_succeed_and_nothing_is_lost(tmp_path: Path, scenario: str) -> None:
    runs = []
    for i in range(RUNS):
        vault, db = tmp_path / f"v{i}", tmp_path / f"db{i}" / "srs.db"
        _vault(vault, 12)
        runs.append((vault, db))
    if scenario == "changed":
        # A synced database, then new notes appear (new rows that both processes would add).
        for vault, db in runs:
            assert cli_sync(vault, db) == 0
            _vault(vault, 12, start=12)
    results = _two_syncs_at_once(runs, tmp_path)
    for code, log in results:
        assert code == 0, log
        assert "Traceback" not in log and "error" not in log.lower(), log
    expected = 2 * (24 if scenario == "changed" else 12)
    for _, db in runs:
        assert _cards(db) == expected


def cli_sync(vault: Path, db: Path) -> int:
    from typer.testing import CliRunner

    context.reset_consoles()
    res = CliRunner().invoke(cli.app, ["--vault", str(vault), "--db", str(db), "sync", "-q"])
    context.reset_consoles()
    return res.exit_code


def test_a_second_writer_says_it_is_waiting_for_the_first(tmp_path: Path) -> None:
    import fcntl

    vault, db = tmp_path / "v", tmp_path / "srs.db"
    _vault(vault, 3)
    r, w = os.pipe()
    log = tmp_path / "log.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        os.close(w)
        _child(r, ["--vault", str(vault), "--db", str(db), "sync"], log)
    # Another mlsys-srs (pid 4242) holds the lock; taken after the fork so the child does not share it.
    lock = os.open(str(db) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(lock, b"4242\n")
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.close(r)
    os.write(w, b"x")
    os.close(w)
    # The child blocks on the lock: wait until it has said so, then let it go.
    while "waiting for another mlsys-srs" not in (log.read_text() if log.exists() else ""):
        os.sched_yield()
    text = log.read_text()
    assert "waiting for another mlsys-srs (pid 4242) to finish" in text
    os.close(lock)  # releases the lock
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, log.read_text()
    assert _cards(db) == 6


def test_a_sync_decides_again_when_another_synced_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the advisory lock too: the write transaction re-reads the rows it decides on."""
    from datetime import UTC, datetime

    from mlsys_srs.store import open_db
    from mlsys_srs.sync import apply

    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    vault, db = tmp_path / "v", tmp_path / "srs.db"
    _vault(vault, 6)
    first, second = open_db(db, now), open_db(db, now)
    real = apply._read_phase
    calls = []

    def read_then_other_syncs(*args: object, **kwargs: object) -> object:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        if not calls:
            calls.append(1)
            monkeypatch.setattr(apply, "_read_phase", real)
            apply.sync_vault(second, vault, now)  # another process syncs the same new notes
        return found

    monkeypatch.setattr(apply, "_read_phase", read_then_other_syncs)
    report = apply.sync_vault(first, vault, now)
    assert report.cards_added == 0 and report.notes_added == 0
    assert _cards(db) == 12


def test_two_processes_opening_a_fresh_database_migrate_it_once(tmp_path: Path) -> None:
    import threading
    from datetime import UTC, datetime

    from mlsys_srs.store import open_db

    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    errors: list[BaseException] = []

    def opener(path: Path, start: threading.Barrier) -> None:
        start.wait()
        try:
            open_db(path, now).close()
        except BaseException as exc:
            errors.append(exc)

    for i in range(20):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=opener, args=(tmp_path / f"{i}.db", start)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
