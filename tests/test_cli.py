"""The note and card commands as a user runs them: sync, check, cards, info, errors, help."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.store.migrations import MIGRATIONS

from .conftest import Cli

NOTE = "---\ntags: [gpu]\n---\n# Warps\n\n## Basics\n\nQ: How many threads in a warp? #interview\nA: 32 on NVIDIA GPUs.\n\nSM :: streaming multiprocessor\n\nC: A {{c1::warp}} runs in {{c2::lockstep}}.\n\nSee [[memory]] and [[nowhere]].\n"


def test_sync_then_cards_json(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"09-gpu/warps.md": NOTE, "09-gpu/memory.md": "# Memory\n\nHBM :: high bandwidth memory\n"})
    out = run("sync").stdout
    assert "2 notes (2 parsed), 5 added" in out
    cards = run.json("cards")
    assert isinstance(cards, list) and len(cards) == 5
    first = cards[0]
    assert set(first) >= {
        "id",
        "note",
        "line",
        "kind",
        "cloze",
        "question",
        "answer",
        "context",
        "domain",
        "tags",
        "block_id",
        "links",
        "state",
        "due",
        "suspended",
        "retired",
    }
    by_q = {c["question"]: c for c in cards}
    warp = by_q["How many threads in a warp? #interview"]
    assert warp["note"] == "09-gpu/warps.md"
    assert warp["line"] == 8
    assert warp["kind"] == "basic" and warp["cloze"] is None
    assert warp["context"] == "Warps > Basics"
    assert warp["domain"] == "gpu"
    assert sorted(warp["tags"]) == ["gpu", "interview"]
    assert warp["state"] == "new" and warp["due"] is None and warp["retired"] is False
    cloze = by_q["A [...] runs in lockstep."]
    assert (cloze["kind"], cloze["cloze"], cloze["answer"]) == ("cloze", 1, "A warp runs in lockstep.")


def test_cards_filters(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"gpu/a.md": NOTE, "db/b.md": "---\ntags: [sql/joins]\n---\nx :: y\n"})
    run("sync")
    assert len(run.json("cards", "--domain", "db")) == 1
    assert len(run.json("cards", "--tag", "interview")) == 1
    assert len(run.json("cards", "--tag", "sql")) == 1  # nested tag matches its parent
    assert len(run.json("cards", "--note", "gpu/*")) == 4
    assert len(run.json("cards", "--state", "new")) == 5
    assert run.json("cards", "--due") == []
    notes({"db/b.md": "nothing here\n"})
    run("sync")
    assert len(run.json("cards")) == 4
    retired = [c for c in run.json("cards", "--retired") if c["retired"]]
    assert [c["question"] for c in retired] == ["x"]
    run("cards", "--state", "bogus", code=2)


def test_cards_table_output(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"a.md": NOTE})
    run("sync")
    out = run("cards").stdout
    assert "4 cards" in out
    assert "a.md:8" in out


def test_check_reports_path_line_and_exit_code(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"ok.md": "x :: y\n", "sub/bad.md": "fine text\n\nQ: no answer here\n"})
    result = run("check", code=1)
    assert "sub/bad.md:3: Q: has no A: in its paragraph" in result.stdout
    assert "2 notes, 1 card, 1 error" in result.stdout
    res = run("check", "--json", code=1)
    payload = json.loads(res.stdout)
    assert payload["errors"] == 1
    assert payload["diagnostics"][0] == {
        "path": "sub/bad.md",
        "line": 3,
        "severity": "error",
        "code": "format",
        "message": "Q: has no A: in its paragraph",
    }
    assert not run.db.exists()  # check never writes the database


def test_check_passes_on_clean_vault(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"ok.md": "x :: y\n"})
    assert "0 errors" in run("check").stdout


def test_sync_prints_diagnostics_and_still_exits_zero(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"good.md": "x :: y\n", "bad.md": "Q: lonely\n"})
    result = run("sync")
    assert "bad.md:1: Q: has no A: in its paragraph" in result.output
    assert "1 added" in result.stdout
    data = run.json("sync")
    assert data["cards"]["added"] == 0 and data["notes"]["seen"] == 2


def test_sync_write_ids(run: Cli, notes, vault: Path) -> None:  # type: ignore[no-untyped-def]
    notes({"a.md": "x :: y\n\nQ: q\nA: a\n"})
    run("sync")
    ids = [c["id"] for c in run.json("cards")]
    out = run("sync", "--write-ids").stdout
    assert "2 block ids written" in out
    text = (vault / "a.md").read_text()
    assert text.count("^srs-") == 2
    after = run.json("cards")
    assert [c["id"] for c in after] == ids
    assert all(c["block_id"] and c["block_id"].startswith("srs-") for c in after)


def test_info_json(run: Cli, notes, vault: Path, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes({"a.md": NOTE})
    run("sync")
    data = run.json("info")
    assert data["vault"] == str(vault)
    assert data["db"] == str(db_path)
    assert data["schema_version"] == data["schema_latest"] == len(MIGRATIONS)
    assert (data["notes"], data["cards"], data["links"], data["dangling_links"]) == (1, 4, 2, 2)


def test_missing_vault_is_one_clean_line(run: Cli, tmp_path: Path) -> None:
    bad = Cli(tmp_path / "no-such-vault", tmp_path / "x.db")
    result = bad("sync", code=1)
    assert "vault folder not found" in result.output
    assert "Traceback" not in result.output


def test_unusable_database_is_one_clean_line(run: Cli, notes, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes({"a.md": "x :: y\n"})
    db_path.write_bytes(b"garbage" * 1000)
    result = run("sync", code=1)
    assert str(db_path) in result.output
    assert "Traceback" not in result.output


def test_invalid_config_names_the_file(run: Cli, isolated_user_dirs: Path) -> None:
    cfg = isolated_user_dirs / "config.toml"
    cfg.write_text("[schedule]\ndesired_retention = 'high'\n")
    result = run("info", code=1)
    assert str(cfg) in result.output and "desired_retention" in result.output


def test_env_vars_and_config_file_choose_paths(
    tmp_path: Path, isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    v = tmp_path / "env-vault"
    v.mkdir()
    (v / "n.md").write_text("a :: b\n")
    monkeypatch.setenv("MLSYS_SRS_VAULT", str(v))
    monkeypatch.setenv("MLSYS_SRS_DB", str(tmp_path / "env.db"))
    context.reset_consoles()
    result = CliRunner().invoke(cli.app, ["sync"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("MLSYS_SRS_DB")
    (isolated_user_dirs / "config.toml").write_text(f'db = "{tmp_path / "cfg.db"}"\nignore = ["n.md"]\n')
    context.reset_consoles()
    result = CliRunner().invoke(cli.app, ["sync", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cfg.db").exists()
    assert '"seen": 0' in result.stdout


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    top = runner.invoke(cli.app, ["--help"])
    assert top.exit_code == 0
    import typer.main

    group = typer.main.get_command(cli.app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help and len(command.help) > 20, name
        result = runner.invoke(cli.app, [name, "--help"])
        assert result.exit_code == 0, name


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml")}
    out = subprocess.run(
        [sys.executable, "-m", "mlsys_srs", "--help"], capture_output=True, text=True, env=env, check=True
    )
    assert "mlsys-srs" in out.stdout or "Usage" in out.stdout


def test_a_reader_that_goes_away_gets_no_error_message(tmp_path: Path) -> None:
    """``mlsys-srs ... | head -1``: no "Broken pipe" line, no traceback."""
    import subprocess
    import sys

    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text("".join(f"q{i} :: a{i}\n" for i in range(3000)))
    env = {
        **os.environ,
        "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml"),
        "MLSYS_SRS_DB": str(tmp_path / "db"),
    }
    base = [sys.executable, "-m", "mlsys_srs", "--vault", str(vault)]
    subprocess.run([*base, "sync", "-q"], env=env, check=True)
    for args in (["cards"], ["cards", "--json"], ["--help"]):
        proc = subprocess.Popen([*base, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait()
        assert "Broken pipe" not in err and "Traceback" not in err, (args, err)


def test_a_first_sync_without_history_marks_the_journal_seeded(
    run: Cli, notes: Callable[[dict[str, str]], None], vault: Path, db_path: Path
) -> None:
    """Nothing to seed: the journal is marked seeded and nothing is written."""
    notes({"a.md": NOTE})
    report = run.json("sync")
    assert isinstance(report, dict) and report["journal"]["seeded"] == 0
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'journal_seeded'").fetchone() is not None
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 0
    # No journal line is written (the vault's id is: its backups and journal are keyed by it).
    assert not list(vault.rglob("*.jsonl"))
    assert {p.name for p in vault.rglob("*") if p.is_file() and p.suffix != ".md"} <= {
        "vault.toml",
        ".gitignore",
        ".gitattributes",
    }


def test_history_from_before_the_journal_is_seeded_once(
    run: Cli, notes: Callable[[dict[str, str]], None], db_path: Path, tmp_path: Path
) -> None:
    """A database that holds history (here a suspension) is seeded into the journal, once."""
    notes({"a.md": NOTE})
    off = tmp_path / "off.toml"
    off.write_text("[history]\njournal = false\n")
    run("sync", env={"MLSYS_SRS_CONFIG": str(off)})
    run("suspend", "1", env={"MLSYS_SRS_CONFIG": str(off)})
    report = run.json("sync")
    assert isinstance(report, dict) and report["journal"]["seeded"] == 1
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'journal_seeded'").fetchone() is not None
    again = run.json("sync")
    assert isinstance(again, dict) and again["journal"]["seeded"] == 0
