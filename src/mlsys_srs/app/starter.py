"""A new vault: the starter knowledge base (``init``), an empty vault with one example note
(``init --empty``), and merging a later starter base into a vault made by ``init`` (``init --update``).

The starter notes ship inside the package (``mlsys_srs/starter/``: the repository's ``notes/``
and ``decks/``); from a source checkout they are read from the repository itself. ``init``
records what it wrote in ``.mlsys-srs/starter.json`` (each file's content hash), so an update
knows which files the person changed: a file still as ``init`` wrote it takes the new version,
an edited one is left alone, a deleted one stays deleted, a new one is added.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import SrsError, VaultError

MANIFEST = "starter.json"
"""In ``.mlsys-srs/``: the starter files ``init`` wrote, with their hashes."""

VAULT_CONFIG = """\
# This vault's shared settings (they travel with the vault to your other devices).
# Every setting is listed in docs/cli.md; a device's own settings are in its config file.

[check]
quality = true   # `check` also teaches good cards (long answers, giveaways, ...)
"""

Action = Literal["add", "update", "keep-edited", "keep-deleted", "same"]


@dataclass(frozen=True)
class StarterFile:
    """One file of the starter base: where it goes in the vault and its bytes."""

    path: str
    data: bytes

    @property
    def digest(self) -> str:
        """Its content hash."""
        return hashlib.blake2b(self.data, digest_size=16).hexdigest()


@dataclass
class InitReport:
    """What ``init`` did (or, for ``--update --dry-run``, would do) to each file."""

    vault: Path
    created: bool
    files: dict[Action, list[str]] = field(default_factory=dict)

    def count(self, action: Action) -> int:
        """How many files took ``action``."""
        return len(self.files.get(action, []))

    def as_dict(self) -> dict[str, object]:
        """The report as plain data, for ``--json``."""
        return {"vault": str(self.vault), "created": self.created, "files": self.files}


def starter_root() -> Path:
    """The folder holding the starter ``notes/`` and ``decks/``: the package's, else the repository's.

    Raises:
        SrsError: neither is there (a broken installation).
    """
    from importlib import resources

    packaged = Path(str(resources.files("mlsys_srs"))) / "starter"
    if (packaged / "notes").is_dir():
        return packaged
    source = Path(__file__).resolve().parents[3]  # src/mlsys_srs/app/starter.py -> the checkout
    if (source / "notes").is_dir() and (source / "pyproject.toml").is_file():
        return source
    raise SrsError("the starter notes are missing from this installation; reinstall mlsys-srs")


def starter_files(root: Path | None = None) -> list[StarterFile]:
    """Every file of the starter base, as it goes into a vault: the notes, and the deck recipes in ``decks/``."""
    root = root or starter_root()
    out: list[StarterFile] = []
    notes = root / "notes"
    for p in sorted(notes.rglob("*")):
        rel = p.relative_to(notes)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(StarterFile(rel.as_posix(), p.read_bytes()))
    for p in sorted((root / "decks").glob("*.toml")):
        out.append(StarterFile(f"decks/{p.name}", p.read_bytes()))
    return out


def example_files() -> list[StarterFile]:
    """The one example note of ``init --empty``, showing each card syntax."""
    from importlib import resources

    text = (resources.files("mlsys_srs.app") / "example-note.md").read_bytes()
    return [StarterFile("example.md", text)]


def has_notes(folder: Path) -> bool:
    """Whether ``folder`` holds a Markdown note (outside dot-folders)."""
    if not folder.is_dir():
        return False
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = list(d.iterdir())
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_file() and e.suffix.lower() == ".md":
                return True
            if e.is_dir() and not e.is_symlink():
                stack.append(e)
    return False


def init_vault(folder: Path, *, empty: bool = False) -> InitReport:
    """Make ``folder`` a vault: the starter knowledge base, or (``empty``) one example note.

    Raises:
        VaultError: ``folder`` already holds notes (nothing is written), or is a file.
    """
    from ..vault.layout import ensure_vault_id, meta_dir
    from ..vault.writes import create_file

    if folder.exists() and not folder.is_dir():
        raise VaultError(f"{folder}: exists and is not a folder")
    if has_notes(folder):
        raise VaultError(
            f"{folder}: already holds notes; init never writes into a folder with notes "
            "(`mlsys-srs --vault FOLDER sync` reads them as they are; `init --update` refreshes a vault made by init)"
        )
    files = example_files() if empty else starter_files()
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        create_file(folder / f.path, f.data)
    ensure_vault_id(folder)
    config = meta_dir(folder) / "config.toml"
    if not config.exists():
        create_file(config, VAULT_CONFIG.encode())
    if not empty:
        _write_manifest(folder, {f.path: f.digest for f in files})
    return InitReport(folder, True, {"add": [f.path for f in files]})


def plan_update(folder: Path) -> tuple[InitReport, list[StarterFile]]:
    """What ``init --update`` would do to the vault ``folder`` made by ``init``, and the new files.

    Raises:
        VaultError: ``folder`` was not made by ``init`` (no manifest).
    """
    manifest = _read_manifest(folder)
    report = InitReport(folder, False)
    changes: list[StarterFile] = []
    for f in starter_files():
        target = folder / f.path
        known = manifest.get(f.path)
        if not target.exists():
            action: Action = "keep-deleted" if known is not None else "add"
        else:
            now = hashlib.blake2b(target.read_bytes(), digest_size=16).hexdigest()
            if now == f.digest:
                action = "same"
            elif known is not None and now == known:
                action = "update"
            else:
                action = "keep-edited"
        report.files.setdefault(action, []).append(f.path)
        if action in ("add", "update"):
            changes.append(f)
    return report, changes


def apply_update(folder: Path, changes: list[StarterFile]) -> None:
    """Write the planned new and updated starter files (each atomically) and record them."""
    from ..vault.writes import create_file, rewrite_note

    manifest = _read_manifest(folder)
    for f in changes:
        target = folder / f.path
        if target.exists():
            rewrite_note(target, target.read_bytes(), f.data)
        else:
            create_file(target, f.data)
        manifest[f.path] = f.digest
    _write_manifest(folder, manifest)


def _read_manifest(folder: Path) -> dict[str, str]:
    from ..vault.layout import meta_dir

    path = meta_dir(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaultError(
            f"{folder}: not a vault made by `mlsys-srs init` (no .mlsys-srs/{MANIFEST}); nothing to update"
        ) from None
    except (OSError, ValueError) as exc:
        raise VaultError(f"{path}: cannot be read ({exc})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise VaultError(f"{path}: not a starter manifest")
    return dict(files)


def _write_manifest(folder: Path, files: dict[str, str]) -> None:
    from .. import __version__
    from ..vault.layout import meta_dir
    from ..vault.writes import create_file, rewrite_note

    text = json.dumps({"version": __version__, "files": dict(sorted(files.items()))}, indent=1) + "\n"
    path = meta_dir(folder) / MANIFEST
    if path.exists():
        rewrite_note(path, path.read_bytes(), text.encode())
    else:
        create_file(path, text.encode())
