"""The run page's charts (tapwell.runner.serve.charts), pure: rows/s reads the steady pace when
the target reports its count every few seconds, a one-sample run still shows a point, a series
of zeros lies on the axis under a scale that is not 0."""

from __future__ import annotations

import re

from tapwell.runner.serve.charts import line_chart, run_charts


def _points(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, p.split(","))) for p in found.split()]
        for found in re.findall(r'<polyline[^>]* points="([^"]*)"', svg)
    ]


def test_rows_per_second_is_the_pace_between_reported_counts():
    # the tap's count (25 a second) for 4 s, then the target's, reported every 5 s (as in a
    # real run): 25 rows/s all along, never 0 then 125
    samples = [{"t": float(t), "rows": {"items": 25 * t}} for t in range(5)]
    samples += [{"t": float(t), "rows": {"items": 25 * (t - t % 5)}} for t in range(5, 21)]
    chart = str(run_charts({"samples": samples})[0])
    assert "Rows per second, per stream" in chart
    (line,) = _points(chart)
    ys = {y for _, y in line}
    assert len(ys) == 1, line  # one flat line: every step is 25 rows/s
    assert ">25<" in chart  # the scale's top


def test_rows_per_second_falls_to_zero_when_the_rows_stop():
    samples = [{"t": float(t), "rows": {"items": min(t, 5) * 10}} for t in range(30)]
    (line,) = _points(str(run_charts({"samples": samples})[0]))
    assert line[-1][1] == line[-2][1] == 138.0  # 0 rows/s at the bottom of the plot, to the end
    assert line[-1][0] > line[-2][0]


def test_old_runs_without_counts_use_their_rows_per_second():
    samples = [{"t": float(t), "rows_per_s": {"items": 7.0}} for t in range(1, 4)]
    assert len(_points(str(run_charts({"samples": samples})[0]))[0]) == 3


def test_one_sample_is_a_dot_and_zeros_lie_on_the_axis():
    chart = str(line_chart("Bytes waiting", {"pipe": [(0.4, 0.0)]}))
    assert "<circle" in chart
    (line,) = _points(chart)
    assert line == [(line[0][0], 138.0)]  # y of 0 (the plot's bottom), not the middle or NaN
    # 0 at the bottom and no top: a scale of 1 contradicted the page's "Pipe: up to 0 B"
    assert re.findall(r">([^<>]+)</text>", chart) == ["0", "0 s", "1 s"]


def test_a_pipe_never_filled_says_0_b_on_its_chart_as_on_its_page():
    samples = [{"t": float(t), "pipe_bytes": 0} for t in range(5)]
    (chart,) = map(str, run_charts({"samples": samples}))
    assert "Bytes waiting in the tap -&gt; target pipe" in chart
    assert re.findall(r">([^<>]+)</text>", chart) == ["0", "0 s", "4 s"]  # no "1 B" at the top
    assert "(last 0 B)" in chart


def test_a_short_run_whose_counts_arrive_once_still_has_a_rate():
    # the demo's run: the first sample before any count, the next with every stream done
    samples = [{"t": 2.9, "rows": {}}, {"t": 3.9, "rows": {"orders": 1500, "customers": 500}}]
    chart = str(run_charts({"samples": samples})[0])
    assert len(_points(chart)) == 2 and ">1500<" in chart  # 1,500 rows in that second


def test_tap_and_target_keep_their_colour_when_one_has_no_figure():
    samples = [
        {"t": float(t), "tap": {"rss": 10, "cpu": None}, "target": {"rss": 20, "cpu": 5.0}}
        for t in range(3)
    ]
    memory, cpu = (str(c) for c in run_charts({"samples": samples})[:2])
    target = re.compile(r'<polyline fill="none" stroke="(#\w+)"[^>]*><title>target</title>')
    assert target.search(memory).group(1) == target.search(cpu).group(1) == "#d1521f"


def test_a_long_series_is_thinned_and_keeps_its_spike():
    values = [(float(t), 1.0) for t in range(720)]
    values[333] = (333.0, 50.0)
    (line,) = _points(str(line_chart("CPU", {"tap": values})))
    assert len(line) <= 240
    assert min(y for _, y in line) == 10.0  # the spike's top: the plot's top edge
    assert [x for x, _ in line] == sorted(x for x, _ in line)
