"""Writing an ``.apkg``: the collection and its media zipped, renamed into place, never over a foreign file.

The zip is reproducible: every entry is dated by the export time (``now``), the
media are numbered in name order, and the collection is compressed at level 1 (a
third of the default level's time for a package about a tenth larger). A package
is written under one temporary name beside its target and renamed into place, so
a killed export leaves the old package whole (and its leftover is removed by the
next one).
"""

from __future__ import annotations

import glob
import json
import os
import time
import zipfile
from pathlib import Path

from ..core.fmt import display_path
from ..errors import SrsError
from ..vault.writes import TEMP_SUFFIX

_ZIP_EPOCH = 315532800
"""1980-01-01: zip dates start there."""


def check_output(out: Path) -> None:
    """Refuse to replace anything at ``out`` but an Anki package.

    Raises:
        SrsError: ``out`` is a folder, or a file that is not an ``.apkg`` package.
    """
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise SrsError(f"{display_path(out)}: is a folder; name the .apkg to write")
    if out.suffix.lower() != ".apkg" or not zipfile.is_zipfile(out):
        raise SrsError(
            f"{display_path(out)}: exists and is not an Anki package (.apkg); not overwritten. "
            "Choose another --out"
        )


def write_package(collection: bytes, media: dict[str, Path], out: Path, timestamp: float) -> None:
    """Zip the collection and media next to ``out``, then rename it into place.

    Args:
        collection: The collection file (``collection.anki2``).
        media: The media files by the names the notes use.
        timestamp: The export time (Unix), which dates every entry.

    Raises:
        SrsError: ``out`` is not an Anki package, or the package cannot be written.
    """
    stamp = time.gmtime(max(timestamp, _ZIP_EPOCH))[:6]
    check_output(out)
    # One temporary name per package: what a killed export left behind is removed here.
    tmp = out.with_name(f".{out.name}{TEMP_SUFFIX}")
    for leftover in (tmp, *out.parent.glob(f".{glob.escape(out.name)}.*.tmp")):
        leftover.unlink(missing_ok=True)
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as z:

                def entry(name: str, compress: int) -> zipfile.ZipInfo:
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.compress_type = compress
                    info.external_attr = 0o644 << 16
                    return info

                z.writestr(entry("collection.anki2", zipfile.ZIP_DEFLATED), collection, compresslevel=1)
                names = sorted(media)
                index = {str(i): name for i, name in enumerate(names)}
                z.writestr(entry("media", zipfile.ZIP_DEFLATED), json.dumps(index, ensure_ascii=False))
                for i, name in enumerate(names):
                    with (
                        z.open(entry(str(i), zipfile.ZIP_STORED), "w") as dst,
                        open(media[name], "rb") as src,
                    ):
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SrsError(f"{display_path(out)}: cannot write the package ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_stamp(path: Path) -> str:
    """The size and modification time of the file at ``path`` ("" when there is none)."""
    try:
        st = path.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"
