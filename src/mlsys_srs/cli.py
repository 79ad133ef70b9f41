"""The ``mlsys-srs`` command line: options, defaults (clock, paths), rendering, exit codes.

The app and its global options live here; each group of commands lives in a
module under ``commands/`` with a ``register(app)`` function. Commands import
what they need inside their bodies so that ``mlsys-srs due`` never pays for
the Anki exporter or the Markdown renderer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from .errors import SrsError

if TYPE_CHECKING:
    import sqlite3

    from rich.console import Console

    from .config import Config

ENV_NOW = "MLSYS_SRS_NOW"

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


class _Group(TyperGroup):
    """Turns an ``SrsError`` from any command into one clear line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SrsError as exc:
            err_console().print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("interrupted")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    name="mlsys-srs",
    help=(
        "Spaced repetition for your ML-systems notes.\n\n"
        "Reads the Q/A blocks, clozes and concept links of a folder of Markdown notes "
        "(an Obsidian vault works as it is), keeps them in a SQLite review database, "
        "schedules them with FSRS and reviews them in the terminal.\n\n"
        "Start with:  mlsys-srs sync   then   mlsys-srs review"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """Global options of one invocation, resolved lazily."""

    vault: Path | None = None
    db: Path | None = None
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The resolved configuration (options, environment, config file, defaults)."""
        if self._config is None:
            from .config import load_config

            self._config = load_config(vault=self.vault, db=self.db, config_path=self.config_path)
        return self._config


_console: Console | None = None
_err_console: Console | None = None


def console() -> Console:
    """The stdout console (rich honours NO_COLOR and non-terminal output)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(highlight=False)
    return _console


def err_console() -> Console:
    """The stderr console, for errors, warnings and progress."""
    global _err_console
    if _err_console is None:
        from rich.console import Console

        _err_console = Console(stderr=True, highlight=False)
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


@contextmanager
def open_store(ctx: typer.Context, *, create: bool = True) -> Iterator[sqlite3.Connection]:
    """Open the configured database for the length of a command."""
    from .store import open_db

    conn = open_db(state(ctx).config.db, now(), create=create)
    try:
        yield conn
    finally:
        conn.close()


def plural(n: int, word: str) -> str:
    """``1 card``, ``2 cards``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def emit_json(data: object) -> None:
    """Print data as JSON on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


@app.callback()
def main_options(
    ctx: typer.Context,
    vault: Annotated[
        Path | None,
        typer.Option(
            "--vault",
            help="Notes folder (env MLSYS_SRS_VAULT; default ./notes).",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Review database file (env MLSYS_SRS_DB; default in the user data folder, see `info`).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file, TOML (env MLSYS_SRS_CONFIG; default in the user config folder, see `info`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Global options come before the command: mlsys-srs --vault ~/notes review."""
    ctx.obj = State(vault=vault, db=db, config_path=config)


def resolve_deck(ctx: typer.Context, name: str | None) -> Any:
    """The ``DeckRecipe`` named by ``--deck`` (None when not given)."""
    if not name:
        return None
    from .decks import deck_dirs, find_deck

    cfg = state(ctx).config
    return find_deck(name, deck_dirs(cfg.vault, Path.cwd(), cfg.config_path.parent))


def card_filter(
    ctx: typer.Context,
    domain: list[str] | None = None,
    tag: list[str] | None = None,
    note: list[str] | None = None,
    deck: str | None = None,
    **extra: Any,
) -> Any:
    """The ``CardFilter`` of the shared --domain/--tag/--note/--deck options (plus ``extra`` fields)."""
    from .store.queries import CardFilter

    return CardFilter(
        domains=tuple(domain or ()),
        tags=tuple(t.lstrip("#") for t in tag or ()),
        note_globs=tuple(note or ()),
        deck=resolve_deck(ctx, deck),
        **extra,
    )


def day_clock(ctx: typer.Context) -> Any:
    """The ``DayClock`` of the configured zone and rollover hour."""
    from .days import DayClock, zone

    sched = state(ctx).config.schedule
    return DayClock(zone(sched.timezone), sched.rollover_hour)


def main() -> None:
    """Console-script entry point."""
    app()


def _register() -> None:
    # Last in the module: command modules import the helpers above.
    from .commands import core, export, review, stats

    for module in (core, review, stats, export):
        module.register(app)


_register()
