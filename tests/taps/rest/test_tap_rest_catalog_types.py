"""tap-rest syncs by the catalog it is given: a property taken out of the catalog's schema is not
sent (it was, or it stopped an inferred stream as "not in the schema"), and a value that does not
fit a type the catalog changes from the stream's declared one is one error line naming the
catalog, not a RECORD that breaks its SCHEMA."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.rest_server import RestServer, run_tap


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def _config(srv: RestServer) -> dict[str, Any]:
    stream = {
        "name": "orders",
        "path": "/incremental",
        "records_path": "$.data[*]",
        "primary_key": ["id"],
        "paginator": {"type": "page"},
    }
    return {"base_url": srv.url, "backoff_seconds": 0.01, "streams": [stream]}


def _catalog(srv: RestServer, tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    catalog = run_tap(config, tmp_path, "--discover").messages[0]
    for item in catalog["streams"][0]["metadata"]:
        if not item["breadcrumb"]:
            item["metadata"]["selected"] = True
    return catalog


def _sync(config: dict[str, Any], catalog: dict[str, Any], tmp_path: Path) -> Any:
    (tmp_path / "edited.json").write_text(json.dumps(catalog))
    return run_tap(config, tmp_path, "--catalog", str(tmp_path / "edited.json"))


@pytest.mark.parametrize("declared", [False, True])
def test_a_property_taken_out_of_the_catalog_is_not_sent(srv, tmp_path, declared):
    config = _config(srv)
    catalog = _catalog(srv, tmp_path, config)
    if declared:
        config["streams"][0]["schema"] = copy.deepcopy(catalog["streams"][0]["schema"])
    del catalog["streams"][0]["schema"]["properties"]["customer_id"]
    run = _sync(config, catalog, tmp_path)
    assert run.code == 0, run.stderr
    expected = [{k: v for k, v in order.items() if k != "customer_id"} for order in srv.api.orders]
    assert run.records() == expected
    assert run.records()[6]["price"] == Decimal("0.1")
    assert run.records()[2]["note"] == ""


def test_a_value_a_type_changed_in_the_catalog_refuses_is_one_line_naming_the_catalog(
    srv, tmp_path
):
    config = _config(srv)
    catalog = _catalog(srv, tmp_path, config)
    config["streams"][0]["schema"] = copy.deepcopy(catalog["streams"][0]["schema"])
    catalog["streams"][0]["schema"]["properties"]["id"] = {"type": ["null", "string"]}
    run = _sync(config, catalog, tmp_path)
    assert run.code == 1
    assert run.records() == []
    assert run.stderr.splitlines()[-1] == (
        f"tap-rest: error: stream 'orders', page 1 ({srv.url}/incremental?page=1), record 1: "
        "property 'id' is integer ('1'), the schema says ['null', 'string'], as the catalog's "
        "schema types it: change the property's type in the catalog (the stream's own: "
        '{"type":["null","integer"]})'
    )
