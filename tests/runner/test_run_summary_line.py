"""The one line a `tapwell run` that succeeded prints (tapwell.runner.terminal.success_line), in
the shapes the end-to-end pins (test_runcli_demo, test_runerrors_output) do not reach."""

from __future__ import annotations

from tapwell.runner.run import RunResult
from tapwell.runner.terminal import success_line


def result(**kw) -> RunResult:
    base = {"run_id": "RUN", "attempts": 1, "states_saved": 2, "saved_in": "state/x.json"}
    return RunResult(**{**base, **kw})


def test_one_stream_and_one_row():
    done = result(rows={"items": 1}, attempt_rows=[{"items": 1}])
    assert success_line("x", done, 0.5) == (
        "tapwell: x succeeded in 0.50s: 1 row, state saved to state/x.json (run RUN)"
    )


def test_many_streams_give_their_total_alone():
    rows = {f"s{i}": 10 for i in range(6)}
    done = result(rows=rows, attempt_rows=[rows], saved_in="the PostgreSQL state store")
    assert success_line("x", done, 61.25) == (
        "tapwell: x succeeded in 61.25s: 60 rows, state saved to the PostgreSQL state store "
        "(run RUN)"
    )


def test_a_target_without_counts_and_no_state():
    done = result(sent={"items": 120}, attempt_rows=[{}], states_saved=0)
    assert success_line("x", done, 1) == (
        "tapwell: x succeeded in 1.00s: rows not reported by the target (the tap sent 120), "
        "no state to save (run RUN)"
    )
