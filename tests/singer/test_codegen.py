"""Generated code (tapwell.singer.codegen): a traceback through it shows its real lines, identical
source is registered once, and TAPWELL_DUMP_CODEGEN writes every generated source as a readable
file whose line numbers are the traceback's."""

from __future__ import annotations

import ast
import linecache
import re
import traceback
from pathlib import Path

import pytest
from tapwell.singer import codegen
from tapwell.singer.errors import ConfigError, ProtocolError
from tapwell.singer.record_check import compile_checker

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "amount": {"type": ["null", "number"], "multipleOf": 0.01},
        "at": {"type": ["null", "string"], "format": "date-time"},
    },
}


def _traceback_of_bad_record(record: dict[str, object]) -> tuple[ProtocolError, list[str]]:
    check = compile_checker("orders", SCHEMA, ["id"])
    with pytest.raises(ProtocolError) as info:
        check(record, 7)
    return info.value, traceback.format_exception(info.value)


@pytest.fixture(autouse=True)
def _no_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the caller's environment: only the tests that dump set TAPWELL_DUMP_CODEGEN."""
    monkeypatch.delenv(codegen.DUMP_ENV, raising=False)


def test_a_traceback_through_a_generated_check_shows_its_lines() -> None:
    exc, lines = _traceback_of_bad_record({"id": 1, "at": "not a date"})
    assert "line 7" in str(exc) and "at" in str(exc)
    frames = "".join(lines)
    # the frame of the generated function names it and shows the line that called the slow check
    assert re.search(
        r'File "<tapwell-codegen schema-check [0-9a-f]{12}>", line \d+, in check_record', frames
    )
    assert "slow(2, v, line)" in frames
    missing = "".join(_traceback_of_bad_record({"amount": 1})[1])
    assert "fail('key property is missing or null', line, _k0)" in missing


def test_identical_source_is_registered_once() -> None:
    compile_checker("a", SCHEMA, ["id"])
    before = {name for name in linecache.cache if str(name).startswith("<tapwell-codegen")}
    for stream in ("b", "c", "d"):  # names are values, not source: the same source each time
        compile_checker(stream, SCHEMA, ["id"])
    after = {name for name in linecache.cache if str(name).startswith("<tapwell-codegen")}
    assert after == before


def test_the_dump_writes_each_generated_source_as_a_readable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "codegen"
    monkeypatch.setenv(codegen.DUMP_ENV, str(folder))
    exc, lines = _traceback_of_bad_record({"id": 1, "at": "not a date"})

    (path,) = folder.glob("schema-check-*.py")
    text = path.read_text(encoding="utf-8")
    ast.parse(text)  # valid Python, bound values as trailing comments
    assert "def check_record(record, line=None):" in text
    assert "# _n0 = 'id'" in text and "# _n2 = 'at'" in text
    assert re.search(r"# fail = tapwell\.singer\.record_check\..*fail", text)
    # the traceback names the file, and its line number is that line of the file
    frame = next(line for line in lines if str(path) in line)
    number = int(re.search(r"line (\d+)", frame).group(1))  # type: ignore[union-attr]
    assert text.splitlines()[number - 1].strip() in frame


def test_execute_labels_and_dumps_any_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(codegen.DUMP_ENV, str(tmp_path))
    ns = codegen.execute("def twice(x):\n    return 2 * x", "test-gen", {"k0": "name"})
    assert ns["twice"](21) == 42
    (path,) = tmp_path.glob("test-gen-*.py")
    assert path.read_text(encoding="utf-8").startswith("def twice(x):\n    return 2 * x\n")
    assert "# k0 = 'name'" in path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="lowercase"):
        codegen.execute("x = 1", "Has Space", {})


def test_an_unwritable_dump_folder_is_one_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(codegen.DUMP_ENV, str(blocker / "sub"))
    with pytest.raises(ConfigError, match=r"TAPWELL_DUMP_CODEGEN=.*cannot write generated source"):
        compile_checker("orders", SCHEMA, ["id"])


def test_no_module_but_codegen_compiles_generated_source() -> None:
    """Every generator goes through codegen.execute (linecache, TAPWELL_DUMP_CODEGEN): no other
    module of the package or the connectors calls exec() or compile(..., "exec")."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for folder in ("runner/tapwell", "taps", "targets", "mappers"):
        for path in sorted((root / folder).rglob("*.py")):
            if path == Path(codegen.__file__).resolve():
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("exec", "eval")
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
