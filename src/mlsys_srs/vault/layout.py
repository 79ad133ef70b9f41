"""The vault's own folder ``.mlsys-srs/``: its identity, its shared settings, finding it, its database.

- ``vault.toml`` holds the vault id, generated once, so moving or renaming
  the vault folder keeps its database and two vaults never share one. Two ids
  written independently (two clones synced before either pulled) resolve alike on
  every device: the smallest wins, the others are aliases, and git merges the file
  by union (``.gitattributes``) instead of stopping on a conflict.
- ``config.toml`` holds the settings that change a schedule (``[schedule]``)
  and where the journal lives (``[history]``): two devices replay the same
  history to the same state only with the same settings, so they travel with
  the vault. The per-machine config keeps paths and display preferences.
- ``journal/<device>.jsonl``: the review journal (``history/journal.py``).

The default database is ``<user data>/vaults/<vault id>.db``. A database from
before (the single ``mlsys-srs.db`` every vault shared) is adopted by the
vault whose notes it holds, not orphaned.
"""

from __future__ import annotations

import contextlib
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


_ID_LINE_RE = re.compile(r'^\s*id\s*=\s*"([^"\n]*)"\s*(?:#.*)?$', re.MULTILINE)
GITATTRIBUTES = "vault.toml merge=union\n"
"""Two clones that each made an id merge by union in git: both lines stay, no conflict."""


def _id_files(vault: Path) -> list[Path]:
    """``vault.toml`` and the conflict copies file-sync tools leave beside it
    (``vault.sync-conflict-....toml``, ``vault (conflicted copy).toml``)."""
    folder = meta_dir(vault)
    if not folder.is_dir():
        return []
    main = folder / VAULT_FILE
    copies = sorted(p for p in folder.glob("vault*.toml") if p != main and p.is_file())
    return [main, *copies] if main.is_file() else copies


def read_vault_ids(vault: Path) -> list[str]:
    """Every id the vault has been given, smallest first (one, unless two devices made one each).

    Two clones of a vault synced before either pulled the other's ``.mlsys-srs/vault.toml``
    each write an id. The file is merged by union (``.gitattributes``), and copies left by
    Syncthing or a file copy are read too, so every device sees the same ids and takes the
    same one: the smallest. The others are aliases (a database kept under one is adopted).

    Raises:
        ConfigError: ``vault.toml`` exists but holds no valid id.
    """
    ids: set[str] = set()
    for path in _id_files(vault):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            if path.name == VAULT_FILE:
                raise ConfigError(f"{path}: cannot read the vault's id ({exc})") from None
            continue
        found = [v for v in _ID_LINE_RE.findall(text) if _ID_RE.match(v)]
        if not found and path.name == VAULT_FILE:
            raise ConfigError(f"{path}: id must be a string of lower-case letters, digits and '-'")
        ids.update(found)
    return sorted(ids)


def read_vault_id(vault: Path) -> str | None:
    """The vault's id (the smallest of its ids), or None before its first sync.

    Raises:
        ConfigError: ``vault.toml`` exists but is not valid.
    """
    ids = read_vault_ids(vault)
    return ids[0] if ids else None


def inside_vault(vault: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, is in the vault (or is the vault)."""
    root = vault.resolve()
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def checked_meta_dir(vault: Path) -> Path:
    """``.mlsys-srs/``, refused when it (a symlink) leads out of the vault.

    Raises:
        ConfigError: the folder resolves outside the vault.
    """
    folder = meta_dir(vault)
    if folder.is_symlink() and not inside_vault(vault, folder):
        raise ConfigError(f"{folder}: leads outside the vault (a symlink); nothing is written there")
    return folder


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (never over a file) holding ``text``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def ensure_vault_id(vault: Path) -> str:
    """The vault's id, created (``.mlsys-srs/vault.toml``, never overwritten) on first use.

    Raises:
        ConfigError: the vault's folder cannot be written.
    """
    existing = read_vault_id(vault)
    if existing:
        ensure_union_merge(vault)
        return existing
    vid = "v-" + os.urandom(8).hex()
    folder = checked_meta_dir(vault)
    text = (
        "# This vault's identity for mlsys-srs: its review database is chosen by this id,\n"
        "# so the vault can move or be renamed. Do not copy it into another vault.\n"
        f'id = "{vid}"\n'
    )
    # Written whole to a file of this process's own, then linked into place: a sync started at the
    # same moment never reads the file half-written, and the first link wins. Where the file
    # system has no hard links, the file is created in place.
    tmp = folder / f".{VAULT_FILE}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        _write_new(tmp, text)
        try:
            os.link(tmp, folder / VAULT_FILE)
        except FileExistsError:
            raise
        except OSError:
            _write_new(folder / VAULT_FILE, text)
    except FileExistsError:
        again = read_vault_id(vault)
        if again:
            return again
        raise ConfigError(f"{folder / VAULT_FILE}: exists but holds no id") from None
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create the vault's id file ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # Journals are meant to travel with the vault; nothing else in here is temporary.
        ignore.write_text("*.tmp\n", encoding="utf-8")
    ensure_union_merge(vault)
    return vid


def ensure_union_merge(vault: Path) -> None:
    """Write ``.mlsys-srs/.gitattributes`` (``vault.toml merge=union``) if it is missing."""
    folder = meta_dir(vault)
    path = folder / ".gitattributes"
    if path.exists() or path.is_symlink() or not folder.is_dir() or not inside_vault(vault, folder):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError:
        return  # read-only vault, or another process made it: the ids still resolve alike
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(GITATTRIBUTES)


def read_vault_config(vault: Path) -> tuple[Path, dict[str, Any]]:
    """``(path, data)`` of ``.mlsys-srs/config.toml`` ({} when absent).

    Raises:
        ConfigError: invalid TOML.
    """
    path = meta_dir(vault) / CONFIG_FILE
    if not path.exists():
        return path, {}
    if not path.is_file():
        raise ConfigError(
            f"{path}: not a regular file (a folder or a pipe?); the vault's settings go in a TOML file"
        )
    if not inside_vault(vault, path):
        raise ConfigError(
            f"{path}: leads outside the vault (a symlink); a vault's settings live in the vault"
        )
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None


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
