"""The README cannot go stale: its counts of the bundled base come from a sync, and its two
quick-start commands work when run in order on a copy of the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def bundled_counts(tmp_path: Path) -> tuple[Counter[str], Counter[str]]:
    conn = open_db(tmp_path / "db.sqlite", datetime(2026, 12, 7, tzinfo=UTC))
    sync_vault(conn, REPO / "notes", datetime(2026, 12, 7, tzinfo=UTC))
    notes = Counter(r[0] for r in conn.execute("SELECT domain FROM note WHERE present = 1"))
    cards = Counter(
        r[0]
        for r in conn.execute(
            "SELECT note.domain FROM card JOIN note ON note.id = card.note_id WHERE retired = 0"
        )
    )
    conn.close()
    return notes, cards


def expected_section(notes: Counter[str], cards: Counter[str]) -> str:
    folders = sorted(p.name for p in (REPO / "notes").iterdir() if p.is_dir() and not p.name.startswith("."))
    rows = ["| folder | notes | cards |", "|---|---:|---:|"]
    for folder in folders:
        domain = re.sub(r"^\d+-", "", folder)
        rows.append(f"| `{folder}` | {notes[domain]:,} | {cards[domain]:,} |")
    rows.append(f"| **all** | **{sum(notes.values()):,}** | **{sum(cards.values()):,}** |")
    return "\n".join(rows)


def test_the_readme_counts_of_the_bundled_base_are_a_syncs(tmp_path: Path) -> None:
    notes, cards = bundled_counts(tmp_path)
    text = README.read_text(encoding="utf-8")
    table = expected_section(notes, cards)
    assert table in text, f"README's table of the bundled base should read:\n\n{table}\n"
    total = f"{sum(notes.values()):,} notes and {sum(cards.values()):,} cards"
    assert total in text, f"README should say '{total}'"
    # No other count of the base survives elsewhere in the README.
    for m in re.finditer(r"(\d[\d,]*) notes and (\d[\d,]*) cards", text):
        assert m.group(0) == total, m.group(0)
    starter = f"{sum(cards.values()):,} starter cards"
    for m in re.finditer(r"(\d[\d,]*) starter cards", text):
        assert m.group(0) == starter, f"README says '{m.group(0)}', a sync counts '{starter}'"


def _quick_start() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start") : text.index("## Everyday use")]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, re.S)
    assert len(blocks) >= 2, "the quick start has its two commands"
    return blocks[0].strip(), blocks[1].strip()


def test_the_quick_start_is_two_commands_from_a_fresh_clone() -> None:
    run, test = _quick_start()
    assert run.startswith("python3 -m venv .venv && .venv/bin/pip install") and run.endswith(
        "mlsys-srs review"
    )
    assert test.startswith("python3 -m venv .venv && .venv/bin/pip install") and ".venv/bin/pytest" in test
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test.split("&& ", 1)[1].split(" && ")[-1] in ci  # CI runs the README's test command


def _review_in_a_terminal(script: Path, cwd: Path, env: dict[str, str]) -> str:
    import fcntl
    import select
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [str(script), "review"], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while b"answer" not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    os.write(master, b"q")
    proc.wait(timeout=30)
    try:
        while select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 65536)
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 0, seen.decode(errors="replace")[-2000:]
    return seen.decode(errors="replace")


def test_the_two_quick_start_commands_work_in_order_on_a_copy(tmp_path: Path) -> None:
    # The first command reviews the bundled notes (which leaves notes/.mlsys-srs/ behind); the
    # second installs the test extra and runs the tests: the notes' tests must still pass. The
    # copy's venv reuses this interpreter's packages, so the test costs seconds, not an install.
    copy = tmp_path / "clone"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / rel)
    subprocess.run([sys.executable, "-m", "venv", str(copy / ".venv")], check=True)
    # The packages this test runs with, visible to the copy's venv (a plain path: its own .pth
    # files, this checkout's editable install among them, are not read).
    import sysconfig

    inner = subprocess.run(
        [str(copy / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(inner, "outer-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [str(copy / ".venv/bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, str(copy)], check=True, capture_output=True)  # a wheel of the copy
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLSYS_SRS_", "PYTEST_", "COV_")) and k != "COLUMNS"
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
    )
    where = subprocess.run(
        [str(copy / ".venv/bin/python"), "-c", "import mlsys_srs; print(mlsys_srs.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert where.startswith(str(copy / ".venv")), where  # the copy's code runs, not this checkout's
    screen = _review_in_a_terminal(copy / ".venv/bin/mlsys-srs", copy, env)
    assert "question" in screen
    assert (copy / "notes" / ".mlsys-srs").is_dir()  # what the review leaves behind
    result = subprocess.run(
        [
            str(copy / ".venv/bin/python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_bundled_notes.py",
            "tests/test_docs.py",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
