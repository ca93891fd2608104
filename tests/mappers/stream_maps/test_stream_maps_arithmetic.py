"""An expression's sum, difference or product of decimals is exact, however many digits the
values have: Python's decimal context keeps 28 significant digits, so `d + 1` on a DECIMAL(65,30)
value (or a product past 28 digits) came out rounded (1.234567890123456789012345679E+34), a value
the source never had. A result that no number of digits holds exactly (a division like `x / 3`)
keeps the 28 digits it had."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tapwell.singer.wire import loads_spelled

BIN = Path(sys.executable).parent
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "d": {"type": ["null", "number"]}},
    },
    "key_properties": ["id"],
}
D65 = "12345678901234567890123456789012345.123456789012345678901234567891"


def _map(tmp_path: Path, maps: dict[str, str], d: str) -> dict[str, Any]:
    cfg = tmp_path / "maps.json"
    cfg.write_text(json.dumps({"stream_maps": {"t": maps}}))
    line = '{"type":"RECORD","stream":"t","record":{"id":1,"d":' + d + "}}"
    proc = subprocess.run(
        [str(BIN / "mapper-stream-maps"), "--config", str(cfg)],
        input=(json.dumps(SCHEMA) + "\n" + line + "\n").encode(),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = [loads_spelled(x) for x in proc.stdout.decode().splitlines()]
    return next(m["record"] for m in out if m["type"] == "RECORD")


def test_sum_and_product_keep_every_digit(tmp_path: Path) -> None:
    rec = _map(tmp_path, {"plus": "d + 1", "minus": "d - d", "twice": "d * 2"}, D65)
    assert str(rec["plus"]) == "12345678901234567890123456789012346.123456789012345678901234567891"
    assert str(rec["minus"]) == "0E-30"
    assert str(rec["twice"]) == "24691357802469135780246913578024690.246913578024691357802469135782"


def test_product_of_two_wide_values(tmp_path: Path) -> None:
    rec = _map(tmp_path, {"sq": "d * d"}, "99999999999999999999.99")
    assert str(rec["sq"]) == "9999999999999999999998000000000000000000.0001"


def test_an_inexact_division_keeps_28_digits(tmp_path: Path) -> None:
    rec = _map(tmp_path, {"third": "d / 3", "half": "d / 2"}, "1.00")
    assert str(rec["third"]) == "0.3333333333333333333333333333"
    assert str(rec["half"]) == "0.50"
