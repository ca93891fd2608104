"""A tiny run of the nested-documents bench (200 documents, target-duckdb json and tables), so
`make bench-nested` cannot rot: both loads finish with every parent, and tables mode writes the
child rows too. No timing is asserted; figures belong to `make bench-nested`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import nested  # noqa: E402


def test_the_nested_bench_loads_every_parent(capsys, tmp_path):  # type: ignore[no-untyped-def]
    tools = "tapwell-duckdb-json,tapwell-duckdb-tables"
    assert nested.main(["--rows", "200", "--tools", tools, "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    json_line = next(x for x in out.splitlines() if x.startswith("tapwell-duckdb-json"))
    tables_line = next(x for x in out.splitlines() if x.startswith("tapwell-duckdb-tables"))
    assert json_line.split()[-5] == "200" and json_line.split()[-3] == "1"  # rows, tables
    assert json_line.endswith(" MB")  # peak RSS
    expected = sum(
        1 + len(d["items"]) + len(d["tags"]) for d in map(nested.document, range(1, 201))
    )
    expected += sum(
        len(i.get("discounts", [])) for n in range(1, 201) for i in nested.document(n)["items"]
    )
    assert tables_line.split()[-5] == f"{expected:,}" and tables_line.split()[-3] == "4"
    assert "duckdb: tables/json parent rate " in out
