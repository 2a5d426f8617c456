"""WCAG 2.2 AA in a real browser: axe-core on every page of every role, the keyboard alone,
a text alternative for every chart, and the accessibility statement.

The real ``smhp dashboard`` on the demo warehouse, driven by Debian's chromium through
Playwright (one server and one browser for the module, one signed-in context per role,
reused). axe-core is npm's (``package.json``/``package-lock.json``: ``make test`` runs
``npm ci``), injected into each page and run with the WCAG 2.0/2.1/2.2 A and AA rules on:

- the sign-in page, and its error message after a wrong password;
- the accessibility statement, before sign-in (its own address) and from each menu;
- every page of every role's own menu (board, a service manager, funder, admin), with
  every section under a chart or table open, and again after a filter change where the
  page has a filter.

The window is made as tall as the page before each run: Streamlit scrolls inside its own
container, and axe cannot judge the contrast of text outside the window. A violation
fails with its rule, impact, target selectors and the element's HTML. No rule is
switched off and nothing is excluded (``EXCLUDED`` is where a narrow, explained exclusion
would go, named in the statement too; there is none).

The keyboard test signs in with Tab, typing and Enter, moves between pages from the
menu, changes a selectbox and a date, opens the section under a chart, follows a
chart's link to its numbers and reaches a CSV download, checking each control shows a
visible focus indicator. Every chart must have an accessible name and, under it, its
description in words with a working link to its numbers.

Skipped only on a developer machine without chromium or axe-core; in CI (``CI`` set) it
always runs, and a missing one is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
from browser_kit import skip_without_browser  # noqa: E402

skip_without_browser()
if not AXE.exists() and not os.environ.get("CI"):
    pytest.skip(f"{AXE} is missing (`npm ci` installs it)", allow_module_level=True)

from browser_kit import (  # noqa: E402
    CHART,
    NAV_LINK,
    Served,
    dashboard_server,
    open_expanders,
    settle,
    sign_in,
)
from playwright.sync_api import Browser, BrowserContext, Page  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from dashboard import navigation  # noqa: E402
from dashboard.ui import DETAILS_LABELS  # noqa: E402
from smhp.access import pages_for  # noqa: E402
from smhp.access.users import DEMO_USERS  # noqa: E402

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
EXCLUDED: dict[str, str] = {}
"""CSS selector -> why axe may not check it (and the statement says so). None needed."""
ROLE_OF = {username: role for username, role, _, _ in DEMO_USERS}
USERS = ("board", "manager_uol", "funder", "admin")  # one of each role
PAGES = [(username, page_id) for username in USERS for page_id in pages_for(ROLE_OF[username])]
CHART_KINDS = (
    "Bar chart",
    "Horizontal bar chart",
    "Line chart",
    "Dot chart",
    "SPC chart",
    "Small multiples",
)
STATEMENT_TITLE = "Accessibility statement for the SMHP dashboard"
WINDOW = {"width": 1600, "height": 1000}


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    demo_warehouse: Path, demo_users: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("accessibility")
    with dashboard_server(demo_warehouse, demo_users, folder) as served:
        yield served


@pytest.fixture
def fresh(browser: Browser) -> Iterator[Page]:
    """A page in a browser context of its own (nobody signed in)."""
    context = browser.new_context(viewport=WINDOW)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, server: Served) -> Iterator[Callable[[str], Page]]:
    """The page of a signed-in context per demo user, signed in once and reused."""
    contexts: dict[str, tuple[BrowserContext, Page]] = {}

    def page_of(username: str) -> Page:
        if username not in contexts:
            context = browser.new_context(viewport=WINDOW)
            page = context.new_page()
            sign_in(page, server.url, username)
            page.locator(NAV_LINK).first.wait_for(timeout=30_000)
            settle(page)
            contexts[username] = (context, page)
        return contexts[username][1]

    yield page_of
    for context, _ in contexts.values():
        context.close()


# --- helpers -----------------------------------------------------------------------------


def heading(page: Page, starts: str) -> None:
    """Wait for the page's main heading (it starts with the menu title's first word)."""
    try:
        page.locator("h1", has_text=re.compile(rf"^\s*{re.escape(starts)}")).first.wait_for(
            timeout=30_000
        )
    except PlaywrightTimeout:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "accessibility-no-heading.png"), full_page=True)
        shown = page.locator("body").inner_text()[:1500]
        raise AssertionError(f"no heading {starts!r} at {page.url}; it shows:\n{shown}") from None
    settle(page)


def go(page: Page, page_id: str) -> None:
    """Open a page from the viewer's menu."""
    title = navigation.BY_ID[page_id].title
    page.locator(NAV_LINK).filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).click()
    heading(page, title.split()[0])


def _violations(page: Page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight"
        " || document.body.scrollHeight"
    )
    page.set_viewport_size({"width": WINDOW["width"], "height": int(height) + 40})
    page.wait_for_timeout(600)  # charts redraw for the new window
    try:
        return page.evaluate(
            """([tags, excluded]) => axe.run(
                   {include: [document], exclude: excluded.map(s => [s])},
                   {runOnly: {type: 'tag', values: tags}})
               .then(r => r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => ({
                       target: n.target.join(' '), html: n.html.slice(0, 300),
                       summary: n.failureSummary}))})))""",
            [TAGS, list(EXCLUDED)],
        )
    finally:
        page.set_viewport_size(WINDOW)


def _report(where: str, violations: list[dict]) -> str:
    lines = [f"axe-core ({', '.join(TAGS)}) on {where}: {len(violations)} rule(s) fail"]
    for rule in violations:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"]:
            lines.append(f"    target: {node['target']}")
            lines.append(f"    html:   {node['html']}")
            lines.append("    " + (node["summary"] or "").replace("\n", "\n    "))
    return "\n".join(lines)


def assert_no_violations(page: Page, where: str) -> None:
    violations = _violations(page)
    assert not violations, _report(where, violations)


def change_a_filter(page: Page) -> bool:
    """Pick another option in the page's first enabled selectbox; ``False``: it has none."""
    boxes = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
        has=page.locator('input[role="combobox"]:not([disabled])')
    )
    if boxes.count() == 0:
        return False
    other = page.locator('[role="option"]:not([aria-selected="true"])').first
    for attempt in range(5):  # a list that closes again at once (focus moving, a rerun
        # redrawing the page) is opened again, and the click tried again
        boxes.first.locator('input[role="combobox"]').focus()
        page.keyboard.press("ArrowDown")
        try:
            other.wait_for(timeout=2_000)
            other.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 4:
                raise
            page.keyboard.press("Escape")
    settle(page)
    return True


def chart_keys(page: Page) -> list[str]:
    """The ``key`` of every chart on the page (``ui.figure``: its element is
    ``st-key-<key>_chart``)."""
    classes = page.locator('[data-testid="stElementContainer"]:has([data-testid="stPlotlyChart"])')
    keys = []
    for names in classes.evaluate_all("els => els.map(e => e.className)"):
        found = re.search(r"\bst-key-(\S+)_chart\b", names)
        assert found, f"a chart drawn without ui.figure: {names}"
        keys.append(found.group(1))
    return keys


def assert_every_chart_is_described(page: Page, where: str) -> int:
    """Every chart: an accessible name (its kind and title), then its description in
    words linking to the place just before its numbers. Returns the number of charts."""
    keys = chart_keys(page)
    for key in keys:
        chart = page.locator(f'.st-key-{key}_chart [data-testid="stPlotlyChart"]')
        assert chart.get_attribute("role") == "figure", (where, key)
        name = chart.get_attribute("aria-label") or ""
        assert name.startswith(tuple(f"{k}: " for k in CHART_KINDS)), (where, key, name)
        about = page.locator(f".st-key-about_{key}")
        text = about.inner_text()
        assert text.startswith("About this chart."), (where, key, text)
        assert name.split(": ", 1)[1] in text, (where, key, text)  # it names the chart
        link = about.get_by_role("link", name="Go to the numbers of this chart")
        assert link.get_attribute("href") == f"#numbers-{key}", (where, key)
        assert page.locator(f'[id="numbers-{key}"]').count() == 1, (where, key)
    return len(keys)


# --- before sign-in ----------------------------------------------------------------------


def test_the_sign_in_page_and_its_error_have_no_violations(fresh: Page, server: Served) -> None:
    fresh.goto(server.url)
    heading(fresh, "SMHP dashboard")
    assert_no_violations(fresh, "the sign-in page")
    sign_in(fresh, server.url, "board", "not-the-password")
    fresh.locator('[data-testid="stAlertContentError"]').wait_for(timeout=30_000)
    settle(fresh)
    assert_no_violations(fresh, "the sign-in page after a wrong password")


def test_the_statement_is_readable_before_sign_in_with_no_data(fresh: Page, server: Served) -> None:
    fresh.goto(server.url)
    heading(fresh, "SMHP dashboard")
    fresh.get_by_role("link", name="Accessibility statement").click()
    heading(fresh, STATEMENT_TITLE)
    assert fresh.url.rstrip("/").endswith("/accessibility")
    main = fresh.locator('[data-testid="stMain"]').inner_text()
    for section in ("Compliance status", "Non-accessible content", "Enforcement procedure"):
        assert section in main
    assert "accessibility@example.org" in main  # SMHP_ACCESSIBILITY_CONTACT's default
    assert "Data as of" not in main and fresh.locator(NAV_LINK).count() == 0
    assert fresh.get_by_label("Password", exact=True).count() == 0
    assert fresh.locator('[data-testid="stPlotlyChart"], [data-testid="stDataFrame"]').count() == 0
    assert_no_violations(fresh, "the accessibility statement before sign-in")
    fresh.get_by_role("link", name="Back to the sign-in page").click()
    fresh.get_by_label("Password", exact=True).wait_for(timeout=30_000)


# --- every page of every role ------------------------------------------------------------


@pytest.mark.parametrize(("username", "page_id"), PAGES, ids=[f"{u}-{p}" for u, p in PAGES])
def test_every_page_of_every_role_has_no_violations_and_described_charts(
    username: str, page_id: str, signed_in: Callable[[str], Page], server: Served
) -> None:
    page = signed_in(username)
    menu = [t.strip() for t in page.locator(NAV_LINK).all_inner_texts()]
    assert menu == [navigation.BY_ID[p].title for p in pages_for(ROLE_OF[username])]
    go(page, page_id)
    open_expanders(page)
    where = f"{username}'s {navigation.BY_ID[page_id].title}"
    assert_no_violations(page, where)
    charts = assert_every_chart_is_described(page, where)
    if page_id in ("overview", "service", "funder", "equity", "quality"):
        assert charts > 0, where
    if username == "board" and change_a_filter(page):  # each page once after a filter change
        open_expanders(page)
        assert_no_violations(page, f"{where}, after a filter change")
        assert_every_chart_is_described(page, f"{where}, after a filter change")
    assert page.locator('[data-testid="stException"]').count() == 0
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]  # the server hides errors from viewers


# --- the keyboard alone ------------------------------------------------------------------


def _focused(page: Page) -> dict:
    """What has the focus, and whether it shows a focus indicator (outline or ring)."""
    return page.evaluate(
        """() => {
            const e = document.activeElement, s = getComputedStyle(e);
            const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
            const ring = s.boxShadow !== 'none' && s.boxShadow !== '';
            return {tag: e.tagName, id: e.id, label: e.getAttribute('aria-label') || '',
                    text: (e.innerText || '').trim().slice(0, 80),
                    href: e.getAttribute('href') || '',
                    visible: outline || ring, inMain: !!e.closest('[data-testid="stMain"]'),
                    inDate: !!e.closest('[data-testid="stDateInput"]'),
                    open: !!e.closest('details')?.open,
                    expander: !!e.closest('[data-testid="stExpanderDetails"]')};
        }"""
    )


def tab_to(page: Page, wanted: Callable[[dict], bool], what: str, limit: int = 250) -> dict:
    """Press Tab until ``wanted`` holds for the focused element; it must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if wanted(focused):
            assert focused["visible"], f"no visible focus indicator on {what}: {focused}"
            return focused
    raise AssertionError(f"{what} not reached with Tab in {limit} presses")


def test_the_dashboard_works_with_the_keyboard_alone(fresh: Page, server: Served) -> None:
    page = fresh
    page.goto(server.url)
    heading(page, "SMHP dashboard")
    tab_to(page, lambda f: f["label"] == "Username", "the username field")
    page.keyboard.type("board")
    tab_to(page, lambda f: f["label"] == "Password", "the password field", limit=3)
    page.keyboard.type("demo-only-board")
    page.keyboard.press("Enter")
    heading(page, "Board")

    # Between pages from the menu.
    tab_to(page, lambda f: f["text"] == "Service manager" and not f["inMain"], "the menu link")
    page.keyboard.press("Enter")
    heading(page, "Service")
    settle(page)  # the page's first run over: no widget is replaced under the keyboard

    # A selectbox: type to filter, arrow to the option, Enter.
    funnel = page.locator(".st-key-about_service_funnel")
    before = funnel.inner_text()
    tab_to(page, lambda f: f["label"] == "Institution", "the institution filter")
    page.keyboard.press("Control+A")
    # one option only matches (UOL's name begins UOLIC's: the arrow would pick either)
    page.keyboard.type("Liverpool John Moores University")
    page.locator('[role="option"]', has_text="Liverpool John Moores University").first.wait_for(
        timeout=10_000
    )  # the list has filtered what was typed
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(f"{CHART} .gtitle", has_text="at LJMU").first.wait_for(timeout=30_000)
    settle(page)
    after_institution = funnel.inner_text()
    assert after_institution != before

    # A date: arrow keys in the month of the period's start; it applies on leaving it.
    tab_to(page, lambda f: f["label"] == "month, Period start date", "the period's start month")
    page.keyboard.press("ArrowDown")
    tab_to(page, lambda f: not f["inDate"], "the control after the date")
    page.wait_for_function(
        "before => document.querySelector('.st-key-about_service_funnel').innerText !== before",
        arg=after_institution,
        timeout=30_000,
    )
    settle(page)

    # A chart's link to its numbers, then the section under the chart, then the table.
    link = tab_to(
        page, lambda f: f["text"] == "Go to the numbers of this chart", "a chart's numbers link"
    )
    page.keyboard.press("Enter")
    page.wait_for_function(
        "id => document.activeElement.id === id", arg=link["href"][1:], timeout=10_000
    )
    summary = tab_to(page, lambda f: True, "the next control", limit=1)
    assert summary["tag"] == "SUMMARY" and summary["text"].endswith(DETAILS_LABELS[True])
    assert not summary["open"]
    page.keyboard.press("Enter")
    settle(page)
    assert _focused(page)["open"]  # the focus stays on the summary, now open
    inside = tab_to(page, lambda f: True, "the table", limit=1)
    assert inside["expander"], inside

    # A CSV download, reached by Tab, with its focus indicator.
    tab_to(page, lambda f: "Download CSV" in f["text"], "a CSV download button")
