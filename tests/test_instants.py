"""The one timestamp parser: ISO 8601 in, a datetime whose tzinfo is exactly UTC out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlsys_srs.core.instants import parse_instant


def test_an_offset_is_converted_to_utc() -> None:
    dt = parse_instant("2026-11-22T09:30:00.000001+01:30")
    assert dt == datetime(2026, 11, 22, 8, 0, 0, 1, tzinfo=UTC)
    assert dt.tzinfo is UTC


def test_a_time_without_an_offset_is_taken_as_utc_unless_an_offset_is_required() -> None:
    assert parse_instant("2026-11-22T08:00:00") == datetime(2026, 11, 22, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^at has no UTC offset$"):
        parse_instant("2026-11-22T08:00:00", require_offset=True, what="at")
    assert parse_instant("2026-11-22T08:00:00Z", require_offset=True).tzinfo is UTC


def test_not_a_time() -> None:
    with pytest.raises(ValueError):
        parse_instant("yesterday")
