"""The real `mlsys-srs review` in a pseudo-terminal: keys in, screen text and database rows out."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from .conftest import Cli, write_notes

SCRIPT = Path(sys.executable).with_name("mlsys-srs")
NOW = "2026-11-22T16:00:00+00:00"  # 08:00 in Los Angeles
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78])")

NOTES = {
    "01-alpha/raft.md": "# Raft\n\nQ: What does Raft elect first?\nA: A leader, by majority vote.\n",
    "02-beta/warps.md": "# Warps\n\nQ: How wide is a warp?\nA: 32 threads.\n",
    "03-gamma/pages.md": "# Pages\n\nQ: What does a TLB cache?\nA: Page table entries.\n",
}


class Screen:
    """A process on a pseudo-terminal, read as plain text."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.fd = master
        self.text = ""
        self.pos = 0

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the process closed the terminal
            return False
        if not data:
            return False
        self.text += ANSI.sub("", data.decode("utf-8", errors="replace"))
        return True

    def expect(self, needle: str, timeout: float = 30.0) -> None:
        """Wait until ``needle`` appears after what earlier expects consumed."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.text.find(needle, self.pos)
            if i >= 0:
                self.pos = i + len(needle)
                return
            if time.monotonic() > deadline or not self._read(0.1):
                if self.text.find(needle, self.pos) >= 0:
                    continue
                raise AssertionError(f"{needle!r} not on screen; screen so far:\n{self.text[-3000:]}")

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit, collecting its last output."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        while self._read(0.05) and self.proc.poll() is not None and select.select([self.fd], [], [], 0)[0]:
            pass
        code = self.proc.wait(timeout=5)
        os.close(self.fd)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.fd)


@pytest.fixture
def setup(tmp_path: Path, vault: Path) -> tuple[dict[str, str], Path]:
    write_notes(vault, NOTES)
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\nenable_fuzzing = false\ntimezone = "America/Los_Angeles"\n')
    db = tmp_path / "srs.db"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm-256color",
        "NO_COLOR": "1",
        "MLSYS_SRS_DB": str(db),
        "MLSYS_SRS_VAULT": str(vault),
        "MLSYS_SRS_CONFIG": str(config),
        "MLSYS_SRS_NOW": NOW,
    }
    return env, db


def review(env: dict[str, str], *args: str) -> Screen:
    return Screen([str(SCRIPT), "review", *args], env)


def card_id(db: Path, question: str) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT id FROM card WHERE question = ?", (question,)).fetchone()[0])


def test_reveal_grade_undo_quit(setup: tuple[dict[str, str], Path]) -> None:
    env, db = setup
    s = review(env)
    s.expect("What does Raft elect first?")
    s.expect("space answer")
    s.send(" ")
    s.expect("A leader, by majority vote.")
    s.expect("3 Good 10m")
    s.send("3")
    s.expect("How wide is a warp?")
    s.send(" ")
    s.expect("1 Again 1m")
    s.send("1")
    s.expect("What does a TLB cache?")
    s.send("u")
    s.expect("Undid grade of card")
    s.expect("How wide is a warp?")
    s.send("q")
    s.expect("reviewed")
    assert s.wait() == 0
    raft, warp = card_id(db, "What does Raft elect first?"), card_id(db, "How wide is a warp?")
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT card_id, rating, reviewed_at, state_before, state_after FROM review ORDER BY id"
        ).fetchall()
        assert rows == [(raft, 3, "2026-11-22T16:00:00.000000+00:00", "new", "learning")]
        assert c.execute("SELECT state, reps, step, due FROM card WHERE id = ?", (warp,)).fetchone() == (
            "new",
            0,
            None,
            None,
        )
        assert c.execute("SELECT state, step FROM card WHERE id = ?", (raft,)).fetchone() == ("learning", 1)


def test_sigkill_loses_no_grade(setup: tuple[dict[str, str], Path]) -> None:
    env, db = setup
    s = review(env)
    for question, rating in (
        ("What does Raft elect first?", "4"),
        ("How wide is a warp?", "1"),
        ("What does a TLB cache?", "3"),
    ):
        s.expect(question)
        s.send(" ")
        s.expect("4 Easy")
        s.send(rating)
    # The next card on screen means the last grade was committed.
    s.expect("How wide is a warp?")
    s.send(" ")
    s.expect("4 Easy")
    s.send("4")  # killed right away: this one may or may not have been committed
    s.kill()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = c.execute(
            "SELECT c.question, r.rating FROM review r JOIN card c ON c.id = r.card_id ORDER BY r.id"
        )
        got = rows.fetchall()
    assert got[:3] == [
        ("What does Raft elect first?", 4),
        ("How wide is a warp?", 1),
        ("What does a TLB cache?", 3),
    ]
    assert got[3:] in ([], [("How wide is a warp?", 4)])


def test_edit_opens_editor_at_line_and_continues_with_edited_card(
    setup: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, db = setup
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "editor-args.json"
    editor = bindir / "vim"  # a stand-in named vim, so it is called as `vim +LINE path`
    editor.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        f"pathlib.Path({str(log)!r}).write_text(json.dumps(sys.argv[1:]))\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        "p.write_text(p.read_text().replace('A leader, by majority vote.', 'A leader, elected by a majority.'))\n"
    )
    editor.chmod(0o755)
    s = review({**env, "EDITOR": str(editor), "VISUAL": ""})
    s.expect("What does Raft elect first?")
    s.send("e")
    s.expect("What does Raft elect first?")
    s.send(" ")
    s.expect("A leader, elected by a majority.")
    s.send("3")
    s.expect("How wide is a warp?")
    s.send("q")
    assert s.wait() == 0
    args = json.loads(log.read_text())
    assert args[0] == "+3" and args[1].endswith("01-alpha/raft.md")
    with sqlite3.connect(db) as c:
        assert c.execute(
            "SELECT count(*) FROM card WHERE question = 'What does Raft elect first?'"
        ).fetchone() == (1,)
        (rid,) = c.execute("SELECT card_id FROM review").fetchone()
        assert c.execute("SELECT answer FROM card WHERE id = ?", (rid,)).fetchone() == (
            "A leader, elected by a majority.",
        )


def test_nothing_due_says_when_and_exits_zero(setup: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, _ = setup
    (tmp_path / "config.toml").write_text(
        '[schedule]\nenable_fuzzing = false\ntimezone = "America/Los_Angeles"\nnew_per_day = 0\n'
    )
    s = review(env)
    s.expect("Nothing due now.")
    # New cards wait for the next review day: 04:00 in Los Angeles, 20 hours away.
    s.expect("Next card due Mon 23 Nov 04:00 (in 20h).")
    s.expect("new-card limit")
    assert s.wait() == 0


def test_review_without_a_terminal_exits_2(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes(NOTES)
    result = run("review", code=2)
    assert "needs a terminal" in result.stderr


# -- screen helpers, without a terminal ------------------------------------------------------


@pytest.mark.parametrize(
    ("editor", "expected"),
    [
        ("vim", ["vim", "+12", "/v/n.md"]),
        ("/usr/bin/nvim -u NONE", ["/usr/bin/nvim", "-u", "NONE", "+12", "/v/n.md"]),
        ("emacsclient -t", ["emacsclient", "-t", "+12", "/v/n.md"]),
        ("hx", ["hx", "/v/n.md:12"]),
        ("kak", ["kak", "+12", "/v/n.md"]),
        ("micro", ["micro", "+12", "/v/n.md"]),
        ("code", ["code", "--wait", "--goto", "/v/n.md:12"]),
        ("code --wait", ["code", "--wait", "--goto", "/v/n.md:12"]),
        ("subl", ["subl", "--wait", "/v/n.md:12"]),
        ("my-edit {path} {line}", ["my-edit", "/v/n.md", "12"]),
        ("code --goto {path}:{line}", ["code", "--goto", "/v/n.md:12"]),
        ("subl -w", ["subl", "-w", "/v/n.md:12"]),
        ("gedit", ["gedit", "/v/n.md"]),
        ("", ["vi", "+12", "/v/n.md"]),
    ],
)
def test_editor_command_opens_at_the_line(editor: str, expected: list[str]) -> None:
    from mlsys_srs.review.screen import editor_command

    assert editor_command(editor, Path("/v/n.md"), 12) == expected


def test_card_screen_shows_context_question_then_grades(tmp_path: Path, vault: Path) -> None:
    import io
    from datetime import UTC, datetime

    from rich.console import Console, Group

    from mlsys_srs.config import ReviewConfig, ScheduleConfig
    from mlsys_srs.review.screen import layout
    from mlsys_srs.review.session import Session
    from mlsys_srs.scheduling.days import DayClock
    from mlsys_srs.scheduling.queue import todays_queue
    from mlsys_srs.store import open_db
    from mlsys_srs.sync import sync_vault

    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    write_notes(
        vault, {"04-distributed-systems/raft.md": "# Raft\n\n## Elections\n\nQ: Who votes?\nA: **Peers**\n"}
    )
    conn = open_db(tmp_path / "srs.db", now)
    sync_vault(conn, vault, now)
    cfg = ScheduleConfig(enable_fuzzing=False)
    clock = DayClock(UTC, 4)
    s = Session(
        conn,
        todays_queue(conn, cfg, clock, now),
        schedule=cfg,
        review=ReviewConfig(),
        clock=clock,
        now=lambda: now,
    )

    def screen() -> str:
        out = Console(file=io.StringIO(), width=100, color_system=None)
        frame = layout(s, [], 100, Console(width=100))  # the whole screen, unscrolled
        out.print(Group(*frame.header, *frame.body, *frame.footer))
        return out.file.getvalue()  # type: ignore[attr-defined]

    question = screen()
    assert "0 done · 1 left" in question and "new 1" in question
    assert "distributed-systems > Raft > Elections" in question
    assert "Who votes?" in question and "Peers" not in question
    s.reveal()
    answer = screen()
    assert "Peers" in answer and "**" not in answer
    assert "1 Again 1m" in answer and "3 Good 10m" in answer and "4 Easy 8d" in answer
    conn.close()
