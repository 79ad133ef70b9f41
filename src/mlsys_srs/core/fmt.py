"""Formatting for people: intervals, durations, due times, plurals. One of each, for every layer."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

# C0 controls but tab and newline, DEL, C1 controls, and the lone surrogates that
# stand for undecodable bytes in file names (os.fsdecode's surrogateescape).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ESC is shown as "␛"
    if code == 0x7F:
        return "\u2421"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # an undecodable byte of a file name
    return f"\\u{code:04x}"


def inert(text: str) -> str:
    """Text from a note or a path, safe to show in a terminal.

    Every C0 and C1 control character but tab and newline (ESC, BEL, CR, the
    8-bit CSI and OSC ...) is made visible: ``\\x1b`` becomes ``␛`` and
    U+009B becomes ``\\u009b``, so nothing from a note can move the cursor,
    clear the screen, set the window title or write the clipboard. An
    undecodable byte of a file name (a lone surrogate) is shown as ``\\xNN``.
    """
    return _CONTROL_RE.sub(_visible, text)


def display_path(path: object) -> str:
    """A file name or path for people and JSON: valid UTF-8, bytes that were not shown as ``\\xNN``."""
    return inert(str(path))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 card``, ``2 cards`` (``many``: the plural when it is not ``word + "s"``: ``1 match``, ``2 matches``)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def format_interval(delta: timedelta) -> str:
    """A short interval as Anki shows it: ``45s``, ``10m``, ``5h``, ``3d``, ``1.5mo``, ``2.1y``."""
    secs = max(0.0, delta.total_seconds())
    if secs < 60:
        return f"{round(secs)}s"
    if secs < 3600:
        return f"{round(secs / 60)}m"
    if secs < 86400:
        return f"{round(secs / 3600)}h"
    days = secs / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y".replace(".0y", "y")


def format_duration(ms: int) -> str:
    """Time spent, for people: ``45s``, ``3m 07s``, ``1h 02m``."""
    secs = round(ms / 1000)
    if secs < 60:
        return f"{secs}s"
    mins, secs = divmod(secs, 60)
    if mins < 60:
        return f"{mins}m {secs:02d}s"
    hours, mins = divmod(mins, 60)
    return f"{hours}h {mins:02d}m"


def format_when(at: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """A due time for people: ``14:05 (in 2h)``, ``Tue 24 Nov 09:00 (in 3d)`` or ``now``."""
    delta = at - now
    if delta <= timedelta(0):
        return "now"
    local = at.astimezone(tz)
    stamp = local.strftime("%H:%M") if delta < timedelta(hours=20) else local.strftime("%a %d %b %H:%M")
    return f"{stamp} (in {format_interval(delta)})"


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float] | tuple[float, ...], lo: float = 0.0, hi: float = 1.0) -> str:
    """Values between ``lo`` and ``hi`` as a one-line bar chart: ``█▇▆▅▄▃▂▁``."""
    span = (hi - lo) or 1.0
    return "".join(_BARS[min(len(_BARS) - 1, max(0, int((v - lo) / span * len(_BARS))))] for v in values)
