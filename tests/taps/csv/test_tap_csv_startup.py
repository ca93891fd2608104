"""tap-csv's start-up: a valid config with column_types (the bench's, the usual shape) is vouched
for without jsonschema, whose import is about 0.1 s of CPU, a tenth of a 300,000-row sync; and
the fast check's verdicts on column types stay jsonschema's (it vouches for no config jsonschema
refuses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tapwell.sdk.tap_cli import plainly_valid
from tapwell.taps.csv.config import STREAM_SCHEMA

STREAMS = {"type": "array", "items": STREAM_SCHEMA}


def _sync_imports_jsonschema(tmp_path: Path, stream: dict[str, Any]) -> bool:
    (tmp_path / "t.csv").write_text("id,amount,at\n1,1.50,2020-01-01T00:00:00+00:00\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"streams": [{"path": str(tmp_path / "t.csv"), **stream}]}))
    code = (
        "import sys\n"
        "from tapwell.taps.csv.cli import main\n"
        "sys.argv = ['tap-csv', '--config', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('jsonschema' in sys.modules, file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True
    )
    assert '"type":"RECORD"' in run.stdout, run.stderr
    return run.stderr.splitlines()[-1] == "True"


def test_a_sync_with_column_types_does_not_import_jsonschema(tmp_path: Path) -> None:
    stream = {
        "name": "t",
        "key_properties": ["id"],
        "null_values": ["\\N"],
        "column_types": {
            "id": {"type": "integer"},
            "amount": {"type": ["null", "number"], "multipleOf": 0.01},
            "at": {"type": ["null", "string"], "format": "date-time"},
        },
    }
    assert not _sync_imports_jsonschema(tmp_path, stream)


TYPES = [
    "integer", ["null", "integer"], "integr", ["null", "integr"], "string ", " string", "string\n",
    "STRING", "", [], ["null"], 5, [5], None, {"type": "integer"}, "null|integer", "^integer$",
]  # fmt: skip


@pytest.mark.parametrize("kind", TYPES, ids=repr)
def test_column_types_are_vouched_for_only_when_jsonschema_agrees(kind: Any) -> None:
    """A column's type name (or list of names) is vouched for exactly when jsonschema finds
    nothing wrong with it: the same verdict, so the fast check never lets a typo through."""
    for where in ("column_types", "schema"):
        entry: dict[str, Any] = {"name": "s", "path": "x.csv"}
        props = {"c": {"type": kind}}
        entry[where] = props if where == "column_types" else {"properties": props}
        errors = list(jsonschema.Draft7Validator(STREAMS).iter_errors([entry]))
        assert plainly_valid(STREAMS, [entry]) == (not errors), (where, errors)


def test_a_sync_imports_no_module_it_does_not_use(tmp_path: Path) -> None:
    """logging (no line is logged), difflib (no key is misspelled), gzip (no gzip lane) and hashlib
    (no code is generated) are imported where they are used, not at start-up: about 10 ms of CPU
    together, a fiftieth of a 300,000-row sync; and importing the tap leaves the garbage
    collector as it found it (off while its modules are imported)."""
    (tmp_path / "t.csv").write_text("id,at\n1,2020-01-01T00:00:00+00:00\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"streams": [{"name": "t", "path": str(tmp_path / "t.csv")}]}))
    code = (
        "import gc, sys\n"
        "from tapwell.taps.csv.cli import main\n"
        "print(gc.isenabled(), file=sys.stderr)\n"
        "sys.argv = ['tap-csv', '--config', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(*sorted({'logging', 'difflib', 'gzip', 'hashlib'} & set(sys.modules)), file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True
    )
    assert '"type":"RECORD"' in run.stdout, run.stderr
    assert run.stderr.splitlines()[0] == "True"
    assert run.stderr.splitlines()[-1] == ""


def test_at_exit_the_objects_are_frozen_so_the_last_collections_skip_them(tmp_path: Path) -> None:
    """The interpreter's collections at exit went over every object the tap made (0.02 s of CPU,
    against bare Python's 0.005): the tap freezes them first (gc.freeze), and its output is
    whole all the same."""
    (tmp_path / "t.csv").write_text("id,at\n1,2020-01-01T00:00:00+00:00\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"streams": [{"name": "t", "path": str(tmp_path / "t.csv")}]}))
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "from tapwell.taps.csv.cli import main\n"
        "sys.argv = ['tap-csv', '--config', sys.argv[1]]\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True
    )
    assert run.stdout.count('"type":"RECORD"') == 1, run.stderr
    assert run.stdout.endswith('"initial_full_table_complete":true}}}}\n'), run.stdout[-200:]
    assert run.stderr.splitlines()[-1] == "frozen True"
