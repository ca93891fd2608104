"""tap-mysql's YEAR and ENUM schemas on MariaDB 10.11: a YEAR holds 1901..2155 and 0000 (its zero,
and what a bad value becomes), so its bounds say so (there were none; YEAR(2), deprecated, is
read as 24 in a snapshot and 2024 from the binlog, and keeps none); an
ENUM's schema lists its values (`enum`, as tap-postgres writes one), with '' (what MariaDB stores
for a value not in the list outside strict mode) and null, so a singer-sdk target validating
records takes every value the column can hold and nothing else. A value written with a backslash
or a quote is read from the column's type as the server stores it, in the schema and from the
binlog alike (the binlog's `b\\c` was `b\\\\c`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import mariadb_server
from helpers import mysql_tap as my

pytestmark = pytest.mark.services
binlog_db = mariadb_server.binlog_db  # the fixture: LOG_BASED needs the ROW-binlog server

DDL = (
    "CREATE TABLE ye (id INT PRIMARY KEY, y YEAR, y2 YEAR(2),"
    " e ENUM('a','it''s','b\\\\c'), n ENUM('x','y') NOT NULL)"
)
ROWS = [
    "SET sql_mode = ''",  # a bad value becomes '' (ENUM) and 0000 (YEAR), as MariaDB allows
    "INSERT INTO ye VALUES (1, 2024, 24, 'a', 'x'), (2, 1901, 70, 'it''s', 'y'),"
    " (3, 2155, 69, 'b\\\\c', 'x'), (4, 0, 0, 'nope', 'bad'), (5, NULL, NULL, NULL, 'x')",
]
WANT = [
    {"id": 1, "y": 2024, "y2": 24, "e": "a", "n": "x"},
    {"id": 2, "y": 1901, "y2": 70, "e": "it's", "n": "y"},
    {"id": 3, "y": 2155, "y2": 69, "e": "b\\c", "n": "x"},
    {"id": 4, "y": 0, "y2": 0, "e": "", "n": ""},
    {"id": 5, "y": None, "y2": None, "e": None, "n": "x"},
]


def test_year_and_enum_schemas_hold_what_the_columns_hold(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    my.sql(binlog_db, DDL)
    catalog = my.discover(bin_path, tmp_path, binlog_db)
    props = my.stream_entry(catalog, "ye")["schema"]["properties"]
    assert props["y"] == {"type": ["null", "integer"], "minimum": 0, "maximum": 2155}
    assert props["y2"] == {"type": ["null", "integer"]}
    assert props["e"] == {
        "type": ["null", "string"],
        "maxLength": 4,
        "enum": ["a", "it's", "b\\c", "", None],
    }
    assert props["n"]["enum"] == ["x", "y", "", None]


def test_every_value_validates_on_every_method(
    binlog_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    my.sql(binlog_db, DDL, *ROWS)
    catalog = my.discover(bin_path, tmp_path, binlog_db)
    config = {**binlog_db, "server_id": 464647}
    full = my.run_tap(bin_path, tmp_path, binlog_db, catalog=my.select(catalog, "ye"))
    assert full.returncode == 0, full.stderr.decode()
    assert my.records(my.messages(full.stdout)) == WANT
    assert my.singer_sdk_problems(full.stdout) == []
    first = my.run_tap(bin_path, tmp_path, config, catalog=my.select(catalog, "ye", "LOG_BASED"))
    assert first.returncode == 0, first.stderr.decode()
    my.sql(binlog_db, "DELETE FROM ye", *ROWS)  # the same rows again, from the binlog
    state = my.states(my.messages(first.stdout))[-1]
    changes = my.run_tap(
        bin_path, tmp_path, config, catalog=my.select(catalog, "ye", "LOG_BASED"), state=state
    )
    assert changes.returncode == 0, changes.stderr.decode()
    inserted = [r for r in my.records(my.messages(changes.stdout)) if not r.get("_sdc_deleted_at")]
    binlog = [
        dict(w, y2=None if w["y2"] is None else 2000 + w["y2"] - 100 * (w["y2"] >= 70))
        for w in WANT
    ]
    assert [{k: r[k] for k in WANT[0]} for r in inserted] == binlog
    assert my.singer_sdk_problems(changes.stdout) == []
