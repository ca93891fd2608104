"""What a server needs before LOG_BASED streams can read its binlog, checked all at once.

Every setting that is wrong is reported in the same line (a user fixing them one run at a time
would otherwise restart the server up to three times): at sync, as the error that stops a
LOG_BASED stream before its snapshot; at `--discover`, as one warning, so the catalog is not
edited for LOG_BASED on a server that cannot feed it.
"""

from __future__ import annotations

from typing import Any

CANNOT = "this server's binlog cannot feed LOG_BASED streams"


def binlog_problems(conn: Any) -> list[str]:
    """Each binlog setting of the server that LOG_BASED cannot work with, with its fix."""
    cur = conn.cursor()
    try:
        cur.execute("SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image")
        log_bin, fmt, image = cur.fetchone()
    finally:
        cur.close()
    problems = []
    if str(log_bin).upper() not in ("1", "ON"):
        problems.append("log_bin is OFF (set log_bin in my.cnf and restart the server)")
    if str(fmt).upper() != "ROW":
        problems.append(f"binlog_format is {fmt} (SET GLOBAL binlog_format = 'ROW', and in my.cnf)")
    if str(image).upper() != "FULL":
        problems.append(
            f"binlog_row_image is {image} (SET GLOBAL binlog_row_image = 'FULL', and in my.cnf)"
        )
    return problems


def problems_text(problems: list[str], note: str = "") -> str:
    """The one line that lists every wrong setting with its fix (`note` goes after the cause)."""
    return f"{CANNOT}{note}: " + "; ".join(problems)
