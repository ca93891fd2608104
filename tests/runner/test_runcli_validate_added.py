"""`tapwell validate` says in the "column added" line that the column is not loaded until
`tapwell discover` runs again (11.19), which is what a run then does."""

from __future__ import annotations

import json


def csv_project(proj, header, rows, select=("t",)):
    (proj.root / "data").mkdir(exist_ok=True)
    (proj.root / "data" / "t.csv").write_text("\n".join([header, *rows]) + "\n")
    proj.write(
        {
            "integrations": {
                "csv": {
                    "tap": {
                        "name": "tap-csv",
                        "config": {
                            "base_dir": "data",
                            "streams": [{"name": "t", "path": "t.csv", "key_properties": ["id"]}],
                        },
                    },
                    "target": {"name": "target-jsonl", "config": {"destination_path": "out"}},
                    "select": list(select),
                }
            }
        }
    )


def loaded_columns(proj):
    lines = (proj.root / "out" / "t.jsonl").read_text().splitlines()
    return sorted(json.loads(lines[-1]))


def test_column_added_says_it_waits_for_discover(proj):
    csv_project(proj, "id,name", ["1,a"])
    assert proj.cli("discover", "csv").returncode == 0
    assert proj.cli("run", "csv").returncode == 0

    csv_project(proj, "id,name,country", ["1,a,FR"])
    done = proj.cli("validate", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ok        t: column added: country (string); not loaded until `tapwell discover csv` "
        "adds it to the catalog"
    ]
    assert proj.cli("run", "csv").returncode == 0
    assert loaded_columns(proj) == ["id", "name"]  # as the line said
    assert proj.cli("discover", "csv").returncode == 0
    assert proj.cli("run", "csv").returncode == 0
    assert loaded_columns(proj) == ["country", "id", "name"]
    assert proj.cli("validate", "csv").stdout == ""


def test_column_added_that_the_selection_leaves_out(proj):
    csv_project(proj, "id,name", ["1,a"], select=("t.name",))
    assert proj.cli("discover", "csv").returncode == 0
    csv_project(proj, "id,name,ssn", ["1,a,x"], select=("t.name",))
    done = proj.cli("validate", "csv")
    assert done.stdout.splitlines() == [
        "ok        t: column added: ssn (string) (not selected: tapwell.yml's selection leaves it out)"
    ]


def test_validate_before_any_discover_says_what_to_run(proj):
    csv_project(proj, "id,name", ["1,a"])
    done = proj.cli("validate", "csv")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            f"tapwell: error: {proj.root / 'catalogs' / 'csv.json'} does not exist: run "
            "`tapwell discover csv` first (and commit the catalog)"
        ],
    )
