"""Errors, classified once: by phase (config, discovery, sync, protocol) and by what to do next.

The runner retries only what is retriable. At the command line every one of these is one line
that says what went wrong and, where it can, how to fix it; a traceback is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable


class TapwellError(Exception):
    """Base of every expected failure. `retriable` tells the runner whether trying again can help."""

    retriable = False
    exit_code = 1


class ConfigError(TapwellError):
    """The configuration is wrong or incomplete: fix it, retrying will not help."""

    exit_code = 2


class AuthenticationError(ConfigError):
    """The credentials were refused."""


class DiscoveryError(TapwellError):
    """The source could not be described (catalog, schema)."""


class SyncError(TapwellError):
    """A sync failed for a reason that will happen again (bad data, a type that cannot load)."""


class RetriableSyncError(SyncError):
    """A sync failed for a passing reason (connection lost, deadlock, timeout)."""

    retriable = True
    exit_code = 75  # EX_TEMPFAIL


class ProtocolError(TapwellError):
    """The Singer message stream is malformed. Names the line, the stream and the field."""

    exit_code = 65  # EX_DATAERR

    def __init__(
        self,
        problem: str,
        *,
        line: int | None = None,
        stream: str | None = None,
        field: str | None = None,
        source: str = "input",
    ) -> None:
        self.problem = problem
        self.line = line
        self.stream = stream
        self.field = field
        self.source = source
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [self.source if self.line is None else f"{self.source} line {self.line}"]
        if self.stream is not None:
            where.append(f"stream {self.stream!r}")
        path = getattr(self.line, "batch_file", None)  # a record of a BATCH file (FileRow)
        if path is not None:
            where.append(f"BATCH file {path} row {getattr(self.line, 'batch_row', '?')}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.problem}"


class TruncatedInput(ProtocolError):
    """The input ended in the middle of a line: the process writing it stopped mid-write (killed,
    crashed, its machine gone). Not bad data: a retry from the last committed STATE resumes."""

    retriable = True
    exit_code = 75  # EX_TEMPFAIL


# How alike a misspelling and a name must be to name it (difflib's ratio of the lowercased
# words; its own default): `nmu` finds `num` (0.67), `t-99` finds `t-09` (0.75), `price` finds
# nothing among `id, num, name`.
CLOSE_ENOUGH = 0.6


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """'; did you mean X?' naming the choice a misspelled `word` most likely meant, or '': the
    first choice equal to it but for case (`ID` for `id`), else the closest spelling, case
    ignored (`Nmu` for `num`). One rule for every such hint (unknown config keys, per-stream
    entries naming no stream, column names), so a user meets the same suggestion everywhere."""
    import difflib  # only for a name that is wrong (start-up: 1-2 ms)

    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(choice.casefold(), choice)
    key = str(word).casefold()
    close = [key] if key in folded else difflib.get_close_matches(key, folded, 1, CLOSE_ENOUGH)
    return f"; did you mean {folded[close[0]]!r}?" if close else ""
