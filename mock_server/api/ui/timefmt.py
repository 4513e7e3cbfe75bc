"""Template filters: times in UTC or a merchant's zone, durations, pretty JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=64)
def zone(name: str):
    """The tz database zone, UTC when the name is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# Days the pages step through: previous/next day and day bounds stay inside Python's calendar (years 1 to 9999).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)


def moment(epoch, tz) -> datetime | None:
    """The instant in a zone; None when it has no calendar form (past the year 9999: the clock goes to 2^40 s)."""
    try:
        return datetime.fromtimestamp(int(epoch), tz)
    except (OverflowError, ValueError, OSError):
        return None


def beyond(epoch) -> str:
    """Text for an instant with no calendar form."""
    return f"epoch {int(epoch)} s (past the year 9999)"


def utc(epoch) -> str:
    """2026-11-25 17:00:00 UTC"""
    if epoch is None or epoch == "":
        return "—"
    at = moment(epoch, UTC)
    return beyond(epoch) if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def local(epoch, tz_name: str) -> str:
    """Tue 25 Nov 2026 17:00 AEDT, in the merchant's zone."""
    at = moment(epoch, zone(tz_name))
    return beyond(epoch) if at is None else at.strftime("%a %d %b %Y %H:%M %Z")


def local_time(epoch, tz_name: str) -> str:
    """17:00, in the merchant's zone."""
    at = moment(epoch, zone(tz_name))
    return beyond(epoch) if at is None else at.strftime("%H:%M")


def day_of(epoch: int, tz_name: str) -> date:
    """The calendar day an instant falls on in a zone, held to [FIRST_DAY, LAST_DAY] (the pages' range)."""
    at = moment(epoch, zone(tz_name))
    if at is None:
        return LAST_DAY if int(epoch) > 0 else FIRST_DAY
    return min(max(at.date(), FIRST_DAY), LAST_DAY)


def day_bounds(day: date, tz_name: str) -> tuple[int, int]:
    """[start, end) of a calendar day in a zone, as epoch seconds (23 or 25 hours on DST days)."""
    tz = zone(tz_name)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return int(start.timestamp()), int(end.timestamp())


def duration(seconds) -> str:
    """5400 -> 1 h 30 min"""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def ago(epoch, now) -> str:
    """'in 2 h 5 min' or '3 min ago' relative to the sandbox clock."""
    delta = int(epoch) - int(now)
    if delta == 0:
        return "now"
    text = duration(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def pretty_json(value) -> str:
    """Indented JSON for objects and arrays; text as it is; '(empty)' for nothing."""
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
