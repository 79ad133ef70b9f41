"""ISO 8601 instants read back as UTC-aware datetimes: the one timestamp parser.

Everything this tool stores or writes (database columns, journal events, review logs) is an
ISO 8601 instant; every layer reads one with ``parse_instant``. The result's ``tzinfo`` is
exactly ``datetime.UTC``, as py-fsrs requires. Two rules for a time without a UTC offset:

- our own stored values (database columns): taken as UTC, the zone they were written in;
- a time from outside or from another device (a journal event): refused, since its zone
  cannot be known (``require_offset=True``).
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_instant(text: str, *, require_offset: bool = False, what: str = "") -> datetime:
    """``text`` (ISO 8601, as ``datetime.fromisoformat`` reads it) as a UTC-aware datetime.

    Args:
        text: The instant, e.g. ``2026-11-22T08:00:00.000000+00:00``.
        require_offset: Refuse a time without a UTC offset instead of taking it as UTC.
        what: What the time is, for that error (``"at"``: "at has no UTC offset"); default
            the text itself.

    Raises:
        ValueError: not an ISO 8601 time, or (with ``require_offset``) one without an offset.
    """
    if text.endswith("+00:00"):
        return datetime.fromisoformat(text)  # UTC as stored: tzinfo is ``UTC`` itself, no conversion
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        if require_offset:
            raise ValueError(f"{what or repr(text)} has no UTC offset")
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
