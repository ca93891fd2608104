"""When an ACTIVATE_VERSION may retire rows: the rule every tapwell target follows.

ACTIVATE_VERSION N tells a target that version N is now the table, so rows of older versions are
deleted (hard_delete) or marked `_sdc_deleted_at`. A tap that starts a new version and then
crashes (a corrupt state did exactly that) would so empty the whole table. The rule:

- an ACTIVATE_VERSION whose version the target received at least one record of, in this run and
  for that stream, retires the older rows as it always did;
- one whose version it received no record of retires nothing, and the target warns once per
  stream at the end of the run, unless the message says `"empty": true`: the tap's word that the
  table really has no rows now (then the older rows are retired, as the table is empty).

Singer's usual ACTIVATE_VERSION before the first record of a full-table sync therefore changes
nothing; the one after the records retires what that sync did not send.
"""

from __future__ import annotations

import logging

from tapwell.singer.messages import ActivateVersionMessage


class VersionGuard:
    """Remembers the record versions seen per stream and decides each ACTIVATE_VERSION."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.seen: dict[str, set[int]] = {}
        self.kept: dict[str, int] = {}  # stream -> a version activated without a record of it

    def saw(self, stream: str, version: int) -> None:
        """A record of `stream` carried `version`."""
        self.seen.setdefault(stream, set()).add(version)

    def may_retire(self, msg: ActivateVersionMessage) -> bool:
        """True when `msg` may retire the rows of older versions (see the module's rule)."""
        if msg.empty or msg.version in self.seen.get(msg.stream, ()):
            self.kept.pop(msg.stream, None)
            return True
        self.kept[msg.stream] = msg.version
        return False

    def warn(self) -> None:
        """One warning per stream whose ACTIVATE_VERSION retired nothing and whose version
        never got a record afterwards (the usual opening ACTIVATE_VERSION of a full-table
        sync is followed by its records, so it is not warned about)."""
        for stream, version in self.kept.items():
            if version in self.seen.get(stream, ()):
                continue
            self.log.warning(
                "stream %r: ACTIVATE_VERSION %d came without any record of version %d, so no "
                'rows were retired (a tap sends "empty": true when the table is really empty)',
                stream,
                version,
                version,
            )
