"""The shipped example configs (taps/rest/examples) run against a local server answering in each
public API's documented shape (Stripe's list objects, GitHub's Link-paged lists), twice: every
record as the server has it, then a second run that resumes from the bookmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.rest_server import (
    GITHUB_COMMENTS,
    GITHUB_ISSUES,
    STRIPE_CUSTOMERS,
    RestServer,
    run_tap,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "taps" / "rest" / "examples"


@pytest.fixture
def srv():
    with RestServer() as server:
        yield server


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def test_stripe_example_reads_every_customer_then_resumes(srv, tmp_path):
    cfg = example("stripe")
    cfg["base_url"] = srv.url + "/stripe/v1"
    cfg["auth"]["username"] = "sk_test_123"
    first = run_tap(cfg, tmp_path, state={})
    assert first.code == 0, first.stderr
    newest_first = sorted(STRIPE_CUSTOMERS, key=lambda c: -c["created"])
    assert first.records("customers") == newest_first
    asked = srv.api.requests("/stripe/v1/customers")
    assert asked[-3].query == {"limit": "100", "created[gte]": "1704067200"}
    assert [r.query.get("starting_after") for r in asked[-3:]] == [None, "cus_5", "cus_2"]
    assert "has_more_path $.has_more is False" in first.stderr
    assert "sk_test_123" not in first.stderr
    state = first.states()[-1]
    newest = newest_first[0]["created"]
    assert state["bookmarks"]["customers"]["replication_key_value"] == newest

    srv.api.log.clear()
    second = run_tap(cfg, tmp_path, state=state)
    assert second.code == 0, second.stderr
    assert srv.api.requests("/stripe/v1/customers")[-1].query["created[gte]"] == str(newest)
    assert second.records("customers") == newest_first[:1]  # the bookmark's own (inclusive)


def test_github_example_reads_issues_and_their_comments_then_resumes(srv, tmp_path):
    cfg = example("github")
    cfg["base_url"] = srv.url + "/github"
    cfg["auth"]["token"] = "ghp_test"
    for stream in cfg["streams"]:
        stream["path"] = stream["path"].replace("OWNER/REPO", "o/r")
    first = run_tap(cfg, tmp_path, state={})
    assert first.code == 0, first.stderr
    assert first.records("issues") == GITHUB_ISSUES
    want = [
        dict(c, issues_number=i["number"])
        for i in GITHUB_ISSUES
        for c in GITHUB_COMMENTS
        if c["issue"] == i["number"]
    ]
    assert first.records("issue_comments") == want
    assert len(srv.api.requests("/github/repos/o/r/issues/3/comments")) >= 2  # Link-paged
    assert 'no next URL (Link header rel="next" is empty)' in first.stderr
    assert "ghp_test" not in first.stderr
    state = first.states()[-1]
    assert state["bookmarks"]["issues"]["replication_key_value"] == "2024-03-05T12:00:00Z"

    srv.api.log.clear()
    second = run_tap(cfg, tmp_path, state=state)
    assert second.code == 0, second.stderr
    sync = srv.api.requests("/github/repos/o/r/issues")[-1]
    assert sync.query["since"] == "2024-03-05T12:00:00Z" and sync.query["per_page"] == "100"
    assert second.records("issues") == GITHUB_ISSUES[-1:]
    assert second.records("issue_comments") == [c for c in want if c["issues_number"] == 5]
