"""The web page's fast tier: Starlette's TestClient over serve's app (no process, no scheduler
thread, no run started), with runs written straight into the history store. Every page answers
with its key text; odd names (tapwell.yml allows only letters, digits, `_ . -` in an integration's
name, but a shared history store can hold runs of a name from elsewhere, and a stream's name comes
from the source) and a log line holding `<script>` come out escaped everywhere; the error is shown whole, root cause first; the charts are drawn;
cookies are HttpOnly and SameSite=Strict and a form without its CSRF token changes nothing."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import pytest
from helpers.runner_project import Proj, fake_integration
from helpers.web_project import ODD_LINE
from tapwell.runner.history import RunRecord, new_run_id
from tapwell.runner.serve.app import make_app
from tapwell.runner.serve.service import Service

with warnings.catch_warnings():  # starlette 1.10 asks for httpx2; httpx (what we have) works
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

ODD = 'o\'brien <b>&"x"'  # a name made of what HTML must escape
ODD_HTML = "o&#39;brien &lt;b&gt;&amp;&#34;x&#34;"
ODD_QUOTED = "o%27brien%20%3Cb%3E%26%22x%22"
DOTTED = "shop.orders-v2_x"  # an integration name as odd as tapwell.yml allows
LONG_LINE = (
    '2026-12-06T04:30:07.449422Z [tap-csv] METRIC: {{"type":"counter","metric":"record_count",'
    '"value":{n},"tags":{{"stream":"customers"}}}}'
)
LONG_CAUSE = "tap-x: error: the server said no " + "and explained why at length " * 12 + "THE END"


def _samples(n: int) -> list[dict]:
    return [
        {
            "t": float(t),
            "rows": {"items": 25 * t, ODD: t},
            "rows_per_s": {"items": 25.0, ODD: 1.0},
            "tap": {"cpu": 10.0, "rss": 20_000_000},
            "target": {"cpu": 30.0, "rss": 60_000_000},
            "pipe_bytes": 4096 * (t % 3),
        }
        for t in range(n)
    ]


def _record(minutes_ago: int, name: str, **fields) -> RunRecord:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return RunRecord(new_run_id(at), name, at, at + dt.timedelta(seconds=50), **fields)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    proj = Proj(tmp_path_factory.mktemp("webtc"))
    quick = fake_integration(proj, rows=30)
    proj.write(
        {
            "integrations": {
                "quick": {**quick, "schedule": "15 2 * * *"},
                DOTTED: {**quick, "schedule": "*/30 * * * *"},
                "after-dotted": {**quick, "after": [DOTTED]},
                "report": {**quick, "after": ["after-dotted", "quick"]},
            }
        }
    )
    service = Service(proj.root, log=lambda line: None)
    runs = {
        "ok": _record(
            10,
            DOTTED,
            outcome="succeeded",
            attempts=1,
            rows={"items": 300, ODD: 12},
            trigger="schedule",
            stages={"summary": {"rows_per_s": {"items": 110386.5}}, "samples": _samples(12)},
        ),
        "elsewhere": _record(
            8, ODD, outcome="failed", attempts=1, error="tap-y: <script>alert(2)</script>"
        ),
        "failed": _record(
            5,
            "quick",
            outcome="failed",
            attempts=2,
            error=f"tap exit 1, target exit 0: [tap-x] {LONG_CAUSE} (gave up after 2 attempts)",
            trigger="manual",
        ),
    }
    runs["cancelled"] = _record(11, "quick", outcome="interrupted", error="interrupted")
    runs["long"] = _record(
        12, DOTTED, outcome="succeeded", attempts=1, stages={"samples": _samples(720)}
    )
    for record in runs.values():
        service.store.save_run(record)
    service.store.append_log(runs["long"].id, [LONG_LINE.format(n=n) for n in range(20_000)])
    log = ["2026-01-01T00:00:00Z [fake-tap] " + ODD_LINE, "plain"]
    service.store.append_log(runs["ok"].id, log)
    client = TestClient(make_app(service))  # not entered: no lifespan, so no scheduler thread
    client.long_run_id = runs["long"].id  # type: ignore[attr-defined]
    yield client, runs["ok"].id, runs["failed"].id, runs["elsewhere"].id
    service.store.close()


def test_every_page_answers_with_its_key_text(site):
    client, ok, failed, _ = site
    pages = {
        "/": ["Integrations", "every day at 02:15 UTC", "every 30 minutes", "Run now"],
        "/integrations/quick": ["Saved state", "<code>15 2 * * *</code>", "Recent runs"],
        "/runs": ["Runs", ok, failed, "✕ failed", "✓ succeeded"],
        f"/runs/{ok}": ["Rows per stream", "Relaunch", "Per stage, over the run"],
        f"/runs/{failed}": ["✕ failed", 'class="error-box"'],
        "/schedule": ["Schedule: the next 24 hours", 'class="tick"', "chains"],
        "/login": ["Sign in"],
    }
    for path, texts in pages.items():
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        for text in texts:
            assert text in page.text, (path, text)


def test_every_page_names_its_json_twin_and_the_twin_answers(site):
    client, ok, _, _ = site
    for path, twin in [
        ("/", "/api/integrations"),
        ("/integrations/quick", "/api/integrations/quick"),
        ("/runs", "/api/runs"),
        (f"/runs/{ok}", f"/api/runs/{ok}"),
        ("/schedule", "/api/schedule"),
    ]:
        page = client.get(path).text
        assert f'<link rel="alternate" type="application/json" href="{twin}">' in page, path
        assert f'<a class="json" href="{twin}">JSON</a>' in page, path
        assert client.get(twin).headers["content-type"].startswith("application/json")


def test_odd_names_are_escaped_on_every_page(site):
    client, ok, _, elsewhere = site
    for path in ["/", "/runs", f"/runs/{ok}", f"/runs/{elsewhere}", f"/integrations/{DOTTED}"]:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert ODD not in page.text and "<b>" not in page.text, path
        assert "<script>alert(2)" not in page.text, path
    runs = client.get("/runs").text
    assert f'href="/integrations/{ODD_QUOTED}">{ODD_HTML}</a>' in runs
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in runs
    run = client.get(f"/runs/{ok}").text
    assert (
        f'<td data-label="Stream">{ODD_HTML}</td>' in run
    )  # the stream's row, and the chart's legend below
    assert f"</svg> {ODD_HTML} <span" in run
    gone = client.get(f"/runs/{elsewhere}").text
    assert f'of <a href="/integrations/{ODD_QUOTED}">{ODD_HTML}</a>' in gone
    assert "/relaunch" not in gone  # not in this project: nothing to relaunch
    assert f'href="/integrations/{DOTTED}"' in client.get("/").text
    assert f'action="/integrations/{DOTTED}/run"' in client.get("/").text
    chain = f'{DOTTED}</a> → <a href="/integrations/after-dotted">after-dotted</a>'
    assert chain in client.get("/schedule").text


def test_log_line_with_a_script_is_text(site):
    client, ok, _, _ = site
    page = client.get(f"/runs/{ok}").text
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quoted\"" in page
    assert "<script" not in page  # a finished run's page has no script at all


def test_error_root_cause_first_and_whole(site):
    client, _, failed, _ = site
    page = client.get(f"/runs/{failed}").text
    shown = re.search(r'<section class="error-box".*?<pre class="wrap">(.*?)</pre>', page, re.S)
    assert shown is not None
    assert shown.group(1).startswith("tap-x: the server said no")
    assert "THE END (tap exit 1, target exit 0; gave up after 2 attempts)" in shown.group(1)
    home = client.get("/").text
    assert re.search(
        r'<tr class="failing">\s*<td data-label="Integration"><a class="name" '
        r'href="/integrations/quick"',
        home,
    )


def test_run_page_draws_four_charts_each_readable_without_colour(site):
    client, ok, _, _ = site
    page = client.get(f"/runs/{ok}").text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert captions == [
        "Rows per second, per stream",
        "Memory (RSS), tap and target",
        "CPU %, tap and target",
        "Bytes waiting in the tap -&gt; target pipe",
    ]
    assert page.count("<polyline") == 2 + 2 + 2 + 1  # two streams; tap, target; pipe
    assert 'stroke-dasharray="6 3"' in page  # the second series differs by its dashes too


def test_cookies_httponly_strict_and_forms_need_csrf(site):
    client, ok, _, _ = site
    fresh = TestClient(client.app)
    first = fresh.get("/")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("tapwell_csrf=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/" in cookie
    token = fresh.cookies["tapwell_csrf"]
    assert f'name="csrf" value="{token}"' in first.text
    for path in ["/integrations/quick/run", f"/runs/{ok}/relaunch", f"/runs/{ok}/cancel"]:
        refused = fresh.post(path, data={})
        assert refused.status_code == 403 and "CSRF" in refused.text, path
        forged = fresh.post(path, data={"csrf": "forged"})
        assert forged.status_code == 403, path
    assert client.get("/api/runs").json()["runs"][0]["id"] != "x"  # nothing was started
    assert len(client.get("/api/runs").json()["runs"]) == 5


def test_no_cdn_and_every_asset_served_here(site):
    client, ok, _, _ = site
    for path in ["/", "/runs", f"/runs/{ok}", "/schedule", "/integrations/quick"]:
        page = client.get(path).text
        refs = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert refs and all(r.startswith("/") for r in refs), (path, refs)
    assert "http://" not in client.get("/static/style.css").text
    assert "https://" not in client.get("/static/log.js").text


def test_a_run_without_a_log_line_says_so_instead_of_an_empty_box(site):
    client, ok, _, elsewhere = site
    gone = client.get(f"/runs/{elsewhere}").text
    assert "No log line: the run ended before a connector started (its error is above)." in gone
    assert 'id="log"' not in gone
    assert 'id="log"' in client.get(f"/runs/{ok}").text


def test_rows_per_stream_cells_are_labelled_for_a_narrow_screen(site):
    client, ok, _, _ = site
    page = client.get(f"/runs/{ok}").text
    assert '<td data-label="Rows" class="num">300</td>' in page
    # thousands separated as the rows beside it (it read 110386.5 next to 1,500,000)
    assert '<td data-label="Rows/s" class="num">110,386.5</td>' in page
    assert '<td data-label="Rows/s" class="num"></td>' in page  # the odd stream: no figure
    assert '<td data-label="Stream">items</td>' in page


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},  # any web page the user has open
        {"sec-fetch-site": "same-site"},  # another port of the same host
        {"origin": "http://evil.example"},  # a browser without Sec-Fetch-Site
        {"origin": "null"},  # a sandboxed frame, a file:// page
    ],
)
def test_no_change_from_another_web_site_to_the_api_or_a_form(site, headers):
    client, ok, _, _ = site
    api = client.post(f"/api/runs/{ok}/cancel", headers=headers)
    assert api.status_code == 403 and "another web site" in api.json()["error"]
    form = client.post("/integrations/quick/run", data={"csrf": "x"}, headers=headers)
    assert form.status_code == 403 and "another web site" in form.text


def test_same_origin_browsers_and_scripts_still_reach_the_api(site):
    client, ok, _, _ = site
    for headers in [
        {},  # curl, a script
        {"sec-fetch-site": "same-origin"},  # the page itself
        {"sec-fetch-site": "none"},  # typed in the address bar
        {"origin": "http://testserver"},  # this site, from a browser without Sec-Fetch-Site
    ]:
        answer = client.post(f"/api/runs/{ok}/cancel", headers=headers)
        assert answer.status_code == 409, (headers, answer.text)  # the run ended: the handler said


def test_a_long_run_page_stays_light_and_links_the_whole_log(site):
    client = site[0]
    run_id = client.long_run_id
    page = client.get(f"/runs/{run_id}").text
    assert len(page.encode()) < 150_000, len(page.encode())  # 720 samples, 20,000 log lines
    assert '"value":0,' in page  # the first lines
    assert '"value":19999,' in page  # the last line
    assert '"value":10000,' not in page
    assert "19,500 lines not shown here, of 20,000" in page
    assert f'<a href="/api/runs/{run_id}/log">/api/runs/{run_id}/log</a>' in page
    assert 'data-lines="20000"' in page  # a live page's stream resumes after the last line
    assert len(client.get(f"/api/runs/{run_id}/log").text.splitlines()) == 20_000


def test_schedule_draws_after_integrations_where_they_are_expected(site):
    client = site[0]
    page = client.get("/schedule").text
    lanes = dict(
        re.findall(
            r'<div class="lane-name"><a [^>]*>([^<]+)</a></div>(.*?)</div>\s*</div>', page, re.S
        )
    )
    assert lanes[DOTTED].count('class="tick"') == 48  # every 30 minutes
    assert lanes["after-dotted"].count('class="tick expected"') == 48  # after each of those
    assert lanes["report"].count('class="tick expected"') == 1  # after quick (daily) and it
    assert "after after-dotted and quick succeed: expected 1 time (hollow)" in page
    assert f"after {DOTTED} succeeds: expected 48 times (hollow)" in page


def test_the_lists_renew_themselves_and_a_run_page_does_not(site):
    client, ok, _, _ = site
    for path, seconds in [("/", 30), ("/integrations/quick", 30), ("/runs", 30), ("/schedule", 60)]:
        page = client.get(path).text
        assert f'<body data-refresh="{seconds}">' in page, path
        assert '<script src="/static/refresh.js" defer></script>' in page, path
    for path in [f"/runs/{ok}", f"/runs?before={ok}"]:
        assert "refresh.js" not in client.get(path).text, path
    assert client.get("/static/refresh.js").headers["content-type"].startswith("text/javascript")


def test_an_error_that_only_repeats_the_status_is_not_said_twice(site):
    client = site[0]
    runs = client.get("/runs?status=interrupted").text
    assert "■ interrupted" in runs and '<div class="err-line">interrupted</div>' not in runs


def test_schedule_says_a_minutely_lane_has_more_than_it_lists(tmp_path):
    """`* * * * *` runs 1,440 times a day; the page lists 500 of them and said "500 runs"."""
    proj = Proj(tmp_path)
    quick = fake_integration(proj, rows=3)
    proj.write(
        {
            "integrations": {
                "minutely": {**quick, "schedule": "* * * * *"},
                "hourly": {**quick, "schedule": "0 * * * *"},
            }
        }
    )
    service = Service(proj.root, log=lambda line: None)
    try:
        client = TestClient(make_app(service))
        page = client.get("/schedule").text
        data = client.get("/api/schedule").json()
    finally:
        service.store.close()
    assert re.search(r"500\+ runs, next ", page), page
    assert re.search(r">2[45] runs, next ", page), page  # 24 or 25 in the window, no "+"
    # the API says it too: how many it lists at most, and which integrations have more
    assert (data["most_per_integration"], data["more_than_listed"]) == (500, ["minutely"])
    listed = [r["integration"] for r in data["runs"]]
    assert (listed.count("minutely"), listed.count("hourly") in (24, 25)) == (500, True)


def test_schedule_ticks_span_the_whole_day_of_a_lane_of_more_than_200_runs(tmp_path):
    """At most 200 ticks per lane are drawn: of `*/5 * * * *` (288 a day) the first 200 were, and
    the lane said '288 runs' with no tick after +16 h. Every other one is drawn now, to the end."""
    proj = Proj(tmp_path)
    quick = fake_integration(proj, rows=3)
    proj.write(
        {
            "integrations": {
                "often": {**quick, "schedule": "*/5 * * * *"},
                "then": {**quick, "after": ["often"]},
            }
        }
    )
    service = Service(proj.root, log=lambda line: None)
    try:
        page = TestClient(make_app(service)).get("/schedule").text
    finally:
        service.store.close()
    assert re.search(r">28[89] runs, next ", page), page
    for kind in ("tick", "tick expected"):
        left = [float(x) for x in re.findall(rf'class="{kind}" style="left: ([0-9.]+)%"', page)]
        assert 140 <= len(left) <= 200 and max(left) > 98, (kind, len(left), max(left))
