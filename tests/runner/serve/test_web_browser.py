"""The web page in a real browser (Debian's chromium, driven by Playwright) against a real
`tapwell serve`: click Run now, follow to the run page, watch log lines arrive while it runs and
the status turn to succeeded without a reload, the auto-scroll that stops when the reader scrolls
up, relaunch, cancel a slow run, a failed run's error (also live, without a reload), the runs filter, a 400 px wide screen.
Screenshots of every page are saved (helpers.browser.screenshots_dir; `make screenshots`)."""

from __future__ import annotations

import re

import pytest
from helpers.browser import launch, screenshots_dir
from helpers.runner_project import Proj, wait_for
from helpers.serve_process import Serve
from helpers.web_project import web_project
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    proj = Proj(tmp_path_factory.mktemp("webui"))
    web_project(proj)
    serve = Serve(proj.root).start()
    yield serve
    assert serve.stop() == 0, serve.output()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(screenshots_dir() / f"{name}.png"), full_page=True)


def _row(page, name: str):
    return page.locator("tr", has=page.locator(f'a.name[href="/integrations/{name}"]'))


def test_run_now_live_log_succeeded_relaunch_cancel(web, page):
    page.goto(web.url + "/")
    assert page.title() == "Integrations · tapwell serve"
    _row(page, "slow.orders").get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/runs/[0-9A-Za-z_-]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#status .status").inner_text().strip() in ("… queued", "▶ running")
    page.locator("#status .status[data-status='running']").wait_for()
    page.evaluate("window.notReloaded = true")
    log = page.locator("#log")
    log.evaluate("el => { el.style.maxHeight = '80px'; }")  # a box that overflows soon
    before = log.inner_text().count("\n")
    page.wait_for_function(
        f"document.getElementById('log').textContent.split('\\n').length > {before + 3}"
    )  # lines written after the page was rendered, arrived through the SSE stream
    overflows = "el => el.scrollHeight > el.clientHeight + 40"
    page.wait_for_function(f"({overflows})(document.getElementById('log'))")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 8"
    page.wait_for_function(f"({at_bottom})(document.getElementById('log'))")
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    assert "paused" in page.locator("#live-note").inner_text()
    count = log.inner_text().count("\n")
    page.wait_for_function(
        f"document.getElementById('log').textContent.split('\\n').length > {count + 2}"
    )
    assert log.evaluate("el => el.scrollTop") == 0  # new lines did not pull the reader down
    _shot(page, "run-live")
    page.locator("#status .status[data-status='succeeded']").wait_for(timeout=90_000)
    assert page.evaluate("window.notReloaded") is True
    text = log.inner_text()
    assert text.count("\n") >= 16 and "METRIC" in text
    served = web.get(f"/api/runs/{run_id}/log").text
    assert text.strip() == served.strip()  # every line once, in order, as the API has it
    assert page.locator("#cancel-form").is_hidden()

    page.reload()
    assert page.locator(".chart-box").count() >= 3  # rows/s, memory, CPU (pipe when it filled)
    assert page.locator("svg.chart polyline").count() >= 3
    _shot(page, "run")

    page.get_by_role("button", name="Relaunch").click()
    page.wait_for_url(re.compile(r"/runs/(?!" + run_id + r")[0-9A-Za-z_-]+$"))
    new_id = page.url.rsplit("/", 1)[1]
    assert page.get_by_text(f"relaunch of {run_id}").count() == 1
    wait_for(lambda: "attempt" in web.get(f"/api/runs/{new_id}/log").text, "a line")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(new_id + "$"))
    page.reload()
    wait_for(lambda: web.get(f"/api/runs/{new_id}").json()["status"] == "interrupted", "cancel")
    page.reload()
    assert page.locator("#status .status").inner_text().strip() == "■ interrupted"


def test_failed_run_shows_the_error_and_stands_out(web, page):
    page.goto(web.url + "/")
    _row(page, "broken").get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/runs/[0-9A-Za-z_-]+$"))
    page.locator("#status .status[data-status='failed']").wait_for(timeout=60_000)
    page.reload()
    error = page.locator(".error-box pre").first.inner_text()
    assert error.startswith("fake-tap: authentication failed")
    assert "hunter2" not in page.content()
    _shot(page, "run-failed")
    page.goto(web.url + "/")
    row = _row(page, "broken")
    assert "failing" in (row.get_attribute("class") or "")
    assert "✕ failed" in row.inner_text()


def test_a_run_failing_live_shows_its_status_and_error_without_a_reload(web, page):
    """The page that follows a run as it fails ends with the final status, the Error box and
    the facts as a reload would show them (before: "reload for its final figures")."""
    page.goto(web.url + "/")
    _row(page, "fails.late").get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/runs/[0-9A-Za-z_-]+$"))
    page.locator("#status .status[data-status='running']").wait_for()
    page.evaluate("window.notReloaded = true")
    assert page.locator(".error-box").count() == 0
    page.locator("#status .status[data-status='failed']").wait_for(timeout=60_000)
    page.locator(".error-box pre").first.wait_for(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    error = page.locator(".error-box pre").first.inner_text()
    assert error.startswith("fake-tap: connection reset by peer (exit 1")
    assert page.locator("#status .status").inner_text().strip() == "✕ failed"
    assert page.locator("#live-note").inner_text().strip() == "the run ended"
    finished = page.locator("dl.facts dt:text-is('Finished') + dd").inner_text()
    assert finished.strip() not in ("", "—")
    assert "connection reset by peer" in page.locator("#log").inner_text()  # the log stays
    _shot(page, "run-failed-live")


def test_a_running_run_shows_its_attempt_rows_and_duration_live(web, page):
    """While a run goes, its page (without a reload) and the API show its attempt, the rows its
    target committed so far and a duration that ticks; cancelled, it keeps those rows (before:
    "attempts 0", "No row recorded" and the duration of the page load until the run ended, and
    an interrupted run recorded no rows)."""
    # a full refresh: the first test's run left a bookmark past every row, so a plain run
    # would send none of them (and show no rows) when the module's tests run in turn
    run_id = web.post("/api/integrations/slow.orders/runs", json={"full_refresh": True}).json()[
        "run_id"
    ]
    page.goto(f"{web.url}/runs/{run_id}")
    page.locator("#status .status[data-status='running']").wait_for()
    page.evaluate("window.notReloaded = true")
    duration = page.locator("#duration")
    first = duration.inner_text()
    page.wait_for_function(f"document.getElementById('duration').textContent !== {first!r}")
    assert duration.inner_text().endswith(" so far")
    # the runner's live save, read again by the page
    expect(page.locator("dl.facts dt:text-is('Attempts') + dd")).to_have_text("1", timeout=30_000)
    page.locator("#run-figures table.list td[data-label='Stream']").first.wait_for(timeout=30_000)
    assert page.locator("#status .status").get_attribute("data-status") == "running"
    assert page.evaluate("window.notReloaded") is True
    live = web.get(f"/api/runs/{run_id}").json()
    assert live["status"] == "running" and live["attempts"] == 1
    assert 0 < live["rows"]["items"] < 400  # committed so far, of 400
    assert duration.inner_text().endswith(" so far")
    _shot(page, "run-running")
    assert web.post(f"/api/runs/{run_id}/cancel").status_code == 202
    wait_for(lambda: web.get(f"/api/runs/{run_id}").json()["status"] == "interrupted", "cancel")
    ended = web.get(f"/api/runs/{run_id}").json()
    assert ended["attempts"] == 1 and ended["rows"]["items"] >= live["rows"]["items"]
    page.locator("#status .status[data-status='interrupted']").wait_for(timeout=30_000)
    page.wait_for_function("!document.getElementById('duration').dataset.started")
    assert not duration.inner_text().endswith(" so far")


def test_full_refresh_asks_for_confirmation(web, page):
    page.goto(web.url + "/integrations/quick")
    page.get_by_text("full refresh…").click()
    page.get_by_role("button", name="Run a full refresh").click()
    assert page.url.endswith("/integrations/quick")  # the unticked box stopped the form
    page.get_by_label("re-read every stream from the start").check()
    page.get_by_role("button", name="Run a full refresh").click()
    page.wait_for_url(re.compile(r"/runs/[0-9A-Za-z_-]+$"))
    assert "full refresh" in page.locator("dl.facts").inner_text()
    page.locator("#status .status[data-status='succeeded']").wait_for(timeout=60_000)


def test_runs_filter_and_every_page_at_1280_and_400(web, page, browser):
    page.goto(web.url + "/runs")
    page.select_option("select[name=status]", "failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=failed"))
    statuses = page.locator("table.runs .status").all_inner_texts()
    assert statuses and all(s.strip() == "✕ failed" for s in statuses)
    for path, name in [
        ("/", "integrations"),
        ("/runs", "runs"),
        ("/schedule", "schedule"),
        ("/integrations/slow.orders", "integration"),
    ]:
        page.goto(web.url + path)
        _shot(page, name)
    narrow = browser.new_context(viewport={"width": 400, "height": 800})
    tab = narrow.new_page()
    for path, name in [
        ("/", "integrations-400"),
        ("/runs", "runs-400"),
        ("/schedule", "schedule-400"),
        ("/integrations/slow.orders", "integration-400"),
    ]:
        tab.goto(web.url + path)
        wide = tab.evaluate("document.documentElement.scrollWidth")
        assert wide <= 400, f"{path} scrolls sideways at 400 px ({wide})"
        _shot(tab, name)
    last = web.get("/api/runs", params={"limit": 1}).json()["runs"][0]["id"]
    done = web.get("/api/runs", params={"limit": 1, "status": "succeeded"}).json()["runs"][0]
    for run_id in (last, done["id"]):
        tab.goto(web.url + f"/runs/{run_id}")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 400
    _shot(tab, "run-400")
    narrow.close()


def test_lists_renew_themselves_unless_the_reader_is_busy(web, page):
    page.add_init_script("window.TAPWELL_REFRESH_SECONDS = 1")
    page.goto(web.url + "/")
    assert "renewed every 30 s" in page.locator("footer").inner_text()
    with page.expect_navigation():  # the page reloads by itself
        pass
    page.evaluate("window.notReloaded = true")
    page.get_by_text("full refresh…").first.click()  # a confirmation box open: busy
    page.wait_for_timeout(3_000)  # three refresh periods
    assert page.evaluate("window.notReloaded") is True


def test_a_page_load_asks_for_nothing_that_is_missing(web, page):
    """Every page asked for /favicon.ico, a 404 and a console error in the browser's tools on
    each load; the page now names its icon (/static/icon.svg), so no request fails."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    for path in ("/", "/runs", "/schedule", "/integrations/slow.orders"):
        page.goto(web.url + path)
        page.wait_for_load_state("networkidle")
    assert failed == []
