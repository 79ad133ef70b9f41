"""The one safe way to write into the vault: rewrite a note, or create a new file.

- ``rewrite_note`` replaces a note atomically (a temporary file beside it, then a
  rename), keeps the file's mode, writes through a symbolic link to the file it
  names, and refuses when the file no longer holds the bytes the caller read.
- ``create_file`` makes a new file and never overwrites one (``O_EXCL``),
  creating its folders; the data is written to a temporary file first and
  linked into place, so a reader never sees half a file.

Nothing here parses Markdown or touches the database.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import SrsError


class NoteChanged(SrsError):
    """The note changed between reading it and writing it; it was left alone."""


class FileExists(SrsError):
    """A new file would overwrite one that exists; nothing was written."""


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def rewrite_note(path: Path, expected_bytes: bytes, new_bytes: bytes) -> None:
    """Replace the note at ``path`` with ``new_bytes`` if it still holds ``expected_bytes``.

    Raises:
        NoteChanged: the file's content is no longer ``expected_bytes``.
        SrsError: the file cannot be written.
    """
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".{target.name}.mlsys-srs.tmp")
    try:
        st = target.stat()
        with open(tmp, "wb") as fh:
            fh.write(new_bytes)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        with contextlib.suppress(OSError):
            os.chown(tmp, st.st_uid, st.st_gid)
        if target.read_bytes() != expected_bytes:
            raise NoteChanged(f"{path}: the note changed since it was read; it was left alone")
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise SrsError(f"{path}: cannot write the note ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def create_file(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``; never overwrite (its folders are made as needed).

    Raises:
        FileExists: something is already at ``path``.
        SrsError: the file cannot be written.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.mlsys-srs.new")
    made = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            raise FileExistsError
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        made = True
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            # A hard link fails if the name exists: the O_EXCL of a finished file.
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            # A file system without hard links: create the file itself exclusively.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(path.parent)
    except FileExistsError:
        if path.exists() or path.is_symlink():
            raise FileExists(f"{path}: already exists; not overwritten") from None
        raise SrsError(f"{path}: a temporary file {tmp.name} is in the way; remove it") from None
    except OSError as exc:
        raise SrsError(f"{path}: cannot create the file ({exc.strerror or exc})") from None
    finally:
        if made:
            with contextlib.suppress(OSError):
                tmp.unlink()
