"""`TARGET --config c.json --read-state`: the state a target committed in the destination, as
one exact JSON line (`{}` when none), for target-postgres and target-duckdb; and the runner's
recovery through it, for any target whose `--about` lists `read-state` (a third-party target
that adopts the flag is recovered, one without it is not asked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.runner_project import BIN, fake_integration
from helpers.tiers import services_param

# More digits than a float holds: they must arrive as written.
EXACT = "12345678901234567890.123456789012345678901"
MESSAGES = (
    '{"type": "SCHEMA", "stream": "items", "key_properties": ["id"], '
    '"schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}\n'
    '{"type": "RECORD", "stream": "items", "record": {"id": 1}}\n'
    '{"type": "STATE", "value": {"bookmarks": {"items": {"pos": ' + EXACT + "}}}}\n"
).encode()


def _config(kind: str, tmp_path: Path, pg_db: dict | None) -> dict:
    if kind == "postgres":
        assert pg_db is not None
        keys = ("host", "port", "user", "dbname")
        return {**{k: pg_db[k] for k in keys}, "state_schema": "kept", "state_id": "mine"}
    return {"path": str(tmp_path / "sub" / "w.duckdb"), "state_id": "mine"}


def _target(kind: str, tmp_path: Path, config: dict, *args: str, data: bytes | None = None):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / f"target-{kind}"), "--config", str(cfg), *args],
        input=data,
        capture_output=True,
        timeout=300,
        cwd=tmp_path,
    )


@pytest.fixture(params=["duckdb", services_param("postgres")])
def kind(request) -> str:
    return request.param


@pytest.fixture
def target_config(kind, tmp_path, request) -> dict:
    db = request.getfixturevalue("pg_db") if kind == "postgres" else None
    return _config(kind, tmp_path, db)


def test_read_state_is_empty_then_the_committed_state_with_every_digit(
    kind, tmp_path, target_config
):
    about = subprocess.run([str(BIN / f"target-{kind}"), "--about"], capture_output=True)
    assert "read-state" in json.loads(about.stdout)["capabilities"]
    empty = _target(kind, tmp_path, target_config, "--read-state")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == b"{}\n"
    assert not (tmp_path / "sub").exists()  # reading creates no DuckDB file
    load = _target(kind, tmp_path, target_config, data=MESSAGES)
    assert load.returncode == 0, load.stderr
    for _ in range(2):  # asked twice, as a runner would: the same line
        got = _target(kind, tmp_path, target_config, "--read-state")
        assert got.returncode == 0, got.stderr
        assert got.stdout.count(b"\n") == 1
        assert got.stdout == b'{"bookmarks":{"items":{"pos":' + EXACT.encode() + b"}}}\n"
    other = _target(kind, tmp_path, {**target_config, "state_id": "other"}, "--read-state")
    assert other.returncode == 0 and other.stdout == b"{}\n"


def test_read_state_of_an_unreachable_postgres_is_one_line_without_the_password(tmp_path):
    config = {"host": "127.0.0.1", "port": 1, "user": "u", "password": "pw-s3cret", "dbname": "d"}
    out = _target("postgres", tmp_path, config, "--read-state")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'target-postgres: error: d: "public"."tapwell_state" id \'default\': cannot connect'
    )
    assert b"pw-s3cret" not in out.stderr and out.stdout == b""


THIRD_PARTY = """\
import json, pathlib, sys
args = sys.argv[1:]
log = pathlib.Path(__file__).with_suffix(".calls")
with log.open("a") as f:
    f.write(" ".join(a for a in args if not a.endswith(".json")) + "\\n")
if "--about" in args:
    caps = ["about"] + (["read-state"] if ADOPTS else [])
    print(json.dumps({"name": "target-own", "capabilities": caps}))
    sys.exit(0)
keep = pathlib.Path("kept-state.json")  # its own place, in the folder it is started in
if "--read-state" in args:
    print(keep.read_text().strip() if keep.exists() else "{}")
    sys.exit(0)
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "STATE":
        keep.write_text(json.dumps(message["value"]))
        print(json.dumps(message["value"]), flush=True)
"""


@pytest.mark.parametrize("adopts", [True, False])
def test_a_third_party_target_is_recovered_only_when_it_adopts_read_state(proj, adopts):
    script = proj.root / "target_own.py"
    script.write_text(THIRD_PARTY.replace("ADOPTS", str(adopts)))
    target = {"name": "target-own", "command": [sys.executable, str(script)], "config": {}}
    proj.write({"integrations": {"o": fake_integration(proj, rows=30, target=target)}})
    done = proj.cli("run", "o")
    assert done.returncode == 0, done.stderr
    committed = json.loads((proj.root / "kept-state.json").read_text())
    assert committed == {"bookmarks": {"items": {"last_id": 30}}}
    (proj.root / "state" / "o.json").unlink()
    got = proj.cli("state", "recover", "o")
    calls = (proj.root / "target_own.calls").read_text().splitlines()
    about = [c for c in calls if "--about" in c]  # asked as JSON once, then cached
    assert about == ["--about --format json"]
    if adopts:
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout) == committed
        assert "recovered from target-own" in got.stderr
        assert "--config --read-state" in calls
    else:
        assert got.returncode == 2
        assert "keeps no state we can read; set state.recover: {dsn, query}" in got.stderr
        assert "Traceback" not in got.stderr
        assert not [c for c in calls if "--read-state" in c]


OWN_FILE = THIRD_PARTY.replace(
    'print(json.dumps({"name": "target-own", "capabilities": caps}))',
    'print(json.dumps({"name": "target-own", "capabilities": caps, "read_state_file": "file", '
    '"settings": {"properties": {"file": {"type": "string", "aliases": ["f"]}}}}))',
).replace(
    'keep = pathlib.Path("kept-state.json")',
    'conf = json.load(open(args[1]))\nkeep = pathlib.Path(conf.get("file") or conf["f"])',
)


@pytest.mark.parametrize("config", [{"file": "kept-state.json"}, {"f": "kept-state.json"}])
def test_a_target_whose_state_file_is_missing_is_not_started_to_say_so(proj, config):
    """The first run of `make demo`: target-duckdb's file does not exist yet, so it holds no
    state; --about's `read_state_file` names the setting, and no `--read-state` process runs."""
    script = proj.root / "target_own.py"
    script.write_text(OWN_FILE.replace("ADOPTS", "True"))
    target = {"name": "target-own", "command": [sys.executable, str(script)], "config": config}
    proj.write({"integrations": {"o": fake_integration(proj, rows=30, target=target)}})
    done = proj.cli("run", "o")
    assert done.returncode == 0, done.stderr
    calls = (proj.root / "target_own.calls").read_text().splitlines()
    assert not [c for c in calls if "--read-state" in c], calls
    # once the file exists, the target is asked (and its state recovered)
    (proj.root / "state" / "o.json").unlink()
    got = proj.cli("state", "recover", "o")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {"bookmarks": {"items": {"last_id": 30}}}
    calls = (proj.root / "target_own.calls").read_text().splitlines()
    assert "--config --read-state" in calls


def test_two_spellings_of_the_state_file_setting_make_the_runner_ask(proj):
    script = proj.root / "target_own.py"
    script.write_text(OWN_FILE.replace("ADOPTS", "True"))
    config = {"file": "kept-state.json", "f": "kept-state.json"}
    target = {"name": "target-own", "command": [sys.executable, str(script)], "config": config}
    proj.write({"integrations": {"o": fake_integration(proj, rows=30, target=target)}})
    assert proj.cli("run", "o").returncode == 0
    calls = (proj.root / "target_own.calls").read_text().splitlines()
    assert "--config --read-state" in calls


def test_target_duckdb_names_its_state_file_setting():
    about = json.loads(
        subprocess.run([str(BIN / "target-duckdb"), "--about"], capture_output=True).stdout
    )
    assert about["read_state_file"] == "path" and "path" in about["settings"]["properties"]
