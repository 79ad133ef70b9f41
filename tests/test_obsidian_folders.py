"""Obsidian's templates and attachments folders are not notes: their Markdown makes no cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mlsys_srs.sync.walk import obsidian_ignores, walk_vault

from .conftest import Cli

TEMPLATE = "---\ntags: [flashcards]\n---\n# {{title}}\n\n{{question}}\n\nQ: {{question}}\nA: {{answer}}\n"


def obsidian(vault: Path, name: str, data: object) -> None:
    (vault / ".obsidian").mkdir(exist_ok=True)
    (vault / ".obsidian" / name).write_text(json.dumps(data))


def test_templates_and_attachment_folders_are_skipped(
    run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]
) -> None:
    notes(
        {
            "gpu.md": "# GPU\n\nwarp :: 32 threads\n",
            "templates/card-template.md": TEMPLATE,
            "assets/pasted.md": "# Pasted\n\nnot :: a card\n",
            "gpu/att/scan.md": "# Scan\n\nalso not :: a card\n",
        }
    )
    obsidian(vault, "templates.json", {"folder": "templates"})
    obsidian(vault, "app.json", {"attachmentFolderPath": "assets"})
    assert [f.path for f in walk_vault(vault)] == ["gpu.md", "gpu/att/scan.md"]
    obsidian(vault, "app.json", {"attachmentFolderPath": "./att"})
    assert [f.path for f in walk_vault(vault)] == ["assets/pasted.md", "gpu.md"]
    obsidian(vault, "app.json", {"attachmentFolderPath": "/assets/"})
    run("sync", "--write-ids")
    cards = run.json("cards")
    assert [c["question"] for c in cards] == ["warp", "also not"]  # type: ignore[union-attr]
    # The template keeps no id that every new note would copy.
    assert (vault / "templates" / "card-template.md").read_text() == TEMPLATE
    assert "templates/" not in run("check").output


def test_a_template_synced_before_is_retired(
    run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]
) -> None:
    notes({"gpu.md": "# GPU\n\nwarp :: 32 threads\n", "templates/card-template.md": TEMPLATE})
    run("sync")
    assert len(run.json("cards")) == 3  # type: ignore[arg-type]
    obsidian(vault, "templates.json", {"folder": "templates"})
    run("sync")
    assert [c["question"] for c in run.json("cards")] == ["warp"]  # type: ignore[union-attr]


def test_no_or_broken_obsidian_settings_skip_nothing(tmp_path: Path) -> None:
    assert obsidian_ignores(tmp_path) == ()
    obsidian(tmp_path, "templates.json", [])
    (tmp_path / ".obsidian" / "app.json").write_text("{not json")
    assert obsidian_ignores(tmp_path) == ()
    obsidian(tmp_path, "app.json", {"attachmentFolderPath": "./"})
    assert obsidian_ignores(tmp_path) == ()
