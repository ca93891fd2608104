"""tap-csv's object and array columns take only documents of that kind (audit, 2026-12-06, issue
21). Before: any JSON document passed, so `[1,2]` in a column declared {"type": ["null",
"object"]} went out in a RECORD that broke the tap's own SCHEMA: target-duckdb refused it (exit
65, after the rows before it), singer-sdk targets failed with a jsonschema traceback, and the
csv BATCH lane loaded it: the two lanes gave different tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


def tap(tmp_path: Path, text: str, kind: list[str], lane: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    stream = {"name": "s", "path": "a.csv", "column_types": {"doc": {"type": kind}}}
    config: dict[str, Any] = {"base_dir": str(tmp_path), "streams": [stream]}
    if lane:
        spool = tmp_path / "spool"
        spool.mkdir(exist_ok=True)
        config["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{spool}"},
        }
    path = tmp_path / "tap.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "tap-csv"), "--config", str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("lane", [False, True], ids=["records", "csv-lane"])
@pytest.mark.parametrize(
    ("kind", "text", "problem"),
    [
        (["null", "object"], '"[1, 2]"', "'[1, 2]' is an array, not an object"),
        (["null", "array"], "5", "'5' is an integer, not an array"),
        (["null", "array"], '"{""a"": 1}"', """'{"a": 1}' is an object, not an array"""),
        (["null", "object"], '"""s"""', """'"s"' is a string, not an object"""),
        (["null", "object", "array"], "true", "'true' is a boolean, not an array or an object"),
    ],
    ids=["array-as-object", "number-as-array", "object-as-array", "string", "boolean"],
)
def test_a_document_of_another_kind_is_one_line_and_exit_65(
    tmp_path: Path, lane: bool, kind: list[str], text: str, problem: str
) -> None:
    proc = tap(tmp_path, f"id,doc\n1,\n2,{text}\n", kind, lane)
    assert proc.returncode == 65, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"a.csv line 3, stream 's', column 'doc': {problem}: fix the file" in errors[0]
    kinds = {json.loads(line)["type"] for line in proc.stdout.splitlines()}
    assert not kinds & {"RECORD", "BATCH"}, proc.stdout  # the chunk holding it is not sent


@pytest.mark.parametrize("lane", [False, True], ids=["records", "csv-lane"])
def test_documents_of_the_kinds_named_pass_as_written(tmp_path: Path, lane: bool) -> None:
    text = 'id,doc\n1,"{""a"": 1.50}"\n2,"[1.0, ""😀""]"\n3,null\n4,\n'
    proc = tap(tmp_path, text, ["null", "object", "array"], lane)
    assert proc.returncode == 0, proc.stderr
    if not lane:
        records = [
            json.loads(line)["record"]
            for line in proc.stdout.splitlines()
            if '"RECORD"' in line[:20]
        ]
        assert [r["doc"] for r in records] == [{"a": 1.5}, [1.0, "😀"], None, None]
        assert '{"a": 1.50}' in proc.stdout and '[1.0, "😀"]' in proc.stdout  # as written
