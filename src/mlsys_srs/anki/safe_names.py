"""Names an import makes safe for the vault: a deck's note path, a media file's name, YAML strings.

Anki allows any text in a deck or media name; the vault gets none that could
leave the folder meant for it, hide in a listing or break the Markdown or YAML
around it. A deck level becomes a folder or file name without separators,
control or wildcard characters, leading dots or device names, at most 120
bytes (``deck_path``); levels past 8 join the last. ``domain`` and
``anki-deck`` are YAML strings with every control character escaped
(``yaml_str``). A media file loses its folders and any character that would
break a Markdown link, and is never stored under a name a sync reads as a note
(``x.md`` -> ``x.md.txt``, ``media_name``). Values in, values out.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

_UNSAFE_NAME_RE = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f-\x9f]+')
_MEDIA_UNSAFE_RE = re.compile(r"[^\w .,()+=@'!~-]+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories never put in a file name, a heading or an unescaped YAML string."""
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
"""Names Windows gives to devices."""
MAX_NAME_BYTES = 120
"""The longest file or folder name written (Anki's own limit on media names)."""
MAX_DECK_DEPTH = 8
"""Deck levels below this become part of the last folder's note name."""


def visible_only(text: str, replacement: str = "-") -> str:
    """``text`` with every control, format and line-separator character replaced."""
    if text.isprintable():
        return text
    return "".join(replacement if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)


def _fit(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    keep = limit - len(ext.encode("utf-8")) - (1 if ext else 0)
    cut = stem.encode("utf-8")[:keep].decode("utf-8", "ignore").rstrip(" .-")
    return f"{cut}.{ext}" if ext else cut


def _not_reserved(name: str) -> str:
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name


def _safe_part(name: str) -> str:
    """One deck level as a folder or file name: no separator, control or wildcard character, no
    leading dot, at most ``MAX_NAME_BYTES`` bytes, not a name Windows keeps for a device."""
    part = _UNSAFE_NAME_RE.sub("-", visible_only(unicodedata.normalize("NFC", name))).strip(" .-")
    part = _fit(part, MAX_NAME_BYTES - 8).strip(" .-")  # room for " 12.md"
    return _not_reserved(part) if part else "Default"


def media_name(name: str) -> str:
    """The vault file name of an Anki media file: no folders, no control or link-breaking character,
    at most ``MAX_NAME_BYTES`` bytes, and never a name a sync reads as a note (``x.md`` is
    stored as ``x.md.txt``)."""
    safe = visible_only(unicodedata.normalize("NFC", name)).replace("/", "_").replace("\\", "_")
    safe = _MEDIA_UNSAFE_RE.sub("-", safe).strip(" .-")
    if safe.lower().endswith(".md"):
        safe += ".txt"
    safe = _fit(safe).strip(" .-")
    if safe.lower().endswith(".md"):
        safe = _fit(safe[:-3], MAX_NAME_BYTES - 7) + ".md.txt"
    return _not_reserved(safe) if safe else "media"


def deck_path(into: str, deck: str) -> str:
    """The vault path of a deck's note: ``Top::Sub`` -> ``anki-import/Top/Sub.md``.

    Levels past ``MAX_DECK_DEPTH`` join the last one (``A::...::H::I`` -> ``.../H - I.md``).
    """
    parts = [_safe_part(p) for p in deck.split("::") if p.strip()] or ["Default"]
    if len(parts) > MAX_DECK_DEPTH:
        parts = [*parts[: MAX_DECK_DEPTH - 1], _safe_part(" - ".join(parts[MAX_DECK_DEPTH - 1 :]))]
    return str(PurePosixPath(into, *parts[:-1], parts[-1] + ".md"))


def yaml_str(s: str) -> str:
    """``s`` as a YAML double-quoted string: every control, format and line-separator character
    escaped (so no deck name can end the frontmatter or hide in it)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif unicodedata.category(ch) in _INVISIBLE or ch == "\ufeff":
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def heading(deck: str) -> str:
    """The heading of a deck's note: its last level, on one line."""
    leaf = " ".join(visible_only(deck.split("::")[-1], " ").split())
    return leaf or "Default"
