"""A workspace: one opened vault, with its configuration, database, clock, journal and device.

Every front end (the command line, the web review) opens a ``Workspace`` and calls the
functions of ``app`` with it; they get the same behaviour (journal, locks, backups, the
mass-retire guard) because there is only one place that does it. A workspace never prints
and never prompts: what the person should see goes to ``Frontend.notice``, a question (the
mass-retire guard, a purge) to ``Frontend.confirm``, progress of long work to
``Frontend.progress``. The front end supplies the clock (``now``); nothing here reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HOW_TO_START, ConfigError, DatabaseError, SrsError, VaultError

if TYPE_CHECKING:
    import sqlite3

    from ..config import Config
    from ..history.journal import Journal
    from ..scheduling.days import DayClock
    from ..scheduling.memory import CardScheduler
    from ..store.card_stats import CardRef as CardRef
    from ..store.filters import CardFilter as CardFilter
    from ..sync import Progress as Progress
    from ..sync import SyncReport as SyncReport
    from ..vault.decks import DeckRecipe


def _no_notice(message: str) -> None:
    """Drop a notice (a front end that shows none)."""


def _never(question: str) -> bool:
    """Answer no (a front end that cannot ask)."""
    return False


@dataclass
class Frontend:
    """How the application layer reaches the person: each front end fills these in.

    Attributes:
        notice: One line the person should see (a warning, what was adopted, what is awaited).
        confirm: A yes/no question; ``False`` when nobody can answer (a script, a pipe).
        progress: Progress of reading notes, ``(done, total)``; ``None`` shows none.
    """

    notice: Callable[[str], None] = _no_notice
    confirm: Callable[[str], bool] = _never
    progress: Callable[[int, int], None] | None = None


@dataclass
class Workspace:
    """One vault opened by one front end.

    Attributes:
        config: The resolved configuration (vault, database, settings).
        clock: The front end's clock: returns the current UTC-aware instant.
        frontend: Where notices, questions and progress go.
        device: This device's id for the journal (``None``: the one kept in the data folder).
    """

    config: Config
    clock: Callable[[], datetime]
    frontend: Frontend = field(default_factory=Frontend)
    device: str | None = None
    _db: Path | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        *,
        vault: Path | None = None,
        db: Path | None = None,
        config_path: Path | None = None,
        clock: Callable[[], datetime],
        frontend: Frontend | None = None,
        device: str | None = None,
    ) -> Workspace:
        """Resolve the configuration (options, environment, config file, defaults) and open the vault.

        Raises:
            ConfigError: the config file is invalid.
            SrsError: ``device`` is not a valid device id.
        """
        from ..config import load_config
        from ..history.journal import valid_device

        if device and not valid_device(device):
            raise SrsError(f"device id {device!r}: a device id is letters, digits, '.', '_' and '-'")
        from ..scheduling.parameters import check_parameters

        cfg = load_config(vault=vault, db=db, config_path=config_path)
        # One rule for every command: a bad parameter set stops `due` and `stats` as it stops `grade`.
        check_parameters(cfg.schedule.parameters, cfg.schedule.origin)
        ws = cls(cfg, clock, frontend or Frontend(), device or None)
        for warning in cfg.warnings:
            ws.frontend.notice(f"warning: {warning}")
        if cfg.vault_reason not in ("option", "environment", "config", "./notes"):
            ws.frontend.notice(f"vault: {cfg.vault} (found {cfg.vault_reason})")
        return ws

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current instant, from the front end's clock."""
        return self.clock()

    def day_clock(self) -> DayClock:
        """The ``DayClock`` of the configured zone and rollover hour."""
        from ..scheduling.days import DayClock, zone

        sched = self.config.schedule
        return DayClock(zone(sched.timezone), sched.rollover_hour)

    def scheduler(self) -> CardScheduler:
        """The card scheduler of the configured parameters (checked: a bad set is one error)."""
        from ..scheduling.memory import make_scheduler

        return make_scheduler(self.config.schedule, self.day_clock())

    # -- the database -------------------------------------------------------------------------

    def database_path(self, *, create: bool) -> Path:
        """This vault's database: the one named (``--db``, ``MLSYS_SRS_DB``, ``db =``), else the
        vault's own (``<data>/vaults/<vault id>.db``; the vault id is made on the first write, and
        the database every vault used to share is adopted by the vault whose notes it holds).

        Raises:
            DatabaseError: a read-only use of a vault that has no database yet.
            VaultError: a write into a vault folder that does not exist.
        """
        from ..config import default_db_path
        from ..vault.layout import ensure_vault_id, vault_db_path

        cfg = self.config
        if cfg.db_explicit:
            if create and cfg.vault_id is None and cfg.vault.is_dir():
                # The vault still gets its id: its backups and journal are keyed by it.
                from dataclasses import replace

                from ..vault.layout import ensure_vault_id

                self.config = replace(cfg, vault_id=ensure_vault_id(cfg.vault))
            return cfg.db
        if self._db is not None:
            return self._db
        vid = cfg.vault_id
        if vid is None:
            if not cfg.vault.is_dir():
                raise VaultError(f"{cfg.vault}: vault folder not found; {HOW_TO_START}")
            if not create:
                raise DatabaseError(
                    f"{cfg.vault}: no review database for this vault yet (run `mlsys-srs sync` first)"
                )
            vid = ensure_vault_id(cfg.vault)
        path = vault_db_path(cfg.data_dir, vid)
        if not path.exists():
            alias = adopt_alias(cfg.data_dir, cfg.vault, vid)
            if alias is not None:
                self.frontend.notice(
                    f"this vault was given two ids on two devices; {vid} is kept by both, and the database "
                    f"this device kept under {alias} is adopted: {path}"
                )
            elif adopt_legacy(default_db_path(), path, cfg.vault, vid):
                self.frontend.notice(f"adopted the existing review database for this vault: {path}")
        self._db = path
        return path

    def backup_folder(self) -> Path:
        """Where this vault's database snapshots are kept: ``<data>/backups/<vault id>/``.

        Keyed by the vault's id, so two databases with the same file name never share a folder;
        a database named with ``--db`` in a folder without an id keys by its file name. A folder
        of snapshots kept before under the database's file name is adopted when they are this
        vault's.
        """
        return self._backup_dir(self.database_path(create=False))

    def _backup_dir(self, db: Path) -> Path:
        from ..store.backup import adopt_backups, backup_folder
        from ..vault.layout import read_vault_id

        vid = self.config.vault_id or (
            read_vault_id(self.config.vault) if self.config.vault.is_dir() else None
        )
        if vid is None:
            return backup_folder(self.config.data_dir, db)
        folder = self.config.data_dir / "backups" / vid
        if db.stem != vid and not folder.exists():
            adopt_backups(backup_folder(self.config.data_dir, db), folder, vid)
        return folder

    @contextmanager
    def connect(self, *, create: bool = True) -> Iterator[sqlite3.Connection]:
        """Open the database for the length of one piece of work (snapshotted before a migration).

        ``create=False`` (read-only work) never makes a database file.
        """
        from ..store import open_db

        cfg = self.config
        path = self.database_path(create=create)
        conn = open_db(path, self.now(), create=create, backup_dir=self._backup_dir(path))
        try:
            if cfg.vault_id is not None or not cfg.db_explicit:
                self._remember_vault(conn)
            yield conn
        finally:
            conn.close()

    def _remember_vault(self, conn: sqlite3.Connection) -> None:
        from ..store.db import transaction
        from ..store.events import get_meta, set_meta
        from ..vault.layout import read_vault_id

        vault = self.config.vault
        vid = read_vault_id(vault) if vault.is_dir() else None
        if vid and get_meta(conn, "vault_id") is None:
            with transaction(conn):
                set_meta(conn, "vault_id", vid)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Wait for any other mlsys-srs writing this database (a sync), with a notice while waiting."""
        from ..store.db import writer_lock

        db = self.database_path(create=True)

        def waiting(pid: int | None) -> None:
            who = f" (pid {pid})" if pid else ""
            self.frontend.notice(f"waiting for another mlsys-srs{who} to finish with {db} ...")

        with writer_lock(db, waiting):
            yield

    # -- the journal --------------------------------------------------------------------------

    def journal(self) -> Journal | None:
        """This device's review journal in the vault (None when ``[history] journal = false``)."""
        from ..history.journal import Journal, device_id
        from ..vault.layout import inside_vault

        cfg = self.config
        if not cfg.history.journal:
            return None
        folder = cfg.journal_folder
        if not inside_vault(cfg.vault, folder):
            raise ConfigError(
                f"{folder}: the journal folder leads outside the vault ({cfg.vault}); the journal lives in "
                "the vault (check [history] journal_dir and any symlink on the way)"
            )
        return Journal(folder, self.device or device_id(cfg.data_dir))

    def relative(self, path: Path) -> str:
        """A path as the person knows it: relative to the vault when inside it."""
        try:
            return path.relative_to(self.config.vault).as_posix()
        except ValueError:
            return str(path)

    # -- selecting cards ----------------------------------------------------------------------

    def deck(self, name: str | None) -> DeckRecipe | None:
        """The deck recipe ``decks/NAME.toml`` (None when no name is given).

        Raises:
            SrsError: no deck of that name (the message names the known ones).
        """
        if not name:
            return None
        from ..vault.decks import deck_dirs, find_deck

        cfg = self.config
        return find_deck(name, deck_dirs(cfg.vault, Path.cwd(), cfg.config_path.parent))

    def card_filter(
        self,
        domains: tuple[str, ...] | list[str] | None = None,
        tags: tuple[str, ...] | list[str] | None = None,
        notes: tuple[str, ...] | list[str] | None = None,
        deck: str | None = None,
        **extra: object,
    ) -> CardFilter:
        """The cards of these domains, tags (nested ones included), note globs and deck recipe."""
        from ..store.filters import CardFilter

        return CardFilter(
            domains=tuple(domains or ()),
            tags=tuple(t.lstrip("#") for t in tags or ()),
            note_globs=tuple(notes or ()),
            deck=self.deck(deck),
            **extra,  # type: ignore[arg-type]
        )


def describe_db_error(path: Path, exc: Exception) -> SrsError:
    """A database failure (read-only, damaged, a full disk, not ours) as one line naming the file."""
    import sqlite3

    from ..store.db import describe_error

    assert isinstance(exc, sqlite3.Error)
    return describe_error(path, exc)


def check_filter(conn: sqlite3.Connection, flt: CardFilter) -> None:
    """Refuse ``--domain`` and ``--tag`` values no card has, naming the closest ones (a typo
    would otherwise select nothing and look like an empty collection).

    Raises:
        UsageError: an unknown domain or tag (exit code 2, as any invalid option value).
    """
    if not (flt.domains or flt.tags):
        return
    import difflib

    from ..errors import UsageError
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
            raise UsageError(f"{option} {value}: no card has this {what}{hint}")


def holds_vault(db: Path, vault: Path, vault_id: str) -> bool:
    """Whether a database from before per-vault databases is this vault's: it names this vault,
    or at least half of its notes are files of this vault."""
    from ..store.db import peek_vault

    named, paths = peek_vault(db)
    if named is not None:
        return named == vault_id
    if not paths:
        return False
    found = sum(1 for p in paths if (vault / p).is_file())
    return found * 2 >= len(paths)


def adopt_alias(data_dir: Path, vault: Path, vault_id: str) -> str | None:
    """Move the database this device kept under another of the vault's ids to ``vault_id``'s path.

    Returns:
        The alias whose database was adopted, or None.
    """
    from ..store.db import checkpoint
    from ..vault.layout import read_vault_ids, vault_db_path

    target = vault_db_path(data_dir, vault_id)
    for alias in read_vault_ids(vault):
        source = vault_db_path(data_dir, alias)
        if alias == vault_id or not source.is_file() or target.exists():
            continue
        if not checkpoint(source):
            continue
        os.replace(source, target)
        for suffix in ("-wal", "-shm"):
            source.with_name(source.name + suffix).unlink(missing_ok=True)
        return alias
    return None


def adopt_legacy(legacy: Path, target: Path, vault: Path, vault_id: str) -> bool:
    """Move the old shared database to this vault's path when it holds this vault. True if moved."""
    if target.exists() or not legacy.is_file() or not holds_vault(legacy, vault, vault_id):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    from ..store.db import checkpoint

    # Fold the WAL into the main file first, so one rename moves everything.
    if not checkpoint(legacy):
        return False
    os.replace(legacy, target)
    for suffix in ("-wal", "-shm"):
        side = legacy.with_name(legacy.name + suffix)
        if side.exists():
            side.unlink()
    return True
