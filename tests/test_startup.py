"""Start-up budget: `due`, `card` and `grade` import nothing they do not use (checked with -X importtime)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_notes

HEAVY = {
    "genanki",  # the Anki export
    "markdown_it",  # rendering
    "pygments",
    "plotly",  # the report
    "networkx",
    "rapidfuzz",  # duplicate detection in check
    "fsrs_rs_python",  # the optimizer
    "tomlkit",
    "sqlmodel",  # the schema of record is for tests and migrations, not run time
    "sqlalchemy",
    "frontmatter",  # reading notes: none of these commands parse notes
}


def imported(tmp_path: Path, env: dict[str, str], *args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlsys_srs", "--vault", str(tmp_path / "v"), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    names = set()
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.fixture
def synced(tmp_path: Path) -> tuple[dict[str, str], int]:
    write_notes(tmp_path / "v", {"a.md": "# A\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n"})
    env = {
        **os.environ,
        "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml"),
        "MLSYS_SRS_DB": str(tmp_path / "x.db"),
        "MLSYS_SRS_NOW": "2026-11-30T08:00:00+00:00",
    }
    subprocess.run([sys.executable, "-m", "mlsys_srs", "--vault", str(tmp_path / "v"), "sync", "-q"], env=env, check=True)
    cards = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mlsys_srs", "--vault", str(tmp_path / "v"), "cards", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    return env, int(cards[0]["id"])


def test_due_imports_neither_fsrs_nor_anything_heavy(tmp_path: Path, synced: tuple[dict[str, str], int]) -> None:
    env, _ = synced
    names = imported(tmp_path, env, "due")
    assert "mlsys_srs" in names  # the measurement works
    assert names & (HEAVY | {"fsrs"}) == set()


@pytest.mark.parametrize("cmd", [("card", "{id}"), ("grade", "{id}", "good")])
def test_card_and_grade_import_only_what_they_use(
    tmp_path: Path, synced: tuple[dict[str, str], int], cmd: tuple[str, ...]
) -> None:
    env, card = synced
    names = imported(tmp_path, env, *(c.format(id=card) for c in cmd))
    assert "fsrs" in names  # they schedule
    assert names & HEAVY == set()
