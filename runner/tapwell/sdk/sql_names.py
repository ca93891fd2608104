"""SQL identifier rules shared by our SQL targets, the runner's PostgreSQL store and the demo:
quoting a name and shortening one that PostgreSQL would cut. One copy, so a table or column name
is spelled alike by whatever writes or reads it (the checker in tapwell.sdk.check keeps its own
copy on purpose, as an independent oracle).

Names are untrusted (stream and property names come from the tap): `quote_ident` accepts any
character, doubling double quotes. PostgreSQL keeps 63 bytes of an identifier and silently cuts
the rest, so two long names could land on one column; `shorten` makes a longer name fit
deterministically instead: its first bytes, an underscore and 8 hex digits of its SHA-1.
"""

from __future__ import annotations

import hashlib

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1


def quote_ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier (PostgreSQL, DuckDB): double quotes are doubled,
    any other character is kept. NUL bytes are the caller's to refuse before this."""
    return '"' + name.replace('"', '""') + '"'


def shorten(name: str) -> str:
    """`name` if it fits in 63 bytes of UTF-8, else a deterministic 63-byte-or-shorter form: the
    first bytes (never half a character), `_` and 8 hex digits of the SHA-1 of the whole name."""
    raw = name.encode("utf-8")
    if len(raw) <= MAX_IDENTIFIER_BYTES:
        return name
    suffix = "_" + hashlib.sha1(raw).hexdigest()[:8]
    head = raw[: MAX_IDENTIFIER_BYTES - len(suffix)].decode("utf-8", errors="ignore")
    return head + suffix
