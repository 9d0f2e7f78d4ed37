"""Timestamps as Kraken writes them (RFC 3339 with microseconds, UTC, ``Z``)."""

from __future__ import annotations

import datetime as dt
import email.utils


def rfc3339(unix_time: float) -> str:
    """``2023-09-25T09:04:31.742599Z``."""
    moment = dt.datetime.fromtimestamp(unix_time, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nanos(unix_time: float) -> str:
    """``2023-10-04T16:25:00.000000000Z`` (OHLC ``interval_begin`` style)."""
    return rfc3339(unix_time)[:-1] + "000Z"


def rfc1123(unix_time: float) -> str:
    """``Thu, 06 Jul 23 18:50:48 +0000`` (REST Time's ``rfc1123``, two-digit year as Kraken)."""
    text = email.utils.formatdate(int(unix_time), usegmt=False)
    # formatdate gives "Thu, 06 Jul 2023 18:50:48 -0000"; Kraken prints "06 Jul 23 ... +0000".
    day, rest = text.split(", ", 1)
    date_part, clock, _ = rest.rsplit(" ", 2)
    day_num, month, year = date_part.split(" ")
    return f"{day}, {day_num} {month} {year[2:]} {clock} +0000"
