"""Cron expressions as cron and Kubernetes read them: five fields (minute, hour, day of month,
month, day of week) or a macro (@hourly ...), each value inside its field's range.

Checked when tapwell.yml is loaded, so `schedule: "61 * * * *"` fails there with one line
instead of in crontab or at `kubectl apply`. Imports nothing of tapwell but its errors, so the
project loader and `tapwell schedule` can both use it.
"""

from __future__ import annotations

import re
from typing import Any

from tapwell.singer.errors import ConfigError

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# name, lowest, highest, names for 1.. (months) or 0.. (days of week)
FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),  # 0 is Sunday (Kubernetes refuses the 7 some crons take)
)

_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def check_cron(expression: str, where: str = "schedule") -> None:
    """Raise ConfigError naming `where`, the field and the allowed range unless `expression`
    is a cron expression every value of which is in range."""
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise ConfigError(
                f"{where} {text!r} is not a cron macro: use one of {', '.join(MACROS)} "
                "or five fields, e.g. '15 2 * * *'"
            )
        return
    fields = text.split()
    if len(fields) != 5:
        raise ConfigError(
            f"{where} {text!r} has {len(fields)} field(s): a cron expression has five "
            "(minute hour day-of-month month day-of-week), e.g. '15 2 * * *'"
        )
    for value, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        for item in value.split(","):
            problem = _item_problem(item.lower(), low, high, names)
            if problem:
                raise ConfigError(
                    f"{where} {text!r}: {name} {item!r} {problem}; the {name} takes "
                    f"{low}-{high}{' or names (' + names[0] + ')' if names else ''}, *, "
                    "lists (1,5), ranges (1-5) and steps (*/15)"
                )


def timezone_of(integration: dict[str, Any] | None) -> str:
    """The time zone an integration's schedule is read in: its `timezone:`, else UTC. The one
    place of that rule: `tapwell serve` (its scheduler and pages), the crontab and the CronJobs
    of `tapwell schedule` all read it here."""
    return str((integration or {}).get("timezone") or "UTC")


def cron_of(integration: dict[str, Any] | None) -> tuple[str, str] | None:
    """(cron expression, time zone) of an integration's `schedule:`; None without one."""
    schedule = (integration or {}).get("schedule")
    return (str(schedule).strip(), timezone_of(integration)) if schedule else None


def check_schedules(raw: dict[str, Any], source: str = "tapwell.yml") -> None:
    """Check the `schedule:` of every integration of a project file's mapping `raw`."""
    for name, integration in (raw.get("integrations") or {}).items():
        if isinstance(integration, dict) and integration.get("schedule"):
            check_cron(str(integration["schedule"]), f"{source}: integrations.{name}.schedule")


def _item_problem(item: str, low: int, high: int, names: list[str]) -> str:
    """Why one comma-separated item of a field is wrong, or '' when it is right."""
    match = _ITEM.match(item)
    if not match:
        return "is not a number, range or step"
    if match.group("step") is not None and int(match.group("step")) == 0:
        return "has a step of 0"
    if match.group("range") == "*":
        return ""
    bounds = [_number(part, low, names) for part in match.group("range").split("-")]
    if any(b is None for b in bounds):
        return "is not a number" + (" or a name" if names else "")
    numbers = [b for b in bounds if b is not None]
    if any(not low <= n <= high for n in numbers):
        return "is out of range"
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        return "is a range that runs backwards"
    return ""


def _number(part: str, low: int, names: list[str]) -> int | None:
    if part.isdigit():
        return int(part)
    if part in names:
        return names.index(part) + low
    return None
