"""The embedded series' data: orders-like records as a Singer stream (for the targets) and as a
CSV file (for the taps), written once per row count under bench/data/embedded/.

Deterministic from the row number, like the server-side generator (bench/variants.py), with the
values that trip loaders up: exact decimals, NULL and '' notes, every control character, emoji,
timestamps with offsets and microseconds, JSON documents.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tapwell.singer.wire import dumps

ROOT = Path(__file__).parent / "data" / "embedded"
STREAM = "orders"
START = datetime(2020, 1, 1, tzinfo=UTC)
CONTROLS = "".join(chr(c) for c in range(1, 32)) + "\x7f"
NULL = "\\N"  # the CSV's null marker (tap-csv's null_values, DuckDB's nullstr)
STATUSES = ("new", "paid", "shipped", "cancelled", "refunded")

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": ["null", "integer"]},
        "status": {"type": ["null", "string"]},
        "amount": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10000000000},
        "note": {"type": ["null", "string"]},
        "created_at": {"type": ["null", "string"], "format": "date-time"},
        "updated_at": {"type": ["null", "string"], "format": "date-time"},
        "is_paid": {"type": ["null", "boolean"]},
        "payload": {"type": ["null", "object"]},
    },
}
# The CSV's column types for tap-csv (`column_types`); the rest are inferred from the header.
CSV_TYPES = {
    "id": {"type": "integer"},
    "customer_id": {"type": ["null", "integer"]},
    "amount": SCHEMA["properties"]["amount"],
    "created_at": {"type": ["null", "string"], "format": "date-time"},
    "updated_at": {"type": ["null", "string"], "format": "date-time"},
    "is_paid": {"type": ["null", "boolean"]},
}


def note(seq: int) -> str | None:
    if seq % 10 == 3:
        return None
    if seq % 10 == 5:
        return ""
    if seq % 1000 == 7:
        return f'edge {seq}: {CONTROLS} back\\slash "quote" emoji \U0001f600 accent \u00f1'
    return f"order {seq} note: customer {(seq * 7919) % 100000 + 1} asked for delivery before noon"


def row(seq: int) -> dict[str, object]:
    created = START + timedelta(seconds=seq * 31, microseconds=(seq * 7) % 1_000_000)
    updated = created + timedelta(seconds=seq % 100000)
    offset = "+02:00" if seq % 4 == 1 else "+00:00"
    updated_text = (
        (updated + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f") + offset
        if offset == "+02:00"
        else updated.strftime("%Y-%m-%dT%H:%M:%S.%f") + offset
    )
    return {
        "id": seq,
        "customer_id": (seq * 7919) % 100000 + 1,
        "status": STATUSES[seq % 5],
        "amount": Decimal((seq * 104729) % 10000000) / 100,
        "note": note(seq),
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00",
        "updated_at": updated_text,
        "is_paid": seq % 3 == 0,
        "payload": {"sku": f"SKU-{seq % 5000}", "qty": seq % 7 + 1, "tags": ["t", seq % 13]},
    }


@dataclass(frozen=True)
class Expected:
    """What every exact load of `rows` records holds (the check after each run)."""

    rows: int
    sum_amount: Decimal
    null_notes: int
    empty_notes: int
    max_updated_at: datetime


def expected(rows: int) -> Expected:
    total = sum(Decimal((s * 104729) % 10000000) for s in range(1, rows + 1)) / 100
    last = max(
        START
        + timedelta(seconds=s * 31, microseconds=(s * 7) % 1_000_000)
        + timedelta(seconds=s % 100000)
        for s in range(max(1, rows - 100_001), rows + 1)
    )
    nulls = sum(1 for s in range(1, rows + 1) if s % 10 == 3)
    empties = sum(1 for s in range(1, rows + 1) if s % 10 == 5)
    return Expected(rows, total, nulls, empties, last)


def singer_file(rows: int) -> Path:
    """The Singer stream of `rows` records (SCHEMA, RECORDs, a STATE every 100,000 and at the end)."""
    path = ROOT / f"orders-{rows}.singer"
    if path.exists():
        return path
    ROOT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(
            json.dumps(
                {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}
            )
            + "\n"
        )
        for seq in range(1, rows + 1):
            f.write(dumps({"type": "RECORD", "stream": STREAM, "record": row(seq)}).decode() + "\n")
            if seq % 100_000 == 0 or seq == rows:
                f.write(
                    json.dumps({"type": "STATE", "value": {"bookmarks": {STREAM: {"id": seq}}}})
                    + "\n"
                )
    tmp.rename(path)
    return path


def csv_file(rows: int) -> Path:
    """The same records as a CSV file (payload as its JSON text, booleans as true/false)."""
    path = ROOT / f"orders-{rows}.csv"
    if path.exists():
        return path
    ROOT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(SCHEMA["properties"]))
        for seq in range(1, rows + 1):
            r = row(seq)
            r["payload"] = json.dumps(r["payload"], separators=(",", ":"))
            r["is_paid"] = "true" if r["is_paid"] else "false"
            w.writerow([NULL if v is None else v for v in r.values()])
    tmp.rename(path)
    return path
