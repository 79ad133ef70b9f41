"""Finding and reading the vault's notes: the walk, decoding, the content hash, ``read_vault``."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import VaultError
from ..parse import Diagnostic, ParsedNote, parse_note

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while notes are read."""


@dataclass(frozen=True)
class VaultFile:
    """A note file found in the vault."""

    path: str
    abspath: Path
    size: int
    mtime_ns: int


def walk_vault(vault: Path, ignore: Sequence[str] = ()) -> list[VaultFile]:
    """Every note of the vault, sorted by path.

    Skips folders whose name starts with ``.`` and paths matched by ``ignore``
    globs (matched against the vault-relative path, ``*`` crossing folders).

    Raises:
        VaultError: the vault does not exist or is not a folder.
    """
    if not vault.exists():
        raise VaultError(f"{vault}: vault folder not found (use --vault or set MLSYS_SRS_VAULT)")
    if not vault.is_dir():
        raise VaultError(f"{vault}: the vault must be a folder of Markdown notes")
    out: list[VaultFile] = []
    stack = [(vault, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relpath = f"{rel}{name}"
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _ignored(relpath + "/", ignore):
                        stack.append((Path(entry.path), relpath + "/"))
                    continue
                if not name.lower().endswith(".md") or _ignored(relpath, ignore):
                    continue
                st = entry.stat()
            except OSError:
                continue
            out.append(VaultFile(relpath, Path(entry.path), st.st_size, st.st_mtime_ns))
    out.sort(key=lambda f: f.path)
    return out


def _ignored(relpath: str, ignore: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(relpath, g) or fnmatch.fnmatchcase(relpath.rstrip("/"), g) for g in ignore)


def content_hash(data: bytes) -> str:
    """The content hash stored per note."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decode_note(data: bytes, path: str) -> str | Diagnostic:
    """Decode a note as UTF-8 (BOM accepted); a diagnostic if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Diagnostic(
            path, line, f"not valid UTF-8 (byte {exc.start}); the note was skipped", code="encoding"
        )


def read_vault(
    vault: Path,
    ignore: Sequence[str] = (),
    progress: Progress | None = None,
    *,
    highlight_cloze: bool = False,
) -> tuple[list[ParsedNote], list[Diagnostic]]:
    """Parse every note of the vault without touching the database (for ``check``)."""
    notes: list[ParsedNote] = []
    diags: list[Diagnostic] = []
    files = walk_vault(vault, ignore)
    for i, f in enumerate(files):
        try:
            data = f.abspath.read_bytes()
        except OSError as exc:
            diags.append(Diagnostic(f.path, 1, f"cannot read the note ({exc.strerror})", code="io"))
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            diags.append(text)
            continue
        note = parse_note(text, f.path, highlight_cloze=highlight_cloze)
        notes.append(note)
        diags.extend(note.diagnostics)
        if progress is not None:
            progress(i + 1, len(files))
    diags.extend(duplicate_block_ids(notes))
    return notes, diags


def duplicate_block_ids(notes: Iterable[ParsedNote]) -> list[Diagnostic]:
    """A diagnostic for each block id that a later note uses again (path order)."""
    first: dict[str, str] = {}
    out = []
    for note in notes:
        seen_here: set[str] = set()
        for card in note.cards:
            bid = card.block_id
            if bid is None or bid in seen_here:
                continue
            seen_here.add(bid)
            if bid in first and first[bid] != note.path:
                out.append(
                    Diagnostic(
                        note.path,
                        card.line,
                        f"block id ^{bid} is already used in {first[bid]}; this copy is treated as a new card",
                        code="duplicate-id",
                    )
                )
            else:
                first.setdefault(bid, note.path)
    return out
