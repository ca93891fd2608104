"""Edge values for a union with number (`["null", "string", "number"]` and kin), as JSON texts,
and what a text column holds for each: a number its source's text, a string itself, a boolean
`true`/`false`, null NULL. Shared by target-duckdb's and target-postgres's union tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NUMBERS = [
    "1e400", "-0", "0.10", "1E+3", "123456789012345678901234567890.5", "10000000000000000000000",
    "1.50", "0.1", "0.30000000000000004", "-0.0", "0.00001", "1e-7", "7", "-2.50E+3",
]  # fmt: skip
STRINGS = ['""', '"😀 x"', '"1.50"', '"0.10"', '"tab\\tnew\\nline"']
PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "sn": {"type": ["null", "string", "number"]},
    "si": {"type": ["string", "integer", "null"]},
    "nb": {"type": ["number", "boolean", "null"]},
    "ao": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
}


def cases() -> list[tuple[int, str, str]]:
    """(id, property, the value's JSON text), one value a record."""
    out: list[tuple[str, str]] = []
    for text in NUMBERS:
        out += [("sn", text), ("nb", text), ("ao", text)]
        if "." not in text and "e" not in text.lower():
            out.append(("si", text))
    for text in STRINGS:
        out += [("sn", text), ("si", text), ("ao", text)]
    out += [("nb", "true"), ("nb", "false"), ("sn", "null"), ("ao", "null")]
    return [(i, p, t) for i, (p, t) in enumerate(out, 1)]


def expected(text: str) -> str | None:
    """What a text column holds for a value's JSON text."""
    value = json.loads(text)
    if value is None or isinstance(value, str):
        return value
    return text  # a number's own text, `true`/`false`


def record_lines(stream: str = "u") -> list[str]:
    """RECORD lines, each value spelled as `cases` spells it."""
    return [
        f'{{"type":"RECORD","stream":"{stream}","record":{{"id":{i},"{p}":{t}}}}}'
        for i, p, t in cases()
    ]


def jsonl_file(path: Path) -> None:
    path.write_text("".join(f'{{"id":{i},"{p}":{t}}}\n' for i, p, t in cases()))


def csv_file(path: Path) -> None:
    rows = ["id,sn,si,nb,ao"]
    for i, p, t in cases():
        value = json.loads(t)
        field = (
            ""
            if value is None
            else '"' + value.replace('"', '""') + '"'
            if isinstance(value, str)
            else t
        )
        rows.append(
            ",".join([str(i)] + [field if c == p else "" for c in ("sn", "si", "nb", "ao")])
        )
    path.write_text("\n".join(rows) + "\n")


def batch(stream: str, path: Path, fmt: str) -> str:
    return json.dumps(
        {
            "type": "BATCH",
            "stream": stream,
            "encoding": {"format": fmt, "compression": "none"},
            "manifest": [path.as_uri()],
        }
    )


def want() -> list[tuple[int, str | None, str | None, str | None, str | None]]:
    """Every row as the table should hold it, by id: (id, sn, si, nb, ao)."""
    rows = []
    for i, p, t in cases():
        row = {c: None for c in ("sn", "si", "nb", "ao")}
        row[p] = expected(t)
        rows.append((i, row["sn"], row["si"], row["nb"], row["ao"]))
    return rows
