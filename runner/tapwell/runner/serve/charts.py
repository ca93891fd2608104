"""Line charts of a run's per-stage samples as inline SVG, drawn on the server (no chart library,
no JavaScript): rows/s per stream, tap and target memory, tap and target CPU, bytes waiting in the
pipe. Each series has a colour, a dash pattern and a text label, so a chart reads without colour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from tapwell.runner.serve.words import size

W, H = 560, 160
LEFT, RIGHT, TOP, BOTTOM = 30, 8, 10, 22
COLOURS = ["#1f6fd1", "#d1521f", "#2e8b3e", "#8a3fc1", "#b08800", "#555555"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"]

ROLES = ("tap", "target")
MAX_POINTS = 240  # per line: about one per 2 units of the plot's width
Series = dict[str, list[tuple[float, float]]]


def _fmt_number(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}" if abs(v) >= 10 or v == 0 else f"{v:.1f}"


def line_chart(
    title: str,
    series: Series,
    fmt: Callable[[float], str] = _fmt_number,
    slots: tuple[str, ...] = (),
) -> Markup | None:
    """One SVG chart of `series` (label -> [(t seconds, value)]); None when there is no point.
    A label in `slots` keeps its slot's colour and dashes on every chart (the target is the
    same line on the memory and the CPU chart even when the tap has no CPU figure)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return None
    t_max = max(max(t for t, _ in points), 1.0)
    top = max(max(v for _, v in points), 0.0)
    v_max = top or 1.0  # all zero: the line lies on the axis
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def xy(t: float, v: float) -> str:
        return f"{LEFT + t / t_max * plot_w:.1f},{TOP + plot_h - v / v_max * plot_h:.1f}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{W - RIGHT}" y2="{TOP + plot_h}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" class="axis"/>',
        # the scale's top inside the plot: a wide label (88.1 MiB) needs no wide margin; none
        # for a series of zeros (a top of "1 B" would contradict the page's "up to 0 B")
        f'<text x="{LEFT + 4}" y="{TOP + 2}" dominant-baseline="hanging">{escape(fmt(top))}</text>'
        if top
        else "",
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
        f'<text x="{LEFT}" y="{H - 6}">0 s</text>',
        f'<text x="{W - RIGHT}" y="{H - 6}" text-anchor="end">{t_max:.0f} s</text>',
    ]
    legend = []
    for i, (label, values) in enumerate(series.items()):
        i = slots.index(label) if label in slots else i
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
        path = " ".join(xy(t, v) for t, v in _thin(values))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dashed} points="{path}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        if len(values) == 1:  # one sample (a short run) is no line: a dot says where it is
            x, y = xy(*values[0]).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
        last = escape(fmt(values[-1][1])) if values else ""
        legend.append(
            f'<li><svg width="28" height="8" aria-hidden="true"><line x1="0" y1="4" x2="28" y2="4" '
            f'stroke="{colour}" stroke-width="2"{dashed}/></svg> {escape(label)} '
            f'<span class="muted">(last {last})</span></li>'
        )
    parts.append("</svg>")
    return Markup(
        f'<figure class="chart-box"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
        f'<ul class="legend">{"".join(legend)}</ul></figure>'
    )


def _thin(values: list[tuple[float, float]], most: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most `most` points of a series, each bucket of neighbours kept by its lowest and its
    highest (a spike survives): 720 samples on a 520-unit-wide plot only weigh the page."""
    if len(values) <= most:
        return values
    size = -(-len(values) * 2 // most)  # ceil: two points kept per bucket
    kept: list[tuple[float, float]] = []
    for start in range(0, len(values), size):
        bucket = values[start : start + size]
        low, high = min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1])
        kept += sorted({low, high})
    return kept


def _series(samples: list[dict[str, Any]], pick: Callable[[dict[str, Any]], dict[str, float]]):
    out: Series = {}
    for sample in samples:
        for label, value in pick(sample).items():
            if value is not None:
                out.setdefault(label, []).append((float(sample.get("t", 0)), float(value)))
    return out


def _rates(samples: list[dict[str, Any]]) -> Series:
    """Rows/s per stream as steps: the rows counted between two samples where a stream's count
    changed, over the seconds between them. A target reports its count every few seconds, so
    the rate from one sample to the next read 0 then a spike; this reads the steady pace. Runs
    recorded without counts in their samples fall back to their per-sample `rows_per_s`."""
    if not any("rows" in s for s in samples):
        return _series(samples, lambda s: s.get("rows_per_s") or {})
    counts: dict[str, list[tuple[float, float]]] = {}
    before: float | None = None  # the previous sample's time: a stream new since had 0 rows then
    for sample in samples:
        t = float(sample.get("t", 0))
        for stream, n in (sample.get("rows") or {}).items():
            if stream not in counts and before is not None:
                counts[stream] = [(before, 0.0)]
            counts.setdefault(stream, []).append((t, float(n)))
        before = t
    end = max(float(s.get("t", 0)) for s in samples)
    out: Series = {}
    for stream, seen in counts.items():
        changes = [seen[0]] + [b for a, b in zip(seen, seen[1:], strict=False) if b[1] != a[1]]
        steps: list[tuple[float, float]] = []
        for (t0, n0), (t1, n1) in zip(changes, changes[1:], strict=False):
            rate = max(n1 - n0, 0.0) / max(t1 - t0, 1e-3)  # a count may restart (the target's)
            steps += [(t0, rate), (t1, rate)]
        gaps = [b[0] - a[0] for a, b in zip(changes, changes[1:], strict=False)]
        last = changes[-1][0]
        if steps and end - last > 2 * max(gaps):  # no new row for longer than the cadence
            steps += [(last, 0.0), (end, 0.0)]
        if steps:
            out[stream] = steps
    return out


def _stage(key: str, scale: float = 1.0) -> Callable[[dict[str, Any]], dict[str, float]]:
    def pick(sample: dict[str, Any]) -> dict[str, float]:
        return {
            role: sample[role][key] * scale
            for role in ROLES
            if isinstance(sample.get(role), dict) and sample[role].get(key) is not None
        }

    return pick


def run_charts(stages: dict[str, Any]) -> list[Markup]:
    """The four charts of a run's page, from its `stages.samples` (those with data)."""
    samples = list(stages.get("samples") or [])
    charts = [
        line_chart("Rows per second, per stream", _rates(samples)),
        line_chart("Memory (RSS), tap and target", _series(samples, _stage("rss")), size, ROLES),
        line_chart("CPU %, tap and target", _series(samples, _stage("cpu")), slots=ROLES),
        line_chart(
            "Bytes waiting in the tap -> target pipe",
            _series(samples, lambda s: {"pipe": s["pipe_bytes"]} if "pipe_bytes" in s else {}),
            size,
        ),
    ]
    return [c for c in charts if c is not None]
