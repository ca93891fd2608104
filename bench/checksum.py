"""The correctness check: row count, sum of amount, count of NULL notes and max(updated_at),
normalized so the source's and any destination's values compare exactly (no float, UTC)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Checksum:
    rows: int
    sum_amount: str
    null_notes: int | None
    max_updated_at: str | None

    @classmethod
    def of(cls, rows: Any, amount: Any, nulls: Any, updated: Any) -> Checksum:
        return cls(
            rows=int(rows or 0),
            sum_amount=_decimal(amount),
            null_notes=None if nulls is None else int(nulls),
            max_updated_at=_utc(updated),
        )

    def differences(self, other: Checksum) -> list[str]:
        """What differs, as `field: source X, destination Y`; empty when they match."""
        mine, theirs = asdict(self), asdict(other)
        return [
            f"{k}: source {mine[k]}, destination {theirs[k]}" for k in mine if mine[k] != theirs[k]
        ]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decimal(value: Any) -> str:
    if value is None:
        return "0.00"
    # A destination that stored amount as a float: its exact 2-place value.
    if isinstance(value, float):
        value = Decimal(repr(value))
    return str(Decimal(value).quantize(Decimal("0.01")))


def _utc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    return str(value)
