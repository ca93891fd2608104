"""`tapwell check tap|target -- COMMAND...` takes the connector's command as words, as a shell runs
it. A whole command line given as one quoted word is refused with the line to type instead; a
command that cannot start says why (not found on PATH, no such file, not executable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def check(bin_path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_path / "tapwell"), "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_a_command_in_one_quoted_word_is_refused_with_the_line_to_type(bin_path: Path) -> None:
    word = f"{bin_path / 'tap-csv'} --config x.json"
    done = check(bin_path, "tap", word)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"tapwell check: error: {word!r} is a whole command in one quoted word, and no file has "
        f"that name: pass the command unquoted after --: tapwell check tap -- {bin_path}/tap-csv "
        "--config x.json\n"
    )


def test_the_line_to_type_keeps_the_options_given(bin_path: Path) -> None:
    word = "target-jsonl --config 'my target.json'"
    done = check(bin_path, "target", "--verify", "jsonl:out", "--", word, "--extra")
    assert done.returncode == 2
    assert done.stderr.endswith(
        ": pass the command unquoted after --: tapwell check target --verify jsonl:out -- "
        "target-jsonl --config 'my target.json' --extra\n"
    ), done.stderr


def test_a_command_whose_path_has_a_blank_runs(bin_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "my taps"
    folder.mkdir()
    tap = folder / "tap x"
    tap.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(3)\n")
    tap.chmod(0o755)
    done = check(bin_path, "tap", "--no-resume", str(tap))
    assert done.returncode == 1, done.stderr  # it ran, and broke the rules
    assert "quoted word" not in done.stderr and "--discover exited 3" in done.stdout


def test_a_command_that_cannot_start_says_why(bin_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "tap-gone"
    done = check(bin_path, "tap", "--", str(missing), "--config", "x.json")
    assert (done.returncode, done.stderr) == (
        2,
        f"tapwell check: error: cannot run '{missing}': No such file or directory\n",
    )
    plain = tmp_path / "tap-plain"
    plain.write_text("not a program\n")
    done = check(bin_path, "tap", "--", str(plain))
    assert (done.returncode, done.stderr) == (
        2,
        f"tapwell check: error: cannot run '{plain}': Permission denied: make it an executable "
        "file (chmod +x)\n",
    )
    moved = tmp_path / "tap-moved"
    moved.write_text("#!/no/such/venv/bin/python\n")
    moved.chmod(0o755)
    done = check(bin_path, "target", "--", str(moved))
    assert (done.returncode, done.stderr) == (
        2,
        f"tapwell check: error: cannot run '{moved}': the interpreter its #! line names does "
        "not exist\n",
    )
