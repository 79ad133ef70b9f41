"""The review screen: draws a ``Session`` with rich and feeds it single keypresses.

The terminal is put in cbreak mode (no Enter needed, no echo; Ctrl-C still
interrupts) and the alternate screen for the length of the session; both are
restored on any exit, including while the editor runs for ``e``. Each key
redraws from the session's in-memory state: only the card being shown is read
from the database.

Markdown is rendered with ``rich.markdown``; math is shown as written (``$x$``
as inline code, ``$$...$$`` as a LaTeX code block) so that Markdown never
mangles ``*`` or ``_`` inside a formula.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from .fmt import format_duration, format_interval, format_when
from .memory import RATINGS
from .parse.parser import FENCE_OPEN_RE
from .session import Outcome, Phase, Session, Summary

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

GRADE_STYLES = {1: "bold red", 2: "bold yellow", 3: "bold green", 4: "bold blue"}
_LINE_EDITORS = {
    "vi",
    "vim",
    "nvim",
    "nano",
    "emacs",
    "emacsclient",
    "micro",
    "kak",
    "helix",
    "hx",
    "gvim",
    "mvim",
}
_GOTO_EDITORS = {"code", "code-insiders", "codium", "cursor"}
_COLON_EDITORS = {"subl", "sublime_text", "zed"}


# -- pure helpers ---------------------------------------------------------------------------


def editor_command(editor: str, path: Path, line: int) -> list[str]:
    """The command that opens ``path`` at ``line`` in ``editor`` (a shell-style command line).

    ``+LINE path`` for vi, vim, nvim, nano, emacs, micro, kak and helix;
    ``--wait -g path:LINE`` for VS Code and its forks; ``--wait path:LINE`` for
    Sublime Text; just the path for anything else.
    """
    argv = shlex.split(editor) or ["vi"]
    name = Path(argv[0]).name.lower()
    if name.endswith(".exe"):
        name = name[:-4]
    if name in _LINE_EDITORS:
        return [*argv, f"+{line}", str(path)]
    if name in _GOTO_EDITORS:
        wait = [] if ({"-w", "--wait"} & set(argv)) else ["--wait"]
        return [*argv, *wait, "-g", f"{path}:{line}"]
    if name in _COLON_EDITORS:
        wait = [] if ({"-w", "--wait"} & set(argv)) else ["--wait"]
        return [*argv, *wait, f"{path}:{line}"]
    return [*argv, str(path)]


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])")


def _protect_math(prose: str) -> str:
    def display(m: re.Match[str]) -> str:
        return f"\n```latex\n{m.group(1).strip()}\n```\n"

    def inline(m: re.Match[str]) -> str:
        ticks = "``" if "`" in m.group(0) else "`"
        pad = " " if ticks == "``" else ""
        return f"{ticks}{pad}{m.group(0)}{pad}{ticks}"

    out = []
    pos = 0
    for m in _CODE_SPAN.finditer(prose):
        out.append(_INLINE_MATH.sub(inline, _DISPLAY_MATH.sub(display, prose[pos : m.start()])))
        out.append(m.group(0))
        pos = m.end()
    out.append(_INLINE_MATH.sub(inline, _DISPLAY_MATH.sub(display, prose[pos:])))
    return "".join(out)


def markdown_source(text: str) -> str:
    """Card Markdown prepared for display: math kept as written, code blocks untouched."""
    if "$" not in text:
        return text
    parts: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        m = FENCE_OPEN_RE.match(line)
        if fence is None:
            if m:
                if prose:
                    parts.append(_protect_math("\n".join(prose)))
                prose = []
                fence = m.group(1)
                parts.append(line)
            else:
                prose.append(line)
        else:
            parts.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = None
    if prose:
        parts.append(_protect_math("\n".join(prose)))
    return "\n".join(parts)


def _markdown(text: str) -> RenderableType:
    from rich.markdown import Markdown

    return Markdown(markdown_source(text), code_theme="monokai", hyperlinks=False)


def context_line(domain: str, title: str, context: str) -> str:
    """``domain > note title > heading path`` (the heading that repeats the title is dropped)."""
    heads = [h for h in context.split(" > ") if h] if context else []
    if heads and heads[0].strip().lower() == title.strip().lower():
        heads = heads[1:]
    return " > ".join([domain, title, *heads])


def render_card(session: Session, notices: list[str] | None = None) -> RenderableType:
    """The screen for the card on the session's screen (question, or question and answer)."""
    card, item = session.card, session.item
    p = session.progress()
    head = Text()
    head.append(f"{p.done} done", style="bold")
    head.append(f" · {p.left} left  ", style="dim")
    head.append(f"new {p.new}", style="blue")
    head.append("  ")
    head.append(f"learning {p.learning}", style="red")
    head.append("  ")
    head.append(f"review {p.review}", style="green")
    parts: list[RenderableType] = [head]
    for n in notices or ():
        parts.append(Text(n, style="bold magenta"))
    if card is None or item is None:
        return Group(*parts)
    where = Text(context_line(card.domain, card.title, card.context), style="cyan")
    where.append(f"   #{card.id} {card.note}:{card.line}", style="dim")
    parts.append(where)
    if item.reason:
        parts.append(Text(f"↻ brought forward: {item.reason}", style="yellow"))
    parts.append(Panel(_markdown(card.question), title="question", title_align="left", border_style="cyan"))
    if session.phase is Phase.ANSWER:
        parts.append(Panel(_markdown(card.answer), title="answer", title_align="left", border_style="green"))
        grades = Text()
        for rating, delta in session.intervals().items():
            grades.append(f"{rating} ", style=GRADE_STYLES[rating])
            grades.append(f"{RATINGS[rating]} {format_interval(delta)}")
            grades.append("   ")
        parts.append(grades)
        parts.append(Text("u undo · b bury · s suspend · e edit · q quit", style="dim"))
    else:
        parts.append(Text("space show answer · u undo · b bury · s suspend · e edit · q quit", style="dim"))
    return Group(*parts)


def render_done(session: Session, notices: list[str] | None = None) -> RenderableType:
    """The screen shown when today's cards are done."""
    p = session.progress()
    parts: list[RenderableType] = [Text(f"{p.done} done", style="bold")]
    parts.extend(Text(n, style="bold magenta") for n in notices or ())
    parts.append(Rule())
    parts.append(Text("All cards for today are done.", style="bold green"))
    parts.append(Text("u undo the last answer · any other key to finish", style="dim"))
    return Group(*parts)


def render_summary(summary: Summary, now: datetime, tz: tzinfo | None = None) -> RenderableType:
    """The end-of-session summary."""
    from rich.table import Table

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    cards = f" ({summary.cards} cards)" if summary.cards != summary.reviews else ""
    t.add_row("reviewed", f"{summary.reviews}{cards}")
    t.add_row("time", format_duration(summary.time_ms))
    t.add_row(
        "again",
        f"{summary.again_rate:.0%} ({summary.again} of {summary.reviews})" if summary.reviews else "-",
    )
    t.add_row("due tomorrow", str(summary.due_tomorrow))
    if summary.streak is not None:
        t.add_row("streak", f"{summary.streak} day{'s' if summary.streak != 1 else ''}")
    if summary.learning_later and summary.next_learning is not None:
        t.add_row(
            "later today",
            f"{summary.learning_later} learning, next {format_when(summary.next_learning, now, tz)}",
        )
    return t


# -- the terminal -----------------------------------------------------------------------------


REDRAW_SECONDS = 30.0
"""How often the answer screen is redrawn, so the intervals shown stay those of a grade given
now (they change when a new review day begins)."""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Terminal:
    """Single-keypress input and the alternate screen, restored on exit."""

    def __init__(self, console: Console, fd: int | None = None) -> None:
        """Bind to ``console`` for output and ``fd`` (default: stdin) for keys."""
        self.console = console
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved: list[Any] | None = None
        self._old_term: Any = signal.SIG_DFL

    def __enter__(self) -> Terminal:
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        # A polite kill (SIGTERM) ends the session like Ctrl-C, so the terminal is restored.
        self._old_term = signal.signal(signal.SIGTERM, _interrupt)
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.console.show_cursor(True)
            self.console.set_alt_screen(False)
            if self._saved is not None:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        except (OSError, termios.error):
            pass  # the terminal is gone (closed window); nothing to restore
        finally:
            signal.signal(signal.SIGTERM, self._old_term)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Give the terminal back (for the editor), then take it again."""
        self.__exit__()
        try:
            yield
        finally:
            self.__enter__()

    def read_key(self, timeout: float | None = None) -> str:
        """One keypress; escape sequences (arrows) come back as ``"esc"``, end of input as ``"q"``,
        ``""`` when ``timeout`` seconds pass without a key."""
        if timeout is not None and not select.select([self.fd], [], [], timeout)[0]:
            return ""
        b = os.read(self.fd, 1)
        if not b:
            return "q"
        if b == b"\x1b":
            while select.select([self.fd], [], [], 0.02)[0]:
                if not os.read(self.fd, 16):
                    break
            return "esc"
        if b[0] >= 0x80:
            need = 1 if b[0] < 0xE0 else 2 if b[0] < 0xF0 else 3
            b += os.read(self.fd, need)
        return b.decode("utf-8", errors="replace")

    def draw(self, renderable: RenderableType) -> None:
        """Replace the screen with ``renderable``."""
        self.console.clear()
        self.console.print(renderable)


def run_screen(
    session: Session,
    terminal: Terminal,
    *,
    editor: str,
    vault: Path,
    resync: Callable[[str], list[str]],
) -> None:
    """Show cards and handle keys until the session is quit or done.

    Args:
        session: The session to drive.
        terminal: The entered ``Terminal``.
        editor: The editor command line for ``e``.
        vault: The vault folder (note paths are relative to it).
        resync: Syncs one note (vault-relative path) after an edit; returns
            problems to show.
    """
    try:
        while True:
            notices = session.pop_notices()
            if session.finished:
                if session.reason == "quit":
                    return
                terminal.draw(render_done(session, notices))
                if terminal.read_key() == "u" and session.undo():
                    continue
                return
            terminal.draw(render_card(session, notices))
            key = terminal.read_key(REDRAW_SECONDS if session.phase is Phase.ANSWER else None)
            if not key:
                continue  # redraw: the intervals shown are those of a grade given now
            outcome = session.key(key)
            if outcome is Outcome.QUIT:
                return
            if outcome is Outcome.EDIT:
                _edit(session, terminal, editor, vault, resync)
    except KeyboardInterrupt:
        session.quit()


def _edit(
    session: Session, terminal: Terminal, editor: str, vault: Path, resync: Callable[[str], list[str]]
) -> None:
    target = session.edit_target()
    if target is None:
        return
    path, line = target
    cmd = editor_command(editor, vault / path, line)
    with terminal.paused():
        try:
            code = subprocess.call(cmd)
        except OSError as exc:
            session.notify(
                f"cannot start the editor {cmd[0]!r} ({exc.strerror}); set review.editor or $EDITOR"
            )
            return
    if code != 0:
        session.notify(f"the editor exited with status {code}")
    for problem in resync(path)[:3]:
        session.notify(problem)
    session.reload_after_edit()
