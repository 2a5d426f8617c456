"""The production layout end to end: ``deploy/up.sh`` brings up the real nginx (TLS,
security headers) in front of two real ``smhp dashboard`` processes with sticky sessions,
Debian's chromium uses the board through it, and ``deploy/down.sh`` stops it all.

Run in background mode (no systemd units are touched, whatever the machine), on high free
ports, with a state folder in tmp, on the demo warehouse and a copy of the demo users.
Checked: plain HTTP only redirects; HTTPS answers with HSTS, a Content-Security-Policy
with ``frame-ancestors 'none'`` and the other headers, TLS 1.2+ with AEAD ciphers only;
every dashboard process listens on loopback only and answers through the proxy; a
browser's first answer sets the routing cookie (Secure, HttpOnly, SameSite=Strict) and its
every request, WebSocket included, reaches one process; the WebSocket opens for the app's
own origin only; the agent API is refused; chromium signs in through the proxy and opens every page of the
board's menu (charts, tables, expanders, a download each) and the administrator's page
with no CSP violation and no JavaScript error; a client-claimed ``X-Forwarded-For`` never
reaches the audit log; an unknown page and a server error show no traceback; nothing in
the state folder is readable by others; a second ``up.sh`` restarts cleanly; ``down.sh``
stops every process and closes every port.

Skipped only on a developer machine that has neither nginx nor a usable apt (root);
in CI (``CI`` set) it always runs: ``make test`` installs nginx and chromium.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

NGINX = Path("/usr/sbin/nginx")
APT_USABLE = shutil.which("apt-get") is not None and os.geteuid() == 0
if not os.environ.get("CI") and not NGINX.exists() and not APT_USABLE:
    pytest.skip(
        "nginx is not installed and apt cannot install it here; the test runs in CI",
        allow_module_level=True,
    )

from browser_kit import (  # noqa: E402
    NAV_LINK,
    Watched,
    free_port,
    go,
    menu,
    open_expanders,
    settle,
    sign_in,
    skip_without_browser,
    wait_for,
)

skip_without_browser()
from playwright.sync_api import Browser, Page  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UP, DOWN = ROOT / "deploy" / "up.sh", ROOT / "deploy" / "down.sh"
BOARD_PAGES = {  # menu title: page heading
    "Board overview": "Board overview",
    "Service manager": "Service manager",
    "Funder impact": "Funder impact summary",
    "Equity of access": "Equity of access",
    "Data quality": "Data quality",
}
# Every CSP violation, as the page itself sees it (the console shows the same, in words).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
"""
# A client address a browser claims for itself: the app must never see (or record) it.
SPOOFED = "203.0.113.9"
# What an error page must not show: a Python traceback, a server's name and version.
TRACEBACK_SIGNS = ("Traceback", 'File "/', "site-packages", "nginx/1.", "uvicorn", "starlette")
PROCESSES = 2  # dashboard processes behind the proxy
UPSTREAM = re.compile(r"upstream=127\.0\.0\.1:(\d+)")  # deploy/nginx/standalone.conf's log


@dataclass(frozen=True)
class Deployment:
    """What up.sh was given: ports, folders, and the environment to run it (and down.sh)."""

    https_port: int
    http_port: int
    app_port: int
    state: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def app_ports(self) -> list[int]:
        """The dashboards' ports: consecutive from ``app_port``."""
        return [self.app_port + i for i in range(PROCESSES)]

    @property
    def access_log(self) -> Path:
        return self.state / "logs" / "nginx-access.log"

    def upstreams_since(self, offset: int) -> list[tuple[str, int]]:
        """(request line, dashboard port) of each proxied request logged after ``offset``."""
        text = self.access_log.read_bytes()[offset:].decode()
        return [
            (line, int(m.group(1))) for line in text.splitlines() if (m := UPSTREAM.search(line))
        ]

    def up(self) -> subprocess.CompletedProcess:
        return _run(UP, self.env)

    def down(self) -> subprocess.CompletedProcess:
        return _run(DOWN, self.env)


def _run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{script.name}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def deployed(
    demo_warehouse: Path, demo_users: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """deploy/up.sh in background mode on free ports; deploy/down.sh after the module."""
    state = tmp_path_factory.mktemp("deploy") / "state"
    users = tmp_path_factory.mktemp("deploy-users") / "users.json"
    shutil.copyfile(demo_users, users)
    users.chmod(0o600)
    https_port, http_port, app_port = free_port(), free_port(), _free_ports(PROCESSES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    env.update(
        SMHP_DEPLOY_MODE="background",  # never the machine's systemd, whatever it runs
        SMHP_STATE_DIR=str(state),
        SMHP_HTTPS_PORT=str(https_port),
        SMHP_HTTP_PORT=str(http_port),
        SMHP_DASHBOARD_PORT=str(app_port),
        SMHP_DASHBOARD_PROCESSES=str(PROCESSES),
        SMHP_SERVER_NAME="localhost",
        SMHP_WAREHOUSE=str(demo_warehouse),
        SMHP_LANDING=str(state / "landing"),
        SMHP_USERS_FILE=str(users),
        SMHP_AUDIT_DB=str(state / "audit" / "audit.sqlite3"),
        SMHP_AUDIT_ANCHOR_FILE=str(state / "audit" / "anchors.log"),
    )
    deployment = Deployment(https_port, http_port, app_port, state, env)
    done = deployment.up()
    assert f"https://localhost:{https_port}/" in done.stdout
    assert f"{PROCESSES} dashboard processes" in done.stdout
    assert "SELF-SIGNED" in done.stderr  # no certificate given: said loudly
    try:
        yield deployment
    finally:
        subprocess.run(["bash", str(DOWN)], env=env, capture_output=True, timeout=120)


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on loopback now."""
    for _ in range(50):
        first = free_port()
        if first + count - 1 <= 65535 and all(_refused(first + i) for i in range(1, count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def _tls(minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None):
    """A client context that accepts the self-signed certificate of the trial."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    return context


def _get(port: int, path: str, method: str = "GET", https: bool = True, cookie: str | None = None):
    """One request, redirects not followed: (status, headers, body)."""
    if https:
        conn = http.client.HTTPSConnection("localhost", port, timeout=15, context=_tls())
    else:
        conn = http.client.HTTPConnection("localhost", port, timeout=15)
    headers = {"X-Forwarded-For": SPOOFED}
    if cookie is not None:
        headers["Cookie"] = cookie
    try:
        conn.request(method, path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _listening(port: int) -> list[str]:
    """The local addresses (hex, as in /proc/net/tcp*) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def _refused(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return False
    except OSError:
        return True


def _outside_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


# --- the proxy -----------------------------------------------------------------------------


def test_plain_http_only_redirects_to_https(deployed: Deployment) -> None:
    status, headers, _ = _get(deployed.http_port, "/board?x=1", https=False)
    assert status == 301
    assert headers["Location"] == f"https://localhost:{deployed.https_port}/board?x=1"
    # Only a certificate authority's challenge is answered over HTTP (none here: 404).
    status, _, _ = _get(deployed.http_port, "/.well-known/acme-challenge/x", https=False)
    assert status == 404


def test_https_answers_with_hsts_csp_and_the_other_headers(deployed: Deployment) -> None:
    status, headers, body = _get(deployed.https_port, "/")
    assert status == 200 and '<div id="root">' in body
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    csp = {
        d.strip().split()[0]: d.strip().split()[1:]
        for d in headers["Content-Security-Policy"].split(";")
    }
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["style-src-attr"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"] and csp["base-uri"] == ["'none'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Server"] == "nginx"  # no version
    # The same headers on an error answer.
    status, headers, _ = _get(deployed.https_port, "/_stcore/agent/openapi.json")
    assert status == 404 and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"]


def test_tls_12_and_13_only_with_aead_ciphers(deployed: Deployment) -> None:
    def handshake(context: ssl.SSLContext) -> tuple[str, str]:
        with (
            socket.create_connection(("127.0.0.1", deployed.https_port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            return tls.version(), tls.cipher()[0]

    assert handshake(_tls())[0] == "TLSv1.3"
    version, cipher = handshake(_tls(maximum=ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-") and "CBC" not in cipher
    assert "GCM" in cipher or "CHACHA20" in cipher
    old = _tls(maximum=ssl.TLSVersion.TLSv1_2)
    old.set_ciphers("AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA")  # CBC, no AEAD
    with pytest.raises(ssl.SSLError):
        handshake(old)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tls11 = _tls(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    tls11.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|protocol version"):
        handshake(tls11)


def test_every_dashboard_listens_on_loopback_only(deployed: Deployment) -> None:
    outside = _outside_address()
    for port in deployed.app_ports:
        addresses = _listening(port)
        assert addresses, f"no dashboard is listening on {port}"
        assert set(addresses) == {"0100007F"}, addresses  # 127.0.0.1, and nothing else
        if outside is not None:
            assert _refused(port, outside)
    if outside is not None:
        assert not _refused(deployed.https_port, outside)  # the proxy is the way in


def test_a_browser_gets_a_routing_cookie_and_every_process_answers(deployed: Deployment) -> None:
    """The first answer sets ``smhp_route`` (and only the first); requests are spread over
    the processes by their cookie, and one cookie always reaches the same process."""
    status, headers, _ = _get(deployed.https_port, "/")
    assert status == 200
    cookie = headers["Set-Cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert re.fullmatch(r"smhp_route=[0-9a-f]{32}", name_value), cookie
    assert set(attributes) == {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"}
    assert headers["Strict-Transport-Security"]  # the other headers are still there
    _, again, _ = _get(deployed.https_port, "/", cookie=name_value)
    assert again.get("Set-Cookie") is None
    offset = deployed.access_log.stat().st_size
    for route in range(24):  # 24 browsers: two processes take no share by chance
        for _ in range(3):
            status, _, body = _get(
                deployed.https_port, "/_stcore/health", cookie=f"smhp_route={route}"
            )
            assert (status, body.strip()) == (200, "ok")
    time.sleep(0.5)  # nginx writes its log lines as each request ends
    # only these: the line of the request before them may be written after ``offset``
    logged = deployed.upstreams_since(offset)
    lines = [(line, port) for line, port in logged if "/_stcore/health" in line]
    assert len(lines) == 24 * 3
    assert {port for _, port in lines} == set(deployed.app_ports)
    for route in range(24):  # each cookie's three requests reached one process
        assert len({port for _, port in lines[route * 3 : route * 3 + 3]}) == 1


def _websocket_status(port: int, origin: str) -> int:
    """The status of a WebSocket handshake on /_stcore/stream through the proxy."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: localhost:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        _tls().wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(request.encode())
        return int(tls.recv(1024).split(b" ", 2)[1])


def test_the_websocket_passes_the_proxy_for_this_origin_only(deployed: Deployment) -> None:
    """Streamlit's CORS check (server.enableCORS, left on) compares the Origin with the
    Host the proxy passes on: the app's own page connects, another site's cannot."""
    assert _websocket_status(deployed.https_port, deployed.url) == 101
    assert _websocket_status(deployed.https_port, "https://evil.example") == 403


def test_the_agent_api_is_refused(deployed: Deployment) -> None:
    for method, path in (
        ("GET", "/_stcore/agent/openapi.json"),
        ("POST", "/_stcore/agent/interact"),
        ("GET", "/_stcore/agent/mcp"),
        ("GET", "/_stcore/agent"),
    ):
        status, _, body = _get(deployed.https_port, path, method)
        assert status == 404, (method, path)
        assert "openapi" not in body.lower()


# --- the browser through the proxy ---------------------------------------------------------


class CspWatched(Watched):
    """A watched page (JavaScript errors, requests leaving the origin) that also keeps
    every CSP violation and every console message that speaks of the policy."""

    def __init__(self, page: Page, base: str) -> None:
        super().__init__(page, base)
        self.console: list[str] = []
        page.add_init_script(CSP_WATCH)
        page.on(
            "console",
            lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def violations(self) -> list[str]:
        seen = self.page.evaluate("() => window.__cspViolations || []")
        return sorted(set(seen)) + self.console


@pytest.fixture
def watched(browser: Browser, deployed: Deployment) -> Iterator[CspWatched]:
    context = browser.new_context(
        ignore_https_errors=True,  # the trial's self-signed certificate
        viewport={"width": 1600, "height": 1000},
        accept_downloads=True,
        extra_http_headers={"X-Forwarded-For": SPOOFED},  # nginx must overwrite it
    )
    page = context.new_page()
    yield CspWatched(page, deployed.url)
    context.close()


def _open_everything(page: Page) -> None:
    """Open every expander of the page and take its first download.

    The downloads are drawn by the reruns that opening the sections starts: a click that
    lands while one of them redraws the button is lost, and a download under way when a
    rerun replaces the button's file is canceled (Streamlit serves a button's file only
    while the button is drawn), so either is tried again once the page has settled (three
    times in all: on a busy machine a second click was once lost too)."""
    open_expanders(page)
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    if not buttons.count():
        return
    for attempt in (1, 2, 3):
        try:
            with page.expect_download(timeout=20_000) as download:
                buttons.first.click()
            saved = Path(download.value.path())  # raises if the download was canceled
            break
        except PlaywrightError:  # a timeout (the click lost) or a canceled download
            if attempt == 3:
                raise
            settle(page)
    assert saved.stat().st_size > 0


def _no_error_shown(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    text = page.locator("body").inner_text()
    assert not any(sign in text for sign in TRACEBACK_SIGNS), text[:2000]


def test_the_sign_in_page_has_no_csp_violation(watched: CspWatched, deployed: Deployment) -> None:
    page = watched.page
    page.goto(deployed.url)
    page.get_by_role("heading", name="SMHP dashboard").wait_for(timeout=30_000)
    page.wait_for_timeout(2000)
    assert watched.violations() == []
    assert watched.errors == [] and watched.outside == []


def test_the_board_uses_every_page_through_the_proxy_on_one_process_without_a_csp_violation(
    watched: CspWatched, deployed: Deployment
) -> None:
    """The board signs in and opens every page of its menu through nginx, each expander and
    a download: no CSP violation, no script error. The browser stays on the process its
    routing cookie names: its page, scripts, WebSocket and download all reach one process
    (the only browser in the layout meanwhile: every request logged during the test is its
    own)."""
    page = watched.page
    offset = deployed.access_log.stat().st_size
    sign_in(page, deployed.url, "board")
    wait_for(page, "Board overview")
    titles = menu(page)
    assert set(BOARD_PAGES) <= set(titles)
    for menu_title in titles:  # every page of the menu, the data pages and any other
        if menu_title in BOARD_PAGES:
            go(page, menu_title, BOARD_PAGES[menu_title])
        else:
            page.locator(NAV_LINK, has_text=menu_title).first.click()
            page.get_by_role("heading", name=re.compile(menu_title, re.I)).first.wait_for()
            page.wait_for_timeout(1000)
        _open_everything(page)
        if menu_title in BOARD_PAGES:
            tables = page.locator('[data-testid="stDataFrame"], [data-testid="stTable"]')
            assert tables.count() > 0, menu_title
        _no_error_shown(page)
    assert watched.violations() == []
    assert watched.errors == [] and watched.outside == []
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["smhp_route"]["httpOnly"] and cookies["smhp_route"]["secure"]
    page.context.close()  # the WebSocket's log line is written when it closes
    time.sleep(1)
    lines = deployed.upstreams_since(offset)
    assert any("/_stcore/stream" in line for line, _ in lines), "the WebSocket was not logged"
    assert any("/media/" in line for line, _ in lines), "the download was not logged"
    assert len({port for _, port in lines}) == 1, lines


def test_the_administrator_page_has_no_csp_violation(
    watched: CspWatched, deployed: Deployment
) -> None:
    page = watched.page
    sign_in(page, deployed.url, "admin")
    page.get_by_role("heading", name="Administration").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    _open_everything(page)
    _no_error_shown(page)
    assert watched.violations() == []
    assert watched.errors == [] and watched.outside == []


def test_an_unknown_page_shows_no_traceback(watched: CspWatched, deployed: Deployment) -> None:
    page = watched.page
    sign_in(page, deployed.url, "admin")  # a page without charts first: less browser work
    page.get_by_role("heading", name="Administration").first.wait_for(timeout=30_000)
    page.evaluate(  # within the signed-in session, as an edited address would ask
        "() => { window.history.pushState({}, '', '/no-such-page');"
        " window.dispatchEvent(new PopStateEvent('popstate')); }"
    )
    page.wait_for_timeout(3000)
    _no_error_shown(page)
    page.goto(f"{deployed.url}/no-such-page")  # a fresh load, too
    page.wait_for_timeout(3000)
    _no_error_shown(page)
    assert watched.violations() == [] and watched.errors == []
    status, _, body = _get(deployed.https_port, "/media/no-such-file.csv")
    assert status == 404 and not any(sign in body for sign in TRACEBACK_SIGNS)


# --- operations ----------------------------------------------------------------------------


def test_a_server_error_shows_no_details_and_a_second_up_restarts(
    deployed: Deployment,
) -> None:
    for port in deployed.app_ports:  # every app dies: nginx answers for them
        pid = int((deployed.state / "run" / f"dashboard-{port}.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
    for _ in range(50):
        if all(_refused(port) for port in deployed.app_ports):
            break
        time.sleep(0.1)
    status, headers, body = _get(deployed.https_port, "/")
    assert status == 502
    assert not any(sign in body for sign in TRACEBACK_SIGNS), body
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    deployed.up()  # idempotent: stops what is left, starts everything again
    status, _, body = _get(deployed.https_port, "/_stcore/health")
    assert (status, body.strip()) == (200, "ok")
    for port in deployed.app_ports:
        assert set(_listening(port)) == {"0100007F"}


def test_the_audit_log_has_the_address_nginx_saw_never_the_claimed_one(
    deployed: Deployment,
) -> None:
    """The browser sent ``X-Forwarded-For: 203.0.113.9`` with every request; nginx
    overwrote it with the real peer, so the sign-ins above recorded 127.0.0.1."""
    audit = deployed.state / "audit" / "audit.sqlite3"
    assert audit.exists()  # the sign-ins above were recorded in the state folder
    stored = b"".join(p.read_bytes() for p in audit.parent.glob("audit.sqlite3*"))
    assert b"sign_in" in stored
    assert SPOOFED.encode() not in stored


def test_nothing_in_the_state_folder_is_readable_by_others(deployed: Deployment) -> None:
    exposed = [
        f"{path} {stat.filemode(path.stat().st_mode)}"
        for path in [deployed.state, *deployed.state.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o007
    ]
    assert exposed == []


def test_down_stops_everything(deployed: Deployment) -> None:
    pids = [int(f.read_text()) for f in (deployed.state / "run").glob("*.pid")]
    assert len(pids) == PROCESSES + 1  # the dashboards and nginx
    done = deployed.down()
    assert "stopped" in done.stdout
    for port in (deployed.https_port, deployed.http_port, *deployed.app_ports):
        assert _refused(port), port
    assert not list((deployed.state / "run").glob("*.pid"))
    for pid in pids:  # not one process of the layout is left
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
