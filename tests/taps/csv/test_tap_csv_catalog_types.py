"""tap-csv syncs by the catalog it is given: a property whose type the user changed in the catalog
is converted (and refused) by that type, on every lane, so the SCHEMA it prints and its records
agree; a property taken out of the catalog's schema, or deselected in its metadata, is not sent.
A singer-sdk target, which validates each record against the SCHEMA, reads the output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tapwell.singer.wire import loads

SDK_TARGET = [
    sys.executable,
    str(Path(__file__).resolve().parents[2] / "runner" / "sdk_connectors.py"),
    "target",
]

ROWS = (
    "id,code,amount,name,at,flag\n"
    "1,12,1.50,alpha,2024-01-31T10:00:00.123456Z,true\n"
    '2,007,2.25,"é🎉 ""q""",2024-02-01T00:00:00Z,false\n'
    "3,9,-3.00,,2024-02-02 23:59:59.000001+02:00,\n"
)


def _write(tmp_path: Path, rows: str = ROWS, **settings: Any) -> Path:
    (tmp_path / "t.csv").write_text(rows, encoding="utf-8")
    stream = {"name": "t", "path": str(tmp_path / "t.csv"), "key_properties": ["id"]}
    config = {"streams": [stream], **settings}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    return path


def _discover(bin_path: Path, config: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(config), "--discover"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def _edited(
    catalog: dict[str, Any],
    types: dict[str, Any],
    *,
    removed: tuple[str, ...] = (),
    deselected: tuple[str, ...] = (),
) -> dict[str, Any]:
    entry = catalog["streams"][0]
    for item in entry["metadata"]:
        crumb = item["breadcrumb"]
        if not crumb:
            item["metadata"]["selected"] = True
        elif crumb[1] in deselected:
            item["metadata"]["selected"] = False
    props = entry["schema"]["properties"]
    props.update(types)
    for name in removed:
        del props[name]
    return catalog


def _sync(
    bin_path: Path, tmp_path: Path, config: Path, catalog: dict[str, Any], lane: str = "records"
) -> subprocess.CompletedProcess[bytes]:
    if lane == "csv":
        spool = tmp_path / "spool"
        spool.mkdir(exist_ok=True)
        cfg = json.loads(config.read_text())
        cfg["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": spool.as_uri()},
        }
        config = tmp_path / "c-csv.json"
        config.write_text(json.dumps(cfg))
    (tmp_path / "edited.json").write_text(json.dumps(catalog))
    return subprocess.run(
        [
            str(bin_path / "tap-csv"),
            "--config",
            str(config),
            "--catalog",
            str(tmp_path / "edited.json"),
        ],
        capture_output=True,
        timeout=60,
    )


def _messages(out: bytes) -> list[dict[str, Any]]:
    return [loads(line) for line in out.splitlines()]


def _records(out: bytes) -> list[dict[str, Any]]:
    """The records of a RECORD-lines run, or of a csv BATCH run read back as the csv lane's
    target reads them (text, '' for an empty field, None for NULL)."""
    got = []
    for msg in _messages(out):
        if msg["type"] == "RECORD":
            got.append(msg["record"])
    return got


EDITS = {
    "code": {"type": ["null", "string"]},  # discovered integer: 007 would lose its zeros
    "amount": {"type": ["null", "string"]},  # discovered DECIMAL(18,2)
    "at": {"type": ["null", "string"]},  # discovered date-time: sent as written
    "flag": {"type": ["null", "string"]},  # discovered boolean
}


def test_a_type_changed_in_the_catalog_converts_the_values_by_it(
    bin_path: Path, tmp_path: Path
) -> None:
    config = _write(tmp_path)
    catalog = _edited(_discover(bin_path, config), EDITS, removed=("name",))
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 0, run.stderr.decode()
    schema = next(m for m in _messages(run.stdout) if m["type"] == "SCHEMA")
    assert schema["schema"]["properties"] == {
        "id": {"type": ["null", "integer"]},
        **EDITS,
    }
    assert _records(run.stdout) == [
        {
            "id": 1,
            "code": "12",
            "amount": "1.50",
            "at": "2024-01-31T10:00:00.123456Z",
            "flag": "true",
        },
        {"id": 2, "code": "007", "amount": "2.25", "at": "2024-02-01T00:00:00Z", "flag": "false"},
        {
            "id": 3,
            "code": "9",
            "amount": "-3.00",
            "at": "2024-02-02 23:59:59.000001+02:00",
            "flag": "",
        },
    ]


def test_a_column_the_config_types_string_typed_integer_in_the_catalog_is_sent_as_integers(
    bin_path: Path, tmp_path: Path
) -> None:
    rows = "id,n\n1,5\n2,12345678901234567890\n3,\n4,-7\n"
    config = _write(tmp_path, rows)
    cfg = json.loads(config.read_text())
    cfg["streams"][0]["column_types"] = {"n": {"type": ["null", "string"]}}
    config.write_text(json.dumps(cfg))
    catalog = _edited(_discover(bin_path, config), {"n": {"type": ["null", "integer"]}})
    for lane in ("records", "csv"):
        run = _sync(bin_path, tmp_path, config, catalog, lane)
        assert run.returncode == 0, run.stderr.decode()
    run = _sync(bin_path, tmp_path, config, catalog)
    assert _records(run.stdout) == [
        {"id": 1, "n": 5},
        {"id": 2, "n": 12345678901234567890},
        {"id": 3, "n": None},
        {"id": 4, "n": -7},
    ]


@pytest.mark.parametrize("lane", ["records", "csv"])
def test_a_value_the_catalogs_type_cannot_hold_is_one_line_naming_the_catalog(
    bin_path: Path, tmp_path: Path, lane: str
) -> None:
    config = _write(tmp_path)
    catalog = _edited(_discover(bin_path, config), {"amount": {"type": ["null", "integer"]}})
    run = _sync(bin_path, tmp_path, config, catalog, lane)
    assert run.returncode == 65
    path = tmp_path / "t.csv"
    assert run.stderr.decode().splitlines()[-1] == (
        f"tap-csv: error: {path} line 2, stream 't', column 'amount': '1.50' is not an integer, "
        "as the catalog's schema types the column: fix the file, or change the column's type in "
        'the catalog (e.g. {"type": ["null", "string"]} to take any text)'
    )
    assert not [m for m in _messages(run.stdout) if m["type"] in ("RECORD", "BATCH")]


def test_a_narrower_decimal_in_the_catalog_is_refused_not_widened(
    bin_path: Path, tmp_path: Path
) -> None:
    config = _write(tmp_path)
    narrow = {"type": ["null", "number"], "x-precision": 3, "x-scale": 1}
    catalog = _edited(_discover(bin_path, config), {"amount": narrow})
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 65
    assert (
        run.stderr.decode()
        .splitlines()[-1]
        .endswith(
            "line 3, stream 't', column 'amount': '2.25' has 2 digits after the point, past the "
            "column's 1, as the "
            "catalog's schema types the column: fix the file, or change the column's type in the "
            'catalog (e.g. {"type": ["null", "string"]} to take any text)'
        )
    )


def test_a_wider_number_in_the_catalog_takes_any_digits(bin_path: Path, tmp_path: Path) -> None:
    config = _write(tmp_path, sample_rows=1)  # the value past DECIMAL(18,2) after the sample
    catalog = _edited(_discover(bin_path, config), {"amount": {"type": ["null", "number"]}})
    (tmp_path / "t.csv").write_text(ROWS.replace("2.25", "123456789012345678901234.000000000001"))
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 0, run.stderr.decode()
    assert "column 'amount'" not in run.stderr.decode()  # not widened: the catalog's type holds it
    assert [r["amount"] for r in _records(run.stdout)] == [
        loads(b"1.50"),
        loads(b"123456789012345678901234.000000000001"),
        loads(b"-3.00"),
    ]
    assert b'"amount":123456789012345678901234.000000000001' in run.stdout


def test_an_unedited_catalog_syncs_as_without_one_and_still_widens(
    bin_path: Path, tmp_path: Path
) -> None:
    rows = "id,x\n1,7\n2,8\n3,1.5\n"
    config = _write(tmp_path, rows, sample_rows=2)
    catalog = _edited(_discover(bin_path, config), {})
    with_catalog = _sync(bin_path, tmp_path, config, catalog)
    without = subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(config)], capture_output=True, timeout=60
    )
    assert with_catalog.returncode == 0, with_catalog.stderr.decode()
    strip = [m for m in _messages(with_catalog.stdout) if m["type"] in ("SCHEMA", "RECORD")]
    plain = [m for m in _messages(without.stdout) if m["type"] in ("SCHEMA", "RECORD")]
    for m in strip + plain:
        m.pop("version", None)
    assert strip == plain
    assert [m["type"] for m in strip].count("SCHEMA") == 2  # widened to a DECIMAL
    assert "is widened" in with_catalog.stderr.decode()


def test_a_property_deselected_in_the_metadata_is_not_sent(bin_path: Path, tmp_path: Path) -> None:
    config = _write(tmp_path)
    catalog = _edited(_discover(bin_path, config), {}, deselected=("name", "amount"))
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 0, run.stderr.decode()
    assert [sorted(r) for r in _records(run.stdout)] == [["at", "code", "flag", "id"]] * 3


def test_a_singer_sdk_target_reads_the_changed_types(bin_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("singer_sdk")
    config = _write(tmp_path)
    catalog = _edited(_discover(bin_path, config), EDITS, removed=("name",))
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 0, run.stderr.decode()
    out = tmp_path / "sdk.jsonl"
    (tmp_path / "sdk.json").write_text(json.dumps({"out": str(out)}))
    target = subprocess.run(
        [*SDK_TARGET, "--config", str(tmp_path / "sdk.json")],
        input=run.stdout,
        capture_output=True,
        timeout=120,
    )
    assert target.returncode == 0, target.stderr.decode()[-2000:]
    got = [json.loads(line)["record"] for line in out.read_text().splitlines()]
    assert [(r["id"], r["code"], r["amount"], r["at"], r["flag"]) for r in got] == [
        (1, "12", "1.50", "2024-01-31T10:00:00.123456Z", "true"),
        (2, "007", "2.25", "2024-02-01T00:00:00Z", "false"),
        (3, "9", "-3.00", "2024-02-02 23:59:59.000001+02:00", ""),
    ]


def test_a_catalog_stream_without_metadata_is_synced_with_every_property(
    bin_path: Path, tmp_path: Path
) -> None:
    """As a singer-sdk tap syncs it (and tapwell's runner counts it as selected)."""
    config = _write(tmp_path)
    catalog = _discover(bin_path, config)
    del catalog["streams"][0]["metadata"]
    run = _sync(bin_path, tmp_path, config, catalog)
    assert run.returncode == 0, run.stderr.decode()
    assert [r["id"] for r in _records(run.stdout)] == [1, 2, 3]
    assert list(_records(run.stdout)[1]) == ["id", "code", "amount", "name", "at", "flag"]
    assert _records(run.stdout)[1]["name"] == 'é🎉 "q"'
    assert _records(run.stdout)[2]["name"] == ""  # an empty field of a string column: ''
