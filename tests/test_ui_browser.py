"""The web UI in a real browser: Playwright drives Debian's Chromium against a live
`worktrack serve --demo`. Screenshots go to test-results/ui/ (WORKTRACK_UI_OUTPUT
to put them elsewhere)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from service.postgres import with_database
from tests.helpers import CloneFactory, serving

CHROMIUM = Path(os.environ.get("WORKTRACK_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = Path(
    os.environ.get("WORKTRACK_UI_OUTPUT", Path(__file__).resolve().parent.parent / "test-results" / "ui")
)
# The closed network refuses Chromium's own background connections; these keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))),
    reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set WORKTRACK_CHROMIUM)",
)

PAGES = {
    "home": "/",
    "projects": "/ui/projects",
    "board": "/ui/projects/atlas/board",
    "board-filtered": "/ui/projects/atlas/board?epic=E02&agent_type=coder",
    "task": "/ui/projects/atlas/tasks/T-0010",
    "queue": "/ui/projects/atlas/queue",
    "activity": "/ui/projects/atlas/activity",
    "sprint-closed": "/ui/sprints/4",
    "sprint-active": "/ui/sprints/5",
    "docs": "/docs",
}


@pytest.fixture(scope="module")
def demo(pg_server: str, clones: CloneFactory) -> Iterator[str]:
    """`worktrack serve --demo` on a migrated, empty database of its own."""
    name = clones.take()
    try:
        with serving(
            with_database(pg_server, name), "--no-migrate", "--demo", "--log-level", "warning"
        ) as served:
            yield served.base
    finally:
        clones.give_back(name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with every console error, page error, failed request and 4xx/5xx noted."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.url}")


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport=LAPTOP)
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def _screenshot(page: Any, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=name not in {"board", "board-phone"})
    return path


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_loads_without_console_error_or_failed_request(
    demo: str, watched: Watched, name: str
) -> None:
    response = watched.page.goto(demo + PAGES[name], wait_until="networkidle")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    if name == "docs":  # the viewer rendered the document
        watched.page.wait_for_selector(".swagger-ui .info .title", timeout=10_000)
        assert "worktrack" in watched.page.inner_text(".swagger-ui .info .title").lower()
    else:
        # Server time is measured (tests/test_ui.py prints it), not asserted here.
        assert response.headers["server-timing"].startswith("app;dur=")
    assert _screenshot(watched.page, name).stat().st_size > 0
    assert watched.problems == []


@pytest.mark.parametrize("name", ["board", "sprint-closed", "activity", "queue", "task"])
def test_pages_fit_a_phone_width(demo: str, browser: Any, name: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(demo + PAGES[name], wait_until="networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a phone"
        _screenshot(page, f"{name}-phone")
    finally:
        context.close()


def test_the_board_shows_the_demo_tasks_in_their_columns(demo: str, watched: Watched) -> None:
    watched.page.goto(demo + PAGES["board"])
    for status in ("pending", "in_progress", "blocked", "in_review", "cancelled", "completed"):
        limit = 100 if status == "completed" else 500
        listed = httpx.get(f"{demo}/projects/atlas/tasks", params={"status": status, "limit": limit}).json()
        expected = [task["key"] for task in listed["items"]]
        if status != "completed":
            assert listed["next"] is None
        column = watched.page.locator(f'section.column[data-status="{status}"] li.task')
        shown = column.evaluate_all("cards => cards.map(c => c.dataset.key)")
        assert shown == expected, status
        assert set(column.evaluate_all("cards => cards.map(c => c.dataset.status)")) <= {status}
    assert watched.problems == []


def test_the_board_filters_live_in_the_query_string(demo: str, watched: Watched) -> None:
    page = watched.page
    page.goto(demo + PAGES["board"])
    page.select_option("select[name=epic]", "E03")
    page.fill("input[name=q]", "task 1")
    page.click("button[type=submit]")
    page.wait_for_url("**/board?*")
    assert "epic=E03" in page.url and "q=task+1" in page.url
    shown = page.locator("li.task").evaluate_all("cards => cards.map(c => c.dataset.key)")
    expected = httpx.get(
        f"{demo}/projects/atlas/tasks", params={"epic": "E03", "q": "task 1", "limit": 500}
    ).json()["items"]
    assert sorted(shown) == sorted(t["key"] for t in expected) and shown


def test_the_burndown_points_equal_the_report_series(demo: str, watched: Watched) -> None:
    for sprint_id in (4, 5):
        series = httpx.get(f"{demo}/sprints/{sprint_id}/report").json()["burndown"]
        watched.page.goto(f"{demo}/ui/sprints/{sprint_id}")
        drawn = watched.page.locator("svg.burndown circle.point").evaluate_all(
            "points => points.map(p => [p.dataset.day, Number(p.dataset.remaining),"
            " Number(p.dataset.scope), Number(p.dataset.ideal)])"
        )
        assert drawn == [
            [p["day"], p["remaining_points"], p["scope_points"], p["ideal_remaining_points"]]
            for p in series
            if p["remaining_points"] is not None  # days still to come are not drawn
        ]
        assert len(drawn) > 0
        bars = watched.page.locator("svg.velocity rect.bar").count()
        velocity = httpx.get(f"{demo}/sprints/{sprint_id}/report").json()["velocity"]
        assert bars == sum(len(w["sprints"]) for w in velocity["workstreams"])
    assert watched.problems == []


def test_a_figure_shows_its_definition_on_hover_and_focus(demo: str, watched: Watched) -> None:
    page = watched.page
    page.goto(demo + PAGES["sprint-closed"])
    definition = page.locator("#fig-commitment .definition")
    assert not definition.is_visible()
    page.hover("#fig-commitment")
    assert definition.is_visible()
    report = httpx.get(f"{demo}/sprints/4/report").json()
    assert definition.inner_text() == report["commitment"]["definition"]
    page.mouse.move(0, 0)
    page.focus("#fig-cycle_time_hours")
    assert page.locator("#fig-cycle_time_hours .definition").is_visible()


def test_the_feed_shows_a_status_change_within_5_seconds_without_moving_the_page(
    demo: str, watched: Watched
) -> None:
    page = watched.page
    page.add_init_script(
        "window.__shift = 0; new PerformanceObserver(list => { for (const e of list.getEntries())"
        " window.__shift += e.value; }).observe({type: 'layout-shift', buffered: true});"
    )
    page.goto(demo + PAGES["activity"], wait_until="networkidle")
    pending = httpx.get(f"{demo}/projects/atlas/tasks", params={"status": "pending", "limit": 1}).json()
    key = pending["items"][0]["key"]
    changed = httpx.post(
        f"{demo}/projects/atlas/tasks/{key}/status",
        json={"status": "blocked", "note": "waiting for review", "actor": "browser-test"},
    )
    assert changed.status_code == 200
    started = time.monotonic()
    first_row = page.locator("#feed li.feed-row").first
    first_row.filter(has_text=key).wait_for(timeout=5000)
    assert time.monotonic() - started < 5
    assert "blocked" in first_row.inner_text() and "browser-test" in first_row.inner_text()
    assert page.locator("#feed li.feed-row").count() == 50
    assert page.evaluate("window.__shift") == 0
    _screenshot(page, "activity-updated")
    assert watched.problems == []


def test_the_board_is_keyboard_reachable(demo: str, watched: Watched) -> None:
    page = watched.page
    page.goto(demo + PAGES["board"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # skip to the content: the filters, then the cards
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('li.task a.key')"):
            break
    else:
        pytest.fail("tabbing from the content never reached a card")
    page.keyboard.press("Enter")
    page.wait_for_url("**/tasks/*")
    assert page.locator("h1 code").inner_text() in page.url


def test_ui_pages_refuse_to_be_framed(demo: str) -> None:
    for path in PAGES.values():
        headers = httpx.get(demo + path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
