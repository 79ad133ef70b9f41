"""Images referenced by cards: resolved as Obsidian resolves them, confined to the vault.

A reference is looked up relative to the note's folder, then the vault root,
then by file name anywhere in the vault (shortest path wins, as in Obsidian).
Anything that resolves outside the vault (``../`` paths, absolute paths,
symlinks leading out) is refused: an exported deck must never carry a file the
vault does not contain. Refusals and missing files become diagnostics
(``path:line: message``); they never stop an export.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from ..parse.model import Diagnostic
from ..parse.text import split_lines

# Characters Anki will not keep in a media file name.
_UNSAFE_NAME_RE = re.compile(r'[\\/:*?"<>|\[\]^#%{}\x00-\x1f]')
_WINDOWS_ABS_RE = re.compile(r"^[A-Za-z]:[\\/]")


class MediaShare(NamedTuple):
    """What one share of an export added to its ``MediaBundle`` (see ``MediaBundle.share``)."""

    claims: list[tuple[str, Path, str]]
    diagnostics: dict[tuple[str, int, str], Diagnostic]


class MediaBundle:
    """The media files of one export, under unique flat names (Anki has one media folder)."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault.resolve()
        self.files: dict[str, Path] = {}
        """Anki file name -> file on disk."""
        self._names: dict[Path, str] = {}
        self._index: dict[str, list[str]] | None = None
        self._diagnostics: dict[tuple[str, int, str], Diagnostic] = {}
        self._claims: list[tuple[str, Path, str]] = []
        """``(file name, file, Anki name)`` in the order files were named."""

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Refused and missing references, once each, in the order met."""
        return list(self._diagnostics.values())

    def _locate(self, note: str, line: int, ref: str) -> int:
        """The line at or after the card's first line that holds ``ref`` (the card's line if none)."""
        try:
            lines = split_lines((self.vault / note).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return line
        for i in range(max(line, 1) - 1, min(len(lines), max(line, 1) + 200)):
            if ref in lines[i]:
                return i + 1
        return line

    def _diag(self, note: str, line: int, message: str, ref: str = "") -> None:
        # Diagnostics are rare: reading the note again to point at the exact line is cheap.
        line = self._locate(note, line, ref) if ref else line
        key = (note, line, message)
        if key not in self._diagnostics:
            self._diagnostics[key] = Diagnostic(note, line, message, severity="warning", code="media")

    def _inside(self, path: Path) -> bool:
        return path == self.vault or self.vault in path.parents

    def _lexically_inside(self, path: Path) -> bool:
        return self._inside(Path(os.path.normpath(path)))

    def _by_name(self, ref: str) -> Path | None:
        """The vault file named like ``ref`` (matching its trailing path), shortest path first."""
        if self._index is None:
            index: dict[str, list[str]] = {}
            for folder, dirs, files in os.walk(self.vault):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                rel = Path(folder).relative_to(self.vault).as_posix()
                for name in files:
                    index.setdefault(name.casefold(), []).append(name if rel == "." else f"{rel}/{name}")
            self._index = index
        ref_path = PurePosixPath(ref)
        found = [
            p
            for p in self._index.get(ref_path.name.casefold(), [])
            if len(ref_path.parts) == 1 or p.casefold().endswith("/" + ref.casefold())
        ]
        if not found:
            return None
        return self.vault / min(found, key=lambda p: (len(p), p))

    def add(self, ref: str, note: str, line: int) -> str | None:
        """Bundle the file ``ref`` names from ``note``; its Anki file name, or None (with a diagnostic).

        Args:
            ref: The reference as written (``x.png``, ``img/x.png``), URL-decoded.
            note: The referring note's vault-relative path.
            line: The card's line in that note.
        """
        found = self.locate(ref, note, line)
        return None if found is None else self._bundle(found, ref.strip(), note, line)

    def locate(self, ref: str, note: str, line: int = 0) -> Path | None:
        """The vault file ``ref`` names from ``note`` (as Obsidian finds it), or None (with a
        diagnostic) when it is missing or outside the vault. The review screen opens it with ``o``."""
        ref = ref.strip()
        if not ref:
            self._diag(note, line, "empty image reference")
            return None
        if ref.startswith(("/", "\\", "~")) or _WINDOWS_ABS_RE.match(ref):
            self._diag(
                note,
                line,
                f"image {ref!r} is an absolute path; only files inside the vault are exported",
                ref,
            )
            return None
        candidates = [(self.vault / note).parent / ref, self.vault / ref]
        inside = [c for c in candidates if self._lexically_inside(c)]
        if not inside:
            self._diag(note, line, f"image {ref!r} is outside the vault; not exported", ref)
            return None
        for candidate in inside:
            if candidate.is_file():
                return candidate
        found = self._by_name(ref) if ".." not in PurePosixPath(ref).parts else None
        if found is None:
            self._diag(note, line, f"image {ref!r} not found in the vault", ref)
            return None
        return found

    def _bundle(self, path: Path, ref: str, note: str, line: int) -> str | None:
        real = path.resolve()
        if not self._inside(real):
            self._diag(note, line, f"image {ref!r} leads outside the vault (symlink); not exported", ref)
            return None
        if real in self._names:
            return self._names[real]
        try:
            regular = stat.S_ISREG(os.stat(real).st_mode)
        except OSError:
            regular = False
        if not regular:
            # A named pipe or a device would block the export (or never end): only files are media.
            self._diag(note, line, f"image {ref!r} is not a regular file; not exported", ref)
            return None
        return self._claim(path.name, real)

    def _claim(self, file_name: str, real: Path) -> str:
        """Give the file ``real`` (named ``file_name`` where it was found) its Anki name."""
        name = unicodedata.normalize("NFC", _UNSAFE_NAME_RE.sub("_", file_name))
        if name in self.files:
            # Two files with one name (a/x.png, b/x.png): the later one gets a suffix
            # from its vault path, so the name stays the same from export to export.
            digest = hashlib.blake2b(
                real.relative_to(self.vault).as_posix().encode(), digest_size=4
            ).hexdigest()
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}-{digest}.{ext}" if dot else f"{name}-{digest}"
        self.files[name] = real
        self._names[real] = name
        self._claims.append((file_name, real, name))
        return name

    # --- a share of an export built in another process (anki.export's parallel build) ----------

    def start_share(self) -> None:
        """Forget every file and diagnostic: what follows is one share's, for ``share`` to send."""
        self.files, self._names, self._claims, self._diagnostics = {}, {}, [], {}

    def share(self) -> MediaShare:
        """The files named and the diagnostics made since ``start_share``, in order."""
        return MediaShare(list(self._claims), dict(self._diagnostics))

    def merge(self, share: MediaShare) -> bool:
        """Take in a share built from an empty bundle, as if its files had been added here.

        Returns False, changing nothing, when a file would be named otherwise here (its name
        is taken by another file, or the file already has another name): the share's HTML
        names it wrongly, so its cards must be built again here.
        """
        files, names, claims = dict(self.files), dict(self._names), list(self._claims)
        for file_name, real, name in share.claims:
            have = self._names.get(real)
            if (have if have is not None else self._claim(file_name, real)) != name:
                self.files, self._names, self._claims = files, names, claims
                return False
        for key, diagnostic in share.diagnostics.items():
            self._diagnostics.setdefault(key, diagnostic)
        return True
