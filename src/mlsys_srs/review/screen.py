"""The review screen: draws a ``Session`` in a terminal of any size and feeds it single keypresses.

The screen is three parts, always the terminal's height:

- the header (progress, ``domain > note > heading``, ``#id note:line``, why a
  card is shown now) is always visible;
- the body (question, answer, tags) scrolls when it is taller than the space
  left (arrows, j/k, PgUp/PgDn, Home/End), with a line saying what is above and
  below;
- the footer (the interval of each grade, the keys) is packed into lines that
  fit the width, never broken inside a key's label.

Card text is rendered by ``render.terminal_card`` (the markdown-it parse the
Anki export uses). The terminal is in cbreak mode (no Enter, no echo) and the
alternate screen for the session; both are given back on every exit, while the
editor runs, on Ctrl-Z (and taken again on ``fg``); a resize or Ctrl-\\
redraws; Ctrl-C ends the session like ``q`` (the caller exits 130).
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from ..core.fmt import format_duration, format_interval, format_when, plural
from ..scheduling.memory import RATINGS
from .session import Outcome, Phase, Session, Summary

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from ..render.embeds import NoteLibrary

GRADE_STYLES = {1: "bold red", 2: "bold yellow", 3: "bold green", 4: "bold blue"}

EDITOR_TEMPLATES: dict[str, str] = {
    "vi": "+{line} {path}",
    "vim": "+{line} {path}",
    "nvim": "+{line} {path}",
    "gvim": "-f +{line} {path}",
    "mvim": "-f +{line} {path}",
    "nano": "+{line} {path}",
    "emacs": "+{line} {path}",
    "emacsclient": "+{line} {path}",
    "micro": "+{line} {path}",
    "kak": "+{line} {path}",
    "hx": "{path}:{line}",
    "helix": "{path}:{line}",
    "code": "--wait --goto {path}:{line}",
    "code-insiders": "--wait --goto {path}:{line}",
    "codium": "--wait --goto {path}:{line}",
    "cursor": "--wait --goto {path}:{line}",
    "subl": "--wait {path}:{line}",
    "sublime_text": "--wait {path}:{line}",
    "zed": "--wait {path}:{line}",
}
"""Arguments that open a file at a line, by editor name (appended to the editor's command)."""


# -- pure helpers ---------------------------------------------------------------------------


def editor_command(editor: str, path: Path, line: int) -> list[str]:
    """The command that opens ``path`` at ``line``.

    ``editor`` is a command line. With ``{path}`` (and ``{line}``) in it, it is a
    template, filled in as it stands (a wrapper script: ``my-edit {path} {line}``).
    Otherwise the editor's name picks the arguments from ``EDITOR_TEMPLATES``
    (vim, nvim, emacs, nano, micro, helix, kakoune, VS Code ``--goto path:line``,
    Sublime ``path:line``); an editor not known by name gets the path alone.
    """
    argv = shlex.split(editor) or ["vi"]
    if any("{path}" in a for a in argv):
        return [a.replace("{path}", str(path)).replace("{line}", str(line)) for a in argv]
    name = Path(argv[0]).name.lower()
    if name.endswith(".exe"):
        name = name[:-4]
    template = EDITOR_TEMPLATES.get(name)
    if template is None:
        return [*argv, str(path)]
    extra = template.split()
    if {"-w", "--wait"} & set(argv):
        extra = [a for a in extra if a != "--wait"]
    return [*argv, *(a.replace("{path}", str(path)).replace("{line}", str(line)) for a in extra)]


def context_line(domain: str, title: str, context: str) -> str:
    """``domain > note title > heading path`` (the heading that repeats the title is dropped)."""
    heads = [h for h in context.split(" > ") if h] if context else []
    if heads and heads[0].strip().lower() == title.strip().lower():
        heads = heads[1:]
    return " > ".join([domain, title, *heads])


def _pack(items: list[Text], width: int, sep: str = "  ") -> list[Text]:
    """Items on as few lines as fit ``width``, never breaking inside an item."""
    lines: list[Text] = []
    cur = Text()
    for item in items:
        if cur.plain and cur.cell_len + len(sep) + item.cell_len > width:
            lines.append(cur)
            cur = Text()
        if cur.plain:
            cur.append(sep)
        cur.append_text(item)
    if cur.plain:
        lines.append(cur)
    for line in lines:
        if line.cell_len > width:
            line.truncate(width, overflow="ellipsis")
    return lines


def _fit(text: Text, width: int) -> Text:
    """One header line cropped to the width with a marker."""
    text = text.copy()
    if text.cell_len > width:
        text.truncate(width - 1)
        text.append("…", style="dim")
    return text


def _key(k: str, label: str, style: str = "bold") -> Text:
    t = Text(k, style=style)
    t.append(" " + label, style="dim")
    return t


@dataclass
class Frame:
    """A card laid out for one terminal size: the parts and where the answer starts."""

    header: list[Text]
    body: list[Text]
    footer: list[Text]
    answer_at: int | None
    images: list[str]


def layout(
    session: Session,
    notices: list[str],
    width: int,
    console: Console,
    *,
    breaks: bool = True,
    library: NoteLibrary | None = None,
) -> Frame:
    """The screen of the card on the session's screen at ``width`` columns (all lines, unscrolled).

    ``breaks``: keep the notes' single line breaks (Obsidian's default; off with its "strict line
    breaks" setting).
    """
    from ..render.terminal import clean, terminal_card

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
    if session.mode_label:
        head.append(f"  [{session.mode_label}]", style="bold magenta")
    header = [_fit(head, width)]
    for n in notices:
        header.extend(Text(clean(n), style="bold magenta").wrap(console, width))
    if card is None or item is None:
        return Frame(header, [], [], None, [])
    where = Text(clean(context_line(card.domain, card.title, card.context)), style="cyan")
    location = f"#{card.id} {clean(card.note)}:{card.line}"
    if where.cell_len + 3 + len(location) <= width:
        where.append("   " + location, style="dim")
        header.append(where)
    else:  # a narrow terminal: the note:line on its own line, cut from the left so the file name stays
        header.append(_fit(where, width))
        if len(location) > width:
            location = "…" + location[len(location) - width + 1 :]
        header.append(Text(location, style="dim"))
    now = session.now()
    if item.reason:
        header.append(_fit(Text(f"↻ brought forward: {clean(item.reason)}", style="yellow"), width))
    if session.grades_schedule and item.kind == "learning" and item.due is not None and item.due > now:
        header.append(
            _fit(
                Text(
                    f"⏱ early: learning step due in {format_interval(item.due - now)} (learn-ahead)",
                    style="yellow",
                ),
                width,
            )
        )

    def rule(title: str, style: str) -> Text:
        t = Text("── ", style=style)
        t.append(title, style=f"bold {style}")
        t.append(" " + "─" * max(0, width - len(title) - 4), style=style)
        return t

    body: list[Text] = [rule("question", "cyan")]
    from ..render.embeds import prepare

    q = terminal_card(prepare(card.question, card.note, library), console, width, breaks=breaks)
    body.extend(q.lines)
    tags = list(dict.fromkeys(q.tags))
    if tags:
        body.extend(_pack([Text("#" + clean(t), style="blue") for t in tags], width, " "))
    images = list(q.images)
    answer_at = None
    if session.phase is Phase.ANSWER:
        body.append(Text(""))
        answer_at = len(body)
        body.append(rule("answer", "green"))
        if card.kind == "cloze":
            a = terminal_card(
                prepare(card.source, card.note, library), console, width, cloze=card.cloze, breaks=breaks
            )
        else:
            a = terminal_card(prepare(card.answer, card.note, library), console, width, breaks=breaks)
        body.extend(a.lines)
        more = [t for t in dict.fromkeys(a.tags) if t not in tags]
        if more:
            body.extend(_pack([Text("#" + clean(t), style="blue") for t in more], width, " "))
        images.extend(i for i in a.images if i not in images)

    footer: list[Text] = []
    keys: list[Text] = []
    if session.phase is Phase.ANSWER:
        if session.grades_schedule:
            grades = []
            for rating, delta in session.intervals().items():
                g = Text(str(rating), style=GRADE_STYLES[rating])
                g.append(f" {RATINGS[rating]} {format_interval(delta)}")
                grades.append(g)
            footer.extend(_pack(grades, width, "   "))
        elif session.grades_logged:
            footer.extend(
                _pack(
                    [Text(str(r), style=GRADE_STYLES[r]) + Text(f" {RATINGS[r]}") for r in RATINGS]
                    + [Text("(schedule unchanged)", style="dim")],
                    width,
                    "   ",
                )
            )
        else:
            keys.append(_key("space", "next"))
    else:
        keys.append(_key("space", "answer"))
    keys += [_key("u", "undo"), _key("b", "bury"), _key("s", "suspend"), _key("e", "edit")]
    if images:
        keys.append(_key("o", "image"))
    keys.append(_key("q", "quit"))
    footer.extend(_pack(keys, width))
    return Frame(header, body, footer, answer_at, images)


def viewport(frame: Frame, height: int, scroll: int, width: int) -> tuple[list[Text], int]:
    """The lines to draw at ``height`` rows with the body scrolled by ``scroll`` lines.

    The header and footer always show (cropped from the bottom only when they
    alone fill the screen); the body gets the rest, with a line saying how many
    lines are above and below. Returns the lines and the scroll actually used.
    """
    header, footer = frame.header, frame.footer
    room = height - len(header) - len(footer)
    if room < 2:
        footer = footer[-max(0, height - len(header) - 2) :] if height - len(header) > 2 else []
        room = height - len(header) - len(footer)
        if room < 1:
            return header[:height], 0
    body = frame.body
    if len(body) <= room:
        return [*header, *body, *[Text("")] * (room - len(body)), *footer], 0
    view = room - 1  # one line for the scroll indicator
    top = max(0, min(scroll, len(body) - view))
    shown = body[top : top + view]
    above, below = top, len(body) - top - len(shown)
    parts = []
    if above:
        parts.append(f"↑ {above} line{'s' if above != 1 else ''} above")
    if below:
        parts.append(f"↓ {below} more line{'s' if below != 1 else ''}")
    indicator = Text(" · ".join(parts) + "  (j/k ↑/↓ PgUp/PgDn)", style="reverse")
    return [*header, *shown, _fit(indicator, width), *footer], top


def render_done(session: Session, notices: list[str] | None = None) -> RenderableType:
    """The screen shown when the session's cards are done."""
    from rich.rule import Rule

    p = session.progress()
    parts: list[RenderableType] = [Text(f"{p.done} done", style="bold")]
    parts.extend(Text(n, style="bold magenta") for n in notices or ())
    parts.append(Rule())
    parts.append(Text("All cards for this session are done.", style="bold green"))
    parts.append(Text("u undo the last answer · any other key to finish", style="dim"))
    return Group(*parts)


def render_summary(summary: Summary, now: datetime, tz: tzinfo | None = None) -> RenderableType:
    """The end-of-session summary."""
    from rich.table import Table

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    cards = f" ({plural(summary.cards, 'card')})" if summary.cards != summary.reviews else ""
    t.add_row("reviewed", f"{summary.reviews}{cards}")
    if summary.reviews:
        answers = Text()
        for k, (rating, n) in enumerate(zip(RATINGS, summary.by_grade, strict=True)):
            if k:
                answers.append("  ")
            answers.append(f"{RATINGS[rating]} {n}", style=GRADE_STYLES[rating] if n else "")
        t.add_row("answers", answers)
    if summary.new_learned:
        t.add_row("new cards", f"{summary.new_learned} learned")
    t.add_row("time", format_duration(summary.time_ms))
    t.add_row(
        "again",
        f"{summary.again_rate:.0%} ({summary.again} of {summary.reviews})" if summary.reviews else "-",
    )
    t.add_row("due tomorrow", str(summary.due_tomorrow))
    if summary.streak is not None:
        t.add_row("streak", plural(summary.streak, "day"))
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

_SEQUENCES = {
    b"[A": "up",
    b"OA": "up",
    b"[B": "down",
    b"OB": "down",
    b"[5~": "pgup",
    b"[6~": "pgdn",
    b"[H": "home",
    b"OH": "home",
    b"[1~": "home",
    b"[F": "end",
    b"OF": "end",
    b"[4~": "end",
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Terminal:
    """Single-keypress input and the alternate screen, given back on exit and on Ctrl-Z.

    Signals: SIGWINCH (resize) and SIGQUIT (Ctrl-\\) make ``read_key`` return
    ``"redraw"``; SIGTSTP (Ctrl-Z) gives the terminal back before the process
    stops and takes it again on ``fg`` (then redraws); SIGTERM ends the
    session like Ctrl-C.
    """

    def __init__(self, console: Console, fd: int | None = None) -> None:
        """Bind to ``console`` for output and ``fd`` (default: stdin) for keys."""
        self.console = console
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved: list[Any] | None = None
        self._old: dict[int, Any] = {}
        self._wake_r, self._wake_w = -1, -1
        self._taken = False

    # -- taking and giving back the terminal --

    def _take(self) -> None:
        if self._saved is None:
            self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        self._taken = True

    def _give_back(self) -> None:
        if not self._taken:
            return
        self._taken = False
        try:
            self.console.show_cursor(True)
            self.console.set_alt_screen(False)
            if self._saved is not None:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        except (OSError, termios.error):
            pass  # the terminal is gone (closed window); nothing to restore

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with suppress(OSError):
                os.write(self._wake_w, b"r")

    def _on_redraw(self, signum: int, frame: object) -> None:
        self._wake()

    def _on_stop(self, signum: int, frame: object) -> None:
        # Ctrl-Z: the shell gets a usable terminal, then the process stops as it would have.
        was_taken = self._taken
        self._give_back()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)
        # Here after `fg` (SIGCONT).
        signal.signal(signal.SIGTSTP, self._on_stop)
        if was_taken:
            with suppress(OSError, termios.error):
                self._take()
        self._wake()

    def __enter__(self) -> Terminal:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._take()
        handlers: dict[int, Any] = {
            signal.SIGTERM: _interrupt,  # a polite kill ends the session like Ctrl-C
            signal.SIGWINCH: self._on_redraw,
            signal.SIGQUIT: self._on_redraw,
            signal.SIGTSTP: self._on_stop,
        }
        for sig, handler in handlers.items():
            self._old[sig] = signal.signal(sig, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._give_back()
        finally:
            for sig, handler in self._old.items():
                signal.signal(sig, handler)
            self._old = {}
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Give the terminal back (for the editor), then take it again."""
        self._give_back()
        try:
            yield
        finally:
            self._take()

    # -- keys and drawing --

    def read_key(self, timeout: float | None = None) -> str:
        """One keypress.

        Arrows, PgUp/PgDn, Home/End come back as ``up``, ``down``, ``pgup``,
        ``pgdn``, ``home``, ``end``; another escape sequence as ``esc``; a
        resize, Ctrl-\\ or a return from Ctrl-Z as ``redraw``; end of input as
        ``q``; ``""`` when ``timeout`` seconds pass without a key.
        """
        watch = [self.fd] + ([self._wake_r] if self._wake_r >= 0 else [])
        ready = select.select(watch, [], [], timeout)[0]
        if not ready:
            return ""
        if self._wake_r in ready:
            with suppress(OSError):
                os.read(self._wake_r, 256)
            return "redraw"
        b = os.read(self.fd, 1)
        if not b:
            return "q"
        if b == b"\x1b":
            seq = b""
            while len(seq) < 16 and select.select([self.fd], [], [], 0.03)[0]:
                more = os.read(self.fd, 1)
                if not more:
                    break
                seq += more
                if len(seq) >= 2 and (seq[-1:].isalpha() or seq[-1:] == b"~"):
                    break
            return _SEQUENCES.get(seq, "esc")
        if b[0] >= 0x80:
            need = 1 if b[0] < 0xE0 else 2 if b[0] < 0xF0 else 3
            b += os.read(self.fd, need)
        return b.decode("utf-8", errors="replace")

    def size(self) -> tuple[int, int]:
        """Columns and rows of the terminal now."""
        try:
            cols, rows = os.get_terminal_size(self.console.file.fileno())
        except (OSError, ValueError, AttributeError):
            cols, rows = shutil.get_terminal_size()
        return max(20, cols), max(5, rows)

    def draw(self, renderable: RenderableType) -> None:
        """Replace the screen with ``renderable``."""
        self.console.clear()
        self.console.print(renderable)

    def draw_lines(self, lines: list[Text]) -> None:
        """Replace the screen with exactly these lines (each at most the width)."""
        width, _ = self.size()
        self.console.clear()
        out = Text("\n").join(lines)
        self.console.print(out, end="", no_wrap=True, overflow="crop", crop=True, width=width)
        self.console.file.flush()


_SCROLL_KEYS = frozenset({"up", "down", "pgup", "pgdn", "home", "end", "j", "k", "redraw"})


def run_screen(
    session: Session,
    terminal: Terminal,
    *,
    editor: str,
    vault: Path,
    resync: Callable[[str], list[str]],
    open_file: Callable[[Path], None] | None = None,
    after_first_frame: Callable[[], None] | None = None,
) -> bool:
    """Show cards and handle keys until the session is quit or done.

    Args:
        session: The session to drive.
        terminal: The entered ``Terminal``.
        editor: The editor command line (or template) for ``e``.
        vault: The vault folder (note paths are relative to it).
        resync: Syncs one note (vault-relative path) after an edit; returns
            problems to show.
        open_file: Opens an embedded image for ``o`` (default: the system viewer).
        after_first_frame: Called once, when the first card is on screen: work that need not
            delay it (the caller's, while the person reads the question).

    Returns:
        True when the session ended by Ctrl-C (the caller exits 130 after the summary).
    """
    from ..render.embeds import NoteLibrary
    from ..vault.layout import strict_line_breaks

    breaks = not strict_line_breaks(vault)
    library = NoteLibrary(vault)
    scroll = 0
    notices: list[str] = []
    shown: tuple[int | None, Phase] | None = None
    try:
        while True:
            notices = [*notices, *session.pop_notices()][-4:]
            if session.finished:
                if session.reason == "quit":
                    return False
                terminal.draw(render_done(session, notices))
                key = terminal.read_key()
                while key == "redraw":
                    terminal.draw(render_done(session, notices))
                    key = terminal.read_key()
                if key == "u" and session.undo():
                    notices = []
                    continue
                return False
            width, height = terminal.size()
            frame = layout(session, notices, width, terminal.console, breaks=breaks, library=library)
            state = (session.card.id if session.card else None, session.phase)
            if state != shown:
                # A new card starts at its top; a revealed answer is scrolled into view.
                scroll = 0
                if session.phase is Phase.ANSWER and frame.answer_at is not None:
                    room = height - len(frame.header) - len(frame.footer) - 1
                    if frame.answer_at >= room:
                        scroll = frame.answer_at
                shown = state
            lines, scroll = viewport(frame, height, scroll, width)
            terminal.draw_lines(lines)
            if after_first_frame is not None:
                after_first_frame()
                after_first_frame = None
            key = terminal.read_key(REDRAW_SECONDS if session.phase is Phase.ANSWER else None)
            if not key:
                continue  # redraw: the intervals shown are those of a grade given now
            if key in _SCROLL_KEYS:
                page = max(1, height - len(frame.header) - len(frame.footer) - 2)
                scroll = {
                    "up": scroll - 1,
                    "k": scroll - 1,
                    "down": scroll + 1,
                    "j": scroll + 1,
                    "pgup": scroll - page,
                    "pgdn": scroll + page,
                    "home": 0,
                    "end": len(frame.body),
                }.get(key, scroll)
                scroll = max(0, scroll)
                continue
            if key == "o":
                _open_images(session, frame.images, vault, open_file)
                notices = session.pop_notices()
                continue
            notices = []
            outcome = session.key(key)
            if outcome is Outcome.QUIT:
                return False
            if outcome is Outcome.EDIT:
                _edit(session, terminal, editor, vault, resync)
                shown = None
    except KeyboardInterrupt:
        session.quit()
        return True


def open_with_system_viewer(path: Path) -> None:
    """Open a file with the desktop's viewer (``open`` on macOS, ``xdg-open`` elsewhere), detached."""
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    subprocess.Popen(
        [opener, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _open_images(
    session: Session, images: list[str], vault: Path, open_file: Callable[[Path], None] | None
) -> None:
    card = session.card
    if card is None or not images:
        session.notify("this card embeds no image")
        return
    from ..render.media import MediaBundle

    bundle = MediaBundle(vault)
    for ref in images:
        found = bundle.locate(ref, card.note, card.line)
        if found is None:
            session.notify(f"image {ref!r} not found in the vault")
            continue
        try:
            (open_file or open_with_system_viewer)(found)
            session.notify(f"opened {found.relative_to(bundle.vault)}")
        except OSError as exc:
            session.notify(f"cannot open {ref!r}: {exc.strerror or exc}")


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
    problems = resync(path)
    session.reload_after_edit()
    card = session.card
    if card is not None:
        session.notify(f"edited: {card.note}:{card.line} (card re-read)")
    else:
        session.notify(f"edited: {path}")
    for problem in problems[:3]:
        session.notify(problem)
