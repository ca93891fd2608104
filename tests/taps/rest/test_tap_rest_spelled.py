"""tap-rest keeps every number of an API body as the API spelled it (`1.50`, `1E5`, `-0`,
`0.1000000000000000055511`, a document's numbers too), on every path: the records (checked byte
for byte in target-jsonl's file and in target-duckdb's JSON column), a numeric cursor sent back
as written, and the bookmark, compared by value and written as sent. Before, bodies were read
with `loads`: 1E5 came out as 100000.0, -0 as 0, 1.50 as 1.5."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from helpers.duckdb_target import query
from helpers.rest_server import RestServer

# The API's records as it writes them (blanks and all), and each as a target keeps it: minified.
RECORDS = [
    '{"id": 1, "price": 1.50, "big": 1E5, "neg": -0, "exact": 0.1000000000000000055511,'
    ' "doc": {"x": [1.50, 2E-3, -0.0, 1e400]}, "seq": 1.50}',
    '{"id": 2, "price": 2.5, "big": 3e+2, "neg": 7, "exact": 0.1,'
    ' "doc": {"x": [0.000001]}, "seq": 1E1}',
    '{"id": 3, "price": 100.0, "big": 5, "neg": -0, "exact": 1.000,'
    ' "doc": {"x": []}, "seq": 9.990}',
]


def _minified(text: str) -> str:
    out, quoted = [], False
    for c in text:
        quoted ^= c == '"'
        if quoted or c != " ":
            out.append(c)
    return "".join(out)


def _serve(srv: RestServer) -> None:
    """Two pages: the first with records 1 and 2 and the cursor 1E5 (a number), the second,
    asked for with cursor=1E5, with record 3 and no cursor."""
    srv.api.spelled[""] = b'{"data": [' + ", ".join(RECORDS[:2]).encode() + b'], "next": 1E5}'
    srv.api.spelled["1E5"] = b'{"data": [' + RECORDS[2].encode() + b'], "next": null}'


def _config(tmp_path: Path, srv: RestServer) -> Path:
    stream = {
        "name": "prices",
        "path": "/spelled",
        "records_path": "$.data[*]",
        "primary_key": ["id"],
        "replication_key": "seq",
        "client_filter": True,
        "paginator": {"type": "cursor", "cursor_path": "$.next", "param": "cursor"},
    }
    path = tmp_path / "tap.json"
    path.write_text(json.dumps({"base_url": srv.url, "streams": [stream]}))
    return path


def _pipe(
    bin_path: Path, tmp_path: Path, target: str, config: dict[str, Any], *args: str
) -> tuple[bytes, str]:
    """tap-rest (inferring its schema, no catalog) | `target`: (the tap's output, the target's
    last STATE line)."""
    with RestServer() as srv:
        _serve(srv)
        tap = subprocess.run(
            [str(bin_path / "tap-rest"), "--config", str(_config(tmp_path, srv)), *args],
            capture_output=True,
            timeout=120,
        )
        assert tap.returncode == 0, tap.stderr.decode()
        cursors = [r.raw_query for r in srv.api.requests("/spelled")]
    assert "cursor=1E5" in cursors, cursors  # sent back as the API wrote it
    (tmp_path / f"{target}.json").write_text(json.dumps(config))
    done = subprocess.run(
        [str(bin_path / target), "--config", str(tmp_path / f"{target}.json")],
        input=tap.stdout,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return tap.stdout, done.stdout.decode().strip().splitlines()[-1]


def test_every_number_keeps_its_spelling_into_target_jsonl(bin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _pipe(bin_path, tmp_path, "target-jsonl", {"destination_path": str(out)})
    written = (out / "prices.jsonl").read_text().splitlines()
    assert written == [_minified(r) for r in RECORDS]


def test_a_document_keeps_its_numbers_in_target_duckdb(bin_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _pipe(bin_path, tmp_path, "target-duckdb", {"path": str(db)})
    docs = query(db, "SELECT doc::VARCHAR, exact::VARCHAR FROM prices ORDER BY id")
    assert docs == [
        ('{"x":[1.50,2E-3,-0.0,1e400]}', "0.1000000000000000055511"),
        ('{"x":[0.000001]}', "0.1000000000000000000000"),
        ('{"x":[]}', "1.0000000000000000000000"),
    ]


def test_the_bookmark_is_the_greatest_by_value_written_as_sent(
    bin_path: Path, tmp_path: Path
) -> None:
    """1E1 is above 9.990 and 1.50; the next run starts from it (as the target saved it) and
    skips the records below."""
    out = tmp_path / "out"
    sent, state = _pipe(bin_path, tmp_path, "target-jsonl", {"destination_path": str(out)})
    assert b'"replication_key_value":1E1}' in sent.splitlines()[-1]
    (tmp_path / "state.json").write_text(state)
    (out / "prices.jsonl").unlink()
    again = ["--state", str(tmp_path / "state.json")]
    _pipe(bin_path, tmp_path, "target-jsonl", {"destination_path": str(out)}, *again)
    assert (out / "prices.jsonl").read_text().splitlines() == [_minified(RECORDS[1])]
