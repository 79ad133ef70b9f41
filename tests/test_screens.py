"""What a person sees: the real review and the other commands in a terminal emulator (pyte), with styles.

The review runs on a pseudo-terminal that is its controlling terminal, at 60x15, 80x24 and
200x50; pyte keeps every cell with its style. Checked on every screen: card text is drawn at
normal intensity (SGR 2, faint, is only for frames and hints), no markup or escape sequence
shows as text, no word is split inside itself, and paths show whole. The review's states
(question, answer, cloze, a tall card scrolled, the summary) are kept as golden screens in
``tests/golden/screens/`` that a reviewer can read (``UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")

from .conftest import write_notes  # noqa: E402

SCRIPT = Path(sys.executable).with_name("mlsys-srs")
GOLDEN = Path(__file__).parent / "golden" / "screens"
NOW = "2026-12-07T16:00:00+00:00"

PROSE = """# Prose

## Depth

Q: Why does stacking two linear layers $W_2(W_1 x)$ add no expressive power over one?
A: Their composition is a single matrix $W_2 W_1$, so without a nonlinear activation
between them the stack is still one linear map of the input; depth only pays off
with an activation function such as ReLU after each layer. #interview
"""

CLOZE = """# Cloze

C: ZeRO stage {{c1::2}} shards the optimizer states and the gradients across data-parallel ranks.
"""

TALL = """# LRU cache

Q: Write an LRU cache with O(1) get and put.
A: A hash map from key to node of a doubly linked list, most recent at the head:

```python
class LRUCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.map: dict[int, Node] = {}
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
Evict from the tail when over capacity.
"""

NOTES = {
    "01-alpha/prose-and-linear-layers.md": PROSE,
    "02-beta/zero-sharding.md": CLOZE,
    "03-gamma/lru-cache.md": TALL,
}
VOCABULARY = set(re.findall(r"[A-Za-z]{4,}", PROSE + CLOZE + TALL))
MARKUP = re.compile(r"\[/?(?:bold|dim|cyan|red|green|yellow|blue|magenta|italic)[^\]]*\]|\[/\]")


class StyledScreen(pyte.Screen):  # type: ignore[misc]
    """pyte's screen, keeping SGR 2 (faint) too: pyte drops it, so it is kept in the unused blink bit."""

    def select_graphic_rendition(self, *attrs: int, **kwargs: object) -> None:
        super().select_graphic_rendition(*attrs, **kwargs)
        codes = list(attrs) or [0]
        for code in codes:
            if code == 2:
                self.cursor.attrs = self.cursor.attrs._replace(blink=True)
            elif code in (0, 22):
                self.cursor.attrs = self.cursor.attrs._replace(blink=False)


class Term:
    """A command on a pseudo-terminal of ``cols`` x ``rows``, drawn into a pyte screen."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int, rows: int) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, preexec_fn=controlling_tty
        )
        os.close(slave)
        self.fd = master
        self.screen = StyledScreen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""

    def pump(self, wait: float) -> bool:
        if not select.select([self.fd], [], [], wait)[0]:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def wait_for(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in "\n".join(self.screen.display):
            if time.monotonic() > deadline or not self.pump(0.1):
                if needle in "\n".join(self.screen.display):
                    return
                raise AssertionError(f"{needle!r} not on screen:\n" + "\n".join(self.screen.display))
        self.settle()

    def settle(self, wait: float = 0.4) -> None:
        end = time.monotonic() + wait
        while time.monotonic() < end:
            self.pump(0.05)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)
        self.settle(0.2)
        os.close(self.fd)
        return self.proc.wait(timeout=5)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def faint_words(self) -> list[str]:
        """Words of the vocabulary drawn faint in the card's text (below the question rule, above the keys)."""
        out = []
        display = self.screen.display
        top = next((y for y, line in enumerate(display) if "── question" in line), -1)
        for y, line in enumerate(display):
            if y <= top or " undo " in line or "Again" in line:
                continue
            for m in re.finditer(r"[A-Za-z]{4,}", line):
                if m.group(0) in VOCABULARY and all(
                    self.screen.buffer[y][x].blink for x in range(m.start(), m.end())
                ):
                    out.append(m.group(0))
        return out


def split_words(lines: list[str], cols: int) -> list[str]:
    """Words of the vocabulary broken across two rows ("activa" / "tion").

    A row filled to the last column is the terminal wrapping one long unbreakable line (a path
    printed whole): that is not a split made by the program.
    """
    out = []
    for a, b in itertools.pairwise(lines):
        if len(a) >= cols:
            continue
        ma = re.search(r"([A-Za-z]+)$", a)
        mb = re.match(r"^\s*([A-Za-z]+)", b)
        if ma and mb:
            joined = ma.group(1) + mb.group(1)
            if joined in VOCABULARY and ma.group(1) not in VOCABULARY and mb.group(1) not in VOCABULARY:
                out.append(f"{ma.group(1)}|{mb.group(1)}")
    return out


def check_screen(term: Term) -> None:
    lines = term.lines()
    text = "\n".join(lines)
    assert term.faint_words() == [], text
    assert not MARKUP.search(text), text
    assert "\x1b" not in text and "␛" not in text, text
    assert split_words(lines, term.screen.columns) == [], text


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    write_notes(tmp_path / "v", NOTES)
    e = {
        **os.environ,
        "MLSYS_SRS_NOW": NOW,
        "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml"),
        "MLSYS_SRS_VAULT": str(tmp_path / "v"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "EDITOR": "true",
    }
    e.pop("NO_COLOR", None)
    e.pop("COLUMNS", None)
    e.pop("LINES", None)
    yield e


def golden(name: str, lines: list[str]) -> None:
    path = GOLDEN / f"{name}.txt"
    text = "\n".join(lines).rstrip("\n") + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 and read it"
    assert text == path.read_text(encoding="utf-8"), f"the {name} screen changed:\n{text}"


@pytest.mark.parametrize(("cols", "rows"), [(60, 15), (80, 24), (200, 50)])
def test_the_review_reads_at_normal_intensity_with_words_and_paths_whole(
    env: dict[str, str], cols: int, rows: int
) -> None:
    term = Term([str(SCRIPT), "review"], env, cols, rows)
    term.wait_for("question")
    check_screen(term)
    assert any("prose-and-linear-layers.md:5" in line for line in term.lines())  # note:line whole
    assert "W₂(W₁ x)" in "\n".join(term.lines())  # math as Unicode, not TeX
    term.send(" ")
    term.wait_for("Again")
    check_screen(term)
    answer = "\n".join(term.lines())
    assert "activation" in answer.replace("\n", " ")
    term.send("3")
    term.wait_for("zero-sharding.md")
    term.send(" ")
    term.wait_for("Again")
    check_screen(term)
    cloze = [
        (y, x)
        for y, line in enumerate(term.screen.display)
        for x in range(len(line))
        if line[x] == "2" and term.screen.buffer[y][x].bg not in ("default",)
    ]
    assert cloze, "the cloze deletion is highlighted"
    term.send("3")
    term.wait_for("lru-cache.md")
    term.send(" ")
    term.wait_for("Again")
    check_screen(term)
    term.send("q")
    assert term.finish() == 0
    summary = "\n".join(term.lines())
    assert "answers" in summary and "Good 2" in summary and "new cards" in summary


def test_golden_review_screens_at_80x24(env: dict[str, str]) -> None:
    term = Term([str(SCRIPT), "review"], env, 80, 24)
    term.wait_for("question")
    golden("question", term.lines())
    term.send(" ")
    term.wait_for("Again")
    golden("answer", term.lines())
    term.send("3")
    term.wait_for("zero-sharding.md")
    term.send(" ")
    term.wait_for("Again")
    golden("cloze-answer", term.lines())
    term.send("3")
    term.wait_for("lru-cache.md")
    term.send(" ")
    term.wait_for("more line")
    term.send("\x1b[6~")  # PgDn
    term.wait_for("above")
    golden("tall-card-scrolled", term.lines())
    term.send("1")
    term.settle(1.0)
    term.send("q")
    term.finish()
    lines = term.lines()
    start = max(i for i, line in enumerate(lines) if "reviewed " in line)
    lines[start] = lines[start][lines[start].index("reviewed ") :]  # pyte keeps no alternate screen
    golden("summary", [line for line in lines[start:] if line])


@pytest.mark.parametrize("cols", [60, 80, 200])
@pytest.mark.parametrize("command", [("card", "1"), ("info",), ("graph",), ("stats",), ("cards",), ("due",)])
def test_commands_print_whole_words_and_paths_without_markup(
    env: dict[str, str], cols: int, command: tuple[str, ...]
) -> None:
    subprocess.run([str(SCRIPT), "sync", "-q"], env=env, check=True, capture_output=True)
    subprocess.run([str(SCRIPT), "grade", "1", "good"], env=env, check=True, capture_output=True)
    term = Term([str(SCRIPT), *command], env, cols, 50)
    assert term.finish() == 0, "\n".join(term.lines())
    check_screen(term)
    raw = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", term.raw).decode()
    if command == ("info",):
        data = subprocess.run(
            [str(SCRIPT), "info", "--json"], env=env, check=True, capture_output=True, text=True
        )
        import json

        info = json.loads(data.stdout)
        for key in ("db", "journal", "vault"):
            assert info[key] in raw, (key, raw)  # the path whole, as one line the terminal wraps
    if command == ("graph",):
        for path in NOTES:
            assert path in raw or path not in "".join(raw.split()), raw
    if command == ("card", "1"):
        assert "W₂(W₁ x)" in raw and "$W_2" not in raw
