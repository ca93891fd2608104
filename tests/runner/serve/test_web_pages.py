"""The web page of `tapwell serve` over plain HTTP (a real serve process): every page and its
JSON twin, the forms (Run now, full refresh behind its confirmation, relaunch, cancel) with their
CSRF token, bad input answered with an HTML error page, and everything escaped: names in paths,
log lines with `<script>`, quotes."""

from __future__ import annotations

import re

import httpx
import pytest
from helpers.runner_project import Proj, wait_for
from helpers.serve_process import Serve
from helpers.web_project import ODD_LINE, web_project


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    proj = Proj(tmp_path_factory.mktemp("web"))
    web_project(proj)
    serve = Serve(proj.root).start()
    yield serve
    assert serve.stop() == 0, serve.output()


def _client(serve: Serve) -> httpx.Client:
    return httpx.Client(base_url=serve.url, timeout=30)


def _csrf(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    assert client.cookies.get("tapwell_csrf") == found.group(1)
    return found.group(1)


def _finished(serve: Serve, run_id: str) -> dict:
    wait_for(
        lambda: serve.get(f"/api/runs/{run_id}").json()["status"] not in ("queued", "running"),
        "the run's end",
    )
    wait_for(lambda: serve.get("/api/runs/x").status_code == 404, "")  # serve still answers
    return serve.get(f"/api/runs/{run_id}").json()


def _idle(serve: Serve, name: str) -> None:
    wait_for(
        lambda: serve.get(f"/api/integrations/{name}").json()["running_run_id"] is None, "idle"
    )


def _run_now(serve: Serve, client: httpx.Client, name: str, **form: str) -> httpx.Response:
    """Run now, once `name` is idle; again if the scheduler started it in between (a 409 is then
    the product being right: broken runs `after: quick`, which its tests run; quick runs daily
    at 02:15 UTC). Under load the `after:` run could start just before a test's own."""
    answers: list[httpx.Response] = []

    def posted() -> bool:
        _idle(serve, name)
        answers.append(client.post(f"/integrations/{name}/run", data=form))
        return answers[-1].status_code != 409

    wait_for(posted, f"{name} free to run now")
    return answers[-1]


def test_home_lists_every_integration_with_schedule_in_words(web):
    page = web.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    for name in ("quick", "slow.orders", "broken"):
        assert f'href="/integrations/{name}"' in text
    assert "every day at 02:15 UTC" in text and "every 30 minutes" in text
    assert "after quick succeeds" in text
    assert "fake-tap → target-duckdb" in text
    assert "never ran" in text and "Run now" in text and "full refresh" in text
    assert 'href="/api/integrations"' in text  # the JSON twin
    assert len(page.content) < 60_000


def test_run_now_form_then_the_run_page_escapes_the_log(web):
    with _client(web) as client:
        posted = _run_now(web, client, "quick", csrf=_csrf(client))
        assert posted.status_code == 303
        run_id = posted.headers["location"].rsplit("/", 1)[1]
        record = _finished(web, run_id)
        assert record["status"] == "succeeded" and record["trigger"] == "manual"
        page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "✓ succeeded" in page.text and 'data-status="succeeded"' in page.text
    assert "<script>alert(" not in page.text
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quoted\"" in page.text
    assert ODD_LINE in web.get(f"/api/runs/{run_id}/log").text  # the API has the line as it is
    assert "Rows per stream" in page.text and ">items<" in page.text and ">30<" in page.text
    assert 'action="/runs/' + run_id + '/relaunch"' in page.text
    assert "log.js" not in page.text  # a finished run's page needs no script at all
    assert 'href="/api/runs/' + run_id + '"' in page.text
    _idle(web, "quick")


def _after_run_done(serve: Serve, name: str) -> None:
    """Wait until the run `after:` started for `name` (when quick succeeded) has ended: under load
    the scheduler may fire it late, while a test's own run goes, and record it skipped, which
    would then be the integration's newest run."""

    def done() -> bool:
        runs = serve.get("/api/runs", params={"integration": name, "limit": 50}).json()["runs"]
        return any(
            r["trigger"] == "after" and r["status"] not in ("queued", "running") for r in runs
        )

    quick = serve.get("/api/runs", params={"integration": "quick", "status": "succeeded"})
    if quick.json()["runs"]:  # the test above ran (not when this test runs alone)
        wait_for(done, f"{name}'s after: run")


def test_failed_run_shows_its_root_cause_and_no_secret(web):
    _after_run_done(web, "broken")  # started when quick succeeded (test above)
    _idle(web, "broken")
    with _client(web) as client:
        posted = _run_now(web, client, "broken", csrf=_csrf(client))
        assert posted.status_code == 303, posted.text
        run_id = posted.headers["location"].rsplit("/", 1)[1]
        assert _finished(web, run_id)["status"] == "failed"
        page = client.get(f"/runs/{run_id}").text
        home = client.get("/").text
    assert "✕ failed" in page and 'class="error-box"' in page
    error = re.search(r'<section class="error-box".*?<pre class="wrap">(.*?)</pre>', page, re.S)
    assert error and error.group(1).startswith("fake-tap: authentication failed")
    assert "hunter2-never-shown" not in page and "hunter2-never-shown" not in home
    assert re.search(
        r'<tr class="failing">\s*<td data-label="Integration"><a class="name" '
        r'href="/integrations/broken"',
        home,
    )
    _idle(web, "broken")


def test_full_refresh_needs_its_confirmation_and_every_form_its_csrf(web):
    with _client(web) as client:
        csrf = _csrf(client)
        unconfirmed = client.post(
            "/integrations/quick/run", data={"csrf": csrf, "full_refresh": "1"}
        )
        assert unconfirmed.status_code == 400 and "confirmation" in unconfirmed.text
        no_csrf = client.post("/integrations/quick/run", data={})
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        wrong = client.post("/integrations/quick/run", data={"csrf": "forged"})
        assert wrong.status_code == 403
        done = _run_now(web, client, "quick", csrf=csrf, full_refresh="1", confirm="yes")
        assert done.status_code == 303
        run_id = done.headers["location"].rsplit("/", 1)[1]
        assert _finished(web, run_id)["full_refresh"] is True
        _idle(web, "quick")
        again = client.post(f"/runs/{run_id}/relaunch", data={"csrf": csrf})
        assert again.status_code == 303
        new_id = again.headers["location"].rsplit("/", 1)[1]
        new = _finished(web, new_id)
        assert (new["trigger"], new["relaunch_of"], new["full_refresh"]) == (
            "relaunch",
            run_id,
            True,
        )
        assert f'relaunch of <a href="/runs/{run_id}">' in client.get(f"/runs/{new_id}").text
    _idle(web, "quick")


def test_cancel_a_running_run_and_busy_answer(web):
    with _client(web) as client:
        csrf = _csrf(client)
        run_id = (
            client.post("/integrations/slow.orders/run", data={"csrf": csrf})
            .headers["location"]
            .rsplit("/", 1)[1]
        )
        wait_for(lambda: web.get(f"/api/runs/{run_id}").json()["status"] == "running", "running")
        # as the API's cancel test: a SIGTERM before the run is under way records it `lost`
        wait_for(lambda: "attempt 1 from id 0" in web.get(f"/api/runs/{run_id}/log").text, "log")
        page = client.get(f"/runs/{run_id}").text
        assert "▶ running" in page and 'data-stream="/api/runs/' + run_id + '/log"' in page
        assert '<script src="/static/log.js" defer>' in page
        busy = client.post("/integrations/slow.orders/run", data={"csrf": csrf})
        assert busy.status_code == 409 and f'href="/runs/{run_id}"' in busy.text
        cancelled = client.post(f"/runs/{run_id}/cancel", data={"csrf": csrf})
        assert cancelled.status_code == 303
        assert _finished(web, run_id)["status"] == "interrupted"
        said = "interrupted: cancelled with the Cancel button of its page"  # who stopped it
        wait_for(lambda: web.get(f"/api/runs/{run_id}").json()["error"] == said, "who cancelled")
        assert "■ interrupted" in client.get(f"/runs/{run_id}").text
    _idle(web, "slow.orders")


def test_runs_list_filters_and_pages(web):
    with _client(web) as client:
        csrf = _csrf(client)
        for _ in range(3):
            assert _run_now(web, client, "quick", csrf=csrf).status_code == 303
            _idle(web, "quick")
    all_quick = web.get("/api/runs", params={"integration": "quick"}).json()["runs"]
    page = web.get("/runs", params={"integration": "quick", "limit": 2})
    assert page.status_code == 200
    ids = re.findall(r'<a href="/runs/([0-9A-Za-z_-]+)"><code>', page.text)
    assert ids == [r["id"] for r in all_quick[:2]]
    older = re.search(r'<a href="(/runs\?[^"]+)" rel="next">older', page.text)
    assert older
    second = web.get(older.group(1).replace("&amp;", "&"))
    ids2 = re.findall(r'<a href="/runs/([0-9A-Za-z_-]+)"><code>', second.text)
    assert ids2 == [r["id"] for r in all_quick[2:4]]
    assert "← newest" in second.text
    failed = web.get("/runs", params={"status": "failed"}).text
    assert "✕ failed" in failed and "✓ succeeded" not in failed
    assert '<option value="failed" selected>' in failed


def test_schedule_page_has_the_timeline_and_after_chains(web):
    page = web.get("/schedule")
    assert page.status_code == 200
    assert page.text.count('class="tick"') >= 48 + 1  # every 30 minutes, and 02:15 daily
    assert "runs when it has succeeded since broken" in page.text
    assert 'href="/api/schedule"' in page.text


def test_integration_page(web):
    page = web.get("/integrations/slow.orders")
    assert page.status_code == 200
    assert "<h1>slow.orders</h1>" in page.text and "Saved state" in page.text
    assert "<code>*/30 * * * *</code>" in page.text


@pytest.mark.parametrize(
    ("path", "status", "said"),
    [
        ("/integrations/nope", 404, "no integration &#39;nope&#39; in the project"),
        ("/integrations/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404, "&lt;script&gt;alert(1)"),
        ("/integrations/%2E%2E", 404, "no integration &#39;..&#39;"),
        ("/integrations/a%22b%27c", 404, "a&#34;b\\&#39;c"),
        ("/runs/%2E%2E", 404, "&#39;..&#39; is not a run id"),
        ("/runs/%3Cb%3E", 404, "&#39;&lt;b&gt;&#39; is not a run id"),
        ("/runs/20991231T000000Z-deadbeef", 404, ""),
        ("/runs?status=%3Cx%3E", 400, "status must be one of"),
        ("/runs?integration=%22nope%22", 404, "no integration"),
        ("/runs?limit=abc", 400, "limit must be a whole number"),
        ("/runs?before=..%2F..%2Fetc", 400, "before must be a run id"),
        ("/schedule?hours=-1", 400, "hours must be more than 0"),
        ("/nothing/here", 404, "no such page"),
        ("/static/..%2Fweb.py", 404, ""),
    ],
)
def test_bad_input_is_one_escaped_html_line(web, path, status, said):
    page = httpx.get(web.url + path, timeout=30)
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert said in page.text
    assert "<script>" not in page.text and "Traceback" not in page.text


def test_static_files_and_page_weight(web):
    css = web.get("/static/style.css")
    js = web.get("/static/log.js")
    assert css.status_code == js.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["content-type"].startswith("text/javascript")
    heaviest = max(len(web.get(p).content) for p in ("/", "/runs", "/schedule"))
    assert heaviest + len(css.content) + len(js.content) < 200_000


def test_json_twins_still_json(web):
    assert web.get("/api/integrations").json()["integrations"]
    assert web.get("/api/schedule").json()["runs"]
    missing = web.get("/api/nothing")
    assert missing.status_code == 404 and "error" in missing.json()


def test_token_asked_once_and_kept_in_an_httponly_cookie(tmp_path):
    proj = Proj(tmp_path)
    web_project(proj)
    serve = Serve(proj.root, env={"TAPWELL_SERVE_TOKEN": "s3cret-token"}).start()
    try:
        with _client(serve) as client:
            first = client.get("/runs?status=failed")
            assert first.status_code == 303
            assert first.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
            csrf = _csrf(client, "/login?next=/runs")
            wrong = client.post("/login", data={"csrf": csrf, "token": "nope", "next": "/runs"})
            assert wrong.status_code == 401 and "That is not the token" in wrong.text
            assert "tapwell_token" not in client.cookies
            evil = client.post(
                "/login", data={"csrf": csrf, "token": "s3cret-token", "next": "//evil.example/"}
            )
            assert evil.status_code == 303 and evil.headers["location"] == "/"
            cookie = evil.headers.get_list("set-cookie")
            assert any(
                c.startswith("tapwell_token=") and "HttpOnly" in c and "SameSite=strict" in c
                for c in cookie
            ), cookie
            assert client.get("/").status_code == 200
            assert client.get("/api/integrations").status_code == 200  # the API takes the cookie
            assert "s3cret-token" not in client.get("/").text
        assert httpx.get(serve.url + "/api/integrations").status_code == 401
    finally:
        assert serve.stop() == 0, serve.output()
