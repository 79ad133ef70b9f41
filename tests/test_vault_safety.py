"""Nothing from another device, a shared setting or a symlink sends a write outside the vault; two clones
agree on who the vault is; backups belong to their vault; bad settings and ids are one line each."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.scheduling.parameters import LOWER_BOUNDS, UPPER_BOUNDS
from mlsys_srs.vault.layout import GITATTRIBUTES, read_vault_id, read_vault_ids

from .conftest import write_notes

ENV = {"MLSYS_SRS_NOW": "2026-12-07T08:00:00+00:00"}
NOTE = {"a.md": "# A\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n"}


def mlsys(vault: Path, *args: str, code: int | None = 0, env: dict[str, str] | None = None) -> str:
    context.reset_consoles()
    result = CliRunner().invoke(
        cli.app, ["--vault", str(vault), *args], env={**ENV, **(env or {})}, catch_exceptions=False
    )
    context.reset_consoles()
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output)
    return str(result.output)


def test_two_clones_that_each_made_an_id_agree_after_a_git_merge(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write_notes(origin, NOTE)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(origin)], check=True)
    subprocess.run([*git, "-C", str(origin), "add", "."], check=True)
    subprocess.run([*git, "-C", str(origin), "commit", "-qm", "notes"], check=True)
    bare = tmp_path / "origin.git"
    subprocess.run([*git, "clone", "-q", "--bare", str(origin), str(bare)], check=True)
    a, b = tmp_path / "a", tmp_path / "b"
    for clone in (a, b):
        subprocess.run([*git, "clone", "-q", str(bare), str(clone)], check=True)
    # Each machine syncs before it pulls the other's .mlsys-srs/vault.toml.
    mlsys(a, "sync", "-q", env={"XDG_DATA_HOME": str(tmp_path / "data-a")})
    mlsys(b, "sync", "-q", env={"XDG_DATA_HOME": str(tmp_path / "data-b")})
    id_a, id_b = read_vault_id(a), read_vault_id(b)
    assert id_a and id_b and id_a != id_b
    assert (a / ".mlsys-srs" / ".gitattributes").read_text() == GITATTRIBUTES
    for clone in (a, b):
        subprocess.run([*git, "-C", str(clone), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(clone), "commit", "-qm", "sync"], check=True)
    subprocess.run([*git, "-C", str(a), "push", "-q", "origin", "main"], check=True)
    pulled = subprocess.run(
        [*git, "-C", str(b), "pull", "-q", "--no-rebase", "origin", "main"], capture_output=True, text=True
    )
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr  # no merge conflict in vault.toml
    assert read_vault_ids(b) == sorted([id_a, id_b])
    # Both take the smallest; the database kept under the other id is adopted, not orphaned.
    winner = min(id_a, id_b)
    out = mlsys(b, "info", "--json", env={"XDG_DATA_HOME": str(tmp_path / "data-b")})
    info = json.loads(out[out.index("{") :])
    assert info["vault_id"] == winner
    assert info["db"].endswith(f"{winner}.db") and info["db_exists"]


def test_a_syncthing_conflict_copy_of_the_id_file_is_read_too(tmp_path: Path) -> None:
    write_notes(tmp_path / "v", NOTE)
    meta = tmp_path / "v" / ".mlsys-srs"
    meta.mkdir()
    (meta / "vault.toml").write_text('id = "v-bbbbbbbbbbbbbbbb"\n')
    (meta / "vault.sync-conflict-20261207-120000-ABCDEF.toml").write_text('id = "v-aaaaaaaaaaaaaaaa"\n')
    assert read_vault_id(tmp_path / "v") == "v-aaaaaaaaaaaaaaaa"


def test_backups_are_the_vaults_and_restore_refuses_another_vaults_snapshot(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write_notes(one, NOTE)
    write_notes(two, {"b.md": "# B\n\nQ: three?\nA: 3\n"})
    db_one, db_two = tmp_path / "x" / "srs.db", tmp_path / "y" / "srs.db"  # same file name
    for vault, db in ((one, db_one), (two, db_two)):
        context.reset_consoles()
        CliRunner().invoke(cli.app, ["--vault", str(vault), "--db", str(db), "sync", "-q"], env=ENV)
        context.reset_consoles()
        r = CliRunner().invoke(
            cli.app, ["--vault", str(vault), "--db", str(db), "grade", "1", "good"], env=ENV
        )
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(
            cli.app,
            ["--vault", str(vault), "--db", str(db), "sync", "-q"],
            env={"MLSYS_SRS_NOW": "2026-12-08T08:00:00+00:00"},
        )
        assert r.exit_code == 0, r.output
    context.reset_consoles()
    listed = [
        json.loads(
            CliRunner()
            .invoke(cli.app, ["--vault", str(v), "--db", str(d), "backup", "--json"], env=ENV)
            .stdout
        )
        for v, d in ((one, db_one), (two, db_two))
    ]
    folders = [x["folder"] for x in listed]
    assert folders[0] != folders[1]  # keyed by vault id, not by the file name srs.db
    assert Path(folders[0]).name == read_vault_id(one)
    theirs = Path(folders[1]) / listed[1]["snapshots"][0]["name"]
    mine = Path(folders[0]) / theirs.name
    mine.write_bytes(theirs.read_bytes())  # another vault's snapshot, in this vault's folder
    context.reset_consoles()
    r = CliRunner().invoke(
        cli.app, ["--vault", str(one), "--db", str(db_one), "backup", "restore", theirs.name], env=ENV
    )
    assert r.exit_code == 1 and "a snapshot of another vault" in r.output
    r = CliRunner().invoke(
        cli.app,
        ["--vault", str(one), "--db", str(db_one), "backup", "restore", "--other-vault", theirs.name],
        env=ENV,
    )
    assert r.exit_code == 0, r.output


def test_a_symlinked_journal_file_never_appends_outside_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    mlsys(vault, "sync", "-q")
    info = json.loads(mlsys(vault, "info", "--json"))
    journal = Path(info["journal"])
    outside = tmp_path / "outside.txt"
    outside.write_text("")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.unlink(missing_ok=True)
    journal.symlink_to(outside)
    out = mlsys(vault, "grade", "1", "good", code=1)
    assert "journal" in out and out.count("\n") == 1
    assert outside.read_text() == ""  # nothing written outside


def test_a_shared_setting_cannot_move_the_journal_out_of_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    (vault / ".mlsys-srs").mkdir()
    for bad in ("../../x", "/tmp/x", "~/x", "a/../../x"):
        (vault / ".mlsys-srs" / "config.toml").write_text(f'[history]\njournal_dir = "{bad}"\n')
        out = mlsys(vault, "sync", code=1)
        assert "journal_dir must be a relative path inside the vault" in out, out
    assert not (tmp_path / "x").exists()
    (vault / ".mlsys-srs" / "config.toml").write_text('[history]\njournal_dir = "review-journal"\n')
    mlsys(vault, "sync", "-q")
    mlsys(vault, "grade", "1", "good")
    assert list((vault / "review-journal").glob("*.jsonl"))


def test_a_journal_folder_symlinked_out_of_the_vault_is_refused(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    (vault / ".mlsys-srs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (vault / ".mlsys-srs" / "journal").symlink_to(tmp_path / "elsewhere")
    out = mlsys(vault, "sync", code=1)
    assert "leads outside the vault" in out
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("kind", ["folder", "fifo", "deep"])
def test_a_vault_config_that_is_a_folder_a_pipe_or_too_deep_is_one_line(tmp_path: Path, kind: str) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    (vault / ".mlsys-srs").mkdir()
    path = vault / ".mlsys-srs" / "config.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    out = mlsys(vault, "due", code=1)
    assert out.startswith("error:") and out.count("\n") == 1 and "config.toml" in out


@pytest.mark.parametrize(
    "command", [("due",), ("stats",), ("graph",), ("cards",), ("export", "anki", "--no-sync"), ("report",)]
)
def test_every_command_refuses_weights_out_of_bounds_the_same_way(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    mlsys(vault, "sync", "-q")
    weights = [1.0] * 21
    weights[0] = -1.0
    (vault / ".mlsys-srs" / "config.toml").write_text(f"[schedule]\nparameters = {weights}\n")
    out = mlsys(vault, *command, code=1)
    assert "schedule.parameters: weight 0 is -1.0, outside py-fsrs's bounds 0.001 to 100.0" in out


def test_the_weight_bounds_are_py_fsrss() -> None:
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    assert tuple(LOWER_BOUNDS_PARAMETERS) == LOWER_BOUNDS
    assert tuple(UPPER_BOUNDS_PARAMETERS) == UPPER_BOUNDS


@pytest.mark.parametrize(
    "args",
    [
        ("grade", "99999999999999999999999", "good"),
        ("card", "9223372036854775808"),
        ("suspend", "99999999999999999999999"),
    ],
)
def test_ids_out_of_range_are_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    vault = tmp_path / "v"
    write_notes(vault, NOTE)
    mlsys(vault, "sync", "-q")
    out = mlsys(vault, *args, code=1)
    assert out.startswith("error: no card with id") and out.count("\n") == 1
