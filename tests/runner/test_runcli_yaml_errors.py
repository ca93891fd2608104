"""A YAML syntax error in tapwell.yml (11.24) is one line naming the file, the line and the
column, for every command, instead of PyYAML's lines naming `<unicode string>`."""

from __future__ import annotations

import pytest

GOOD = "integrations:\n  a:\n    tap: tap-csv\n    target: target-jsonl\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "integrations:\n  a:\n    tap: tap-csv\n   target: target-jsonl\n",
            "line 4, column 4: invalid YAML: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block mapping that starts at line 2); check the indentation and the "
            "quoting there",
        ),
        (
            "integrations:\n  a:\n\ttap: tap-csv\n",
            "line 3, column 1: invalid YAML: found character '\\t' that cannot start any token; "
            "indent with spaces, not tabs",
        ),
        (
            'integrations:\n  a:\n    tap: "tap-csv\n    target: target-jsonl\n',
            "line 5, column 1: invalid YAML: found unexpected end of stream (while scanning a "
            "quoted scalar that starts at line 3); check the indentation and the quoting there",
        ),
    ],
)
def test_yaml_syntax_error_is_one_line_with_file_line_column(proj, text, where):
    (proj.root / "tapwell.yml").write_text(text)
    for args in (("run", "a"), ("discover", "a"), ("state", "show", "a")):
        done = proj.cli(*args)
        assert (done.returncode, done.stderr.splitlines()) == (
            2,
            [f"tapwell: error: {proj.root / 'tapwell.yml'} {where}"],
        )


def test_connector_config_file_error_names_its_file(proj):
    (proj.root / "tapwell.yml").write_text(
        "integrations:\n  a:\n    tap: {name: tap-csv, config: tap.yml}\n    target: target-jsonl\n"
    )
    (proj.root / "tap.yml").write_text("base_dir: data\nstreams: [\n")
    done = proj.cli("discover", "a")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: integrations.a.tap.config: {proj.root / 'tap.yml'} line 3, column 1: "
            "invalid YAML: expected the node content, but found '<stream end>'; check the indentation and the quoting there"
        ],
    )
