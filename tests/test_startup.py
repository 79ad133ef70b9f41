"""Start-up budget: `due`, `card` and `grade` import nothing they do not use (checked with -X importtime)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer

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
    "pydantic",  # typer's option checks (cli._plain_coercion does the plain ones)
    "starlette",  # the web review (serve)
    "uvicorn",
    "anyio",
    "segno",
    "latex2mathml",
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
    subprocess.run(
        [sys.executable, "-m", "mlsys_srs", "--vault", str(tmp_path / "v"), "sync", "-q"], env=env, check=True
    )
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


def test_due_imports_neither_fsrs_nor_anything_heavy(
    tmp_path: Path, synced: tuple[dict[str, str], int]
) -> None:
    env, _ = synced
    names = imported(tmp_path, env, "due")
    assert "mlsys_srs" in names  # the measurement works
    assert names & (HEAVY | {"fsrs"}) == set()


@pytest.mark.parametrize(
    ("cmd", "uses"),
    [
        # card shows the card's Markdown as the review screen does (math, code, clozes): markdown-it.
        (("card", "{id}"), {"markdown_it"}),
        (("grade", "{id}", "good"), set()),
    ],
)
def test_card_and_grade_import_only_what_they_use(
    tmp_path: Path, synced: tuple[dict[str, str], int], cmd: tuple[str, ...], uses: set[str]
) -> None:
    env, card = synced
    names = imported(tmp_path, env, *(c.format(id=card) for c in cmd))
    assert "fsrs" in names  # they schedule
    assert names & HEAVY == uses


def test_a_warm_sync_imports_no_pydantic(tmp_path: Path, synced: tuple[dict[str, str], int]) -> None:
    env, _ = synced
    names = imported(tmp_path, env, "sync", "--quiet")
    assert "mlsys_srs" in names
    assert "pydantic" not in names


def test_plain_options_are_coerced_as_typer_would() -> None:
    from typer.testing import CliRunner

    import mlsys_srs.cli  # noqa: F401  (installs the plain coercion)

    app = typer.Typer()
    seen: dict[str, object] = {}

    @app.command()
    def run(
        name: Annotated[str, typer.Option("--name")] = "x",
        path: Annotated[Path | None, typer.Option("--path")] = None,
        count: Annotated[int, typer.Option("--count")] = 0,
        ratio: Annotated[float | None, typer.Option("--ratio")] = None,
        tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
        flag: Annotated[bool, typer.Option("--flag", envvar="SRS_TEST_FLAG")] = False,
        small: Annotated[int, typer.Option("--small", min=1)] = 1,
    ) -> None:
        seen.update(name=name, path=path, count=count, ratio=ratio, tag=tag, flag=flag, small=small)

    runner = CliRunner()
    args = [
        "--name",
        "é b",
        "--path",
        "a/b.md",
        "--count",
        "12",
        "--ratio",
        "0.5",
        "--tag",
        "t1",
        "--tag",
        "t2",
    ]
    result = runner.invoke(app, args, env={"SRS_TEST_FLAG": "yes"})
    assert result.exit_code == 0, result.output
    assert seen == {"name": "é b", "path": Path("a/b.md"), "count": 12, "ratio": 0.5, "tag": ["t1", "t2"],
                    "flag": True, "small": 1}  # fmt: skip
    assert type(seen["count"]) is int and type(seen["ratio"]) is float
    seen.clear()
    assert runner.invoke(app, []).exit_code == 0
    assert seen == {
        "name": "x",
        "path": None,
        "count": 0,
        "ratio": None,
        "tag": None,
        "flag": False,
        "small": 1,
    }
    for bad in (["--count", "twelve"], ["--ratio", "half"]):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2, (bad, result.output)
        assert f"'{bad[1]}' is not a valid" in result.output
    assert runner.invoke(app, ["--small", "0"]).exit_code == 2  # a constrained option: typer's own check
    assert runner.invoke(app, [], env={"SRS_TEST_FLAG": "maybe"}).exit_code == 2
