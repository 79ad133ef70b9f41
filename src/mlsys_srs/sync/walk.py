"""Finding and reading the vault's notes: the walk, decoding, the content hash, ``read_vault``."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..core.fmt import display_path
from ..errors import HOW_TO_START, VaultError
from ..parse import Diagnostic, ParsedNote

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while notes are read."""


@dataclass(frozen=True)
class VaultFile:
    """A note file found in the vault."""

    path: str
    location: str
    """Where the walk found the file (the vault folder joined with ``path``)."""
    size: int
    mtime_ns: int

    @cached_property
    def abspath(self) -> Path:
        """``location`` as a path (built on first use: a warm sync reads no file)."""
        return Path(self.location)


def check_vault(vault: Path) -> None:
    """Raise ``VaultError`` unless ``vault`` is a folder.

    Raises:
        VaultError: the vault does not exist or is not a folder.
    """
    if not vault.exists():
        raise VaultError(f"{display_path(vault)}: vault folder not found; {HOW_TO_START}")
    if not vault.is_dir():
        raise VaultError(f"{display_path(vault)}: the vault must be a folder of Markdown notes")


def walk_vault(
    vault: Path, ignore: Sequence[str] = (), diagnostics: list[Diagnostic] | None = None
) -> list[VaultFile]:
    """Every note of the vault, sorted by path.

    Skips folders whose name starts with ``.``, paths matched by ``ignore``
    globs (matched against the vault-relative path, ``*`` crossing folders)
    and the folders Obsidian keeps templates and attachments in
    (``obsidian_ignores``).
    Symlinked folders are followed, but each real folder is read once: real
    paths first, so a link into the vault adds nothing, and a link back to a
    folder above it (``ln -s . loop``) is a loop, reported and skipped. A
    name that is not valid UTF-8 is reported and skipped (the rest of the
    vault is read), and so is a dangling or looping symlink. Problems are
    appended to ``diagnostics`` when it is given.

    Raises:
        VaultError: the vault does not exist or is not a folder.
    """
    check_vault(vault)
    ignore = (*ignore, *obsidian_ignores(vault))
    diags: list[Diagnostic] = [] if diagnostics is None else diagnostics
    out: list[VaultFile] = []
    try:
        root = os.stat(vault)
        seen = {(root.st_dev, root.st_ino)}
    except OSError:
        seen = set()
    stack: list[tuple[Path, str, tuple[tuple[int, int], ...]]] = [(vault, "", tuple(seen))]
    linked: list[tuple[Path, str, tuple[tuple[int, int], ...], str]] = []
    while stack or linked:
        if stack:
            folder, rel, ancestors = stack.pop()
        else:
            # Symlinked folders last: a folder reached by its real path is never read twice.
            folder, rel, ancestors, link_rel = linked.pop(0)
            try:
                st = os.stat(folder)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                diags.append(
                    Diagnostic(
                        display_path(link_rel),
                        1,
                        "symlink loop: the folder links back to a folder above it; not followed",
                        severity="warning",
                        code="symlink",
                    )
                )
                continue
            if key in seen:
                continue
            seen.add(key)
            ancestors = (*ancestors, key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relpath = f"{rel}{name}"
            if not _valid_name(name):
                diags.append(
                    Diagnostic(
                        display_path(relpath),
                        1,
                        "the file name is not valid UTF-8; skipped (rename it)",
                        code="encoding",
                    )
                )
                continue
            if entry.is_symlink() and not _ignored(relpath, ignore):
                problem = _broken_link(entry.path)
                if problem:
                    diags.append(
                        Diagnostic(display_path(relpath), 1, problem, severity="warning", code="symlink")
                    )
                    continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if _ignored(relpath + "/", ignore):
                        continue
                    if entry.is_symlink():
                        linked.append((Path(entry.path), relpath + "/", ancestors, relpath))
                        continue
                    st = entry.stat()
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                    stack.append((Path(entry.path), relpath + "/", (*ancestors, key)))
                    continue
                if not name.lower().endswith(".md") or _ignored(relpath, ignore):
                    continue
                st = entry.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # a named pipe or a device called x.md is not a note (reading it would block)
            out.append(VaultFile(relpath, entry.path, st.st_size, st.st_mtime_ns))
    out.sort(key=lambda f: f.path)
    return out


def obsidian_ignores(vault: Path) -> tuple[str, ...]:
    """Globs of the vault's Obsidian templates folder (``.obsidian/templates.json`` ``folder``, and the
    Templater plugin's ``templates_folder``) and attachments folder (``.obsidian/app.json``
    ``attachmentFolderPath``): their Markdown files are not notes (a template's ``{{title}}`` is not a
    cloze). A missing or unreadable setting ignores nothing."""
    import json

    def setting(rel: str, key: str) -> str:
        try:
            data = json.loads((vault / ".obsidian" / rel).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return ""
        value = data.get(key) if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) else ""

    globs: list[str] = []
    for folder in (
        setting("templates.json", "folder"),
        setting("plugins/templater-obsidian/data.json", "templates_folder"),
    ):
        folder = folder.strip("/")
        if folder:
            globs.append(fnmatch_escape(folder) + "/*")
    attachments = setting("app.json", "attachmentFolderPath")
    if attachments.startswith("./"):
        # A subfolder of each note's folder ("./" alone: next to the note, nothing to skip).
        sub = attachments[2:].strip("/")
        if sub:
            globs += [fnmatch_escape(sub) + "/*", "*/" + fnmatch_escape(sub) + "/*"]
    elif attachments.strip("/"):
        globs.append(fnmatch_escape(attachments.strip("/")) + "/*")
    return tuple(globs)


def fnmatch_escape(text: str) -> str:
    """``text`` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _valid_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _broken_link(path: str) -> str | None:
    """Why the symlink at ``path`` leads nowhere, or None when it leads to a file or folder."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop: the link leads back to itself; skipped"
        target = os.readlink(path) if os.path.islink(path) else "?"
        return f"dangling symlink (its target {display_path(target)!r} does not exist); skipped"
    return None


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


def read_file(f: VaultFile) -> bytes | Diagnostic:
    """A note's bytes, or the diagnostic saying why it cannot be read (sync and ``check`` alike)."""
    try:
        with open(f.location, "rb") as fh:
            return fh.read()
    except OSError as exc:
        return Diagnostic(f.path, 1, f"cannot read the note ({exc.strerror})", code="io")


def read_vault(
    vault: Path,
    ignore: Sequence[str] = (),
    progress: Progress | None = None,
    *,
    highlight_cloze: bool = False,
) -> tuple[list[ParsedNote], list[Diagnostic]]:
    """Parse every note of the vault without touching the database (for ``check``)."""
    from ..parse import parse_note  # the parser only when a note is read

    notes: list[ParsedNote] = []
    diags: list[Diagnostic] = []
    files = walk_vault(vault, ignore, diags)
    for i, f in enumerate(files):
        data = read_file(f)
        if isinstance(data, Diagnostic):
            diags.append(data)
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


def dangling_links(notes: Sequence[ParsedNote]) -> list[Diagnostic]:
    """A warning for each concept link that names no note of the vault (``check``)."""
    from ..parse.link_resolver import LinkResolver
    from ..parse.text import is_concept

    resolver = LinkResolver.build((n.path, n.aliases) for n in notes)
    out = []
    for note in notes:
        for link in note.links:
            if is_concept(link) and resolver.resolve(link, note.path) is None:
                out.append(
                    Diagnostic(
                        note.path,
                        link.line,
                        f"link to {link.target!r}: no note by that name, path or alias (yet)",
                        severity="warning",
                        code="dangling-link",
                    )
                )
    return out


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
