"""`mlsys-srs init`: a new vault with the starter knowledge base, or one example note; `--update` keeps
the person's edits; a wrong or empty folder gets one clear line and nothing written into it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.app import starter
from mlsys_srs.cli import context

from .conftest import REPO, write_notes

NOW = {"MLSYS_SRS_NOW": "2026-12-07T08:00:00+00:00"}


def mlsys(*args: str, code: int = 0) -> str:
    context.reset_consoles()
    result = CliRunner().invoke(cli.app, list(args), env=NOW, catch_exceptions=False)
    context.reset_consoles()
    assert result.exit_code == code, (result.exit_code, result.output)
    return str(result.output)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_the_starter_base_and_a_review_can_start(tmp_path: Path) -> None:
    target = tmp_path / "mlsys"
    out = mlsys("init", str(target))
    assert "made a vault in" in out and "next: cd" in out
    notes = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.md"))
    bundled = sorted(p.relative_to(REPO / "notes").as_posix() for p in (REPO / "notes").rglob("*.md"))
    assert notes == bundled  # the same notes as notes/
    assert sorted(p.name for p in (target / "decks").glob("*.toml")) == sorted(
        p.name for p in (REPO / "decks").glob("*.toml")
    )
    assert (target / ".mlsys-srs" / "vault.toml").is_file()
    assert "quality = true" in (target / ".mlsys-srs" / "config.toml").read_text()
    synced = json.loads(mlsys("--vault", str(target), "sync", "--json"))
    bundled_cards = json.loads(
        mlsys("--vault", str(REPO / "notes"), "--db", str(tmp_path / "x.db"), "sync", "--json")
    )
    assert synced["cards"]["added"] == bundled_cards["cards"]["added"] > 1700
    due = json.loads(mlsys("--vault", str(target), "due", "--json"))
    assert due["new_available"] > 0
    # The starter vault passes its own quality rules, on by its config.
    check = json.loads(mlsys("--vault", str(target), "check", "--json"))
    assert check["errors"] == 0 and check["warnings"] == 0


def test_init_empty_writes_one_note_showing_every_syntax(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    mlsys("init", "--empty", str(target))
    assert [p.name for p in target.rglob("*.md")] == ["example.md"]
    cards = json.loads(mlsys("--vault", str(target), "sync", "--json"))
    assert cards["cards"]["added"] == 8  # qa, ::, ::: (two), ?, cloze (two), callout
    listed = json.loads(mlsys("--vault", str(target), "cards", "--json"))
    assert {c["syntax"] for c in listed} == {"qa", "inline", "multiline", "cloze", "callout"}


def test_init_never_writes_into_a_folder_with_notes(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    write_notes(target, {"deep/a.md": "# A\n\nQ: one?\nA: 1\n"})
    before = tree(target)
    out = mlsys("init", str(target), code=1)
    assert "already holds notes" in out and out.count("\n") == 1
    assert tree(target) == before


def test_update_takes_new_versions_of_untouched_files_and_keeps_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old-starter"
    shutil.copytree(REPO / "notes", old / "notes")
    shutil.copytree(REPO / "decks", old / "decks")
    edited_note = "09-gpu-systems/roofline-model.md"
    untouched = "08-llm-systems/kv-cache.md"
    (old / "notes" / untouched).write_text("# KV cache\n\nQ: an older card?\nA: yes it is\n")
    (old / "notes" / edited_note).write_text("# Roofline\n\nQ: older roofline?\nA: old\n")
    monkeypatch.setattr(starter, "starter_root", lambda: old)
    vault = tmp_path / "v"
    mlsys("init", str(vault))
    (vault / edited_note).write_text("# Roofline\n\nQ: my own card?\nA: mine\n")  # the person's edit
    first = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md"))[0]
    (vault / first).unlink()  # the person deleted a note
    (old / "notes" / "new-domain").mkdir()
    monkeypatch.setattr(starter, "starter_root", lambda: REPO)  # the new version: the repository's
    shutil.copy(REPO / "notes" / untouched, tmp_path / "expected.md")

    plan = mlsys("init", "--update", "--dry-run", str(vault))
    assert "updated  " + untouched in plan
    assert "kept (you edited it)  " + edited_note in plan
    assert "would write" in plan
    assert (vault / untouched).read_text().startswith("# KV cache\n\nQ: an older card?")  # dry run: nothing

    mlsys("init", "--update", "--yes", str(vault))
    assert (vault / untouched).read_bytes() == (REPO / "notes" / untouched).read_bytes()
    assert (vault / edited_note).read_text() == "# Roofline\n\nQ: my own card?\nA: mine\n"
    assert not (vault / first).exists()  # a deleted note stays deleted
    again = json.loads(mlsys("init", "--update", "--json", "--yes", str(vault)))
    assert again["written"] is False and not again["files"].get("update") and not again["files"].get("add")


def test_update_refuses_a_vault_not_made_by_init(tmp_path: Path) -> None:
    write_notes(tmp_path / "v", {"a.md": "# A\n"})
    out = mlsys("init", "--update", str(tmp_path / "v"), code=1)
    assert "not a vault made by `mlsys-srs init`" in out


def test_a_missing_vault_says_how_to_start_and_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    for args in (("stats",), ("due",), ("sync",), ("cards",), ("export", "anki")):
        out = mlsys("--vault", str(missing), *args, code=1)
        assert "vault folder not found" in out and "mlsys-srs init" in out, (args, out)
    assert not (tmp_path / "no").exists()


def test_a_first_sync_of_a_folder_without_notes_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("not a note")
    out = mlsys("--vault", str(empty), "sync", code=1)
    assert "no Markdown notes in this folder; nothing was written" in out and "mlsys-srs init" in out
    assert sorted(p.name for p in empty.iterdir()) == ["readme.txt"]


def test_the_wheel_carries_the_starter_notes(tmp_path: Path) -> None:
    # An installed copy (pipx install .) reaches the starter base: it is package data.
    pytest.importorskip("hatchling")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlsys_srs-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {
        f"mlsys_srs/starter/notes/{p.relative_to(REPO / 'notes').as_posix()}"
        for p in (REPO / "notes").rglob("*.md")
    }
    assert bundled <= names
    assert "mlsys_srs/starter/decks/interview-prep.toml" in names
    assert "mlsys_srs/app/example-note.md" in names


def test_a_search_shows_its_best_screenful_and_says_how_many_more(tmp_path: Path) -> None:
    notes = {
        f"n{i:02d}.md": f"# N{i}\n\nQ: What is all-reduce step {i}?\nA: Step {i} of all-reduce.\n"
        for i in range(40)
    }
    write_notes(tmp_path / "v", notes)
    mlsys("--vault", str(tmp_path / "v"), "sync", "-q")
    out = mlsys("--vault", str(tmp_path / "v"), "cards", "--search", "all-reduce")
    assert "… and 20 more matches of 40" in out
    assert out.count("all-reduce step") == 20
    every = json.loads(mlsys("--vault", str(tmp_path / "v"), "cards", "--search", "all-reduce", "--json"))
    assert len(every) == 40
    few = mlsys("--vault", str(tmp_path / "v"), "cards", "--search", "all-reduce", "--limit", "50")
    assert "more match" not in few


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("cards", "--state", "reveiw"), "did you mean review"),
        (("cards", "--deck", "interveiw-prep"), "interview-prep"),
        (("due", "--domain", "gpu-sytems"), "did you mean gpu-systems"),
        (("grade", "1", "goood"), "use 1-4 or again, hard, good, easy"),
    ],
)
def test_an_invalid_option_value_exits_2_with_a_suggestion(
    tmp_path: Path, args: tuple[str, ...], hint: str
) -> None:
    target = tmp_path / "v"
    mlsys("init", str(target))
    mlsys("--vault", str(target), "sync", "-q")
    out = mlsys("--vault", str(target), *args, code=2)
    assert hint in " ".join(out.split()), out
