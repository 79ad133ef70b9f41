"""Reading an Anki package's bytes within bounds: nothing a package says about itself is trusted.

A package is a zip; the newest also compress the collection, the media index and
each media file with zstd. Every byte taken out of one is streamed (never a
whole member in memory) and counted against two limits (``ImportLimits``):

- **Total size**: everything decompressed from one package (the collection, the
  media index, the media files an import copies) stays under ``max_size``,
  16 GiB by default. AnkiWeb refuses a collection over 300 MiB uncompressed
  and a media file over 100 MiB (rslib ``sync/request``, ``sync/media``), so a
  real collection is that plus its media; 16 GiB admits several GB of media.
- **Compression ratio**: no member expands more than ``max_ratio`` times its
  compressed size (100 by default, Apache POI's ``ZipSecureFile`` minimum
  inflate ratio of 0.01), once past a grace of 4 MiB. Media are already
  compressed (a picture or a sound: about 1:1). The collection database may
  expand ``COLLECTION_RATIO_FACTOR`` times more (1000:1): a collection whose
  notes repeat inline HTML styling was measured at 87:1 (zstd) and 48:1
  (deflate), an ordinary one at 5:1.

A zip bomb is refused from the sizes the zip declares before anything is read
(Python's zip reader never gives more than a member's declared size); a zstd
bomb is refused as soon as its output passes the ratio, so a 66 KB package
holding 2 GB of zeros stops after about 66 MB, in memory chunks of 1 MiB. A
zstd frame may not ask for a window over 128 MiB (zstd's own default limit).
A zip's entries are counted from its end record before the central directory
is read, and the media index (read into memory) is bounded too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..core.fmt import display_path, inert
from ..errors import SrsError, UsageError
from .protobuf import proto_fields

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
DEFAULT_MAX_SIZE = 16 * GiB
DEFAULT_MAX_RATIO = 100
COLLECTION_RATIO_FACTOR = 10
"""The collection database may expand this many times more than ``max_ratio`` allows a media file."""
GRACE = 4 * MiB
"""A member expanding to less than this is never refused for its ratio."""
MAX_ENTRIES = 1_000_000
"""Zip entries, and media files in the index."""
MAX_INDEX = 64 * MiB
MAX_META = 64 * KiB
ZSTD_MAX_WINDOW = 1 << 27
CHUNK = 1 << 20
ZSTD_HINT = "pip install 'mlsys-srs[anki]'"
SQLITE_MAGIC = b"SQLite format 3\x00"
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Control characters: dropped from media names, as ``anki.schema_checks`` drops them from fields."""
COLLECTION_MEMBERS = ("collection.anki21b", "collection.anki21", "collection.anki2")
"""Where a package keeps its collection, newest first (``anki21b`` is zstd-compressed)."""


class AnkiImportError(SrsError):
    """The file is not an Anki collection this version can read, or one it refuses; nothing was imported."""


class PackageTooLarge(AnkiImportError):
    """The package expands beyond a limit of ``ImportLimits``."""


@dataclass(frozen=True)
class ImportLimits:
    """How much one package may expand to (``import anki --max-size``, ``--max-ratio``)."""

    max_size: int = DEFAULT_MAX_SIZE
    max_ratio: int = DEFAULT_MAX_RATIO

    @property
    def collection_ratio(self) -> int:
        """The ratio the collection database may expand by."""
        return self.max_ratio * COLLECTION_RATIO_FACTOR


_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A size given as ``16G``, ``500M``, ``2.5GiB`` or a number of bytes (K, M, G, T are powers of 1024).

    Raises:
        UsageError: not a size.
    """
    m = _SIZE_RE.fullmatch(text)
    if not m:
        raise UsageError(f"{inert(text)!r} is not a size (examples: 16G, 500M, 2.5GiB)")
    unit = m.group(2).lower()
    value = float(m.group(1)) * (1024 ** ("kmgt".find(unit) + 1) if unit else 1)
    if value < 1 or value > 2**62:
        raise UsageError(f"{inert(text)!r}: a size must be between 1 byte and 4 EiB")
    return int(value)


def format_size(n: int) -> str:
    """``16 GiB``, ``63 MiB``, ``1.5 KiB``, ``512 bytes`` (one decimal below 10)."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 and value != int(value) else f"{value:.0f} {unit}"
    return f"{n} bytes"


def shown(text: str, limit: int = 60) -> str:
    """A name from a package, safe and short in a one-line message."""
    text = inert(text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Budget:
    """What one package has given so far, against its limits."""

    def __init__(self, limits: ImportLimits, source: Path) -> None:
        self.limits = limits
        self.source = source
        self.used = 0

    def refuse(self, reason: str, flag: str) -> PackageTooLarge:
        """The one-line refusal of a package over a limit."""
        return PackageTooLarge(
            f"{display_path(self.source)}: {reason}; nothing was imported (raise the limit with {flag})"
        )

    def take(self, n: int) -> None:
        """Count ``n`` more bytes decompressed.

        Raises:
            PackageTooLarge: the package now holds more than ``max_size``.
        """
        self.used += n
        if self.used > self.limits.max_size:
            raise self.refuse(
                f"expands to more than {format_size(self.limits.max_size)}, the limit", "--max-size"
            )

    def check_ratio(self, what: str, out: int, compressed: int, ratio: int) -> None:
        """Refuse ``what`` once its ``out`` bytes pass ``ratio`` times its ``compressed`` size (after the grace).

        Raises:
            PackageTooLarge: it does.
        """
        if out > GRACE and out > ratio * max(compressed, 1):
            raise self.refuse(
                f"{shown(what)} expands more than {ratio}:1 (over {format_size(out)} from "
                f"{format_size(compressed)}), the limit",
                "--max-ratio",
            )


# -- streaming members -------------------------------------------------------------------------


def _zstd_reader(raw: IO[bytes]) -> Any:
    try:
        import zstandard
    except ImportError:
        raise AnkiImportError(
            f"this Anki package is zstd-compressed (Anki 2.1.50+); install the Anki extra: {ZSTD_HINT}"
        ) from None
    return zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(raw, read_size=CHUNK)


def _read_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,  # an encrypted member
        ValueError,
    )
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def stream_member(
    z: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: Budget,
    sink: Callable[[bytes], object],
    *,
    zstd: bool,
    ratio: int,
    what: str | None = None,
) -> int:
    """Decompress one member into ``sink`` a chunk at a time, within the limits; its size.

    ``what`` names it in a message (default: its name in the zip).

    Raises:
        PackageTooLarge: over a limit (refused from the declared sizes when a zip says so).
        AnkiImportError: the member cannot be read.
    """
    what = what or info.filename
    if not zstd:
        budget.check_ratio(what, info.file_size, info.compress_size, ratio)
        if budget.used + info.file_size > budget.limits.max_size:
            budget.take(info.file_size)
    out = 0
    try:
        with z.open(info) as raw:
            src = _zstd_reader(raw) if zstd else raw
            while chunk := src.read(CHUNK):
                out += len(chunk)
                budget.check_ratio(what, out, info.compress_size, ratio)
                budget.take(len(chunk))
                sink(chunk)
    except AnkiImportError:
        raise
    except _read_errors() as exc:
        raise AnkiImportError(
            f"{display_path(budget.source)}: cannot read {shown(what)} ({shown(str(exc), 100)}); "
            "nothing was imported"
        ) from None
    return out


def read_member(
    z: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, *, zstd: bool, cap: int, ratio: int
) -> bytes:
    """A small member (meta, media index) in memory, refused past ``cap`` bytes.

    Raises:
        AnkiImportError: unreadable, or larger than ``cap``.
    """
    buf = bytearray()

    def add(chunk: bytes) -> None:
        buf.extend(chunk)
        if len(buf) > cap:
            raise AnkiImportError(
                f"{display_path(budget.source)}: {shown(info.filename)} is larger than {format_size(cap)}; "
                "not an Anki package this version reads"
            )

    stream_member(z, info, budget, add, zstd=zstd, ratio=ratio)
    return bytes(buf)


def _entry_count(fh: IO[bytes]) -> int | None:
    """The number of entries a zip's end record declares (None: no end record found)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 0xFFFF + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    fh.seek(0)
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or i + 22 > len(tail):
        return None
    (total,) = struct.unpack("<H", tail[i + 10 : i + 12])
    if total == 0xFFFF and i >= 20 and tail[i - 20 : i - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[i - 12 : i - 4])
        if offset < size:
            fh.seek(offset)
            record = fh.read(56)
            fh.seek(0)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                (total,) = struct.unpack("<Q", record[32:40])
    return int(total)


# -- the media a collection holds --------------------------------------------------------------


@dataclass
class MediaSource:
    """Where the collection's media files are: a package's zip entries, or a profile's media folder.

    Files are read only through ``copy``, within the package's limits; a profile's
    media are read only from regular files of its media folder (never through a
    symbolic link). ``close`` lets the package go.
    """

    package: Path | None = None
    entries: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """name -> (zip entry, zstd-compressed)"""
    folder: Path | None = None
    files: set[str] = field(default_factory=set)
    """The regular files of a profile's media folder."""
    links: list[str] = field(default_factory=list)
    """Files of a profile's media folder that are symbolic links (never read)."""
    budget: Budget | None = None
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)

    def names(self) -> set[str]:
        """The media file names the collection holds."""
        return set(self.files) if self.folder is not None else set(self.entries)

    def copy(self, name: str, dest: Path) -> tuple[int, str] | None:
        """Write the media file ``name`` to the new file ``dest``; its size and blake2b digest.

        None if the collection does not hold it.

        Raises:
            PackageTooLarge: the package expands beyond its limits.
            AnkiImportError: the file cannot be read.
        """
        budget = self.budget or Budget(ImportLimits(), self.package or self.folder or Path("."))
        if self.folder is not None:
            if name not in self.files:
                return None
        elif name not in self.entries or self.package is None:
            return None
        digest = hashlib.blake2b(digest_size=16)
        with open(dest, "xb") as out:

            def sink(chunk: bytes) -> None:
                out.write(chunk)
                digest.update(chunk)

            if self.folder is not None:
                size = self._copy_file(name, sink, budget)
            else:
                entry, compressed = self.entries[name]
                z = self._open()
                size = stream_member(
                    z,
                    z.getinfo(entry),
                    budget,
                    sink,
                    zstd=compressed,
                    ratio=budget.limits.max_ratio,
                    what=f"media file {shown(name, 40)} (entry {shown(entry, 20)})",
                )
        return size, digest.hexdigest()

    def _copy_file(self, name: str, sink: Callable[[bytes], object], budget: Budget) -> int:
        assert self.folder is not None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.folder / name, flags)
        except OSError as exc:
            raise AnkiImportError(
                f"{display_path(self.folder / name)}: cannot read the media file ({exc.strerror}); "
                "nothing was imported"
            ) from None
        size = 0
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AnkiImportError(
                    f"{display_path(self.folder / name)}: not a regular file; nothing was imported"
                )
            while chunk := fh.read(CHUNK):
                size += len(chunk)
                budget.take(len(chunk))
                sink(chunk)
        return size

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            assert self.package is not None
            try:
                self._zip = zipfile.ZipFile(self.package)
            except (OSError, zipfile.BadZipFile) as exc:
                raise AnkiImportError(
                    f"{display_path(self.package)}: cannot read the package ({exc}); nothing was imported"
                ) from None
        return self._zip

    def close(self) -> None:
        """Close the package (it is opened again when needed)."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def _media_index(
    z: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], version: int, budget: Budget
) -> dict[str, tuple[str, bool]]:
    """name -> (zip entry, zstd-compressed) of a package's media index.

    Raises:
        AnkiImportError: the index is malformed or names an entry the package lacks.
    """
    info = infos.get("media")
    if info is None:
        return {}
    src = display_path(budget.source)
    raw = read_member(z, info, budget, zstd=version >= 3, cap=MAX_INDEX, ratio=budget.limits.max_ratio)
    entries: dict[str, tuple[str, bool]] = {}
    if version >= 3:
        try:
            index = -1
            for num, entry in proto_fields(raw):
                if num != 1 or not isinstance(entry, bytes):
                    continue
                index += 1
                name, zip_name = "", None
                for n2, v2 in proto_fields(entry):
                    if n2 == 1 and isinstance(v2, bytes):
                        name = _CONTROL_RE.sub("", v2.decode("utf-8", "replace"))
                    elif n2 == 255 and isinstance(v2, int):
                        zip_name = str(v2)
                if name:
                    entries[name] = (zip_name or str(index), True)
        except ValueError as exc:
            raise AnkiImportError(
                f"{src}: the media index is malformed ({exc}); nothing was imported"
            ) from None
    else:
        try:
            index_map = json.loads(raw.decode("utf-8") or "{}")
        except (ValueError, RecursionError):
            raise AnkiImportError(f"{src}: the media index is not valid JSON; nothing was imported") from None
        if not isinstance(index_map, dict):
            raise AnkiImportError(
                f"{src}: the media index is not a mapping of entries to names; nothing was imported"
            )
        for entry_name, name in index_map.items():
            if not isinstance(name, str) or not name:
                raise AnkiImportError(
                    f"{src}: media entry {shown(entry_name)} has no file name; nothing was imported"
                )
            entries[_CONTROL_RE.sub("", name)] = (entry_name, False)
    if len(entries) > MAX_ENTRIES:
        raise AnkiImportError(f"{src}: more than {MAX_ENTRIES:,} media files; nothing was imported")
    for name, (entry_name, _) in entries.items():
        if entry_name not in infos:
            raise AnkiImportError(
                f"{src}: media file {shown(name)} (entry {shown(entry_name)}) is missing from the package; "
                "nothing was imported"
            )
    return entries


def unpack_package(path: Path, db_file: Path, budget: Budget) -> MediaSource:
    """Write a package's collection database to ``db_file`` and read its media index.

    Raises:
        PackageTooLarge: the package expands beyond its limits.
        AnkiImportError: not a package this version reads.
    """
    src = display_path(path)
    try:
        with open(path, "rb") as fh:
            count = _entry_count(fh)
            if count is not None and count > MAX_ENTRIES + 8:
                raise AnkiImportError(f"{src}: the package holds {count:,} files, more than {MAX_ENTRIES:,}")
            with zipfile.ZipFile(fh) as z:
                infos = {i.filename: i for i in z.infolist()}
                version = 1
                if "meta" in infos:
                    meta = read_member(
                        z, infos["meta"], budget, zstd=False, cap=MAX_META, ratio=budget.limits.max_ratio
                    )
                    try:
                        for num, v in proto_fields(meta):
                            if num == 1 and isinstance(v, int):
                                version = v
                    except ValueError as exc:
                        raise AnkiImportError(
                            f"{src}: the package's meta entry is malformed ({exc})"
                        ) from None
                name = next((n for n in COLLECTION_MEMBERS if n in infos), None)
                if name is None:
                    raise AnkiImportError(f"{src}: no collection inside (is it an Anki package?)")
                compressed = name.endswith("21b")
                with open(db_file, "xb") as out:
                    stream_member(
                        z,
                        infos[name],
                        budget,
                        out.write,
                        zstd=compressed,
                        ratio=budget.limits.collection_ratio,
                    )
                entries = _media_index(z, infos, version, budget)
    except AnkiImportError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise AnkiImportError(f"{src}: cannot read the package ({shown(str(exc), 100)})") from None
    return MediaSource(package=path, entries=entries, budget=budget)


def copy_profile(path: Path, db_file: Path, budget: Budget) -> MediaSource:
    """Copy a profile's ``collection.anki2`` to ``db_file`` (within the limits); its media folder.

    Raises:
        PackageTooLarge: the collection is larger than ``max_size``.
        AnkiImportError: it cannot be read.
    """
    src = display_path(path)
    try:
        with open(path, "rb") as fh, open(db_file, "xb") as out:
            while chunk := fh.read(CHUNK):
                budget.take(len(chunk))
                out.write(chunk)
    except OSError as exc:
        raise AnkiImportError(f"{src}: cannot copy the collection ({exc.strerror or exc})") from None
    folder = path.with_name(path.stem + ".media")
    media = MediaSource(folder=folder, budget=budget)
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_symlink():
                    media.links.append(entry.name)
                elif entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    media.files.add(entry.name)
                if len(media.files) > MAX_ENTRIES:
                    raise AnkiImportError(f"{display_path(folder)}: more than {MAX_ENTRIES:,} media files")
    except OSError:
        pass  # no media folder: no media
    return media


def is_sqlite(path: Path) -> bool:
    """True if the file starts as an SQLite database does."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def rollback_header(db_file: Path) -> None:
    """Mark a database in WAL mode as a rollback-journal one, so it opens without its -wal file."""
    with open(db_file, "r+b") as fh:
        head = fh.read(20)
        if len(head) == 20 and head[18:20] == b"\x02\x02":
            fh.seek(18)
            fh.write(b"\x01\x01")
