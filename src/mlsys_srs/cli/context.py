"""What every command shares: the invocation's state, consoles, the clock, options, the card filter.

Imports no command module. The CLI layer is the only code that reads the clock
(``now``: ``MLSYS_SRS_NOW`` overrides it), the environment and the terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.fmt import inert
from ..errors import SrsError

if TYPE_CHECKING:
    import sqlite3

    from rich.console import Console

    from ..config import Config
    from ..history.journal import Journal

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
    """Global options of one invocation, resolved lazily."""

    vault: Path | None = None
    db: Path | None = None
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)
    db_resolved: Path | None = None

    @property
    def config(self) -> Config:
        """The resolved configuration (options, environment, config file, defaults)."""
        if self._config is None:
            from ..config import load_config

            self._config = load_config(vault=self.vault, db=self.db, config_path=self.config_path)
            if self._config.vault_reason not in ("option", "environment", "config", "./notes"):
                err_console().print(
                    f"vault: {self._config.vault} (found {self._config.vault_reason})", markup=False
                )
        return self._config


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


def database_path(ctx: typer.Context, *, create: bool) -> Path:
    """The database of this invocation: ``--db``/``MLSYS_SRS_DB``/``db =``, else the vault's own
    (``<data>/vaults/<vault id>.db``; the vault id is made on the first write, and the database every
    vault used to share is adopted by the vault whose notes it holds).

    Raises:
        DatabaseError: a read-only command on a vault that has no database yet.
        VaultError: a writing command on a vault folder that does not exist.
    """
    from ..config import default_db_path
    from ..errors import DatabaseError, VaultError
    from ..vault.layout import adopt_legacy, ensure_vault_id, vault_db_path

    st = state(ctx)
    cfg = st.config
    if cfg.db_explicit:
        return cfg.db
    if st.db_resolved is not None:
        return st.db_resolved
    vid = cfg.vault_id
    if vid is None:
        if not create:
            raise DatabaseError(
                f"{cfg.vault}: no review database for this vault yet (run `mlsys-srs sync` first)"
            )
        if not cfg.vault.is_dir():
            raise VaultError(f"{cfg.vault}: vault folder not found (use --vault or set MLSYS_SRS_VAULT)")
        vid = ensure_vault_id(cfg.vault)
    path = vault_db_path(cfg.data_dir, vid)
    if not path.exists() and adopt_legacy(default_db_path(), path, cfg.vault, vid):
        err_console().print(f"adopted the existing review database for this vault: {path}", markup=False)
    st.db_resolved = path
    return path


@contextmanager
def open_store(ctx: typer.Context, *, create: bool = True) -> Iterator[sqlite3.Connection]:
    """Open the database of this invocation for the length of a command (snapshotted before a migration).

    ``create=False`` (the read-only commands) never makes a database file.
    """
    from ..store import open_db
    from ..store.backup import backup_folder

    cfg = state(ctx).config
    path = database_path(ctx, create=create)
    conn = open_db(path, now(), create=create, backup_dir=backup_folder(cfg.data_dir, path))
    try:
        if cfg.vault_id is not None or not cfg.db_explicit:
            _remember_vault(conn, ctx)
        yield conn
    finally:
        conn.close()


def _remember_vault(conn: sqlite3.Connection, ctx: typer.Context) -> None:
    from ..store.db import transaction
    from ..store.events import get_meta, set_meta
    from ..vault.layout import read_vault_id

    vid = read_vault_id(state(ctx).config.vault) if state(ctx).config.vault.is_dir() else None
    if vid and get_meta(conn, "vault_id") is None:
        with transaction(conn):
            set_meta(conn, "vault_id", vid)


def journal(ctx: typer.Context) -> Journal | None:
    """This device's review journal in the vault (None when ``[history] journal = false``)."""
    from ..history.journal import Journal, device_id, valid_device

    cfg = state(ctx).config
    if not cfg.history.journal:
        return None
    dev = os.environ.get(ENV_DEVICE, "")
    if dev and not valid_device(dev):
        raise SrsError(f"{ENV_DEVICE}={dev!r}: a device id is letters, digits, '.', '_' and '-'")
    return Journal(cfg.journal_folder, dev or device_id(cfg.data_dir))


@contextmanager
def writer_lock(ctx: typer.Context) -> Iterator[None]:
    """Wait for any other mlsys-srs writing this database (a sync), saying so on stderr."""
    from ..store.db import writer_lock as lock

    db = database_path(ctx, create=True)

    def waiting(pid: int | None) -> None:
        from rich.text import Text

        who = f" (pid {pid})" if pid else ""
        err_console().print(
            Text(f"waiting for another mlsys-srs{who} to finish with {inert(str(db))} ..."), soft_wrap=True
        )

    with lock(db, waiting):
        yield


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


def resolve_deck(ctx: typer.Context, name: str | None) -> Any:
    """The ``DeckRecipe`` named by ``--deck`` (None when not given)."""
    if not name:
        return None
    from ..vault.decks import deck_dirs, find_deck

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
    from ..store.filters import CardFilter

    return CardFilter(
        domains=tuple(domain or ()),
        tags=tuple(t.lstrip("#") for t in tag or ()),
        note_globs=tuple(note or ()),
        deck=resolve_deck(ctx, deck),
        **extra,
    )


def check_filter(conn: sqlite3.Connection, flt: Any) -> None:
    """Refuse ``--domain`` and ``--tag`` values no card has, naming the closest ones (a typo
    would otherwise select nothing and look like an empty collection).

    Raises:
        SrsError: an unknown domain or tag.
    """
    if not (flt.domains or flt.tags):
        return
    import difflib

    from ..store.cards import domains_and_tags

    domains, tags = domains_and_tags(conn)
    if not domains:
        return  # nothing synced yet: there is nothing to compare with
    parents = {"/".join(t.split("/")[: i + 1]) for t in tags for i in range(t.count("/") + 1)}
    for option, values, known in (("--domain", flt.domains, domains), ("--tag", flt.tags, parents)):
        for value in values:
            if value in known:
                continue
            close = difflib.get_close_matches(value, sorted(known), n=3, cutoff=0.6)
            hint = (
                f"; did you mean {' or '.join(close)}?"
                if close
                else f" (known: {', '.join(sorted(known)[:12])})"
            )
            what = "domain" if option == "--domain" else "tag"
            raise SrsError(f"{option} {value}: no card has this {what}{hint}")


def day_clock(ctx: typer.Context) -> Any:
    """The ``DayClock`` of the configured zone and rollover hour."""
    from ..scheduling.days import DayClock, zone

    sched = state(ctx).config.schedule
    return DayClock(zone(sched.timezone), sched.rollover_hour)
