"""A conformance report: which checks ran, which Singer rules were broken, where.

Rendered for people (one line per violation, grouped by check) or as JSON for machines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


@dataclass
class Violation:
    """One broken rule. `rule` is a stable id (e.g. `record-before-schema`) tests and tools can key on."""

    check: str
    rule: str
    message: str
    stream: str | None = None
    line: int | None = None

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.stream is not None:
            where.append(f"stream {self.stream!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"[{self.rule}] {prefix}{self.message}"


@dataclass
class Report:
    """What `tapwell check` found. `ok` is true when no rule was broken."""

    subject: str
    command: list[str]
    checks: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    limit_per_rule: int = 20
    _counts: dict[tuple[str, str], int] = field(
        default_factory=dict, repr=False
    )  # (check, rule) -> n

    @property
    def ok(self) -> bool:
        return not self.violations

    def ran(self, check: str) -> None:
        if check not in self.checks:
            self.checks.append(check)

    def add(
        self,
        check: str,
        rule: str,
        message: str,
        *,
        stream: str | None = None,
        line: int | None = None,
    ) -> None:
        """Record a violation; past `limit_per_rule` of one rule, only count it (one bad column
        in a million records is one problem, not a million)."""
        self.ran(check)
        n = self._counts[(check, rule)] = self._counts.get((check, rule), 0) + 1
        if n <= self.limit_per_rule:
            self.violations.append(Violation(check, rule, message, stream, line))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def rules_broken(self) -> set[str]:
        return {v.rule for v in self.violations}

    def counts(self) -> dict[str, int]:
        """Violations per rule, including those past the per-rule limit that were only counted."""
        out: dict[str, int] = {}
        for (_check, rule), n in self._counts.items():
            out[rule] = out.get(rule, 0) + n
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "command": self.command,
            "ok": self.ok,
            "checks": self.checks,
            "violations": [asdict(v) for v in self.violations],
            "violation_counts": self.counts(),
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()

    def to_text(self) -> str:
        lines = [f"tapwell check {self.subject}: {' '.join(self.command)}"]
        for check in self.checks:
            found = [v for v in self.violations if v.check == check]
            total = sum(n for (c, _r), n in self._counts.items() if c == check)
            mark = "ok  " if not found else "FAIL"
            lines.append(f"  {mark} {check}" + (f" ({total} violation(s))" if found else ""))
            for v in found:
                lines.append(f"         {v.describe()}")
            for (c, rule), n in self._counts.items():
                shown = sum(1 for v in found if v.rule == rule)
                if c != check:
                    continue
                if shown and n > shown:
                    lines.append(f"         ... and {n - shown} more [{rule}]")
        for text in self.notes:
            lines.append(f"  note: {text}")
        verdict = "conforms" if self.ok else f"{len(self.rules_broken())} rule(s) broken"
        lines.append(f"{self.subject}: {verdict}")
        return "\n".join(lines)
