"""The dashboard end to end in a real browser: `smhp dashboard` on the demo warehouse,
driven by Debian's chromium through Playwright.

Every page loads without an error (no Streamlit exception box, no JavaScript error, no
request leaving the machine), a filter change redraws a chart, and a CSV download holds
the numbers on screen. A full-page screenshot of every page goes to
``test-artifacts/screenshots/`` (and to ``docs/screenshots/`` with
``SMHP_UPDATE_SCREENSHOTS=1``).

Skipped only on a developer machine without ``/usr/bin/chromium``; in CI (``CI`` set) it
always runs, and a missing browser is a failure.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (/usr/bin/chromium; `make test` installs it); "
        "the browser tests run in CI",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
SMHP = str(Path(sys.executable).parent / "smhp")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {  # url path: (file name, title, whether the page draws a chart)
    "": ("board", "Board overview"),
    "service": ("service", "Service manager"),
    "funder": ("funder", "Funder impact summary"),
    "equity": ("equity", "Equity of access"),
    "quality": ("quality", "Data quality"),
}
CHART = '[data-testid="stPlotlyChart"] .main-svg'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"smhp dashboard exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} was not healthy within {timeout} s")


@pytest.fixture(scope="module")
def server(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`smhp dashboard` on the demo warehouse, on a free port; stopped after the module."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    log = (tmp_path_factory.mktemp("dashboard") / "server.log").open("w")
    proc = subprocess.Popen(
        [SMHP, "dashboard", "--warehouse", str(demo_warehouse), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: streamlit is a child of smhp
    )
    url = f"http://localhost:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


class Watched:
    """A page with its JavaScript errors and any request that left the machine."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith((base, "data:", "blob:")) else self.outside.append(r.url)
            ),
        )


@pytest.fixture
def watched(browser: Browser, server: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    yield Watched(page, server)
    context.close()


def _open(page: Page, url: str, title: str, chart: bool = True) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    if chart:
        page.locator(CHART).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # let the last charts finish drawing


def _screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the window is made
    as tall as the content first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": int(height) + 40})
    page.wait_for_timeout(1500)  # charts resize to the new window
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    if os.environ.get("SMHP_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS / f"{name}.png")


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_loads_without_errors(watched: Watched, server: str, path: str) -> None:
    name, title = PAGES[path]
    _open(watched.page, f"{server}/{path}", title)
    page = watched.page
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert "Data as of" in page.locator('[data-testid="stAlert"]').first.inner_text()
    _screenshot(page, name)
    assert watched.errors == []
    assert watched.outside == []  # offline: nothing fetched from outside


def _chart_titles(page: Page) -> list[str]:
    return page.locator(f"{CHART} .gtitle").all_text_contents()  # SVG: no innerText


def test_a_filter_change_redraws_the_chart(watched: Watched, server: str) -> None:
    page = watched.page
    _open(page, server, "Board overview")
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


def test_drill_down_to_the_pseudonymous_worklist(watched: Watched, server: str) -> None:
    page = watched.page
    _open(page, f"{server}/service", "Service manager")
    box = page.get_by_role("combobox", name="Institution")
    box.click()
    box.fill("University of Liverpool")
    page.locator('[role="option"]', has_text="University of Liverpool").first.click()
    title = "Still waiting past 6 weeks at UOL, by month referred"
    page.locator(f"{CHART} .gtitle", has_text=title).wait_for(timeout=30_000)
    worklist = page.get_by_role("heading", name="Worklist: still waiting past 6 weeks")
    worklist.wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    _screenshot(page, "service_drilldown")
    assert watched.errors == []


def _download(page: Page, key: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.locator(f".st-key-{key}_csv button").click()
    path = info.value.path()
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_a_download_returns_the_numbers_shown(watched: Watched, server: str) -> None:
    page = watched.page
    _open(page, f"{server}/funder", "Funder impact summary")
    rows = {r["Measure"]: r["Value"] for r in _download(page, "funder_totals")}
    assert rows["Students supported by the liaison service"] == "429"
    assert rows["Students supported by U-COPE"] == "299"
    tile = page.locator('[data-testid="stMetric"]', has_text="Students supported by U-COPE")
    assert "299" in tile.inner_text()


def test_a_suppressed_view_downloads_suppressed(watched: Watched, server: str) -> None:
    page = watched.page
    _open(page, f"{server}/funder", "Funder impact summary")
    rows = _download(page, "funder_institutions")
    by_code = {r["Institution"]: r for r in rows}
    assert set(by_code) == {"HOPE", "LIPA", "LJMU", "LSTM", "UOL", "UOLIC"}
    for row in rows:  # counts are 0, * or multiples of 5: the disclosure rule
        value = row["Students supported by U-COPE"]
        assert value == "*" or int(value) % 5 == 0
