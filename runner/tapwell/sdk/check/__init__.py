"""Conformance checks for any Singer tap or target (ours, singer-sdk, singer-io).

    from tapwell.sdk.check import check_tap, check_target
    report = check_tap(["tap-example", "--config", "config.json"])
    assert report.ok, report.to_text()

`tapwell check tap -- COMMAND...` and `tapwell check target -- COMMAND...` are the same at the
command line.
"""

from __future__ import annotations

from tapwell.sdk.check.destinations import destination
from tapwell.sdk.check.report import Report, Violation
from tapwell.sdk.check.tap_check import check_tap
from tapwell.sdk.check.target_check import check_target
from tapwell.sdk.check.verify import Verifier

__all__ = ["Report", "Verifier", "Violation", "check_tap", "check_target", "destination"]
