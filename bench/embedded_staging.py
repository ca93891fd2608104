"""How a batch of parsed records best reaches a typed DuckDB table: the measurement behind
target-duckdb's staging (README, target-duckdb). Each way converts the same parsed records
(values made exact as target-duckdb does) and inserts them into the same typed table, then the
load is checked (count, sum of amount, NULL and '' notes, latest instant).

    python -m bench.embedded_staging 1000000 arrow jsonway csvway unnest executemany

arrow: an Arrow table of typed columns, registered and inserted; jsonway: JSON lines read with
read_json (what target-duckdb did before); csvway: a CSV written by the csv module and read with
read_csv and explicit types; unnest: the columns as list parameters of one INSERT ... SELECT
unnest(...); executemany: DuckDB's executemany (10,000 rows only: it is that slow).
"""

# ruff: noqa
import csv
import gc
import os
import sys
import tempfile
import time

import duckdb
import orjson

from bench import embedded_data

gc.disable()  # the records are held at once: keep the collector out of the figures
TMP = tempfile.mkdtemp(prefix="bench-staging-")
from tapwell.singer.wire import dumps

N = int(sys.argv[1])
which = sys.argv[2:]
recs = []
with open(embedded_data.singer_file(N), "rb") as f:
    for line in f:
        o = orjson.loads(line)
        if o["type"] == "RECORD":
            recs.append(o["record"])
cols = {
    "id": "BIGINT",
    "customer_id": "BIGINT",
    "status": "VARCHAR",
    "amount": "DECIMAL(12,2)",
    "note": "VARCHAR",
    "created_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
    "is_paid": "BOOLEAN",
    "payload": "JSON",
}
names = list(cols)


def num(v):
    return None if v is None else (repr(v) if type(v) is float else str(v))


def js(v):
    return None if v is None else dumps(v).decode()


conv = {"amount": num, "payload": js}


def columns():
    out = {}
    for c in names:
        vals = [r.get(c) for r in recs]
        f = conv.get(c)
        if f:
            vals = [f(v) for v in vals]
        out[c] = vals
    return out


stype = {
    c: ("VARCHAR" if t in ("DECIMAL(12,2)", "JSON", "TIMESTAMPTZ") else t) for c, t in cols.items()
}


def fresh():
    if os.path.exists(os.path.join(TMP, "alt.duckdb")):
        os.remove(os.path.join(TMP, "alt.duckdb"))
    con = duckdb.connect(os.path.join(TMP, "alt.duckdb"))
    con.execute("SET TimeZone='UTC'")
    con.execute("CREATE TABLE t (" + ", ".join(f'"{c}" {t}' for c, t in cols.items()) + ")")
    return con


sel = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in cols.items())


def check(con):
    print(
        "   ",
        con.execute(
            "select count(*), sum(amount), count(*) filter (where note is null), count(*) filter (where note=''), max(updated_at) from t"
        ).fetchone(),
    )


def arrow(con):
    import pyarrow as pa

    t0 = time.perf_counter()
    c = columns()
    t1 = time.perf_counter()
    tbl = pa.table(
        {k: pa.array(v, type=pa.string() if stype[k] == "VARCHAR" else None) for k, v in c.items()}
    )
    t2 = time.perf_counter()
    con.register("stage_arrow", tbl)
    con.execute(f"INSERT INTO t SELECT {sel} FROM stage_arrow")
    t3 = time.perf_counter()
    con.unregister("stage_arrow")
    print(f"   columns {t1 - t0:.3f} arrow {t2 - t1:.3f} insert {t3 - t2:.3f}")


def unnest(con):
    t0 = time.perf_counter()
    c = columns()
    t1 = time.perf_counter()
    un = ", ".join(
        f"CAST(unnest(${i + 1}::{stype[k]}[]) AS {cols[k]})" for i, k in enumerate(names)
    )
    con.execute(f"INSERT INTO t SELECT {un}", [c[k] for k in names])
    t2 = time.perf_counter()
    print(f"   columns {t1 - t0:.3f} insert {t2 - t1:.3f}")


def csvway(con):
    t0 = time.perf_counter()

    def cell(k):
        f = conv.get(k)
        return f

    with open(os.path.join(TMP, "stage.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        for r in recs:
            w.writerow([(conv[k](r.get(k)) if k in conv else r.get(k)) for k in names])
    t1 = time.perf_counter()
    con.execute(
        f"INSERT INTO t SELECT {sel} FROM read_csv($p, header=false, columns=$c, quote='\"', escape='\"', allow_quoted_nulls=false, auto_detect=false)",
        {"c": {k: stype[k] for k in names}, "p": os.path.join(TMP, "stage.csv")},
    )
    t2 = time.perf_counter()
    print(f"   write {t1 - t0:.3f} insert {t2 - t1:.3f}")


def jsonway(con):
    t0 = time.perf_counter()
    with open(os.path.join(TMP, "stage.jsonl"), "wb") as f:
        for r in recs:
            r = dict(r)
            for k, fn in conv.items():
                r[k] = fn(r[k])
            f.write(dumps(r) + b"\n")
    t1 = time.perf_counter()
    con.execute(
        f"INSERT INTO t SELECT {sel} FROM read_json(?, format='newline_delimited', columns=?)",
        [os.path.join(TMP, "stage.jsonl"), stype],
    )
    t2 = time.perf_counter()
    print(f"   write {t1 - t0:.3f} insert {t2 - t1:.3f}")


def executemany(con):
    t0 = time.perf_counter()
    c = columns()
    rows = list(zip(*[c[k] for k in names]))[:10000]
    con.executemany("INSERT INTO t VALUES (" + ",".join("?" * len(names)) + ")", rows)
    print(f"   10k rows only: {time.perf_counter() - t0:.3f}")


for w in which:
    con = fresh()
    t = time.perf_counter()
    p = time.process_time()
    globals()[w](con)
    print(w, f"wall {time.perf_counter() - t:.3f}s cpu {time.process_time() - p:.3f}s")
    check(con)
    con.close()
