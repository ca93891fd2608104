"""Writes the sample data set (customers, orders, order_items) under sample/data/.

Deterministic: a fixed seed and fixed dates, so the committed CSVs are reproducible byte for byte
(`python sample/generate.py` and `git diff --exit-code sample/data` shows nothing). The data is
made to trip loaders up: nulls, empty strings that are not null, unicode and emoji, tabs,
newlines and quotes inside values, decimals that a float would round, timestamps with offsets.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

SEED = 20261121
OUT = Path(__file__).parent / "data"
START = datetime(2024, 1, 1, tzinfo=UTC)

FIRST = [
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "François",
    "Grzegorz",
    "Hana",
    "Ígor",
    "José",
    "Kwame",
    "Łucja",
    "Mårten",
    "Nnamdi",
    "Oğuz",
    "Priya",
    "Qiu",
    "Renée",
    "Søren",
    "Thảo",
]
LAST = [
    "O'Brien",
    "Müller",
    "García",
    "Nguyễn",
    "Żółć",
    "Smith",
    "Доброва",
    "李",
    "Ōkubo",
    "Van der Berg",
]
COUNTRIES = ["DE", "FR", "US", "VN", "PL", "JP", "BR", "NG", "IN", "SE"]
NOTES = [
    "",
    "VIP 🌟",
    "call before delivery\nring twice",
    "tab\tseparated",
    'says "hello"',
    "back\\slash",
    "multi\r\nline",
    "emoji 😀🎉",
    "  leading and trailing  ",
    "日本語のメモ",
]
STATUSES = ["new", "paid", "shipped", "delivered", "cancelled"]


def iso(ts: datetime) -> str:
    return ts.isoformat()


def customers(rng: random.Random, n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(1, n + 1):
        created = START + timedelta(
            minutes=rng.randrange(0, 60 * 24 * 300), microseconds=rng.randrange(0, 10**6)
        )
        tz = timezone(timedelta(hours=rng.choice([0, 1, 2, -5, 9, 5.5])))
        rows.append(
            {
                "id": i,
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "email": f"customer{i}@example.com",
                "country": rng.choice(COUNTRIES),
                "note": rng.choice(NOTES),
                "credit_limit": ""
                if rng.random() < 0.1
                else str(Decimal(rng.randrange(0, 10**9)) / 100),
                "is_active": rng.choice(["true", "false"]),
                "birth_date": ""
                if rng.random() < 0.2
                else str((START - timedelta(days=rng.randrange(7000, 30000))).date()),
                "created_at": iso(created.astimezone(tz)),
                "updated_at": iso(created + timedelta(hours=rng.randrange(0, 500))),
            }
        )
    return rows


def orders(rng: random.Random, n: int, n_customers: int) -> list[dict[str, object]]:
    rows = []
    for i in range(1, n + 1):
        created = START + timedelta(
            seconds=rng.randrange(0, 3600 * 24 * 300), microseconds=rng.randrange(0, 10**6)
        )
        rows.append(
            {
                "id": i,
                "customer_id": rng.randrange(1, n_customers + 1),
                "status": rng.choice(STATUSES),
                "amount": str(Decimal(rng.randrange(1, 10**8)) / 100),
                "discount": ""
                if rng.random() < 0.3
                else str(Decimal(rng.randrange(0, 10**6)) / 10**4),
                "exchange_rate": str(Decimal(rng.randrange(10**17, 10**18)) / 10**16),
                "ordered_on": str(created.date()),
                "created_at": iso(created),
                "updated_at": iso(created + timedelta(minutes=rng.randrange(0, 10_000))),
            }
        )
    return rows


def order_items(rng: random.Random, n_orders: int) -> list[dict[str, object]]:
    rows = []
    item_id = 0
    for order_id in range(1, n_orders + 1):
        for _ in range(rng.randrange(1, 5)):
            item_id += 1
            rows.append(
                {
                    "id": item_id,
                    "order_id": order_id,
                    "sku": f"SKU-{rng.randrange(1, 500):04d}",
                    "quantity": rng.randrange(1, 20),
                    "unit_price": str(Decimal(rng.randrange(1, 10**7)) / 1000),
                    "updated_at": iso(START + timedelta(seconds=rng.randrange(0, 3600 * 24 * 300))),
                }
            )
    return rows


def write(name: str, rows: list[dict[str, object]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    write("customers", customers(rng, 500))
    write("orders", orders(rng, 1500, 500))
    write("order_items", order_items(rng, 1500))


if __name__ == "__main__":
    main()
