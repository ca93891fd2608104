"""The record check's cost on 300,000 records of two date-time fields (one with microseconds and
an offset, one with Z), old schema module against new: `python -m bench.datetime_check_ab FILE`
runs the check of the module at FILE that defines compile_checker (tapwell/singer/record_check.py;
schema.py before the split by role) once and prints wall, CPU seconds and peak RSS (MB).
`... FILE rare`: the forms off the inline fast path instead (milliseconds with Z, as JavaScript
writes them, and a naive time with microseconds)."""

from __future__ import annotations

import importlib.util
import resource
import sys
import time

ROWS = 300_000
SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "a": {"type": ["null", "string"], "format": "date-time"},
        "b": {"type": ["null", "string"], "format": "date-time"},
    }
}


def main(path: str, forms: str = "common") -> None:
    spec = importlib.util.spec_from_file_location("schema_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    check = module.compile_checker("s", SCHEMA, ["id"])
    if forms == "rare":
        a, b = "2024-05-01T12:{m:02d}:00.{f:03d}Z", "2024-05-01T12:00:00.{f:06d}"
    else:
        a, b = "2024-05-01T12:{m:02d}:00.{f:06d}+02:00", "2024-05-01T12:00:00Z"
    records = [
        {"id": i, "a": a.format(m=i % 60, f=i % 999), "b": b.format(f=i % 999999)}
        for i in range(ROWS)
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    for n, record in enumerate(records):
        check(record, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{wall:.3f} {cpu:.3f} {rss:.0f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
