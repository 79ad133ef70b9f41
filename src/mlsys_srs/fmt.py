"""Formatting for people: intervals, durations, due times, plurals. One of each, for every layer."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def plural(n: int, word: str) -> str:
    """``1 card``, ``2 cards``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


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
