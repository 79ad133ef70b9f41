"""The review screen in real terminals: small and large sizes, scrolling, resize, Ctrl-Z, Ctrl-\\, Ctrl-C.

A pseudo-terminal that is the process's controlling terminal (so a resize
sends SIGWINCH and Ctrl-C sends SIGINT, as in a terminal window), and tmux
with a real shell for job control (Ctrl-Z, ``fg``).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from .conftest import write_notes
from .test_review_e2e import ANSI, NOW, SCRIPT

LRU = """# LRU cache

## Implementation

Q: Write an LRU cache with O(1) get and put. #interview
A: A hash map from key to node of a doubly linked list, most recent at the head:

```python
class LRUCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.map: dict[int, Node] = {}  # key -> node, so get finds the node in O(1) time, always
        self.head = Node(0, 0)
        self.tail = Node(0, 0)
        self.head.next = self.tail
        self.tail.prev = self.head

    def get(self, key: int) -> int:
        node = self.map.get(key)
        if node is None:
            return -1
        self._unlink(node)
        self._push_front(node)
        return node.value

    def put(self, key: int, value: int) -> None:
        if key in self.map:
            self._unlink(self.map.pop(key))
        node = Node(key, value)
        self.map[key] = node
        self._push_front(node)
        if len(self.map) > self.capacity:
            last = self.tail.prev
            self._unlink(last)
            del self.map[last.key]
```
LAST LINE OF THE ANSWER.
"""

NOTES = {
    "01-alpha/lru.md": LRU,
    "02-beta/zero.md": (
        "# ZeRO\n\nC: ZeRO stage {{c1::2}} shards {{c2::gradients}} and optimizer states.\n\n"
        "Q: What does [[ZeRO#Stage 2|ZeRO-2]] shard, as drawn in ![[ring-allreduce.png]]?\n"
        "A: Gradients and optimizer states; attention scales by $\\sqrt{d_k}$.\n"
    ),
}


class Pty:
    """A process on a pseudo-terminal that is its controlling terminal, read as plain text."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int, rows: int) -> None:
        master, slave = os.openpty()
        self._size(slave, cols, rows)

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, preexec_fn=controlling_tty
        )
        os.close(slave)
        self.fd = master
        self.text = ""
        self.pos = 0

    @staticmethod
    def _size(fd: int, cols: int, rows: int) -> None:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def resize(self, cols: int, rows: int) -> None:
        self._size(self.fd, cols, rows)  # the kernel sends SIGWINCH to the foreground process group

    def _read(self, wait: float) -> bool:
        import select

        if not select.select([self.fd], [], [], wait)[0]:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.text += data.decode("utf-8", errors="replace")
        return True

    def plain(self) -> str:
        return ANSI.sub("", self.text)

    def expect(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            i = self.plain().find(needle, self.pos)
            if i >= 0:
                self.pos = i + len(needle)
                return
            if time.monotonic() > deadline or not self._read(0.1):
                if self.plain().find(needle, self.pos) >= 0:
                    continue
                raise AssertionError(f"{needle!r} not on screen; screen so far:\n{self.plain()[-3000:]}")

    def last_frame(self) -> list[str]:
        """The lines of the last full redraw (after the last clear-screen)."""
        raw = self.text[self.text.rfind("\x1b[2J") :]
        return ANSI.sub("", raw).replace("\r", "").split("\n")

    def settle(self, wait: float = 0.3) -> None:
        end = time.monotonic() + wait
        while time.monotonic() < end:
            self._read(0.05)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        self.settle(0.2)
        code = self.proc.wait(timeout=5)
        os.close(self.fd)
        return code


@pytest.fixture
def env(tmp_path: Path, vault: Path) -> dict[str, str]:
    write_notes(vault, NOTES)
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\nenable_fuzzing = false\ntimezone = "UTC"\n')
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm-256color",
        "NO_COLOR": "1",
        "MLSYS_SRS_DB": str(tmp_path / "srs.db"),
        "MLSYS_SRS_VAULT": str(vault),
        "MLSYS_SRS_CONFIG": str(config),
        "MLSYS_SRS_NOW": NOW,
    }


def review(env: dict[str, str], cols: int, rows: int, *args: str) -> Pty:
    return Pty([str(SCRIPT), "review", "--note", "01-alpha/*", *args], env, cols, rows)


def test_tall_card_at_60x15_keeps_its_header_and_scrolls_to_its_last_line(env: dict[str, str]) -> None:
    s = review(env, 60, 15)
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("more line")
    s.settle()
    frame = s.last_frame()
    assert len(frame) <= 15, frame
    assert all(len(line) <= 60 for line in frame), frame
    assert frame[0].startswith("0 done · 1 left")  # the header stays at the top
    assert "alpha > LRU cache > Implementation" in frame[1] and "lru.md:5" in frame[1]
    assert "LAST LINE OF THE ANSWER." not in "\n".join(frame)
    for _ in range(12):
        s.send("\x1b[6~")  # PgDn
        s.settle(0.1)
    s.settle()
    frame = s.last_frame()
    assert any("LAST LINE OF THE ANSWER." in line for line in frame), frame
    assert (
        frame[0].startswith("0 done · 1 left") and "line" in "\n".join(frame) and "above" in "\n".join(frame)
    )
    # Code keeps its indentation and is cropped with a marker, never wrapped to column 0.
    s.send("\x1b[H")  # Home
    s.settle()
    text = "\n".join(s.last_frame())
    assert "#interview" in text and "cache with O(1) get and put. #interview" not in text
    s.send("k")
    s.send("q")
    assert s.wait() == 0


def test_wide_terminal_shows_the_whole_card_and_code_is_cropped_not_wrapped(env: dict[str, str]) -> None:
    s = review(env, 200, 50)
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("LAST LINE OF THE ANSWER.")
    s.settle()
    frame = s.last_frame()
    assert not any("more line" in line for line in frame)
    code = [line for line in frame if "self.map: dict[int, Node]" in line]
    assert code and code[0].startswith("          self.map")  # its indentation kept
    s.send("q")
    assert s.wait() == 0


def test_narrow_code_line_is_cropped_with_a_marker(env: dict[str, str]) -> None:
    s = review(env, 60, 50)
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("LAST LINE OF THE ANSWER.")
    s.settle()
    frame = s.last_frame()
    line = next(x for x in frame if "self.map: dict[int, Node]" in x)
    assert line.rstrip().endswith("…") and line.startswith("          self.map")
    assert not any(x.startswith("always") or x.startswith("time, always") for x in frame)
    s.send("q")
    assert s.wait() == 0


def test_resize_redraws_at_the_new_size(env: dict[str, str]) -> None:
    s = review(env, 200, 50)
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("LAST LINE OF THE ANSWER.")
    s.settle()
    s.resize(60, 15)
    s.expect("more line")
    s.settle()
    frame = s.last_frame()
    assert len(frame) <= 15 and frame[0].startswith("0 done")
    s.resize(200, 50)
    s.expect("LAST LINE OF THE ANSWER.")
    s.send("4")
    s.expect("All cards for this session are done.")
    s.send("x")
    assert s.wait() == 0


def test_ctrl_backslash_redraws_and_the_session_goes_on(env: dict[str, str]) -> None:
    s = review(env, 100, 40)
    s.expect("Write an LRU cache")
    s.send("\x1c")  # Ctrl-\ (SIGQUIT): no core dump, a redraw
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("LAST LINE OF THE ANSWER.")
    s.send("4")
    s.expect("All cards for this session are done.")
    s.send("x")
    assert s.wait() == 0


def test_ctrl_c_prints_the_summary_then_exits_130(env: dict[str, str], tmp_path: Path) -> None:
    s = review(env, 100, 40)
    s.expect("Write an LRU cache")
    s.send(" ")
    s.expect("LAST LINE OF THE ANSWER.")
    s.send("4")
    s.expect("All cards for this session are done.")
    s.send("u")
    s.expect("Write an LRU cache")
    s.send("\x03")  # Ctrl-C
    s.expect("reviewed")
    assert s.wait() == 130
    with sqlite3.connect(tmp_path / "srs.db") as c:
        assert c.execute("SELECT count(*) FROM review").fetchone() == (0,)


def test_cloze_answer_marks_the_deletion_and_links_render(env: dict[str, str]) -> None:
    env = {**env}
    env.pop("NO_COLOR")
    s = Pty([str(SCRIPT), "review", "--note", "02-beta/*"], env, 100, 40)
    seen = set()
    for _ in range(3):
        s.expect("── question")
        s.settle()
        frame = "\n".join(s.last_frame())
        s.send(" ")
        s.expect("── answer")
        s.settle()
        raw = s.text[s.text.rfind("\x1b[2J") :]
        frame = "\n".join(s.last_frame())
        if "ZeRO-2" in frame:
            seen.add("link")
            assert "[[" not in frame and "[image: ring-allreduce.png]" in frame and "√dₖ" in frame
            assert "o image" in frame
        elif "shards" in frame:
            # The deletion of this card is highlighted (reverse/background), the rest plain.
            assert "ZeRO stage 2 shards gradients and optimizer states." in ANSI.sub("", raw)
            assert "{{" not in frame
            seen.add("cloze")
            answer = raw.split("answer", 1)[1]
            # The deletion of the card on screen is wrapped in a style; "stage" right before it is not.
            assert re.search(r"ZeRO stage (\x1b\[[0-9;]*m)+2|shards (\x1b\[[0-9;]*m)+gradients", answer), (
                answer
            )
            assert "\x1b[" not in answer.split("ZeRO stage", 1)[0][-3:]
        s.send("3")
    assert seen == {"link", "cloze"}
    s.send("q")
    assert s.wait() == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_ctrl_z_gives_the_shell_a_usable_terminal_and_fg_restores_raw_mode(
    env: dict[str, str], tmp_path: Path
) -> None:
    sock = str(tmp_path / "tmux.sock")
    session = "srs"
    exports = " ".join(f"{k}={v!r}" for k, v in env.items() if k != "PATH")

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", sock, *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", session)

    def wait_for(needle: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = screen()
            if needle in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not on screen:\n{screen()}")

    tmux(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "100",
        "-y",
        "30",
        "bash --norc --noprofile",
    )
    try:
        tmux("send-keys", "-t", session, f"export {exports} PS1='$ '; clear", "Enter")
        tmux("send-keys", "-t", session, f"{SCRIPT} review --note '01-alpha/*'", "Enter")
        wait_for("Write an LRU cache")
        tmux("send-keys", "-t", session, "C-z")
        wait_for("Stopped")
        # The shell's terminal is usable: canonical mode and echo are back.
        tmux(
            "send-keys",
            "-t",
            session,
            "stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ,; echo",
            "Enter",
        )
        text = wait_for("icanon,")
        assert "icanon,echo," in text.replace(" ", ""), text
        tmux("send-keys", "-t", session, "fg", "Enter")
        wait_for("Write an LRU cache")
        # Raw (cbreak) mode again: a single key, without Enter, reveals the answer.
        tmux("send-keys", "-t", session, "Space")
        wait_for("── answer")
        tmux("send-keys", "-t", session, "4")
        wait_for("All cards for this session are done.")
        tmux("send-keys", "-t", session, "x")
        wait_for("reviewed")
        tmux("send-keys", "-t", session, "echo exit=$?", "Enter")
        wait_for("exit=0")
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True, timeout=30)
    with sqlite3.connect(env["MLSYS_SRS_DB"]) as c:
        assert c.execute("SELECT count(*) FROM review").fetchone() == (1,)


def test_no_sigquit_core_on_exit_signal_handlers_restored() -> None:
    # The handlers the screen installs are put back on exit.
    import io

    from rich.console import Console

    from mlsys_srs.review.screen import Terminal

    master, slave = os.openpty()
    try:
        before = {s: signal.getsignal(s) for s in (signal.SIGWINCH, signal.SIGQUIT, signal.SIGTSTP)}
        with Terminal(Console(file=io.StringIO()), fd=slave):
            assert signal.getsignal(signal.SIGQUIT) is not before[signal.SIGQUIT]
        assert {s: signal.getsignal(s) for s in before} == before
    finally:
        os.close(master)
        os.close(slave)


def test_a_long_note_path_keeps_its_file_and_line_in_the_header(env: dict[str, str], vault: Path) -> None:
    write_notes(
        vault,
        {"07-a-rather-long-folder-name/and-an-even-longer-note-file-name.md": "# A long title of a note\n\n"
         "## A heading that is long enough to fill the line\n\nwhat is the far card :: it is here\n"},
    )  # fmt: skip
    s = Pty([str(SCRIPT), "review", "--note", "07-*"], env, 60, 15)
    s.expect("far card")
    s.settle()
    frame = s.last_frame()
    assert all(len(line) <= 60 for line in frame), frame
    assert any(line.rstrip().endswith("and-an-even-longer-note-file-name.md:5") for line in frame[:4]), frame
    s.send("q")
    assert s.wait() == 0
