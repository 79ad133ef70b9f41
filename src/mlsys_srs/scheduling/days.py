"""The one definition of "a day": local time with a rollover hour (default 4 am, as Anki).

Today's queue, daily limits, streaks and the review heatmap all use ``DayClock``;
nothing else converts instants to days. Core code receives a ``DayClock`` (and a
UTC ``now``) from the CLI; it never asks the system for the time or zone.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo


class SystemLocalTime(tzinfo):
    """The system's local zone, DST included (from the C library, like ``time.localtime``)."""

    def _offset(self, dt: datetime) -> timedelta:
        stamp = _time.mktime((dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, 0, 0, -1))
        return timedelta(seconds=_time.localtime(stamp).tm_gmtoff)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """Offset from UTC at local wall time ``dt``."""
        return self._offset(dt or datetime.now())

    def dst(self, dt: datetime | None) -> timedelta:
        """Not tracked separately; the offset already includes DST."""
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        """The zone abbreviation at ``dt``."""
        d = dt or datetime.now()
        stamp = _time.mktime((d.year, d.month, d.day, d.hour, d.minute, d.second, 0, 0, -1))
        return _time.localtime(stamp).tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        """Local wall time for a UTC instant."""
        utc = dt.replace(tzinfo=UTC)
        local = _time.localtime(utc.timestamp())
        return (dt + timedelta(seconds=local.tm_gmtoff)).replace(tzinfo=self)


def zone(name: str) -> tzinfo:
    """The configured zone: an IANA name, or the system's local zone for ``""``."""
    if not name:
        return SystemLocalTime()
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@dataclass(frozen=True)
class DayClock:
    """Maps instants to review days: local date of ``instant - rollover_hour``."""

    tz: tzinfo
    rollover_hour: int = 4

    def day_of(self, instant: datetime) -> date:
        """The review day an aware instant belongs to."""
        if instant.tzinfo is UTC and type(self.tz) is SystemLocalTime:
            # ``SystemLocalTime.fromutc``'s arithmetic, without building the local datetime.
            offset = _time.localtime(instant.timestamp()).tm_gmtoff
            return (instant + timedelta(seconds=offset - 3600 * self.rollover_hour)).date()
        local = instant.astimezone(self.tz)
        return (local - timedelta(hours=self.rollover_hour)).date()

    def day_start(self, day: date) -> datetime:
        """The UTC instant at which ``day`` begins (its local rollover hour)."""
        local = datetime.combine(day, time(self.rollover_hour)).replace(tzinfo=self.tz)
        return local.astimezone(UTC)

    def day_end(self, day: date) -> datetime:
        """The UTC instant at which ``day`` ends (the next day's start)."""
        return self.day_start(day + timedelta(days=1))

    def today(self, now: datetime) -> date:
        """The review day of ``now``."""
        return self.day_of(now)
