"""One "did you mean" rule for every hint (tapwell.singer.errors.did_you_mean): a choice equal to
the word but for case first, then the closest spelling, case ignored, at difflib's ratio 0.6.
Before, the config-key warning asked 0.8 and the unmatched-entry warning 0.75, neither ignoring
case, while tap-csv asked 0.6 and matched case only when exact: `rowz` named no setting, `PORT`
no `port`, `SHOP-ORDERS` no stream, `Nmu` no column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.csv_tap import run_tap_csv
from tapwell.sdk.load_settings import unmatched_entries
from tapwell.sdk.settings import Settings, setting
from tapwell.singer.errors import did_you_mean


@dataclass(frozen=True, kw_only=True)
class _Config:
    host: str = setting("", help="Server host name")
    port: int = setting(5432, help="Server port")
    rows: int = setting(5000, help="Rows")


SETTINGS = Settings(_Config)


def test_the_rule() -> None:
    assert did_you_mean("ID", ["Id", "id"]) == "; did you mean 'Id'?"  # first equal but for case
    assert did_you_mean("Nmu", ["id", "num", "name"]) == "; did you mean 'num'?"
    assert did_you_mean("t-99", ["t-00", "t-09"]) == "; did you mean 't-09'?"
    assert did_you_mean("price", ["id", "num", "name"]) == ""
    assert did_you_mean(3, ["3"]) == "; did you mean '3'?"
    assert did_you_mean("x", []) == ""


def test_a_config_key_warning_follows_it() -> None:
    assert SETTINGS.warnings({"host": "db", "rowz": 5, "PORT": 1}) == [
        "config key 'rowz' is not a setting and is ignored; did you mean 'rows'?",
        "config key 'PORT' is not a setting and is ignored; did you mean 'port'?",
    ]


def test_an_unmatched_entry_warning_follows_it() -> None:
    seen = {"shop-orders", "shop-events"}
    lines = unmatched_entries("stream_settings", ["SHOP-ORDERS", "ordrs"], seen.__contains__, seen)
    assert [line.split(")", 1)[1] for line in lines] == [
        "; did you mean 'shop-orders'?",
        "; did you mean 'shop-orders'?",
    ]


def test_a_csv_column_hint_follows_it(tmp_path: Path) -> None:
    stream = {"column_types": {"Nmu": {"type": ["null", "number"]}}}
    proc = run_tap_csv(tmp_path, "id,num,name\n1,2.5,a\n", stream, "--discover")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"tap-csv: error: stream 't': column_types entry 'Nmu' is not a column of "
        f"{tmp_path / 't.csv'}; did you mean 'num'? (its header: id, num, name)"
    )
