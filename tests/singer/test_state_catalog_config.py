"""Bookmark helpers, catalog views over singerlib, config merging and secret redaction."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry, load_catalog, select_all, standard_metadata
from tapwell.singer.config import load_config, redact, redacted_config, secret_values
from tapwell.singer.errors import ConfigError


def test_bookmarks_are_pure():
    s0: dict = {}
    s1 = st.set_bookmark(s0, "orders", "replication_key_value", 5)
    assert s0 == {} and st.get_bookmark(s1, "orders", "replication_key_value") == 5
    s2 = st.set_currently_syncing(s1, "orders")
    assert st.get_currently_syncing(s2) == "orders" and st.get_currently_syncing(s1) is None
    s3 = st.clear_bookmark(s2, "orders", "replication_key_value")
    assert st.get_bookmark(s3, "orders", "replication_key_value", "gone") == "gone"
    assert st.get_bookmark(s2, "orders", "replication_key_value") == 5


def test_bookmark_helpers_keep_exact_decimal_fragments():
    """tap-mysql keeps a DECIMAL key's bookmark as an orjson.Fragment (issue 11.8): the helpers
    copy the state around it (deepcopy cannot) and it is written with every digit."""
    import orjson
    from tapwell.singer.wire import dumps

    exact = orjson.Fragment(b"12345678901234567890.1234567891")
    s1 = st.set_bookmark({"bookmarks": {"o": {"p": [1]}}}, "ledger", "replication_key_value", exact)
    s2 = st.set_currently_syncing(s1, "ledger")
    s3 = st.clear_bookmark(st.set_currently_syncing(s2, None), "o", "p")
    assert st.get_bookmark(s3, "ledger", "replication_key_value") is exact
    assert (
        s1["bookmarks"]["o"] == {"p": [1]}
        and s2["bookmarks"]["o"]["p"] is not s1["bookmarks"]["o"]["p"]
    )
    assert dumps(s3) == (
        b'{"bookmarks":{"o":{},"ledger":{"replication_key_value":12345678901234567890.1234567891}}}'
    )


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"bookmarks": {}},
        {"currently_syncing": None, "bookmarks": {"s": {}}},
        # singer-sdk: partitions, signposts, progress markers
        {
            "bookmarks": {
                "users": {
                    "replication_key": "updated_at",
                    "replication_key_value": "2024-01-01T00:00:00+00:00",
                    "replication_key_signpost": "2024-06-01T00:00:00+00:00",
                    "progress_markers": {"Note": "unsorted", "replication_key_value": None},
                    "partitions": [{"context": {"id": 1}, "replication_key_value": 5}],
                }
            }
        },
        # singer-io / PipelineWise tap-mysql and tap-postgres
        {
            "currently_syncing": "db-orders",
            "bookmarks": {
                "db-orders": {
                    "version": 1700000000000,
                    "initial_full_table_complete": False,
                    "max_pk_values": {"id": 10},
                    "last_pk_fetched": {"id": 4},
                    "log_file": "mysql-bin.000003",
                    "log_pos": 4,
                },
                "public-items": {"lsn": 123456, "xmin": None, "version": 1},
            },
        },
        {"bookmarks": {"s": {"replication_key_value": Decimal("12345678901234567.123")}}},
        {"bookmarks": {"s": {"replication_key_value": 2**70}}, "other_key": [1, 2]},
    ],
)
def test_check_state_accepts_the_shapes_singer_taps_write(state):
    assert st.check_state(state) is state


def test_check_state_names_the_bad_key_quoted_when_it_is_not_a_plain_name():
    with pytest.raises(ConfigError) as err:
        st.check_state({"bookmarks": {'a"b\n': [1.5]}}, "state file s.json")
    assert str(err.value) == (
        'state: bookmarks["a\\"b\\n"] is [1.5], not an object; correct it, or remove '
        'bookmarks["a\\"b\\n"] from the state to sync the stream from the start'
    )


def test_check_state_leaves_bookmark_keys_to_the_tap_that_reads_them():
    state = {"bookmarks": {"elsewhere": {"version": "not ours to judge"}}}
    assert st.check_state(state) is state


SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "ssn": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def test_standard_metadata_and_selection():
    md = standard_metadata(
        SCHEMA,
        key_properties=["id"],
        valid_replication_keys=["updated_at"],
        root_extra={"database-name": "shop", "is-view": False},
        property_extra={"id": {"sql-datatype": "bigint"}},
    )
    entry = StreamEntry(
        {"tap_stream_id": "shop-orders", "stream": "orders", "schema": SCHEMA, "metadata": md}
    )
    root = entry.metadata()
    assert root["table-key-properties"] == ["id"]
    assert root["valid-replication-keys"] == ["updated_at"]
    assert root["database-name"] == "shop"
    assert entry.metadata(("properties", "id"))["inclusion"] == "automatic"
    assert entry.metadata(("properties", "id"))["sql-datatype"] == "bigint"
    assert not entry.is_selected or root.get("selected-by-default")
    entry.metadata()["selected"] = True
    entry.metadata(("properties", "ssn"))["selected"] = False
    entry.metadata(("properties", "id"))["selected"] = False  # automatic wins
    assert entry.selected_properties() == ["id", "updated_at"]
    assert entry.replication_method == "FULL_TABLE"
    entry.metadata()["replication-method"] = "INCREMENTAL"
    entry.metadata()["replication-key"] = "updated_at"
    assert (entry.replication_method, entry.replication_key) == ("INCREMENTAL", "updated_at")


ROOT = [{"breadcrumb": [], "metadata": {"inclusion": "available"}}]


def test_old_style_selection_on_schema_and_select_all():
    cat = Catalog(
        {
            "streams": [
                {"tap_stream_id": "a", "schema": {"selected": True, "properties": {}}},
                # no metadata: selected, as singer-sdk selects it (singer-python would not)
                {"tap_stream_id": "b", "schema": {"properties": {}}, "metadata": []},
                {"tap_stream_id": "c", "schema": {"selected": False}, "metadata": ROOT},
                {"tap_stream_id": "d", "schema": {"selected": True}, "metadata": ROOT},
                {"tap_stream_id": "e", "schema": {"properties": {}}, "metadata": ROOT},
            ]
        }
    )
    assert [s.tap_stream_id for s in cat.selected()] == ["a", "b", "d"]
    everything = Catalog(
        select_all(
            {
                "streams": [
                    {
                        "tap_stream_id": "b",
                        "schema": {},
                        "metadata": [{"breadcrumb": [], "metadata": {}}],
                    }
                ]
            }
        )
    )
    assert [s.tap_stream_id for s in everything.selected()] == ["b"]


def test_load_catalog_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_catalog(bad)
    bad.write_text("[]")
    with pytest.raises(ConfigError, match="'streams' array"):
        load_catalog(bad)


def test_load_catalog_keeps_every_digit_of_schema_bounds(tmp_path):
    """A catalog file's bounds past 64 bits or 15 digits are read exactly, not as floats (a
    DECIMAL(65,30) column's multipleOf, a BIGINT UNSIGNED's maximum)."""
    path = tmp_path / "catalog.json"
    path.write_text(
        '{"streams": [{"tap_stream_id": "a", "stream": "a", "metadata": [], "schema": '
        '{"properties": {"n": {"type": "number", "multipleOf": 0.000000000000000000000000000001, '
        '"maximum": 100000000000000000000000000000000000}, '
        '"u": {"type": "integer", "maximum": 18446744073709551615}}}}]}'
    )
    props = load_catalog(path).raw["streams"][0]["schema"]["properties"]
    assert props["n"]["multipleOf"] == Decimal("1E-30")
    assert props["n"]["maximum"] == 10**35 and props["u"]["maximum"] == 2**64 - 1


@pytest.mark.parametrize("key", ["pwd", "PWD", "db_pwd", "dbPwd", "mysql-pw", "pw"])
def test_a_password_under_pwd_or_pw_is_a_secret(key):
    # ODBC's PWD=, a `db_pwd` setting: printed in clear by a connector's error, it was not masked
    config = {"host": "h", key: "hunter22", "pwm": "shown", "npwx": "shown too"}
    assert secret_values(config) == ["hunter22"]


def test_config_merge_and_secrets(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"host": "h", "password": "hunter22", "nested": {"api_key": "k-123"}}))
    b.write_text(json.dumps({"host": "h2"}))
    config = load_config([a, b])
    assert config["host"] == "h2"
    assert set(secret_values(config)) == {"hunter22", "k-123"}
    assert (
        redact("login hunter22 failed with k-123", secret_values(config))
        == "login *** failed with ***"
    )
    assert redacted_config(config) == {
        "host": "h2",
        "password": "***",
        "nested": {"api_key": "***"},
    }
    with pytest.raises(ConfigError, match="does not exist"):
        load_config([tmp_path / "missing.json"])


def test_catalog_copies_keep_integers_past_64_bits():
    """select_all and the runner's selection copy a catalog; a schema bound past 64 bits
    (which orjson cannot write) must survive both unchanged."""
    from tapwell.runner.selection import apply_selection

    catalog = {
        "streams": [
            {
                "tap_stream_id": "a",
                "stream": "a",
                "metadata": [{"breadcrumb": [], "metadata": {}}],
                "schema": {"properties": {"n": {"type": "integer", "maximum": 2**70}}},
            }
        ]
    }
    for copied in (select_all(catalog), apply_selection(catalog, ["a"])):
        assert copied["streams"][0]["schema"]["properties"]["n"]["maximum"] == 2**70
        assert (
            copied is not catalog
            and copied["streams"][0]["metadata"][0]["metadata"]["selected"] is True
        )
    assert "selected" not in catalog["streams"][0]["metadata"][0]["metadata"]


def test_url_and_dsn_passwords_are_masked_in_any_text() -> None:
    """Passwords with unencoded '%', '/' or '@' in a URL, and quoted ones in a DSN, are found by
    parsing, so a driver's error text that quotes them (whole or a piece) is masked."""
    from tapwell.singer.config import mask_credentials, redact, secret_values

    cfg = {
        "sqlalchemy_url": "postgresql://bob:s3cret%zz/pa@ss@db.example:5432/x",
        "state": {"conn": "host=a password='p w0rd' user=x"},
    }
    secrets = secret_values(cfg)
    text = (
        'invalid percent-encoded token: "s3cret%zz" in '
        "postgresql://bob:s3cret%zz/pa@ss@db.example:5432/x and host=a password='p w0rd'"
    )
    masked = redact(text, secrets)
    assert "s3cret" not in masked and "w0rd" not in masked, masked
    assert "postgresql://bob:***@db.example:5432/x" in masked
    assert mask_credentials("mysql://root@h/db https://example.com/a:b@c") == (
        "mysql://root@h/db https://example.com/a:b@c"
    )
    assert mask_credentials("password=hunter22 port=5") == "password=*** port=5"


def test_an_auth_objects_kind_and_place_are_not_secrets() -> None:
    """tap-rest's `auth: {type: api_key, name: key, in: query, value: ...}`: only the credential is
    masked. Masking "key", "query", "bearer" or "none" made the runner's log read `api***` for an
    integration named apikey and `type '***'` in the tap's own fix hint."""
    config = {
        "auth": {"type": "api_key", "name": "key", "in": "query", "value": "k-s3cret"},
        "other": {"auth": {"type": "bearer", "token": "t-s3cret"}},
        "oauth": {
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "https://id.example/token",
                "scopes": ["read"],
                "client_id": "cid-1",
                "client_secret": "cs-s3cret",
            }
        },
        "basic_auth": {"type": "basic", "username": "bob-the-user", "password": "pw-s3cret"},
    }
    secrets = secret_values(config)
    assert {"k-s3cret", "t-s3cret", "cs-s3cret", "pw-s3cret", "bob-the-user", "cid-1"} <= set(
        secrets
    )
    for word in ("api_key", "key", "query", "bearer", "basic", "read", "https://id.example/token"):
        assert word not in secrets, word
    line = "run 1: apikey (tap-rest) GET /x?key=k-s3cret: check the credentials in auth (type 'bearer')"
    assert redact(line, secrets) == (
        "run 1: apikey (tap-rest) GET /x?key=***: check the credentials in auth (type 'bearer')"
    )


def test_url_and_dsn_passwords_with_blanks_and_quotes_are_masked_whole() -> None:
    """Masking by position ran to the first blank or quote: `postgresql://u:a b@h` was not masked
    at all, `password=a b user=x` kept `b`; the driver's piece `"Hunter2 pw"` was no secret."""
    from tapwell.singer.config import mask_credentials, redact, secret_values, url_password

    assert mask_credentials(
        'to postgresql://u:Hunter2 p@ss/w"rd-é😀@db.example:5432/x: refused'
    ) == ("to postgresql://u:***@db.example:5432/x: refused")
    assert mask_credentials("a postgresql://u:a b@h1/d or postgresql://v:c d@h2/e") == (
        "a postgresql://u:***@h1/d or postgresql://v:***@h2/e"
    )
    assert mask_credentials("host=h password=a b 'c' user=x") == "host=h password=*** user=x"
    assert mask_credentials("password=abc x) as ab; abcdef") == "password=*** x) as ab; abcdef"
    assert url_password('postgresql://u:it\'s "q" é@h/d') == 'it\'s "q" é'
    secrets = secret_values({"state_dsn": 'postgresql://u:Hunter2 pw/w"rd@h:5432/db'})
    driver = 'invalid integer value "Hunter2 pw" for connection option "port"'
    assert redact(driver, secrets) == 'invalid integer value "***" for connection option "port"'


def test_credentials_in_a_url_query_are_masked() -> None:
    """`?access_token=`, `&api_key=`, `X-Amz-Signature=` in a URL under a key that does not look
    secret (base_url): masked by position in any text, and by value (decoded) where a connector
    quotes it; the other parameters are left alone."""
    from tapwell.singer.config import mask_credentials, redact, secret_values

    assert mask_credentials("GET https://api.x/v1?page=2&access_token=ab%20c&key=k: 401") == (
        "GET https://api.x/v1?page=2&access_token=***&key=k: 401"
    )
    assert mask_credentials("https://s3/b/o?X-Amz-Signature=dead0beef&X-Amz-Date=1") == (
        "https://s3/b/o?X-Amz-Signature=***&X-Amz-Date=1"
    )
    secrets = secret_values({"base_url": "https://api.x/v1?api_key=Zk9%20p%C3%A9"})
    assert redact("bad key 'Zk9 pé' (https://api.x/v1?api_key=Zk9%20p%C3%A9)", secrets) == (
        "bad key '***' (https://api.x/v1?api_key=***)"
    )


@pytest.mark.parametrize(
    "line",
    [
        "x" * 1_000_000,  # a base64 blob in a connector's error line: 26 minutes before
        "?" + "token" * 200_000,  # a query parameter's name that never ends: 30 s per 100 KB before
        "see http://host:8080/p ok " * 40_000,
        "http://u:p" + " " * 1_000_000 + "x@h",
    ],
)
def test_masking_a_long_line_takes_one_pass(line: str) -> None:
    """Every connector's stderr line is masked (redact -> mask_credentials): a pattern that
    retries an unbounded repeat from each position made a 100 KB run of letters take 16 s.
    Checked in a child process with a minute to spare: the bounded patterns take ~0.5 s."""
    code = (
        "import sys; from tapwell.singer.config import mask_credentials; "
        "sys.stdout.write(str(len(mask_credentials(sys.stdin.read()))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=line, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) <= len(line)
