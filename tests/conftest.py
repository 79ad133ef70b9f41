"""Shared fixtures: an isolated user directory, a vault in tmp_path, a CLI runner."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.core.identity import event_id
from mlsys_srs.store import dt_to_db
from mlsys_srs.store.card_sync import retire_cards
from mlsys_srs.store.cards import schedule_of, set_schedule
from mlsys_srs.store.review_log import insert_review

REPO = Path(__file__).resolve().parent.parent

# No per-example deadline: a first example pays for imports and a loaded 2-core CI machine is
# slow, and a deadline met on the re-run is reported as a flaky failure. Speed is measured in
# benchmarks/, never asserted.
settings.register_profile("mlsys-srs", deadline=None)
settings.load_profile("mlsys-srs")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, data and the clock overrides away from the real user folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("MLSYS_SRS_CONFIG", str(home / "config.toml"))
    for var in ("MLSYS_SRS_DB", "MLSYS_SRS_VAULT", "MLSYS_SRS_NOW", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    context.reset_consoles()
    return home


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """An empty vault folder."""
    v = tmp_path / "vault"
    v.mkdir()
    return v


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's review database lives."""
    return tmp_path / "srs.db"


def write_notes(root: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: text}`` into a vault."""
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


class Cli:
    """Runs ``mlsys-srs`` in-process against one vault and database."""

    def __init__(self, vault: Path, db: Path) -> None:
        self.vault = vault
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        context.reset_consoles()
        result = self.runner.invoke(
            cli.app,
            ["--vault", str(self.vault), "--db", str(self.db), *args],
            env=env,
            catch_exceptions=False,
        )
        context.reset_consoles()
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.output)
        return result

    def json(self, *args: str, env: dict[str, str] | None = None) -> object:
        """Run a command with ``--json`` and parse its stdout."""
        return json.loads(self(*args, "--json", env=env).stdout)


@pytest.fixture
def run(vault: Path, db_path: Path) -> Cli:
    """The CLI bound to the test's vault and database."""
    return Cli(vault, db_path)


@pytest.fixture
def anki_dir(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """Fresh Anki collections (closed at the end)."""
    from anki.collection import Collection

    opened: list[Any] = []

    def make(name: str) -> Any:
        folder = tmp_path / name
        folder.mkdir()
        col = Collection(str(folder / "collection.anki2"))
        opened.append(col)
        return col

    yield make
    for col in opened:
        with contextlib.suppress(Exception):  # exporting a collection package closes it
            col.close()


@pytest.fixture
def notes(vault: Path) -> Callable[[dict[str, str]], None]:
    """Write notes into the test's vault."""
    return lambda files: write_notes(vault, files)


# -- building data through the store ---------------------------------------------------


def patch_schedule(conn: sqlite3.Connection, card_id: int, **values: Any) -> None:
    """Set some scheduling columns of a card (datetimes stored as the store stores them), through
    the store's ``schedule_of`` and ``set_schedule``.

    Raises:
        ValueError: a name is not a scheduling column.
    """
    raw = schedule_of(conn, card_id)
    unknown = set(values) - set(raw)
    if unknown:
        raise ValueError(f"not scheduling columns: {', '.join(sorted(unknown))}")
    for k, v in values.items():
        raw[k] = dt_to_db(v) if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v
    set_schedule(conn, card_id, raw)


def set_card(conn: sqlite3.Connection, card_id: int, **cols: Any) -> None:
    """Give a card scheduling columns directly (through the store, as an import would); ``retired``
    retires it as a sync does."""
    retired_at = cols.pop("retired_at", None)
    if cols.pop("retired", False):
        retire_cards(conn, [card_id], dt_to_db(retired_at))
    if cols:
        patch_schedule(conn, card_id, **cols)


def add_review(
    conn: sqlite3.Connection,
    card_id: int,
    at: datetime,
    rating: int = 3,
    *,
    before: str = "review",
    after: str | None = None,
    due_after: datetime | None = None,
    duration_ms: int = 8000,
    stability_after: float | None = 3.0,
    difficulty_after: float | None = 5.0,
    kind: str = "review",
) -> int:
    """Log one review row through the store (no scheduling): for history-shaped test data."""
    return insert_review(
        conn,
        card_id=card_id,
        rating=rating,
        reviewed_at=at,
        duration_ms=duration_ms,
        state_before=before,
        state_after=after or ("relearning" if rating == 1 else "review"),
        stability_after=stability_after,
        difficulty_after=difficulty_after,
        due_after=due_after,
        before={},
        uid=event_id(at),
        kind=kind,
    )


@contextmanager
def mounted_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``"64k"``, ``"1m"``) at ``folder``, for disk-full tests (skipped where
    mounting is not permitted)."""
    folder.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
