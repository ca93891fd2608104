"""A typo in a column-level selection (11.12): `!customers.snn` would load the personal data it
meant to drop, `products.nme` every column. Each is the one-line error a stream typo gives, at
`tapwell discover` and at `tapwell run` (nothing loaded), as a user types them."""

from __future__ import annotations

import json

import pytest
from helpers.runner_project import csv_shop_project as shop_project


@pytest.mark.parametrize(
    ("select", "line"),
    [
        (
            ["customers", "!customers.snn"],
            "tapwell: error: select: pattern '!customers.snn' matches no property of customers "
            "(properties: id, name, ssn)",
        ),
        (
            ["products.nme"],
            "tapwell: error: select: pattern 'products.nme' matches no property of products "
            "(properties: id, name, price)",
        ),
        (
            ["customers", "!custmers.ssn"],
            "tapwell: error: select: pattern '!custmers.ssn' matches no stream "
            "(streams: customers, products)",
        ),
    ],
)
def test_property_typo_is_one_line_error_at_discover_and_run(proj, select, line):
    shop_project(proj, ["customers", "products"])
    assert proj.cli("discover", "shop").returncode == 0  # a good catalog from before the typo

    shop_project(proj, select)
    done = proj.cli("discover", "shop")
    assert (done.returncode, done.stderr.strip().splitlines()) == (2, [line])
    done = proj.cli("run", "shop")  # the run's own line: "integration 'shop' failed: ..."
    assert done.returncode == 2, done.stderr
    assert line.removeprefix("tapwell: error: ") in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert not (proj.root / "out").exists()  # nothing was loaded


def test_good_property_patterns_still_select(proj):
    shop_project(proj, ["customers", "!customers.ssn", "products.na*"])
    assert proj.cli("discover", "shop").returncode == 0
    done = proj.cli("run", "shop")
    assert done.returncode == 0, done.stderr
    rows = {
        name: [json.loads(x) for x in (proj.root / "out" / f"{name}.jsonl").read_text().split()]
        for name in ("customers", "products")
    }
    assert {k: sorted(v[0]) for k, v in rows.items()} == {
        "customers": ["id", "name"],
        "products": ["id", "name"],
    }
