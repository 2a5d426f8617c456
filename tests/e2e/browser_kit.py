"""What every browser test shares: Debian's chromium, a real `smhp dashboard` server on a
free port, a watched page (JavaScript errors, requests leaving the machine) and sign-in.

The tests start the real server and the real browser; nothing here is a mock. Each test
module starts its own server (``dashboard_server``) with its own users and audit log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

#: Debian's chromium as a headless shell (package ``chromium-headless-shell``: the same
#: Debian build as ``chromium``, without the desktop browser around it; Playwright's own
#: choice for headless runs). It loads a page with about half the CPU (0.85 s against 1.7 s
#: for the sign-in form): the browser tests spend less of the two cores on the browser.
CHROMIUM = Path("/usr/bin/chromium-headless-shell")


def skip_without_browser() -> None:
    """Skip the calling test module on a developer machine without the browser; in CI (``CI``
    set) the module runs and a missing browser is a failure."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(
            f"Debian's chromium headless shell is not installed ({CHROMIUM}; `make test` "
            "installs it); the browser tests run in CI",
            allow_module_level=True,
        )


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
CHART = '[data-testid="stPlotlyChart"] .main-svg'
NAV_LINK = '[data-testid="stTopNavLink"]'


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until Streamlit answers its health check (or fail if the server exited)."""
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


@dataclass(frozen=True)
class Served:
    """The running dashboard: its address, its output (stdout and stderr), its audit log."""

    url: str
    log: Path
    audit_db: Path


@contextlib.contextmanager
def dashboard_server(
    warehouse: Path, users: Path, folder: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Served]:
    """`smhp dashboard` on ``warehouse`` (the published link) with a copy of the users file
    ``users`` and an audit log of its own in ``folder``; stopped on exit."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    own_users = folder / "users.json"
    shutil.copyfile(users, own_users)
    audit_db = folder / "audit.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    env.update(SMHP_USERS_FILE=str(own_users), SMHP_AUDIT_DB=str(audit_db))
    env.update(extra_env or {})
    log_path = folder / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [SMHP, "dashboard", "--warehouse", str(warehouse), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: streamlit is a child of smhp
    )
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc)
        yield Served(url, log_path, audit_db)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


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


def sign_in(page: Page, url: str, username: str, password: str | None = None) -> None:
    """Sign in through the form at ``url`` (the demo password unless one is given)."""
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password or f"demo-only-{username}")
    page.get_by_role("button", name="Sign in", exact=True).click()


def settle(page: Page) -> None:
    """Wait until the rerun is over (no stale element, no running status) and every chart
    is drawn, then a moment for the charts' last layout. A condition rather than a fixed
    pause: a busy machine waits as long as it needs, a quiet one no longer."""
    page.wait_for_function(
        """() => !document.querySelector(
                '[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSkeleton"]')
            && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                .every(c => c.querySelector('.main-svg'))""",
        timeout=60_000,
        polling=250,
    )
    page.wait_for_timeout(400)


def open_expanders(page: Page) -> None:
    """Open every closed expander of the page (the sections under charts and tables, drawn
    when opened: each click reruns the page), then settle.

    One click event on each closed section's summary, all from one script: clicking them
    one by one through Playwright (scrolling each into view, a layout of the whole page
    each time) cost chromium 1 to 2 s of CPU per page. Opening a section by keyboard is
    tested on its own (``test_accessibility``'s keyboard test)."""
    page.wait_for_function(  # clicks what is still closed at each poll (a rerun may redraw)
        """() => {
            const closed = document.querySelectorAll(
                '[data-testid="stExpander"] details:not([open]) > summary');
            closed.forEach(summary => summary.click());
            return closed.length === 0;
        }""",
        timeout=30_000,
        polling=250,
    )
    settle(page)


def wait_for(page: Page, title: str, chart: bool = True) -> None:
    """Wait for a page's heading (and its first chart), then for the page to settle."""
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    if chart:
        page.locator(CHART).first.wait_for(timeout=30_000)
    settle(page)


def menu(page: Page) -> list[str]:
    """The titles of the top menu's links."""
    return [t.strip() for t in page.locator(NAV_LINK).all_inner_texts()]


def go(page: Page, menu_title: str, title: str, chart: bool = True) -> None:
    """Open a page from the menu (within the signed-in session)."""
    page.locator(NAV_LINK, has_text=menu_title).first.click()
    wait_for(page, title, chart)
