"""target-jsonl writes each record minified with every number as its input line spells it
(`1.50`, `1E5`, `-0`, `1E400`, 17+ digits: in a document and in a column alike) and every
string as JSON defines it, as target-duckdb stores a JSON document."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "x": {"type": ["null", "number"]},
            "doc": {"type": ["null", "object", "array"]},
        }
    },
    "key_properties": ["id"],
}
# (the record as the source writes it, as target-jsonl writes it)
RECORDS = [
    ('{"id":1,"x":1.50,"doc":{"amount":1.50}}', '{"id":1,"x":1.50,"doc":{"amount":1.50}}'),
    ('{"id":2,"x":1E5,"doc":[1e5, -0, -0.0, 2.0E0]}', '{"id":2,"x":1E5,"doc":[1e5,-0,-0.0,2.0E0]}'),
    ('{"id":3,"x":1E400,"doc":{"n":{"m":[0.000001,12345678901234567]}}}',
     '{"id":3,"x":1E400,"doc":{"n":{"m":[0.000001,12345678901234567]}}}'),
    ('{"id":4,"x":0.1,"doc":{"s":"\\u00e9 \\/ \\u001f 😀","d":"1.50"}}',
     '{"id":4,"x":0.1,"doc":{"s":"é / \\u001f 😀","d":"1.50"}}'),
    ('{"id":5,"x":null,"doc":{"t":"10:00:00.500000","v":1.0}}',
     '{"id":5,"x":null,"doc":{"t":"10:00:00.500000","v":1.0}}'),
]  # fmt: skip


def test_records_are_written_as_the_source_spelled_their_numbers(bin_path: Path, tmp_path: Path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"destination_path": str(tmp_path / "out")}))
    lines = [json.dumps(SCHEMA)]
    lines += [f'{{"type":"RECORD","stream":"t","record":{r}}}' for r, _ in RECORDS]
    lines.append('{"type":"STATE","value":{"n":1}}')
    done = subprocess.run(
        [str(bin_path / "target-jsonl"), "--config", str(cfg)],
        input=("\n".join(lines) + "\n").encode(),
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "out" / "t.jsonl").read_text(encoding="utf-8").splitlines()
    assert written == [w for _, w in RECORDS]
