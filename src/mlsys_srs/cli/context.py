"""What every command shares: the invocation's state, consoles, the clock, options, the card filter.

Imports no command module. The CLI layer is the only code that reads the clock
(``now``: ``MLSYS_SRS_NOW`` overrides it), the environment and the terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.fmt import inert
from ..errors import SrsError

if TYPE_CHECKING:
    from rich.console import Console

    from ..app.workspace import Workspace
    from ..config import Config

ENV_NOW = "MLSYS_SRS_NOW"
ENV_DEVICE = "MLSYS_SRS_DEVICE"

# Options shared by every command that selects cards (cards, review, due, stats, export).
DomainOpt = Annotated[list[str] | None, typer.Option("--domain", "-d", help="Only this domain (repeatable).")]
TagOpt = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Only cards with this tag or a nested one (repeatable)."),
]
NoteOpt = Annotated[
    list[str] | None,
    typer.Option("--note", "-n", help="Only notes whose path matches this glob (repeatable)."),
]
DeckOpt = Annotated[
    str | None,
    typer.Option("--deck", help="Only the cards of the deck recipe decks/NAME.toml.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


@dataclass
class State:
    """Global options of one invocation, and the workspace they open (made on first use)."""

    vault: Path | None = None
    db: Path | None = None
    config_path: Path | None = None
    _workspace: Workspace | None = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        """The vault this invocation works on, with the command line as its front end."""
        if self._workspace is None:
            from ..app.workspace import Frontend, Workspace

            self._workspace = Workspace.open(
                vault=self.vault,
                db=self.db,
                config_path=self.config_path,
                clock=now,
                frontend=Frontend(notice=notice, confirm=confirm),
                device=device_override(),
            )
        return self._workspace

    @property
    def config(self) -> Config:
        """The resolved configuration (options, environment, config file, defaults)."""
        return self.workspace.config


_console: Console | None = None
_err_console: Console | None = None


def _make_console(stderr: bool) -> Console:
    """A rich console on which text from notes is inert.

    Markup is off (a ``[/x]`` or ``[blink]`` in a note or a path is text, never
    a style or an error; styles come from ``Text`` objects, or ``markup=True``
    on a literal of our own), and every segment of text that reaches the
    terminal passes through ``inert``: no control character from a note,
    a file name or the frontmatter is ever written as a control sequence.
    rich's own control codes (colours, the alternate screen) are not text
    segments and are kept.
    """
    from rich.console import Console
    from rich.segment import Segment

    class InertConsole(Console):
        def render(self, renderable: Any, options: Any = None) -> Any:
            for seg in super().render(renderable, options):
                if seg.control or not seg.text or seg.text.isprintable():
                    yield seg
                else:
                    yield Segment(inert(seg.text), seg.style, seg.control)

        def render_str(self, text: str, **kwargs: Any) -> Any:
            return super().render_str(inert(text), **kwargs)

    return InertConsole(stderr=stderr, highlight=False, markup=False)


def console() -> Console:
    """The stdout console (rich honours NO_COLOR and non-terminal output); see ``_make_console``."""
    global _console
    if _console is None:
        _console = _make_console(stderr=False)
    return _console


def err_console() -> Console:
    """The stderr console, for errors, warnings and progress."""
    global _err_console
    if _err_console is None:
        _err_console = _make_console(stderr=True)
    return _err_console


def reset_consoles() -> None:
    """Forget the consoles (tests swap stdout between invocations)."""
    global _console, _err_console
    _console = _err_console = None


def now() -> datetime:
    """The current time, UTC-aware. ``MLSYS_SRS_NOW`` (ISO 8601) fixes it for tests and demos."""
    fixed = os.environ.get(ENV_NOW)
    if fixed:
        try:
            dt = datetime.fromisoformat(fixed)
        except ValueError:
            raise SrsError(f"{ENV_NOW}={fixed!r} is not an ISO 8601 time") from None
        if dt.tzinfo is None:
            raise SrsError(f"{ENV_NOW}={fixed!r} needs a UTC offset, e.g. 2026-11-22T08:00:00+00:00")
        return dt.astimezone(UTC)
    return datetime.now(UTC)


def state(ctx: typer.Context) -> State:
    """The global options of this invocation."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace of this invocation (its vault, database, clock and journal)."""
    return state(ctx).workspace


def device_override() -> str | None:
    """This device's id from ``MLSYS_SRS_DEVICE`` (None: the one kept in the data folder)."""
    return os.environ.get(ENV_DEVICE) or None


def notice(message: str) -> None:
    """Show one line from the application layer on stderr (never interpreted as markup)."""
    from rich.text import Text

    err_console().print(Text(message), soft_wrap=True)


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; no when stdin is not a terminal (a script, a pipe)."""
    if not sys.stdin.isatty():
        return False
    err_console().print(question + " [y/N] ", end="", markup=False)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


# In JSON text these only occur inside strings, where a \\u escape is valid.
_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\\\x{code - 0xDC00:02x}"  # an undecodable file-name byte, shown as \xNN
    return f"\\u{code:04x}"


def json_text(data: object) -> str:
    """Data as JSON that is valid UTF-8 and carries no raw control character.

    C0 controls are escaped by ``json``; C1 controls, DEL and U+2028/9 are
    escaped here, and a file name's undecodable byte becomes the text ``\\xNN``.
    """
    return _JSON_UNSAFE_RE.sub(_json_escape, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit_json(data: object) -> None:
    """Print data as JSON on stdout (no colour, no wrapping)."""
    sys.stdout.write(json_text(data) + "\n")
    sys.stdout.flush()


def card_filter(
    ctx: typer.Context,
    domain: list[str] | None = None,
    tag: list[str] | None = None,
    note: list[str] | None = None,
    deck: str | None = None,
    **extra: Any,
) -> Any:
    """The ``CardFilter`` of the shared --domain/--tag/--note/--deck options (plus ``extra`` fields)."""
    return workspace(ctx).card_filter(domain, tag, note, deck, **extra)
