"""The printed table: one line per tool and stage, figures only for runs that were correct."""

from __future__ import annotations

from typing import Any

HEADER = (
    "tool",
    "stage",
    "rows",
    "wall s",
    "rows/s",
    "CPU s",
    "server CPU s (my/pg)",
    "peak RSS MB (per process)",
    "vs raw",
    "vs PW",
    "check",
)


def _ratio(value: float | None, suffix: str) -> str:
    return f"{value:.3f}{suffix}" if value is not None else "-"


def _rss(record: dict[str, Any]) -> str:
    text = " / ".join(f"{p['name']} {p['max_rss_mb']:.0f}" for p in record.get("processes", []))
    kids = record.get("children")
    if kids:  # a runner's tap and target, each on its own (bench/lane_watch.py)
        each = " / ".join(f"{k} {v:.0f}" for k, v in kids["peak_rss_mb"].items())
        text += f" ({each})"
        if kids.get("spool_written_mb"):
            text += f"; spool peak {kids['spool_peak_mb']:.0f} of {kids['spool_written_mb']:.0f} MB"
    return text


def _server(record: dict[str, Any]) -> str:
    cpu = record.get("server_cpu_s") or {}
    return f"{cpu['mariadb']:.1f}/{cpu['postgres']:.1f}" if cpu else "-"


def rows_of(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    lines: list[tuple[str, ...]] = []
    for tool in doc["tools"]:
        if tool["status"] == "skipped":
            dashes = ("-",) * (len(HEADER) - 2)
            lines.append((tool["tool"], *dashes, f"SKIPPED: {tool['note']}"))
            continue
        for stage, r in tool["stages"].items():
            rps = r.get("rows_per_s")
            if r.get("correct") is False:
                check = f"WRONG: {r.get('check')}"
            elif not r.get("ok"):
                check = f"FAILED: {r.get('error')}"
            else:
                check = "ok" if r.get("correct") else (r.get("check") or "")
            lines.append(
                (
                    tool["tool"],
                    stage,
                    f"{r['rows']:,}" if r.get("rows") is not None else "-",
                    f"{r['wall_s']:.1f}" if r.get("wall_s") is not None else "-",
                    f"{rps:,.0f}" if rps else "-",
                    f"{r['cpu_s']:.1f}" if r.get("cpu_s") is not None else "-",
                    _server(r),
                    _rss(r) or "-",
                    _ratio(r.get("vs_raw"), ""),
                    _ratio(r.get("vs_pipelinewise"), "x"),
                    check if len(check) < 140 else check[:137] + "...",
                )
            )
    return lines


def format_table(doc: dict[str, Any]) -> str:
    body = rows_of(doc)
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(HEADER)
    ]
    numeric = {2, 3, 4, 5, 6, 8, 9}

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    m = doc["machine"]
    head = (
        f"{doc['benchmark']}: {doc['rows']:,} rows, variant {doc['variant']} ({doc['columns']} columns), "
        f"{m['cores']} cores, load {m['loadavg_before'][0]} -> {m['loadavg_after'][0]}"
    )
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([head, fmt(HEADER), rule, *(fmt(r) for r in body)])
