"""`sync` reports a renamed or moved note as moved, never as deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import Cli

NOTE = "# Attention\n\nKV cache :: keys and values\n\nQ: What grows with context?\nA: The KV cache.\n"


def test_a_rename_is_a_move(run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]) -> None:
    notes({"a.md": NOTE, "b.md": "# B\n\nbeta :: b\n"})
    run("sync")
    (vault / "08-llm").mkdir()
    (vault / "a.md").rename(vault / "08-llm" / "attention.md")
    out = run("sync").output
    assert "1 note moved" in out and "deleted" not in out
    assert run.json("sync")["notes"]["moved"] == 0  # type: ignore[index]


def test_a_rename_with_an_edit_is_a_move(
    run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]
) -> None:
    notes({"a.md": NOTE, "b.md": "# B\n\nbeta :: b\n"})
    run("sync")
    (vault / "a.md").unlink()
    notes({"kv.md": NOTE.replace("keys and values", "keys and values of past tokens")})
    out = run("sync").output
    assert "1 note moved" in out and "deleted" not in out and "0 retired" in out


def test_a_deleted_note_is_deleted(run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]) -> None:
    notes({"a.md": NOTE, "b.md": "# B\n\nbeta :: b\n"})
    run("sync")
    (vault / "b.md").unlink()
    out = run("sync").output
    assert "1 note deleted" in out and "note moved" not in out
    assert run.json("sync")["notes"]["deleted"] == 0  # type: ignore[index]
