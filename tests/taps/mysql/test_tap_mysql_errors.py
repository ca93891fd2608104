"""tap-mysql's error lines that lacked the shape of the others (issue 11, item 24): each is one
line that names where and what, says how to fix it, with the documented exit code and nothing on
stdout. A server that accepts the TCP connection but never sends MySQL's handshake; a catalog
stream without a schema (it ended in "MySQL error 1064 ... SQL syntax", or, for a keyed table,
silently sent the key column only); `filter_dbs` naming a database that does not exist (it gave
an empty catalog and no word)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.mysql_tap import discover, run_tap, select, sql

pytestmark = pytest.mark.services


def _one_line(proc: Any) -> str:
    err = proc.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a wrong service, a stuck
    proxy): the MySQL handshake never comes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_a_handshake_timeout_names_host_port_and_the_fix(
    silent_server: int, bin_path: Path, tmp_path: Path
) -> None:
    config = {
        "host": "127.0.0.1",
        "port": silent_server,
        "user": "root",
        "password": "pw-never-shown",
        "connect_timeout": 1,
    }
    for args in ({"discover": True}, {}):  # discovery, and a sync without a catalog
        proc = run_tap(bin_path, tmp_path, config, **args)
        assert proc.returncode == 75  # temporary: the runner retries
        assert proc.stdout == b""
        line = _one_line(proc)
        assert line.startswith(
            f"tap-mysql: error: cannot connect to MySQL at 127.0.0.1:{silent_server}: the server "
            "did not complete the handshake within connect_timeout (1 s) (MySQL error 2013: "
        ), line
        assert line.endswith(
            "check that host and port are a MySQL server's, reachable and not overloaded, "
            "or raise connect_timeout"
        ), line
        assert "pw-never-shown" not in line


@pytest.mark.parametrize("keyed", [True, False])
def test_a_catalog_stream_without_a_schema_is_one_line(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, keyed: bool
) -> None:
    key = " PRIMARY KEY" if keyed else ""
    sql(mysql_db, f"CREATE TABLE t (id INT{key}, v TEXT)", "INSERT INTO t VALUES (1, 'x')")
    catalog = select(discover(bin_path, tmp_path, mysql_db), "t")
    del catalog["streams"][0]["schema"]
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert proc.returncode == 2 and proc.stdout == b""
    assert _one_line(proc) == (
        f"tap-mysql: error: stream '{mysql_db['database']}-t': its catalog entry has no schema "
        "(no properties); run --discover again and select the stream in the catalog it prints"
    )


def test_a_stream_with_no_column_selected_is_one_line(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path
) -> None:
    sql(mysql_db, "CREATE TABLE t (a INT, b TEXT)", "INSERT INTO t VALUES (1, 'x')")
    catalog = select(discover(bin_path, tmp_path, mysql_db), "t")
    for item in catalog["streams"][0]["metadata"]:
        if item["breadcrumb"]:
            item["metadata"]["selected"] = False
    proc = run_tap(bin_path, tmp_path, mysql_db, catalog=catalog)
    assert proc.returncode == 2 and proc.stdout == b""
    assert _one_line(proc) == (
        f"tap-mysql: error: stream '{mysql_db['database']}-t': none of its columns is selected "
        "or still in the table; select at least one column in the catalog (or deselect the stream)"
    )


@pytest.mark.parametrize("also_existing", [False, True])
def test_filter_dbs_naming_a_missing_database_is_one_line(
    mysql_db: dict[str, Any], bin_path: Path, tmp_path: Path, also_existing: bool
) -> None:
    sql(mysql_db, "CREATE TABLE t (id INT PRIMARY KEY)")
    typo = mysql_db["database"] + "_typo"
    dbs = f"{mysql_db['database']},{typo}" if also_existing else typo
    config = {**mysql_db, "filter_dbs": dbs}
    for args in ({"discover": True}, {}):  # discovery, and a sync without a catalog
        proc = run_tap(bin_path, tmp_path, config, **args)
        assert proc.returncode == 2 and proc.stdout == b""
        line = _one_line(proc)
        assert line.startswith(
            f"tap-mysql: error: config key filter_dbs: database '{typo}' not found on "
            "127.0.0.1:3306 (or the user cannot see it); the user sees: "
        ), line
        assert line.endswith(". Check the spelling (names are case-sensitive)"), line
    # the databases that exist are discovered as before
    ok = run_tap(bin_path, tmp_path, mysql_db, discover=True)
    assert ok.returncode == 0 and b'"stream": "t"' in ok.stdout
