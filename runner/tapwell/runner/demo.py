"""`make demo`: run the example project's `demo` integration and show what landed where.

The first run loads the sample CSVs into warehouse/demo.duckdb; a second run resumes from the
saved bookmarks and loads nothing new (rows at the bookmark are re-sent, as Singer's >= rule
says, and merge onto themselves by key). The table shows both: `new` rows added, `sent` rows
the run sent (what the run's `rows:` line counts), with one line explaining a difference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tapwell.runner.project import load_project
from tapwell.runner.quick_exit import freeze_at_exit
from tapwell.runner.run import describe_failure, run_integration
from tapwell.runner.terminal import TerminalFilter
from tapwell.sdk.cli_util import run_main
from tapwell.sdk.sql_names import quote_ident


def _counts(path: Path, schema: str) -> dict[str, int]:
    if not path.exists():
        return {}  # the first load: DuckDB is not even imported here
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        catalog = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
                "AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1",
                [catalog, schema],
            ).fetchall()
        ]
        return {
            t: con.execute(
                f"SELECT count(*) FROM {quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(t)}"
            ).fetchone()[0]  # type: ignore[index]
            for t in tables
        }
    finally:
        con.close()


def resent_note(before: dict[str, int], after: dict[str, int], sent: dict[str, int]) -> str:
    """One line explaining a run that sent rows but added none (the second `make demo`): the
    run's "rows: customers 1 ..." counts rows sent, and the table's +0 rows added."""
    added = sum(after.values()) - sum(before.values())
    total = sum(sent.get(t, 0) for t in after)
    if not before or total <= max(added, 0):
        return ""
    return (
        f"({total:,} row(s) sent, {added:,} new: a run resumes from the saved bookmarks and sends "
        "the rows at each bookmark again (Singer's >= rule); they merge onto themselves by key)"
    )


def demo(project_dir: str = ".") -> None:
    project = load_project(project_dir)
    integration = project.integration("demo").resolve()
    db = project.root / integration.target.config["path"]
    schema = integration.target.config.get("default_target_schema", "main")
    before = _counts(db, schema)
    started = time.monotonic()
    # The terminal gets what the runner's `run` shows (warnings, errors, its own lines); METRIC
    # lines and the rest stay in the run log (`tapwell logs RUN_ID`).
    result = run_integration(
        project, integration, log=TerminalFilter(lambda line: print(line, file=sys.stderr))
    )
    if not result.ok:
        raise describe_failure(integration, result)
    secs = time.monotonic() - started  # the load: the run, up to its state saved; not the counting
    after = _counts(db, schema)
    print(f"demo: tap-csv -> target-duckdb finished in {secs:.2f}s")
    print(f"{'table':<18}{'rows':>10}{'new':>10}{'sent':>10}")
    for table, n in after.items():
        sent = result.rows.get(table, 0)
        print(f"{schema + '.' + table:<18}{n:>10,}{n - before.get(table, 0):>+10,}{sent:>10,}")
    print(f"DuckDB file: {db}")
    print(f"state:       {project.state_dir / 'demo.json'}")
    note = resent_note(before, after, result.rows)
    if note:
        print(note)
    print(
        f"try:  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{db.relative_to(project.root)}').sql('select * from {schema}.orders limit 5'))\""
    )


def main() -> None:
    freeze_at_exit()
    sys.exit(run_main("tapwell demo", demo))


if __name__ == "__main__":
    main()
