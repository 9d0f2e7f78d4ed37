"""Jinja filters: exact amounts, latencies, clock times and ages, formatted for people."""

from __future__ import annotations

import time
from decimal import Decimal

import trio
from quart import Quart

MAX_PLACES = 8


def amount(value: Decimal | float | int | None, places: int | None = None) -> str:
    """``1,234.5`` style: thousands separators, trailing zeros trimmed (or fixed ``places``)."""
    if value is None:
        return "–"
    number = Decimal(value) if not isinstance(value, Decimal) else value
    if places is not None:
        return f"{number:,.{places}f}"
    quantised = round(number, MAX_PLACES)
    text = f"{quantised:,.{MAX_PLACES}f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def signed(value: Decimal | None, places: int = 2) -> str:
    """An amount with an explicit sign: ``+12.30`` / ``-4.00``."""
    if value is None:
        return "–"
    return f"{value:+,.{places}f}"


def milliseconds(seconds: float | None) -> str:
    """``0.42 ms`` / ``12.3 ms`` / ``1.20 s``."""
    if seconds is None:
        return "–"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def duration(seconds: float) -> str:
    """``3d 04h``, ``2h 05m``, ``4m 09s``, ``12s``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def ago(at: float | None) -> str:
    """How long before now (Trio clock) ``at`` was: ``3s ago``."""
    if at is None:
        return "never"
    return f"{duration(trio.current_time() - at)} ago"


def clock(at: float | None) -> str:
    """The UTC wall-clock time (``14:03:07.250``) of a Trio-clock time ``at``."""
    if at is None:
        return "–"
    wall = time.time() - (trio.current_time() - at)
    return wall_clock(wall)


def wall_clock(at_wall: float | None) -> str:
    """``14:03:07.250`` UTC from Unix seconds."""
    if at_wall is None:
        return "–"
    whole = time.strftime("%H:%M:%S", time.gmtime(at_wall))
    return f"{whole}.{int(at_wall % 1 * 1000):03d}"


def register_filters(app: Quart) -> None:
    """Make the filters above available to every template."""
    app.jinja_env.filters.update(
        amount=amount,
        signed=signed,
        ms=milliseconds,
        duration=duration,
        ago=ago,
        clock=clock,
        wall_clock=wall_clock,
    )
