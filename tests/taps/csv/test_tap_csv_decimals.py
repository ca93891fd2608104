"""tap-csv infers a number column's precision and scale from its sample (issue 21: decimals never
through float). A `number` without them became DOUBLE in target-duckdb, which rounded
`123456789012345678901234567890.12` without a word; the inferred schema now carries
`x-precision`/`x-scale` (and the bounds and `multipleOf` singer-io readers use), so targets make
DECIMAL(p,s), and a later row with more digits than the column holds is refused by the tap itself
with the fix, as integers past the sample's bound are."""

from __future__ import annotations

import csv
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.duckdb_target import column_types, query
from helpers.tiers import services_param
from tapwell.taps.csv.types import decimal_room, digits_of, fits, infer_property

# Every column is a number column: wide, negative, zero scales, exponents, signs, NULLs.
COLUMNS = {
    "wide": [
        "123456789012345678901234567890.12",
        "-99999999999999999999999999999999.99",
        "0.01",
        "",
        "-0.00",
    ],
    "neg": ["-0.5", "-123.456", "", "-0.0", ".5"],
    "zero_scale": ["7", "-0", "5.", "1e5", ""],
    "tiny": ["0.0001", "1E-30", "", "-0.000000000000000000000000000001", "0.1"],
    "mixed": ["1", "2.5", "", "+4.25", "-3"],
    "money": ["12.50", "0.10", "-1047.29", "", "9999999999.99"],
}


def _write(path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *COLUMNS])
        for i in range(5):
            w.writerow([i + 1, *(values[i] for values in COLUMNS.values())])


def _expected() -> list[tuple[Any, ...]]:
    return [
        (i + 1, *(Decimal(v) if v else None for v in (values[i] for values in COLUMNS.values())))
        for i in range(5)
    ]


def _config(tmp_path: Path, **extra: Any) -> Path:
    stream = {"name": "d", "path": str(tmp_path / "d.csv"), "key_properties": ["id"]}
    if "column_types" in extra:
        stream["column_types"] = extra.pop("column_types")
    cfg = tmp_path / "tap.json"
    cfg.write_text(json.dumps({"streams": [stream], **extra}))
    return cfg


def _tap(bin_path: Path, cfg: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(bin_path / "tap-csv"), "--config", str(cfg), *args], capture_output=True, timeout=120
    )


# ---------------------------------------------------------------- inference


def test_digits_of_a_decimal_as_written() -> None:
    assert digits_of(Decimal("12.50")) == (2, 2)
    assert digits_of(Decimal("0.0001")) == (0, 4)
    assert digits_of(Decimal("1E+5")) == (6, 0)
    assert digits_of(Decimal("-0.00")) == (0, 2)
    assert digits_of(Decimal("5.")) == (1, 0)


def test_room_is_duckdbs_narrowest_decimal_width_that_holds_the_sample() -> None:
    assert decimal_room(2, 2) == (18, 2)
    assert decimal_room(16, 2) == (18, 2)
    assert decimal_room(17, 2) == (38, 2)
    assert decimal_room(0, 30) == (38, 30)
    assert decimal_room(45, 5) == (50, 5)  # past 38: as many digits as the sample has


def test_fits_ignores_zeros_ending_the_fraction() -> None:
    assert fits(Decimal("1.500"), 16, 2)
    assert not fits(Decimal("1.505"), 16, 2)
    assert fits(Decimal("9999999999999999.99"), 16, 2)
    assert not fits(Decimal("10000000000000000"), 16, 2)
    assert fits(Decimal("0.000"), 0, 0)
    assert not fits(Decimal("0.0005"), 16, 2)
    assert fits(Decimal("-7E+2"), 3, 0) and not fits(Decimal("-7E+3"), 3, 0)


@pytest.mark.parametrize(
    ("sample", "precision", "scale"),
    [
        (["12.50", "3"], 18, 2),  # integers and decimals mixed: a number
        (["123456789012345678901234567890.12", "-1"], 38, 2),
        (["-0.0"], 18, 1),
        (["+1.5", ".5"], 18, 1),
        (["5."], 18, 0),
        (["1e5", "-7E2"], 18, 0),
        (["1.5e-3"], 18, 4),
        (["1E-30"], 38, 30),
        ([" 1.25 ", "", "1"], 18, 2),
        (["1" * 45 + ".5"], 46, 1),
    ],
)
def test_a_number_column_gets_the_samples_precision_and_scale(sample, precision, scale) -> None:
    prop = infer_property(sample)
    assert prop["type"] == ["null", "number"]
    assert (prop["x-precision"], prop["x-scale"]) == (precision, scale)
    whole = precision - scale
    top = 10**whole if whole < 19 else float(10**whole)  # as tap-mysql and tap-postgres write it
    assert prop["exclusiveMaximum"] == top == -prop["exclusiveMinimum"]
    assert ("multipleOf" in prop) == (precision <= 28)  # singer-sdk's validator: 28 digits
    if precision <= 28:
        assert Decimal(str(prop["multipleOf"])) == Decimal(1).scaleb(-scale)


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        (["1", "-0", "+2"], "integer"),  # today's rules decide what is a number: kept
        (["1.5", "NaN"], "string"),
        (["Infinity"], "string"),
        (["1_000.5"], "string"),
        (["1,5"], "string"),
    ],
)
def test_what_is_a_number_is_as_before(sample, kind) -> None:
    assert infer_property(sample)["type"] == ["null", kind]
    assert "x-precision" not in infer_property(sample)


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        (["02134", "10001"], "string"),  # zip codes: the zeros are the value
        (["007", "12"], "string"),
        (["-01.5", "2.5"], "string"),
        ([" 00", "1"], "string"),
        (["0", "0.5", "-0", "-0.25", "10"], "number"),  # one zero before the point is no code
        (["0", "-0", "100"], "integer"),
    ],
)
def test_codes_with_leading_zeros_are_strings(sample, kind) -> None:
    assert infer_property(sample)["type"] == ["null", kind]


def test_discover_says_what_is_inferred(bin_path, tmp_path) -> None:
    _write(tmp_path / "d.csv")
    proc = _tap(bin_path, _config(tmp_path), "--discover")
    assert proc.returncode == 0, proc.stderr.decode()
    props = json.loads(proc.stdout)["streams"][0]["schema"]["properties"]
    got = {name: (p.get("x-precision"), p.get("x-scale")) for name, p in props.items()}
    assert got == {
        "id": (None, None),
        "wide": (38, 2),
        "neg": (18, 3),
        "zero_scale": (18, 0),
        "tiny": (38, 30),
        "mixed": (18, 2),
        "money": (18, 2),
    }


# ---------------------------------------------------------------- loaded exactly, row by row


@pytest.mark.parametrize("lane", ["records", "csv"])
def test_wide_decimals_load_exactly_into_target_duckdb(bin_path, tmp_path, lane) -> None:
    _write(tmp_path / "d.csv")
    extra: dict[str, Any] = {}
    if lane == "csv":
        spool = tmp_path / "spool"
        spool.mkdir()
        extra["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{spool}"},
        }
    tap = _tap(bin_path, _config(tmp_path, **extra))
    assert tap.returncode == 0, tap.stderr.decode()
    assert (b'"BATCH"' in tap.stdout) == (lane == "csv")
    db = tmp_path / "w.duckdb"
    (tmp_path / "dd.json").write_text(json.dumps({"path": str(db)}))
    target = subprocess.run(
        [str(bin_path / "target-duckdb"), "--config", str(tmp_path / "dd.json")],
        input=tap.stdout,
        capture_output=True,
        timeout=120,
    )
    assert target.returncode == 0, target.stderr.decode()
    types = column_types(db, "d")
    assert {c: types[c] for c in COLUMNS} == {
        "wide": "DECIMAL(38,2)",
        "neg": "DECIMAL(18,3)",
        "zero_scale": "DECIMAL(18,0)",
        "tiny": "DECIMAL(38,30)",
        "mixed": "DECIMAL(18,2)",
        "money": "DECIMAL(18,2)",
    }
    cols = ", ".join(f'"{c}"' for c in ["id", *COLUMNS])
    assert query(db, f"SELECT {cols} FROM d ORDER BY id") == _expected()


@pytest.mark.parametrize("lane", [services_param("records"), services_param("csv")])
def test_wide_decimals_load_exactly_into_target_postgres(bin_path, tmp_path, lane, request):
    import psycopg2

    pg_db = request.getfixturevalue("pg_db")
    _write(tmp_path / "d.csv")
    extra: dict[str, Any] = {}
    if lane == "csv":
        spool = tmp_path / "spool"
        spool.mkdir()
        extra["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{spool}"},
        }
    tap = _tap(bin_path, _config(tmp_path, **extra))
    assert tap.returncode == 0, tap.stderr.decode()
    (tmp_path / "pg.json").write_text(json.dumps(pg_db))
    target = subprocess.run(
        [str(bin_path / "target-postgres"), "--config", str(tmp_path / "pg.json")],
        input=tap.stdout,
        capture_output=True,
        timeout=120,
    )
    assert target.returncode == 0, target.stderr.decode()
    conn = psycopg2.connect(**{k: pg_db[k] for k in ("host", "port", "user", "dbname")})
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT column_name, format_type(atttypid, atttypmod) FROM pg_attribute a "
                "JOIN information_schema.columns c ON c.column_name = a.attname "
                "AND c.table_name = 'd' WHERE a.attrelid = 'd'::regclass AND a.attnum > 0"
            )
            types = dict(cur.fetchall())
            cols = ", ".join(f'"{c}"' for c in ["id", *COLUMNS])
            cur.execute(f"SELECT {cols} FROM d ORDER BY id")
            rows = cur.fetchall()
    finally:
        conn.close()
    assert types["wide"] == "numeric(38,2)" and types["tiny"] == "numeric(38,30)"
    assert types["zero_scale"] == "numeric(18,0)" and types["money"] == "numeric(18,2)"
    assert rows == _expected()


# ---------------------------------------------------------------- a later row past the sample


@pytest.mark.parametrize("lane", ["records", "csv"])
@pytest.mark.parametrize(
    ("later", "problem"),
    [
        ("12.345", "'12.345' has 3 digits after the point, past the column's 2 (DECIMAL(18,2)"),
        (
            "12345678901234567.5",
            "'12345678901234567.5' has 17 digits before the point, past the column's 16 "
            "(DECIMAL(18,2)",
        ),
    ],
)
def test_a_later_row_with_more_digits_is_one_line_with_the_fix(
    bin_path, tmp_path, lane, later, problem
) -> None:
    """A declared precision (an inferred one is widened: test_tap_csv_widen.py)."""
    rows = ["12.50", "3.1", "1.500", "", later, "4.00"]  # 1.500: the same number as 1.50, taken
    (tmp_path / "d.csv").write_text("id,amt\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    declared = {"amt": {"type": ["null", "number"], "x-precision": 18, "x-scale": 2}}
    extra: dict[str, Any] = {"sample_rows": 2, "column_types": declared}
    if lane == "csv":
        extra["batch_config"] = {
            "encoding": {"format": "csv", "compression": "none"},
            "storage": {"root": f"file://{tmp_path}"},
        }
    proc = _tap(bin_path, _config(tmp_path, **extra))
    err = proc.stderr.decode()
    errors = [line for line in err.splitlines() if "error" in line]
    assert proc.returncode == 65 and len(errors) == 1 and "Traceback" not in err, err
    assert f"d.csv line 6, stream 'd', column 'amt': {problem}" in errors[0], errors[0]
    assert "column_types" in errors[0] and "as declared" in errors[0], errors[0]
    assert '"x-precision": 38' in errors[0], errors[0]
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    assert not [m for m in messages if m["type"] in ("RECORD", "BATCH")]  # nothing of the chunk
    assert not any("initial_full_table_complete" in json.dumps(m) for m in messages)


def test_the_fix_the_line_names_works(bin_path, tmp_path) -> None:
    rows = ["12.50", "3.1", "12.345"]
    (tmp_path / "d.csv").write_text("id,amt\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    declared = {"amt": {"type": ["null", "number"], "x-precision": 38, "x-scale": 3}}
    stream = {"name": "d", "path": str(tmp_path / "d.csv"), "column_types": declared}
    (tmp_path / "tap.json").write_text(json.dumps({"sample_rows": 2, "streams": [stream]}))
    proc = _tap(bin_path, tmp_path / "tap.json")
    assert proc.returncode == 0, proc.stderr.decode()
    values = [
        json.loads(line, parse_float=Decimal)["record"]["amt"]
        for line in proc.stdout.splitlines()
        if b'"RECORD"' in line
    ]
    assert values == [Decimal("12.50"), Decimal("3.1"), Decimal("12.345")]


def test_a_declared_precision_is_held_too(bin_path, tmp_path) -> None:
    """A column declared with singer-io's `multipleOf` and `maximum` (tapwell.yml's demo) becomes
    DECIMAL(12,2) in the targets: a value with a third decimal would be rounded there, so the tap
    refuses it, naming it."""
    (tmp_path / "d.csv").write_text("id,amt\n1,1.25\n2,1.255\n")
    declared = {"amt": {"type": ["null", "number"], "multipleOf": 0.01, "maximum": 10**10}}
    stream = {"name": "d", "path": str(tmp_path / "d.csv"), "column_types": declared}
    (tmp_path / "tap.json").write_text(json.dumps({"streams": [stream]}))
    proc = _tap(bin_path, tmp_path / "tap.json")
    assert proc.returncode == 65, proc.stderr.decode()
    assert (
        "line 3, stream 'd', column 'amt': '1.255' has 3 digits after the point, past the "
        "column's 2 (DECIMAL(12,2)" in proc.stderr.decode()
    ), proc.stderr.decode()


def test_an_exponent_past_any_database_is_still_sent_exactly(bin_path, tmp_path) -> None:
    """1e99999999999 needs 10^11 digits: no DECIMAL holds it (target-duckdb keeps such a column as
    text, target-postgres as unconstrained numeric); the schema says so without a bound that
    would not fit a double, and the fast check's regular expression stays within re's limits."""
    (tmp_path / "d.csv").write_text("id,x\n1,1e99999999999\n2,1.5\n3,1e-99999999\n")
    proc = _tap(bin_path, _config(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    messages = [json.loads(line, parse_float=Decimal) for line in proc.stdout.splitlines()]
    prop = next(m for m in messages if m["type"] == "SCHEMA")["schema"]["properties"]["x"]
    assert prop == {"type": ["null", "number"], "x-precision": 100099999999, "x-scale": 99999999}
    values = [m["record"]["x"] for m in messages if m["type"] == "RECORD"]
    assert values == [Decimal("1e99999999999"), Decimal("1.5"), Decimal("1e-99999999")]
