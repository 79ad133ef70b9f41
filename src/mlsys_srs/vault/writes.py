"""Writing files in a person's vault without ever damaging or losing them.

Every write into the vault goes through this module (``sync --write-ids`` today;
importers and ``.mlsys-srs/vault.toml`` later). The rules:

- ``rewrite_note`` replaces a note's bytes only if the note still holds exactly
  what the caller read (compared again just before the switch, and checked
  once more on the old file afterwards, so an edit that lands meanwhile is
  put back and the rewrite refused: ``NoteChanged``).
- A symlinked note is written through the link (the target changes, the link
  stays a link). A note with hard links is written in place, after its space
  is reserved, so every name keeps seeing it; any other note is replaced by an
  atomic rename of a temporary file that carries the note's mode and owner.
- A note is read-only when its mode bits say so (``chmod a-w``), for root too:
  it is skipped (``ReadOnlyNote``), never rewritten.
- Temporary files are ``.<name>.mlsys-srs.tmp`` next to the note (hidden, so
  never read as notes); they are removed on any failure, including a full
  disk (``DiskFull``), and a leftover from a killed run is removed by the next
  write of that note.
- ``create_file`` (and ``copy_new_file``) make a new file and never replace an
  existing one. Given the folder the file must stay in (``inside``: the vault),
  each folder on the way is opened one level at a time, a symbolic link is
  followed only when it resolves inside that folder (else ``OutsideFolder``),
  and the file is made in the folder opened, never through a final link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from ..errors import SrsError

TEMP_SUFFIX = ".mlsys-srs.tmp"


class NoteWriteError(SrsError):
    """A file of the vault was not written; the message says why and that nothing changed."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class ReadOnlyNote(NoteWriteError):
    """The note's mode bits make it read-only; it is left alone."""


class NoteChanged(NoteWriteError):
    """The note changed since it was read; the rewrite was refused."""


class DiskFull(NoteWriteError):
    """There was no space left to write; the note is unchanged."""


class FileExists(NoteWriteError):
    """``create_file`` found a file already there."""


def temp_path(target: Path) -> Path:
    """The temporary file used while ``target`` is rewritten."""
    return target.with_name(f".{target.name}{TEMP_SUFFIX}")


def _os_error(path: Path, exc: OSError, what: str) -> NoteWriteError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(path, f"no space left on the device; {what}")
    if exc.errno == errno.EROFS:
        return ReadOnlyNote(path, f"the file system is read-only; {what}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ReadOnlyNote(path, f"permission denied; {what}")
    return NoteWriteError(path, f"{exc.strerror or exc}; {what}")


def is_read_only(st: os.stat_result, path: Path) -> bool:
    """True when the mode bits forbid writing (root included), or the user may not write it."""
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return True
    if os.geteuid() == 0:
        return False
    return not os.access(path, os.W_OK)


def _read_fd(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _write_all(fd: int, data: bytes, offset: int = 0) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def rewrite_note(path: Path, expected: bytes, new: bytes) -> None:
    """Replace the bytes of the note at ``path`` (which held ``expected``) with ``new``.

    Raises:
        ReadOnlyNote: the note is read-only (mode bits, file system, permissions).
        NoteChanged: the note no longer holds ``expected``.
        DiskFull: the device is full.
        NoteWriteError: any other failure. In every case the note is unchanged.
    """
    target = Path(os.path.realpath(path))
    unchanged = "the note was not changed"
    try:
        old_fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _os_error(path, exc, unchanged) from None
    try:
        st = os.fstat(old_fd)
        if not stat.S_ISREG(st.st_mode):
            raise NoteWriteError(path, f"not a regular file; {unchanged}")
        if is_read_only(st, target):
            raise ReadOnlyNote(path, f"the note is read-only; {unchanged}")
        if _read_fd(old_fd) != expected:
            raise NoteChanged(path, f"the note changed since it was read; {unchanged}")
        if st.st_nlink > 1:
            _write_in_place(path, target, expected, new)
        else:
            _replace(path, target, st, old_fd, expected, new)
    finally:
        os.close(old_fd)


def _write_in_place(path: Path, target: Path, expected: bytes, new: bytes) -> None:
    """Overwrite a hard-linked note in place, its space reserved first so a full disk cannot cut it."""
    unchanged = "the note was not changed"
    try:
        fd = os.open(target, os.O_RDWR | os.O_NOFOLLOW)
    except OSError as exc:
        raise _os_error(path, exc, unchanged) from None
    try:
        if len(new) > len(expected):
            try:
                os.posix_fallocate(fd, 0, len(new))
            except OSError as exc:
                os.ftruncate(fd, len(expected))
                raise _os_error(path, exc, unchanged) from None
        # posix_fallocate extends the file with zeros; anything else means the note changed.
        padding = b"\0" * max(0, len(new) - len(expected))
        if _read_fd(fd) != expected + padding:
            raise NoteChanged(path, f"the note changed since it was read; {unchanged}")
        try:
            _write_all(fd, new)
            os.ftruncate(fd, len(new))
            os.fsync(fd)
        except OSError as exc:
            # The space was reserved, so this is not a full disk; put the old text back.
            _write_all(fd, expected)
            os.ftruncate(fd, len(expected))
            raise _os_error(path, exc, unchanged) from None
    finally:
        os.close(fd)


def _replace(path: Path, target: Path, st: os.stat_result, old_fd: int, expected: bytes, new: bytes) -> None:
    """Write a temporary file with the note's mode and owner, then rename it over the note."""
    unchanged = "the note was not changed"
    tmp = temp_path(target)
    _remove(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise _os_error(path, exc, unchanged) from None
    try:
        _fill_temp(fd, new, st)
        # Compare just before the switch: an edit made since the first read is never overwritten.
        if Path(target).read_bytes() != expected or os.stat(target).st_ino != st.st_ino:
            raise NoteChanged(path, f"the note changed while it was being written; {unchanged}")
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise _os_error(path, exc, unchanged) from None
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(target.parent)
    # A writer that had the old file open may have written to it after the comparison:
    # put its text back rather than lose it.
    late = _read_fd(old_fd)
    if late != expected:
        try:
            _restore(target, late, st)
        except OSError as exc:
            raise _os_error(path, exc, "the note changed while it was being written") from None
        raise NoteChanged(path, f"the note changed while it was being written; {unchanged}")


def _fill_temp(fd: int, data: bytes, st: os.stat_result) -> None:
    """Write ``data`` to the temporary file ``fd``, durably, with the note's owner and mode; close it."""
    try:
        _write_all(fd, data)
        os.fsync(fd)
        if os.geteuid() == 0 or st.st_gid != os.getegid():
            with contextlib.suppress(PermissionError):
                os.fchown(fd, st.st_uid if os.geteuid() == 0 else -1, st.st_gid)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
    finally:
        os.close(fd)


def _restore(target: Path, data: bytes, st: os.stat_result) -> None:
    tmp = temp_path(target)
    _remove(tmp)
    _fill_temp(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), data, st)
    os.replace(tmp, target)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def create_file(path: Path, data: bytes, mode: int = 0o644, *, inside: Path | None = None) -> None:
    """Create ``path`` holding ``data`` (and its folders); never replaces a file that is there.

    The file appears whole or not at all (written to a temporary file, then
    hard-linked into place, which fails if the name is taken).

    Args:
        inside: The folder (the vault) the file must stay in: each folder on the way is
            resolved (a symbolic link that leads out of it is refused) and the file is
            created in the folder opened, never through a link.

    Raises:
        FileExists: something is already at ``path`` (a symbolic link too).
        OutsideFolder: ``path`` leads out of ``inside``.
        DiskFull: the device is full (no file is left behind).
        NoteWriteError: any other failure.
    """
    _create(path, lambda fd: _write_all(fd, data), mode, inside)


def copy_new_file(path: Path, source: Path, mode: int = 0o644, *, inside: Path | None = None) -> None:
    """Create ``path`` with the bytes of the file ``source``, streamed, as ``create_file`` does."""

    def fill(fd: int) -> None:
        with open(source, "rb") as src:
            offset = 0
            while chunk := src.read(1 << 20):
                _write_all(fd, chunk, offset)
                offset += len(chunk)

    _create(path, fill, mode, inside)


class OutsideFolder(NoteWriteError):
    """A folder on the way to a new file leads out of the folder it must stay in."""


_DIR_FDS = all(f in os.supports_dir_fd for f in (os.open, os.mkdir, os.link, os.stat, os.unlink)) and (
    os.stat in os.supports_follow_symlinks
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _open_folder(folder: Path, inside: Path, not_created: str) -> tuple[int, str]:
    """Open ``folder`` (made where missing) one level at a time from ``inside``; its fd and real path.

    A folder that is a symbolic link is followed only when it resolves inside ``inside``.
    """
    root = os.path.realpath(inside)
    rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(inside))
    parts = [] if rel == "." else Path(rel).parts
    if parts and parts[0] == "..":
        raise OutsideFolder(folder, f"is not inside {inside}; {not_created}")
    try:
        fd = os.open(root, os.O_RDONLY | _DIRECTORY)
    except OSError as exc:
        raise _os_error(inside, exc, not_created) from None
    real = root
    try:
        for part in parts:
            if part in ("", "."):
                continue
            here = os.path.join(real, part)
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(here)
                if not _inside(root, target):
                    raise OutsideFolder(
                        here, f"leads outside {inside} (a symbolic link to {target}); {not_created}"
                    )
                new = os.open(target, os.O_RDONLY | _DIRECTORY)
                opened, named = os.fstat(new), os.stat(target)
                if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
                    os.close(new)
                    raise OutsideFolder(here, f"changed while it was opened; {not_created}")
                real = target
            else:
                new = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
                real = here
            os.close(fd)
            fd = new
    except NoteWriteError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise _os_error(folder, exc, not_created) from None
    return fd, real


def _create(path: Path, fill: Callable[[int], None], mode: int, inside: Path | None) -> None:
    not_created = "the file was not created"
    if inside is not None and _DIR_FDS:
        _create_at(path, fill, mode, inside)
        return
    if inside is not None and not _inside(os.path.realpath(inside), os.path.realpath(path.parent)):
        raise OutsideFolder(path, f"leads outside {inside}; {not_created}")
    tmp = temp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(path.parent, exc, not_created) from None
    _remove(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    except OSError as exc:
        raise _os_error(path, exc, not_created) from None
    try:
        _fill_and_link(fd, fill, lambda: os.link(tmp, path), path, not_created)
    finally:
        _remove(tmp)
    _fsync_dir(path.parent)


def _fill_and_link(
    fd: int, fill: Callable[[int], None], link: Callable[[], None], path: Path, not_created: str
) -> None:
    """Write the temporary file open at ``fd`` (closed after), then ``link`` it to ``path``, which
    must not exist yet; errors name ``path``."""
    try:
        try:
            fill(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            link()
        except FileExistsError:
            raise FileExists(path, f"a file is already there; {not_created}") from None
    except OSError as exc:
        raise _os_error(path, exc, not_created) from None


def _create_at(path: Path, fill: Callable[[int], None], mode: int, inside: Path) -> None:
    """``_create`` inside the folder opened by ``_open_folder`` (names relative to its fd)."""
    not_created = "the file was not created"
    dir_fd, _ = _open_folder(path.parent, inside, not_created)
    name = path.name
    tmp = temp_path(path).name
    try:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode, dir_fd=dir_fd)
        except OSError as exc:
            raise _os_error(path, exc, not_created) from None
        try:
            _fill_and_link(
                fd, fill, lambda: os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd), path, not_created
            )
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
