"""Run ids: newest-first listings and paging sort by id, so ids sort by start time, to the
microsecond (CI once listed two runs started in one second in the wrong order)."""

import datetime as dt

from tapwell.runner.history import RunRecord, is_run_id, new_run_id
from tapwell.runner.statestore import FileStateStore


def test_ids_sort_by_start_within_one_second():
    base = dt.datetime(2026, 12, 6, 1, 2, 9, tzinfo=dt.UTC)
    starts = [base + dt.timedelta(microseconds=us) for us in (0, 1, 999, 500_000, 999_999)]
    ids = [new_run_id(at) for at in starts]
    for _ in range(50):  # the random tail never decides the order
        again = [new_run_id(at) for at in starts]
        assert sorted(reversed(again)) == again
    assert all(is_run_id(i) for i in ids)


def test_ids_from_0_1_stay_valid_and_sort_before_the_same_second():
    old = "20261206T010209-eb992e"
    new = new_run_id(dt.datetime(2026, 12, 6, 1, 2, 9, tzinfo=dt.UTC))
    assert is_run_id(old) and old < new
    for bad in ("20261206T010209-eb992", "20261206T0102091234-eb992e", "../x-eb992e"):
        assert not is_run_id(bad)


def test_file_store_lists_runs_of_one_second_newest_first(tmp_path):
    store = FileStateStore(tmp_path)
    base = dt.datetime(2026, 12, 6, 1, 2, 9, 10, tzinfo=dt.UTC)
    ids = []
    for n in range(3):
        started = base + dt.timedelta(microseconds=n * 300_000)
        record = RunRecord(id=new_run_id(started), integration="quick", started_at=started)
        store.save_run(record)
        ids.append(record.id)
    listed = [r.id for r in store.runs("quick", limit=2)]
    assert listed == ids[::-1][:2]
    assert [r.id for r in store.runs("quick", before=listed[-1])] == [ids[0]]
