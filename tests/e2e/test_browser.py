"""The dashboard end to end in a real browser: `smhp dashboard` on the demo warehouse,
driven by Debian's chromium through Playwright.

A viewer signs in through the real form (the demo users, ``smhp.access.users.create_demo_users``):
the board visits every page from the menu, and every page loads without an error (no
Streamlit exception box, no JavaScript error, no request leaving the machine); a filter
change redraws a chart; a CSV download holds the numbers on screen; a funder's menu holds
the funder's pages only and a page outside the role is refused. A wrong password leaves
no trace of itself (nor of anything like an NHS number) in the server's output or the
audit log. Full-page screenshots go to ``test-artifacts/screenshots/`` (and to
``docs/screenshots/`` with ``SMHP_UPDATE_SCREENSHOTS=1``).

Skipped only on a developer machine without the browser (``browser_kit.CHROMIUM``); in CI
(``CI`` set) it always runs, and a missing browser is a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_kit import skip_without_browser

skip_without_browser()

from browser_kit import (  # noqa: E402
    CHART,
    Served,
    Watched,
    dashboard_server,
    go,
    menu,
    settle,
    sign_in,
    wait_for,
)
from playwright.sync_api import Browser, BrowserContext, Page  # noqa: E402

from smhp.access.audit import AuditLog  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
BOARD_PAGES = {  # menu title: (screenshot file name, page heading)
    "Board overview": ("board", "Board overview"),
    "Service manager": ("service", "Service manager"),
    "Funder impact": ("funder", "Funder impact summary"),
    "Equity of access": ("equity", "Equity of access"),
    "Data quality": ("quality", "Data quality"),
    "PDF packs": ("packs", "PDF packs"),
}
FUNDER_MENU = ["Funder impact", "Equity of access", "PDF packs", "Accessibility"]
WRONG_PASSWORD = "Wrong-Password-9434765919"  # holds an NHS-number-like run on purpose
TEN_DIGITS = re.compile(r"(?<!\d)(?:\d *){9}\d(?!\d)")


@pytest.fixture(scope="module")
def server(
    demo_warehouse: Path, demo_users: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """`smhp dashboard` on the demo warehouse and the demo users, on a free port, with an
    audit log of its own; stopped after the module."""
    with dashboard_server(demo_warehouse, demo_users, tmp_path_factory.mktemp("dashboard")) as s:
        yield s


def _context(browser: Browser, server: Served) -> tuple[BrowserContext, Watched]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    return context, Watched(context.new_page(), server.url)


@pytest.fixture
def watched(browser: Browser, server: Served) -> Iterator[Watched]:
    """A browser of its own for the test, nobody signed in."""
    context, watched = _context(browser, server)
    yield watched
    context.close()


@pytest.fixture(scope="module")
def board(browser: Browser, server: Served) -> Iterator[Watched]:
    """The board, signed in once for the tests that only look around: each starts from the
    page it needs, and a script error or request leaving the machine in any of them fails
    the ones after it too. (Each sign-in costs the browser seconds of CPU.)"""
    context, watched = _context(browser, server)
    _sign_in(watched.page, server.url, "board")
    _wait_for(watched.page, "Board overview")
    yield watched
    context.close()


_sign_in, _wait_for, _menu, _go = sign_in, wait_for, menu, go


def _screenshot(page: Page, name: str) -> None:
    """The whole page, when asked for (``SMHP_SCREENSHOTS=1`` into ``test-artifacts/``, or
    ``SMHP_UPDATE_SCREENSHOTS=1`` into the docs too): Streamlit scrolls inside its own
    container, so the window is made as tall as the content first. Not by default: making
    every page full height, drawing it again and encoding it cost about 15 s of
    ``make test``, for pictures nobody reads on a green run."""
    wanted = {os.environ.get(v) for v in ("SMHP_SCREENSHOTS", "SMHP_UPDATE_SCREENSHOTS")}
    if "1" not in wanted:
        return
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": int(height) + 40})
    page.wait_for_timeout(1500)  # charts resize to the new window
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    if os.environ.get("SMHP_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS / f"{name}.png")


def test_a_wrong_password_is_refused_with_one_message(watched: Watched, server: Served) -> None:
    page = watched.page
    page.goto(server.url)
    page.get_by_role("heading", name="SMHP dashboard").wait_for(timeout=30_000)
    assert _menu(page) == []  # nothing but the form before sign-in
    assert page.locator('[data-testid="stAlert"]', has_text="Data as of").count() == 0
    _screenshot(page, "sign_in")
    _sign_in(page, server.url, "board", WRONG_PASSWORD)
    alert = page.locator('[data-testid="stAlertContentError"]')
    alert.wait_for(timeout=30_000)
    assert "Sign-in failed" in alert.inner_text() and "try again later" in alert.inner_text()
    assert page.get_by_label("Password", exact=True).input_value() == ""
    assert watched.errors == [] and watched.outside == []


def test_the_board_signs_in_and_every_page_loads(board: Watched) -> None:
    watched = board
    page = watched.page
    _go(page, "Board overview", "Board overview")
    assert _menu(page) == [*BOARD_PAGES, "Accessibility"]  # the statement: no chart
    for menu_title, (name, title) in BOARD_PAGES.items():
        _go(page, menu_title, title, chart=name != "packs")  # the packs page: PDFs, no chart
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert "Data as of" in page.locator('[data-testid="stAlert"]').first.inner_text()
        assert "Signed in as" in page.locator(".st-key-account").inner_text()
        _screenshot(page, name)
        page.set_viewport_size({"width": 1600, "height": 1000})
    assert watched.errors == []
    assert watched.outside == []  # offline: nothing fetched from outside


def _chart_titles(page: Page) -> list[str]:
    return page.locator(f"{CHART} .gtitle").all_text_contents()  # SVG: no innerText


def test_a_filter_change_redraws_the_chart(board: Watched) -> None:
    watched = board
    page = watched.page
    _go(page, "Board overview", "Board overview")
    assert "Seen within 6 weeks: common cause" in _chart_titles(page)
    # Streamlit's selectbox is a combobox: typing filters its options, a click picks one.
    box = page.get_by_role("combobox", name="SPC chart of")
    box.click()
    box.fill("Referrals received")
    page.locator('[role="option"]', has_text="Referrals received").first.click()
    title = f"{CHART} .gtitle"
    page.locator(title, has_text="Referrals received:").wait_for(timeout=30_000)
    page.locator(title, has_text="Seen within 6 weeks:").wait_for(state="detached")
    assert "Referrals received: common cause" in _chart_titles(page)
    assert watched.errors == []


def test_drill_down_to_the_pseudonymous_worklist(board: Watched, server: Served) -> None:
    watched = board
    page = watched.page
    _go(page, "Service manager", "Service manager")
    box = page.get_by_role("combobox", name="Institution")
    box.click()
    box.fill("University of Liverpool")
    page.locator('[role="option"]', has_text="University of Liverpool").first.click()
    title = "Still waiting past 6 weeks at UOL, by month referred"
    page.locator(f"{CHART} .gtitle", has_text=title).wait_for(timeout=30_000)
    worklist = page.get_by_role("heading", name="Worklist: still waiting past 6 weeks")
    worklist.wait_for(timeout=30_000)
    # the section under the worklist follows its table: once it is drawn, so is the table
    page.locator(".st-key-service_worklist_details").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    table = page.locator('[data-testid="stDataFrame"]:visible').last
    table.scroll_into_view_if_needed()
    table.hover()  # the toolbar shows on hover: search and full screen, no CSV export
    page.locator('[data-testid="stElementToolbar"]').last.wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Download as CSV").count() == 0
    shown = AuditLog(server.audit_db).recent(10_000, event="records_viewed")
    assert shown and shown[0]["username"] == "board"
    assert shown[0]["details"]["table"] == "service_worklist" and shown[0]["details"]["rows"] > 0
    _screenshot(page, "service_drilldown")
    assert watched.errors == []


def _download_url(page: Page, key: str) -> tuple[list[dict[str, str]], str]:
    """Open the section under a table or chart and click its "Download CSV": the file's
    rows and its URL, which answers nobody but this browser's session.

    The click waits until the rerun that opening the section started is over: a click
    that lands while a rerun redraws the button is lost (on a busy machine the download
    then never came, once in a full run)."""
    page.locator(f".st-key-{key}_details summary").click()  # drawn on opening
    page.locator(f".st-key-{key}_csv button").wait_for(timeout=30_000)
    settle(page)
    with page.expect_download() as info:
        page.locator(f".st-key-{key}_csv button").click()
    path = info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert "/media/" in info.value.url
    with pytest.raises(urllib.error.HTTPError) as other:  # the URL without the browser...
        urllib.request.urlopen(info.value.url, timeout=5)
    assert other.value.code == 404  # ...gets nothing: granted to the clicker's session only
    return rows, info.value.url


def _download(page: Page, key: str) -> list[dict[str, str]]:
    return _download_url(page, key)[0]


def test_a_download_returns_the_numbers_shown(watched: Watched, server: Served) -> None:
    page = watched.page
    _sign_in(page, server.url, "board")
    _wait_for(page, "Board overview")
    _go(page, "Funder impact", "Funder impact summary")
    downloads_before = len(AuditLog(server.audit_db).recent(10_000, event="download"))
    got, url = _download_url(page, "funder_totals")
    rows = {r["Measure"]: r["Value"] for r in got}
    recorded = AuditLog(server.audit_db).recent(10_000, event="download")
    assert len(recorded) == downloads_before + 1  # the click was audited, once
    assert recorded[0]["username"] == "board"
    assert recorded[0]["details"]["file"] == "funder_totals.csv"
    assert rows["Students supported by the liaison service"] == "429"
    assert rows["Students supported by U-COPE"] == "299"
    tile = page.locator('[data-testid="stMetric"]', has_text="Students supported by U-COPE")
    assert "299" in tile.inner_text()
    assert page.request.get(url).status == 200  # this browser, signed in: its file
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="SMHP dashboard").wait_for(timeout=30_000)
    assert page.request.get(url).status == 404  # the same browser after sign-out: gone


def test_a_funder_gets_the_funder_pages_only_and_suppressed_downloads(
    watched: Watched, server: Served
) -> None:
    page = watched.page
    _sign_in(page, server.url, "funder")
    _wait_for(page, "Funder impact summary")
    assert _menu(page) == FUNDER_MENU
    assert "Funder" in page.locator(".st-key-account").inner_text()
    rows = _download(page, "funder_institutions")
    by_code = {r["Institution"]: r for r in rows}
    assert set(by_code) == {"HOPE", "LIPA", "LJMU", "LSTM", "UOL", "UOLIC"}
    for row in rows:  # counts are 0, * or multiples of 5: the disclosure rule
        value = row["Students supported by U-COPE"]
        assert value == "*" or int(value) % 5 == 0
    _screenshot(page, "funder_role")
    page.set_viewport_size({"width": 1600, "height": 1000})
    _go(page, "Equity of access", "Equity of access")
    assert _menu(page) == FUNDER_MENU
    assert watched.errors == [] and watched.outside == []


def test_a_page_outside_the_role_typed_by_hand_is_refused(watched: Watched, server: Served) -> None:
    page = watched.page
    _sign_in(page, f"{server.url}/service", "funder")  # a page not theirs, as first URL
    _wait_for(page, "Funder impact summary")  # sign-in leads to the landing page
    assert "/service" not in page.url
    # The URL of the service page within the signed-in session (as the browser's back
    # button or an edited address would ask for it): the refusal, and nothing else.
    page.evaluate(
        "() => { window.history.pushState({}, '', '/service');"
        " window.dispatchEvent(new PopStateEvent('popstate')); }"
    )
    refusal = page.locator('[data-testid="stAlertContentError"]')
    refusal.wait_for(timeout=30_000)
    assert refusal.inner_text().strip() == "This page is not available for your role."
    page.wait_for_timeout(1000)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "Service manager" not in main and "Data as of" not in main
    assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"]').count() == 0
    assert _menu(page) == FUNDER_MENU


def test_no_password_or_nhs_number_in_the_server_output_or_the_audit_log(
    server: Served,
) -> None:
    """Runs last: after a wrong password and sign-ins of the board and a funder."""
    output = server.log.read_text(encoding="utf-8", errors="replace")
    assert WRONG_PASSWORD not in output and "demo-only-" not in output
    assert TEN_DIGITS.search(output) is None, TEN_DIGITS.search(output)
    stored = b"".join(p.read_bytes() for p in server.audit_db.parent.glob("audit.sqlite3*"))
    assert WRONG_PASSWORD.encode() not in stored and b"demo-only-" not in stored
    assert b"9434765919" not in stored
    log = AuditLog(server.audit_db)
    events = log.recent(10_000)
    texts = json.dumps([[e["event"], e["username"], e["details"]] for e in events])
    assert TEN_DIGITS.search(texts) is None
    assert {"sign_in", "sign_in_failed", "page_view", "download"} <= {e["event"] for e in events}
    assert log.verify_chain()
