"""`tapwell run`'s own cost around the connectors (issue 21, task runlane): the interpreter's
exit without its last collection of every object (tapwell.runner.quick_exit), and the catalog
prepared once per run (it was built for the growth warnings, then again for the tap)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tapwell.runner import attempt, cli, selection

# an atexit handler registered before the command runs goes after its own (LIFO): it sees
# whether gc.freeze() ran at the exit
SEES_FREEZE = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('frozen' if gc.get_freeze_count() else 'not frozen'))\n"
)


def _exit_of(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SEES_FREEZE + code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_a_tapwell_run_exits_without_collecting_what_it_made(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code = "from tapwell.runner.cli import main\nsys.argv = ['tapwell', *sys.argv[1:]]\nmain()\n"
    done = _exit_of(code, "--project", str(project), "run", "one", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen"
    assert json.loads((project / "state" / "one.json").read_text())["bookmarks"]["items"]


def test_a_failed_tapwell_command_exits_so_too(tmp_path: Path) -> None:
    code = "from tapwell.runner.cli import main\nsys.argv = ['tapwell', *sys.argv[1:]]\nmain()\n"
    done = _exit_of(code, "--project", str(tmp_path / "missing"), "run", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout.splitlines()[-1] == "frozen"


def test_the_demo_exits_so_too(tmp_path: Path) -> None:
    code = (
        "from tapwell.runner import demo\n"
        "demo.demo = lambda: None\n"  # the exit alone: the demo's run has its own tests
        "demo.main()\n"
    )
    done = _exit_of(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen"


def test_importing_the_cli_freezes_nothing() -> None:
    """A process that imports the CLI and goes on (a test, `tapwell serve`'s workers) keeps its
    collector as it was until it exits."""
    code = "import tapwell.runner.cli\nprint(gc.get_freeze_count())\nsys.stdout.flush()\n"
    done = _exit_of(code)
    assert done.stdout.splitlines()[0] == "0"
    assert done.stdout.splitlines()[-1] == "not frozen"


# ------------------------------------------------------------------ the catalog, prepared once

CSV = "id,name\n1,a\n2,b\n"


def _project(tmp_path: Path, select: list[str] | None = None) -> Path:
    (tmp_path / "data.csv").write_text(CSV)
    stream = {"name": "items", "path": str(tmp_path / "data.csv"), "key_properties": ["id"]}
    integration: dict[str, object] = {
        "tap": {"name": "tap-csv", "config": {"streams": [stream]}},
        "target": {"name": "target-jsonl", "config": {"destination_path": str(tmp_path / "out")}},
    }
    if select is not None:
        integration["select"] = select
    project = {"version": 1, "catalogs": "catalogs", "integrations": {"one": integration}}
    (tmp_path / "tapwell.yml").write_text(json.dumps(project))
    found = subprocess.run(
        [str(Path(sys.executable).parent / "tap-csv"), "--config", "/dev/stdin", "--discover"],
        input=json.dumps({"streams": [stream]}),
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "one.json").write_text(found.stdout)
    return tmp_path


@pytest.mark.parametrize("select", [None, ["items.id"]])
def test_a_run_prepares_its_catalog_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, select: list[str] | None
) -> None:
    project = _project(tmp_path, select)
    built: list[object] = []
    real = selection.apply_selection
    monkeypatch.setattr(
        attempt, "apply_selection", lambda *a, **k: built.append(a) or real(*a, **k)
    )
    result = CliRunner().invoke(cli.main, ["--project", str(project), "run", "one"])
    assert result.exit_code == 0, result.output
    assert len(built) == 1
    lines = (project / "out").glob("*.jsonl")
    rows = [json.loads(x) for f in lines for x in f.read_text().splitlines()]
    want = [{"id": 1}, {"id": 2}] if select else [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert rows == want


def test_selection_leaves_the_catalog_it_was_given_as_it_was() -> None:
    catalog = {
        "streams": [
            {
                "tap_stream_id": "s",
                "stream": "s",
                "schema": {"properties": {"a": {"type": "integer"}, "b": {"type": "string"}}},
                "metadata": [
                    {"breadcrumb": [], "metadata": {"inclusion": "available"}},
                    {"breadcrumb": ["properties", "a"]},
                ],
            }
        ]
    }
    before = json.dumps(catalog, sort_keys=True)
    out = selection.apply_selection(
        catalog, ["s.a"], {"s": {"key_properties": ["a"], "replication_key": "a"}}
    )
    assert json.dumps(catalog, sort_keys=True) == before
    entry = out["streams"][0]
    assert entry["key_properties"] == ["a"]
    assert entry["metadata"][0]["metadata"] == {
        "inclusion": "available",
        "selected": True,
        "replication-key": "a",
        "replication-method": "INCREMENTAL",
        "table-key-properties": ["a"],
    }
    assert entry["metadata"][1] == {
        "breadcrumb": ["properties", "a"],
        "metadata": {"selected": True},
    }
    assert entry["metadata"][2] == {
        "breadcrumb": ["properties", "b"],
        "metadata": {"inclusion": "available", "selected": False},
    }


# ------------------------------------------------------------------ the lane's format

CSV_AND_JSONL = {"capabilities": ["batch"], "batch_formats": ["csv", "jsonl"]}
JSONL = {"capabilities": ["batch"], "batch_formats": ["jsonl"]}


@pytest.mark.parametrize(
    ("tap", "target", "config", "auto", "on"),
    [
        (CSV_AND_JSONL, CSV_AND_JSONL, {}, "csv", "csv"),
        # csv when both read it, whatever order a side lists its formats in
        ({**CSV_AND_JSONL, "batch_formats": ["jsonl", "csv"]}, CSV_AND_JSONL, {}, "csv", "csv"),
        (CSV_AND_JSONL, {**CSV_AND_JSONL, "batch_formats": ["jsonl", "csv"]}, {}, "csv", "csv"),
        # a tap that writes csv sends no jsonl by auto: to target-jsonl, to nested tables
        (CSV_AND_JSONL, JSONL, {}, None, "jsonl"),
        (CSV_AND_JSONL, CSV_AND_JSONL, {"nested": "tables"}, None, "jsonl"),
        # a tap whose one lane is jsonl keeps it
        (JSONL, CSV_AND_JSONL, {}, "jsonl", "jsonl"),
        (JSONL, CSV_AND_JSONL, {"nested": "tables"}, "jsonl", "jsonl"),
    ],
)
def test_the_lane_is_csv_when_both_read_it_and_jsonl_by_auto_only_from_a_jsonl_tap(
    tap: dict[str, object],
    target: dict[str, object],
    config: dict[str, object],
    auto: str | None,
    on: str | None,
) -> None:
    from tapwell.runner.fast_lane import common_format

    assert common_format(tap, target, config) == auto
    assert common_format(tap, target, config, guess=True) == on


@pytest.mark.parametrize(("lane", "said"), [("auto", None), ("on", "jsonl")])
def test_tap_csv_into_target_jsonl_takes_record_lines_by_auto_and_jsonl_files_when_on(
    tmp_path: Path, lane: str, said: str | None
) -> None:
    """tap-csv's --about lists csv and jsonl; target-jsonl reads jsonl only."""
    project = _project(tmp_path)
    raw = json.loads((project / "tapwell.yml").read_text())
    raw["integrations"]["one"]["fast_lane"] = lane
    (project / "tapwell.yml").write_text(json.dumps(raw))
    result = CliRunner().invoke(cli.main, ["--project", str(project), "run", "one"])
    assert result.exit_code == 0, result.output
    log = next((project / "state" / ".runs").glob("*.log")).read_text()
    if said is None:
        assert "fast lane:" not in log
    else:
        assert f"fast lane: {said} BATCH files through" in log
    rows = [json.loads(x) for x in (project / "out" / "items.jsonl").read_text().splitlines()]
    assert rows == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
