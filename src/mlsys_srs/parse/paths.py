"""What a note's path says: its domain (the first folder, number prefix removed) and its stem.

Paths are vault-relative with ``/`` separators; a plain one (as the vault walk gives) is
split as text, without building a ``PurePosixPath``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

NUMBER_PREFIX_RE = re.compile(r"^\d+[-_. ]*")
_SPACE_RUN_RE = re.compile(r"\s+")


def domain_of(path: str, frontmatter_domain: str | None = None) -> str:
    """A note's domain: frontmatter ``domain``, else its first folder, else ``general``.

    A leading number prefix (``04-``) is removed either way, and the result is
    lower-case with spaces as hyphens.
    """
    raw = frontmatter_domain
    if not raw:
        parts = _path_parts(path)
        raw = parts[0] if len(parts) > 1 else "general"
    name = NUMBER_PREFIX_RE.sub("", str(raw).strip()) or str(raw).strip()
    name = _SPACE_RUN_RE.sub("-", name.strip().lower())
    return name or "general"


def _plain_path(path: str) -> bool:
    """Whether ``path`` is relative with no empty, ``.`` or trailing component (as the walk gives)."""
    return bool(
        path
        and path != "."
        and "//" not in path
        and path[0] != "/"
        and path[-1] != "/"
        and "/./" not in path
        and not path.startswith("./")
        and not path.endswith("/.")
    )


def _path_parts(path: str) -> tuple[str, ...]:
    """``PurePosixPath(path).parts``, without building the path for a plain one."""
    return tuple(path.split("/")) if _plain_path(path) else PurePosixPath(path).parts


def path_stem(path: str) -> str:
    """``PurePosixPath(path).stem``, without building the path for a plain one."""
    if not _plain_path(path):
        return PurePosixPath(path).stem
    name = path.rpartition("/")[2]
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name
