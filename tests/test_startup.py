"""Start-up budget: `due`, `review`, `card` and `grade` import nothing they do not use (checked with -X importtime)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
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
    return top_level_names(out.stderr)


def top_level_names(importtime: str) -> set[str]:
    """The top-level packages named in ``-X importtime`` output."""
    names = set()
    for line in importtime.splitlines()[1:]:  # the first line is the header
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def imported_by_review(tmp_path: Path, env: dict[str, str]) -> set[str]:
    """What ``review`` imports from its start to a quit on the first question.

    ``review`` needs a terminal: it runs on a pseudo-terminal (its controlling terminal), with
    -X importtime's report going to a file; ``q`` is pressed once the first question is drawn.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    report = tmp_path / "importtime.txt"
    with report.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "mlsys_srs", "--vault", str(tmp_path / "v"), "review"],
            stdin=slave,
            stdout=slave,
            stderr=err,
            env={**env, "TERM": "xterm-256color", "EDITOR": "true"},
            close_fds=True,
            preexec_fn=controlling_tty,
        )
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        while b"one?" not in screen and b"two?" not in screen:
            assert time.monotonic() < deadline and proc.poll() is None, (screen[-2000:], report.read_text())
            if select.select([master], [], [], 0.1)[0]:
                screen += os.read(master, 65536)
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:  # the terminal closed with the process
                    break
        assert proc.wait(timeout=30) == 0, report.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return top_level_names(report.read_text())


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


def test_review_imports_only_the_screen_and_fsrs(tmp_path: Path, synced: tuple[dict[str, str], int]) -> None:
    env, _ = synced
    names = imported_by_review(tmp_path, {**env, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert "mlsys_srs" in names and "fsrs" in names  # the measurement works; the answers are graded
    # The first card is drawn with markdown-it (math, code, clozes); Pygments only for a code block.
    assert names & HEAVY == {"markdown_it"}


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
