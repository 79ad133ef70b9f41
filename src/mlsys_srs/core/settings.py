"""Config settings as values: the ``Setting`` record, durations, dates and periods, checking one value.

The registry of every setting (``config.SETTINGS``) and reading the files are ``config``'s; this
module holds what checks one value of one setting, so that ``config`` stays the registry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..errors import ConfigError

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_duration(text: str | int | float) -> timedelta:
    """``"10m"`` -> 10 minutes; a bare number is minutes. Units: s, m, h, d.

    Raises:
        ConfigError: not a duration.
        OverflowError: too long for a ``timedelta``.
    """
    if isinstance(text, bool):
        raise ConfigError(f"invalid duration {text!r}: use a number with s, m, h or d (e.g. '10m')")
    if isinstance(text, (int, float)):
        if not math.isfinite(text):
            raise ConfigError(f"invalid duration {text!r}: not a finite number")
        return timedelta(minutes=float(text))
    m = _DURATION_RE.match(str(text))
    if not m:
        raise ConfigError(f"invalid duration {text!r}: use a number with s, m, h or d (e.g. '10m')")
    value, unit = float(m.group(1)), m.group(2)
    unit_name = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]
    return timedelta(**{unit_name: value})


@dataclass(frozen=True)
class Setting:
    """One key of the config file: where it lives, what it holds, its default and its help.

    ``kind`` is one of ``bool``, ``int``, ``float``, ``str``, ``path``,
    ``globs`` (a list of glob strings), ``durations`` (a list such as
    ``["1m", "10m"]``) and ``floats`` (a list of numbers). ``low``/``high``
    bound a number (or each duration, in seconds); ``check`` validates further
    and returns a problem or None.
    """

    section: str
    key: str
    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    check: Callable[[Any], str | None] | None = None

    @property
    def name(self) -> str:
        """``schedule.new_per_day``, or ``vault`` for a top-level key."""
        return f"{self.section}.{self.key}" if self.section else self.key


def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date (None when it is not one)."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def parse_period(text: str) -> tuple[date, date] | None:
    """``"FROM/TO"`` (two ``YYYY-MM-DD`` dates, the first not after the second) as dates, or None."""
    first, sep, last = text.partition("/")
    a, b = parse_day(first.strip()), parse_day(last.strip())
    if not sep or a is None or b is None or a > b:
        return None
    return a, b


def _number(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "int" else isinstance(value, (int, float))


def checked_value(s: Setting, raw: Any, path: Path) -> Any:
    """``raw`` from the file, checked and converted; a ``ConfigError`` names the file and the key."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(f"{path}: {s.name} {problem}")

    value: Any
    if s.kind == "bool":
        if not isinstance(raw, bool):
            raise bad(f"must be true or false, not {raw!r}")
        value = raw
    elif s.kind in ("int", "float"):
        if not _number(raw, s.kind):
            raise bad(f"must be {'a whole number' if s.kind == 'int' else 'a number'}, not {raw!r}")
        value = float(raw) if s.kind == "float" else raw
        if not math.isfinite(value):
            raise bad(f"must be a finite number, not {raw!r}")
        if (s.low is not None and value < s.low) or (s.high is not None and value > s.high):
            raise bad(f"must be between {_fmt(s.low)} and {_fmt(s.high)}, not {raw!r}")
    elif s.kind in ("str", "path"):
        if not isinstance(raw, str):
            raise bad(f"must be a string, not {raw!r}")
        value = raw
    elif s.kind == "globs":
        if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
            raise bad("must be a list of glob strings")
        value = tuple(raw)
    elif s.kind == "durations":
        if not isinstance(raw, list):
            raise bad('must be a list such as ["1m", "10m"]')
        steps = []
        for item in raw:
            try:
                step = parse_duration(item)
            except (ConfigError, ValueError, OverflowError, TypeError):
                raise bad(f'has {item!r}: use a number with s, m, h or d, such as "10m"') from None
            secs = step.total_seconds()
            if not (s.low or 0) <= secs <= (s.high or math.inf):
                raise bad(f"has {item!r}: each step must be between 1s and 365d")
            steps.append(step)
        value = tuple(steps)
    elif s.kind == "floats":
        if not isinstance(raw, list) or not all(_number(x, "float") for x in raw):
            raise bad("must be a list of numbers")
        value = tuple(float(x) for x in raw)
    else:  # pragma: no cover - a registry entry with an unknown kind
        raise AssertionError(s.kind)
    if s.check is not None:
        problem = s.check(value)
        if problem:
            raise bad(problem)
    return value


def _fmt(x: float | None) -> str:
    return "-" if x is None else (str(int(x)) if float(x).is_integer() else str(x))
