"""`tapwell new tap|target NAME`: a separate repo for a new connector that passes its own tests
(including tapwell's conformance check) the moment it is made."""

from __future__ import annotations

from tapwell.sdk.scaffold.render import scaffold

__all__ = ["scaffold"]
