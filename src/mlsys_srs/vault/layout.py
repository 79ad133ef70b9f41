"""The vault's own folder ``.mlsys-srs/``: its identity, its shared settings, finding it, its database.

- ``vault.toml`` holds the vault id, generated once, so moving or renaming
  the vault folder keeps its database and two vaults never share one.
- ``config.toml`` holds the settings that change a schedule (``[schedule]``)
  and where the journal lives (``[history]``): two devices replay the same
  history to the same state only with the same settings, so they travel with
  the vault. The per-machine config keeps paths and display preferences.
- ``journal/<device>.jsonl``: the review journal (``journal.py``).

The default database is ``<user data>/vaults/<vault id>.db``. A database from
before (the single ``mlsys-srs.db`` every vault shared) is adopted by the
vault whose notes it holds, not orphaned.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FOLDER = ".mlsys-srs"
VAULT_FILE = "vault.toml"
CONFIG_FILE = "config.toml"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{5,63}$")


def meta_dir(vault: Path) -> Path:
    """``<vault>/.mlsys-srs``."""
    return vault / FOLDER


def read_vault_id(vault: Path) -> str | None:
    """The vault's id, or None before its first sync.

    Raises:
        ConfigError: ``vault.toml`` exists but is not valid.
    """
    path = meta_dir(vault) / VAULT_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the vault's id ({exc})") from None
    vid = data.get("id")
    if not isinstance(vid, str) or not _ID_RE.match(vid):
        raise ConfigError(f"{path}: id must be a string of lower-case letters, digits and '-'")
    return vid


def ensure_vault_id(vault: Path) -> str:
    """The vault's id, created (``.mlsys-srs/vault.toml``, never overwritten) on first use.

    Raises:
        ConfigError: the vault's folder cannot be written.
    """
    existing = read_vault_id(vault)
    if existing:
        return existing
    vid = "v-" + os.urandom(8).hex()
    folder = meta_dir(vault)
    text = (
        "# This vault's identity for mlsys-srs: its review database is chosen by this id,\n"
        "# so the vault can move or be renamed. Do not copy it into another vault.\n"
        f'id = "{vid}"\n'
    )
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / VAULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        again = read_vault_id(vault)
        if again:
            return again
        raise ConfigError(f"{folder / VAULT_FILE}: exists but holds no id") from None
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create the vault's id file ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # Journals are meant to travel with the vault; nothing else in here is temporary.
        ignore.write_text("*.tmp\n", encoding="utf-8")
    return vid


def read_vault_config(vault: Path) -> tuple[Path, dict[str, Any]]:
    """``(path, data)`` of ``.mlsys-srs/config.toml`` ({} when absent).

    Raises:
        ConfigError: invalid TOML.
    """
    path = meta_dir(vault) / CONFIG_FILE
    if not path.is_file():
        return path, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


@dataclass(frozen=True)
class Discovered:
    """Which vault was chosen and why."""

    path: Path
    reason: str
    """``option``, ``environment``, ``config``, ``./notes``, or the marker found (``.obsidian/``)."""


def discover(cwd: Path) -> Discovered:
    """Without ``--vault``: ``./notes`` if it exists, else the nearest folder at or above ``cwd``
    holding ``.obsidian/`` or ``.mlsys-srs/``, else ``./notes`` (which then does not exist)."""
    notes = cwd / "notes"
    if notes.is_dir():
        return Discovered(notes, "./notes")
    for folder in (cwd, *cwd.parents):
        for marker in (FOLDER, ".obsidian"):
            if (folder / marker).is_dir():
                return Discovered(folder, f"{marker}/ in {folder}")
    return Discovered(notes, "./notes")


def vault_db_path(data_dir: Path, vault_id: str) -> Path:
    """The default database of a vault."""
    return data_dir / "vaults" / f"{vault_id}.db"


def strict_line_breaks(vault: Path) -> bool:
    """Obsidian's "strict line breaks" setting of the vault (off by default: a single newline breaks).

    With it on, Obsidian joins a paragraph's lines; the terminal and the Anki export do the same.
    """
    import json

    try:
        settings = json.loads((vault / ".obsidian" / "app.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and settings.get("strictLineBreaks") is True
