"""Numbers and times as the web page says them: a cron schedule in words ("every day at 02:15
UTC"), a time relative to now ("in 3 h", "5 min ago"), a duration, a byte count. Pure functions;
what they cannot say plainly they give back as it is (the cron expression itself)."""

from __future__ import annotations

import datetime as dt

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _at(minute: str, hour: str) -> str | None:
    if minute.isdigit() and hour.isdigit():
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def cron_words(expression: str | None, timezone: str = "UTC") -> str:
    """The common cron shapes in words; any other expression is returned as `cron EXPR TZ`."""
    if not expression:
        return "not scheduled"
    fields = expression.split()
    if len(fields) != 5:
        return f"cron {expression} {timezone}"
    minute, hour, dom, month, dow = fields
    at = _at(minute, hour)
    if (hour, dom, month, dow) == ("*", "*", "*", "*"):
        if minute == "*":
            return "every minute"
        if minute.startswith("*/") and minute[2:].isdigit():
            return f"every {int(minute[2:])} minutes"
        if minute.isdigit():
            return f"every hour at :{int(minute):02d}"
    if at and (dom, month) == ("*", "*"):
        if dow == "*":
            return f"every day at {at} {timezone}"
        if dow.isdigit() and int(dow) % 7 < 7:
            return f"every {DAYS[int(dow) % 7]} at {at} {timezone}"
        if dow in ("1-5", "MON-FRI", "mon-fri"):
            return f"every weekday at {at} {timezone}"
    if at and dom.isdigit() and (month, dow) == ("*", "*"):
        return f"day {int(dom)} of every month at {at} {timezone}"
    return f"cron {expression} {timezone}"


def span(seconds: float) -> str:
    """A length of time, rounded to what a reader needs: 45 s, 12 min, 3 h, 2 d."""
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def relative(when: str | None, now: dt.datetime) -> str:
    """An ISO time as "in 3 h" or "5 min ago" from `now`; "" for none."""
    if not when:
        return ""
    delta = (dt.datetime.fromisoformat(when) - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def clock(when: str | None) -> str:
    """An ISO time as `2026-12-05 23:14:34 UTC` (the page says every time in UTC)."""
    if not when:
        return ""
    value = dt.datetime.fromisoformat(when).astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def size(n: float | None) -> str:
    """Bytes as B, KiB, MiB, GiB."""
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def count(n: float | None) -> str:
    """A row count with thousands separators."""
    return "" if n is None else f"{n:,.0f}"


def between(start: str, end: str) -> float:
    """Seconds from one ISO time to another."""
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
