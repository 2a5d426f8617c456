"""Serving capacity of the dashboard: server time per page view, and page switches under N
concurrent browser sessions. Functions for ``bench/run.py``; run by hand, never by the tests.

- ``page_view_times(warehouse, runs)``: the real app script (``dashboard/app.py``) run
  in-process by Streamlit's AppTest, signed in through its form as demo users of several
  roles, each page run once to fill the caches and then ``runs`` times more; each run's
  server time is the app's own measurement (``dashboard.profiling``: wall and CPU time of
  the script run, from the sign-in check to the audit record), so AppTest's own work is
  not counted, and the scripts are compiled once, as the server does. The figures are for
  a *cached* page view: the data (and the charts) of this scope and these filters are
  already in Streamlit's cache.
- ``concurrent_sessions(base_url, sessions, switches, credentials, drawn=True)``: ``sessions``
  browser contexts of one Debian chromium headless shell (``CHROMIUM``, as the browser
  tests use; never a downloaded browser), each signing in and then switching pages
  ``switches`` times through the top menu, all at once. A *page switch* is timed by the
  page itself from the click on the menu link to the next page drawn: its heading shown,
  the script run over, no element stale or loading and every chart drawn
  (``IN_PAGE_SWITCH``). With ``drawn=False`` the sessions speak Streamlit's protocol over
  its WebSocket and draw nothing (``WireClient``): a switch is the rerun asked for to its
  ``script_finished`` received, the layout's share with the cores left to the servers.
  Each run also says where the machine's CPU went while the sessions switched pages
  (``CpuWatch``: the browser, the dashboards, nginx, the driver), so that the least time
  N switches at once need on these cores can be read from it.

    .venv/bin/python bench/serving.py views /tmp/demo/warehouse.duckdb --runs 20
    .venv/bin/python bench/serving.py sessions https://localhost:8443 --sessions 10
    .venv/bin/python bench/serving.py sessions https://localhost:8443 --sessions 50 --wire

The browser runs on the same machine as the server, so at 50 sessions chromium's own
drawing (about a second of CPU a page) competes with the dashboard for the cores: the
browser figures are an upper bound of what remote browsers would see, the figures over the
wire the server's part of it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
# The browser and its flags exactly as the browser tests launch it: Debian's chromium
# headless shell, which draws a page with about half the CPU of the full browser (it shares
# the machine's cores with the dashboards here).
from browser_kit import CHROMIUM  # noqa: E402
from browser_kit import FLAGS as CHROMIUM_FLAGS  # noqa: E402
from procs import proc_stats  # noqa: E402

VIEWS: dict[str, tuple[str, ...]] = {
    "board": ("overview", "service", "funder", "equity", "quality"),
    "manager_uol": ("service",),
    "funder": ("funder", "equity"),
}
"""The page views ``page_view_times`` measures: demo user to page ids (the board's every
data page, a service manager's and a funder's pages)."""
RERUN_OVER = """() => document.querySelector('[data-testid="stApp"]')
        ?.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector(
        '[data-testid="stStatusWidget"], [data-stale="true"], [data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(c => c.querySelector('.main-svg'))"""
"""The page is drawn: the script run is over (Streamlit's own state on its root element),
nothing stale or loading is left and every chart is drawn."""
NAV_LINK = '[data-testid="stTopNavLink"]'
IN_PAGE_SWITCH = f"""async (title) => {{
    const before = document.querySelector('h1')?.innerText;
    const link = [...document.querySelectorAll('{NAV_LINK}')]
        .find(a => a.innerText.trim() === title);
    const switched = () => document.querySelector('h1')?.innerText !== before
        && ({RERUN_OVER})();
    return await new Promise((resolve, reject) => {{
        const started = performance.now();
        const observer = new MutationObserver(() => {{
            if (switched()) {{ observer.disconnect(); resolve(performance.now() - started); }}
        }});
        observer.observe(document.body,
            {{subtree: true, childList: true, attributes: true, characterData: true}});
        setTimeout(() => {{ observer.disconnect(); reject(new Error('no switch in 120 s')); }},
            120000);
        link.click();
    }});
}}"""
"""In the page: click the menu link titled ``title``; the milliseconds until another page
(its heading replaced the one before) is drawn (``RERUN_OVER``), checked on each change of
the page rather than polled."""


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95 (nearest rank) and max of ``values``, in the values' unit, and how many."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
    }


# --- where the CPU of a run goes -----------------------------------------------------------

CPU_KINDS = ("browser", "dashboards", "proxy", "driver", "other")
"""What ``cpu_seconds`` sorts the machine's processes into: chromium's processes, the
dashboard servers, nginx, the driver (this process and Playwright's node) and the rest."""


def _kind(pid: int, comm: str) -> str:
    """Which of ``CPU_KINDS`` process ``pid`` (named ``comm`` by the kernel) is, by its
    program and arguments: the dashboards are the processes started with ``dashboard``."""
    if pid == os.getpid():
        return "driver"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().split(b"\0")
    except OSError:
        return "other"
    program = Path(args[0].decode(errors="replace")).name if args and args[0] else comm
    if "chromium" in program or "chromium" in comm:
        return "browser"
    if comm == "nginx" or program == "nginx":
        return "proxy"
    if program == "node" and any(b"playwright" in a for a in args):
        return "driver"
    if any(b"dashboard" in a for a in args[1:]):
        return "dashboards"
    return "other"


def cpu_seconds(kinds: dict[int, str] | None = None) -> dict[int, tuple[str, float]]:
    """Every process's kind (``CPU_KINDS``) and CPU time so far (user + system, seconds),
    from ``/proc``: two of these around a run say where its CPU went. ``kinds`` keeps each
    process's kind from one call to the next (its command line is read once)."""
    kinds = {} if kinds is None else kinds
    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[int, tuple[str, float]] = {}
    for pid, comm, stat in proc_stats():
        if pid not in kinds:
            kinds[pid] = _kind(pid, comm)
        seen[pid] = (kinds[pid], (int(stat[11]) + int(stat[12])) / tick)
    return seen


def cpu_between(
    before: Mapping[int, tuple[str, float]], after: Mapping[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each kind of process used from ``before`` to ``after`` (a process started
    in between counts whole)."""
    used = dict.fromkeys(CPU_KINDS, 0.0)
    for pid, (kind, seconds) in after.items():
        earlier = before.get(pid)
        used[kind] += seconds - (earlier[1] if earlier and earlier[0] == kind else 0.0)
    return {kind: round(seconds, 1) for kind, seconds in used.items()}


class CpuWatch:
    """The CPU each kind of process uses from ``start()`` to ``stop()``. The processes are
    sampled every ``every`` seconds in a thread, so one that ends in between (a browser
    page's renderer, when its session closes) keeps what it had used at its last sample."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._kinds: dict[int, str] = {}  # pid -> kind, for the run's length
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.last.update(cpu_seconds(self._kinds))

    def start(self) -> None:
        self.first = cpu_seconds(self._kinds)
        self.last = dict(self.first)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        if not self._thread.is_alive():  # never started: nothing measured
            return dict.fromkeys(CPU_KINDS, 0.0)
        self._stop.set()
        self._thread.join()
        self.last.update(cpu_seconds(self._kinds))
        return cpu_between(self.first, self.last)


# --- server time per page view -------------------------------------------------------------


@contextmanager
def _one_script_cache() -> Iterator[None]:
    """AppTest as the real server runs scripts: compiled once. AppTest makes a new
    ``ScriptCache`` on every run, so each run would compile the app and the page again
    (tens of ms a run that the server never spends, within the timed page run)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    saved = app_test.ScriptCache, local_script_runner.ScriptCache
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared  # type: ignore[misc]
    try:
        yield
    finally:
        app_test.ScriptCache, local_script_runner.ScriptCache = saved


def _as_the_server_runs() -> None:
    """Streamlit's options in this process as ``smhp dashboard`` sets them
    (``smhp.cli.dashboard_server_options``) where they change a script run's work: no usage
    statistics, so no per-command telemetry (AppTest's default collects it: 2-4 ms a view)."""
    from streamlit import config

    from smhp.cli import dashboard_server_options
    from smhp.settings import Settings

    options = dashboard_server_options(Settings.from_env())
    config.set_option("browser.gatherUsageStats", options["browser.gatherUsageStats"] == "true")


def _signed_in(username: str) -> Any:
    """The app run by AppTest, signed in through its form as demo user ``username``."""
    from streamlit.testing.v1 import AppTest

    from smhp.access.users import demo_password

    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(demo_password(username))
    next(b for b in at.button if b.label == "Sign in").click().run()
    if at.exception or any(t.key == "signin_username" for t in at.text_input):
        raise RuntimeError(f"could not sign in as {username}: {at.exception}")
    return at


def page_view_times(
    warehouse: Path, runs: int = 20, views: Mapping[str, Sequence[str]] = VIEWS
) -> dict[str, Any]:
    """Server time of a cached page view, per page and role: wall and CPU milliseconds
    (p50, p95, max over ``runs`` runs after one warm-up run), from the app's own timer.

    Runs in this process, on ``warehouse`` (a published link), with the demo users in a
    temporary users file and a temporary audit log.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from dashboard.navigation import BY_ID
    from dashboard.profiling import PROFILE_LOG_ENV
    from dashboard.server import freeze_the_startup_heap
    from smhp.access.users import create_demo_users
    from smhp.settings import environment

    pages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="smhp-bench-") as folder:
        users, log = Path(folder) / "users.json", Path(folder) / "profile.jsonl"
        create_demo_users(users)
        settings = {
            "SMHP_WAREHOUSE": str(Path(warehouse).absolute()),
            "SMHP_USERS_FILE": str(users),
            "SMHP_AUDIT_DB": str(Path(folder) / "audit.sqlite3"),
            "SMHP_ACCESS_CONFIG": None,
            PROFILE_LOG_ENV: str(log),
        }
        freeze_the_startup_heap()  # as the server does before it serves
        _as_the_server_runs()
        with environment(settings), _one_script_cache():
            for username, page_ids in views.items():
                at = _signed_in(username)
                for page_id in page_ids:
                    at.switch_page(f"views/{BY_ID[page_id].script}").run()  # fills the caches
                    if at.exception:
                        raise RuntimeError(f"{username} {page_id}: {at.exception}")
                    log.write_text("")
                    for _ in range(runs):
                        at.run()
                    lines = [json.loads(line) for line in log.read_text().splitlines()]
                    wrong = {line["page"] for line in lines} - {page_id}
                    if wrong or len(lines) != runs:
                        raise RuntimeError(f"{username} {page_id}: ran {wrong or len(lines)}")
                    pages[f"{username}/{page_id}"] = {
                        "role": lines[0]["role"],
                        "wall_ms": percentiles([line["wall_ms"] for line in lines]),
                        "cpu_ms": percentiles([line["cpu_ms"] for line in lines]),
                    }
    return {"runs": runs, "cached": True, "pages": pages, "load": os.getloadavg()}


# --- concurrent sessions ------------------------------------------------------------------


class BrowserClient:
    """One viewer in a browser context of Debian's chromium headless shell: signs in through
    the form, then switches pages by clicking the top menu's links.

    A switch is clicked and timed by the page itself (``IN_PAGE_SWITCH``): the driver
    neither polls nor waits for its own checks, whose round trips through the driver would
    count in the time and whose polls of every page would load the cores the pages draw
    on."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser, self.base_url = browser, base_url

    async def __aenter__(self) -> BrowserClient:
        self.context = await self.browser.new_context(ignore_https_errors=True)
        self.page = await self.context.new_page()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.context.close()

    async def sign_in(self, username: str, password: str) -> list[str]:
        """Sign in; the menu's page titles."""
        page = self.page
        await page.goto(self.base_url)
        await page.get_by_label("Username", exact=True).fill(username)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await page.locator(NAV_LINK).first.wait_for(timeout=120_000)
        await page.wait_for_function(f"() => ({RERUN_OVER})()", timeout=120_000, polling=100)
        return [t.strip() for t in await page.locator(NAV_LINK).all_inner_texts()]

    async def switch(self, title: str) -> float:
        """Click the menu link ``title``; milliseconds until that page is drawn."""
        return float(await self.page.evaluate(IN_PAGE_SWITCH, title))


class WireClient:
    """One viewer speaking Streamlit's own protocol over its WebSocket, as the browser's
    app does, and drawing nothing: the server runs the same scripts and sends the same
    messages through nginx and TLS, so a switch's time (the rerun asked for to its
    ``script_finished`` received) is the layout's share of a page switch, with the cores
    left to the servers as they would be with the browsers on the viewers' own machines.

    It fetches the page and the health check first for the cookies a browser gets (the
    routing cookie of nginx, Streamlit's XSRF cookie), signs in by submitting the form's
    widgets, and switches pages by the navigation's page hashes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.pages: dict[str, str] = {}

    async def __aenter__(self) -> WireClient:
        import ssl
        from urllib.parse import urlsplit

        import websockets

        address = urlsplit(self.base_url)
        tls = ssl.create_default_context()
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the layout's own cert
        cookies = await asyncio.to_thread(_cookies, self.base_url, tls)
        self.ws = await websockets.connect(
            f"{'wss' if address.scheme == 'https' else 'ws'}://{address.netloc}/_stcore/stream",
            ssl=tls if address.scheme == "https" else None,
            origin=self.base_url,
            subprotocols=["streamlit", cookies.get("_streamlit_xsrf", "")],
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
            max_size=None,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def _rerun(self, **client_state: Any) -> tuple[float, list[Any]]:
        """Ask for a rerun; its milliseconds and the elements it sent."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        for widget in client_state.pop("widgets", ()):
            message.rerun_script.widget_states.widgets.add().CopyFrom(widget)
        for name, value in client_state.items():
            setattr(message.rerun_script, name, value)
        started = time.perf_counter()
        await self.ws.send(message.SerializeToString())
        elements = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await self.ws.recv())
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                elements.append(forward.delta.new_element)
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "script_finished":
                elapsed = (time.perf_counter() - started) * 1000
                failed = [e.exception.message for e in elements if e.HasField("exception")]
                if failed or forward.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise RuntimeError(f"the page failed: {failed or forward.script_finished}")
                return elapsed, elements

    async def sign_in(self, username: str, password: str) -> list[str]:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        _, elements = await self._rerun(query_string="", page_script_hash="")
        ids = {
            getattr(e, kind).label: getattr(e, kind).id
            for e in elements
            if (kind := e.WhichOneof("type")) in ("text_input", "button")
        }
        await self._rerun(
            widgets=[
                WidgetState(id=ids["Username"], string_value=username),
                WidgetState(id=ids["Password"], string_value=password),
                WidgetState(id=ids["Sign in"], trigger_value=True),
            ]
        )
        if not self.pages:
            raise RuntimeError("signed in to no page")
        return list(self.pages)

    async def switch(self, title: str) -> float:
        elapsed, _ = await self._rerun(page_script_hash=self.pages[title])
        return elapsed


def _cookies(base_url: str, tls: Any) -> dict[str, str]:
    """The cookies a browser holds after loading the page at ``base_url``."""
    import urllib.request
    from http.cookiejar import CookieJar

    jar = CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=tls), urllib.request.HTTPCookieProcessor(jar)
    )
    for path in ("/", "/_stcore/health"):
        with opener.open(base_url + path, timeout=120) as answer:
            answer.read()
    return {cookie.name: cookie.value for cookie in jar}


async def _viewer(
    client: Any,
    credential: tuple[str, str],
    switches: int,
    signing_in: asyncio.Semaphore,
    all_signed_in: asyncio.Barrier,
    timings: list[float],
    errors: list[str],
    on_all_signed_in: Callable[[], object],
) -> None:
    """One viewer: connect and sign in (a few at a time), wait for everyone (the first to
    go on calls ``on_all_signed_in``), then switch pages through the menu in its order,
    each switch to the next page."""
    username, password = credential
    titles: list[str] = []
    async with AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(client)
            async with signing_in:
                titles = await client.sign_in(username, password)
        except Exception as exc:  # counted, and the viewer still meets the others
            errors.append(f"{username}: sign-in: {type(exc).__name__}: {exc}"[:300])
        if await all_signed_in.wait() == 0:
            on_all_signed_in()
        try:
            for i in range(switches if titles else 0):
                timings.append(await client.switch(titles[(i + 1) % len(titles)]))
        except Exception as exc:
            errors.append(f"{username}: switch: {type(exc).__name__}: {exc}"[:300])


async def _sessions(
    base_url: str,
    sessions: int,
    switches: int,
    credentials: Sequence[tuple[str, str]],
    sign_in_at_once: int,
    drawn: bool,
) -> dict[str, Any]:
    timings: list[float] = []
    errors: list[str] = []
    watch = CpuWatch()  # the machine's CPU while the sessions switch pages
    async with AsyncExitStack() as stack:
        if drawn:
            from playwright.async_api import async_playwright

            playwright = await stack.enter_async_context(async_playwright())
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
            )
            stack.push_async_callback(browser.close)

        signing_in = asyncio.Semaphore(sign_in_at_once)
        barrier = asyncio.Barrier(sessions)
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _viewer(
                    BrowserClient(browser, base_url) if drawn else WireClient(base_url),
                    credentials[i % len(credentials)],
                    switches,
                    signing_in,
                    barrier,
                    timings,
                    errors,
                    watch.start,
                )
                for i in range(sessions)
            )
        )
        elapsed = time.perf_counter() - started
        used = watch.stop()  # before the browser closes
    return {
        "sessions": sessions,
        "switches": switches,
        "drawn": drawn,
        "switch_ms": percentiles(timings),
        "errors": errors,
        "elapsed_s": round(elapsed, 1),
        "cpu_s": used,
        "cpu_s_per_switch": round(sum(used.values()) / max(len(timings), 1), 3),
        "load": os.getloadavg(),
    }


def concurrent_sessions(
    base_url: str,
    sessions: int,
    switches: int,
    credentials: Sequence[tuple[str, str]] = (("board", "demo-only-board"),),
    sign_in_at_once: int = 1,
    drawn: bool = True,
) -> dict[str, Any]:
    """``sessions`` viewers signed in at ``base_url`` (credentials taken in turn), each
    switching pages ``switches`` times through the menu, all at the same time; the
    page-switch times (ms: p50, p95, max; see the module's note for what one is) and the
    errors (a failed sign-in or switch ends that viewer's measurements). ``drawn``: browser
    sessions (``BrowserClient``); else sessions over the wire that draw nothing
    (``WireClient``), the servers' share alone.

    Sign-ins go ``sign_in_at_once`` at a time (a process checks at most its share of
    ``SMHP_SIGNIN_CONCURRENCY`` passwords at once and refuses, never queues, the others);
    the switching starts when every session has signed in. Fifty sign-ins approach the
    overall limit of ``SMHP_SIGNIN_GLOBAL_PER_MINUTE`` (60 by default): give the server a
    higher one for repeated runs.
    """
    if drawn and not CHROMIUM.exists():
        raise RuntimeError(f"Debian's chromium headless shell is not installed ({CHROMIUM})")
    return asyncio.run(_sessions(base_url, sessions, switches, credentials, sign_in_at_once, drawn))


# --- the production layout -----------------------------------------------------------------


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive TCP ports free on loopback now."""
    import socket

    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            held = []
            for port in range(first, first + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


@contextmanager
def layout(
    warehouse: Path, processes: int, state: Path, seeds: Path | None = None
) -> Iterator[str]:
    """``deploy/up.sh`` in background mode (its own nginx with a self-signed certificate in
    front of ``processes`` dashboards) serving ``warehouse`` with the demo users; yields the
    HTTPS address and runs ``deploy/down.sh`` after. Sign-in limits are raised so that a
    benchmark's many sign-ins from one address are not refused as an attack."""
    from smhp.access.users import create_demo_users

    state.mkdir(parents=True, exist_ok=True)
    users = state / "users.json"
    create_demo_users(users)
    users.chmod(0o600)
    https, http, app = _free_ports(1), _free_ports(1), _free_ports(processes)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    env.update(
        SMHP_PROFILE_LOG=str(state / "profile.jsonl"),  # each rerun's server time
        SMHP_DEPLOY_MODE="background",
        SMHP_STATE_DIR=str(state / "state"),
        SMHP_HTTPS_PORT=str(https),
        SMHP_HTTP_PORT=str(http),
        SMHP_DASHBOARD_PORT=str(app),
        SMHP_DASHBOARD_PROCESSES=str(processes),
        SMHP_SERVER_NAME="localhost",
        SMHP_WAREHOUSE=str(Path(warehouse).absolute()),
        SMHP_LANDING=str(state / "landing"),
        SMHP_USERS_FILE=str(users),
        SMHP_AUDIT_DB=str(state / "audit" / "audit.sqlite3"),
        SMHP_AUDIT_ANCHOR_FILE=str(state / "audit" / "anchors.log"),
        SMHP_SIGNIN_GLOBAL_PER_MINUTE="100000",
        SMHP_SIGNIN_ADDRESS_FAILURES="100000",
        SMHP_SIGNIN_CONCURRENCY=str(2 * processes),
    )
    if seeds is not None:
        env["SMHP_SEEDS_DIR"] = str(seeds)
    deploy = ROOT / "deploy"
    done = subprocess.run(["bash", str(deploy / "up.sh")], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"deploy/up.sh failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    try:
        yield f"https://localhost:{https}"
    finally:
        subprocess.run(["bash", str(deploy / "down.sh")], env=env, capture_output=True, text=True)


def sessions_through_layout(
    warehouse: Path,
    sessions: Sequence[int],
    switches: int,
    processes: int,
    state: Path,
    seeds: Path | None = None,
) -> dict[str, Any]:
    """``concurrent_sessions`` of the board for each N of ``sessions`` through the production
    layout (``layout``) with ``processes`` dashboards in front of ``warehouse``: browser
    sessions (``by_sessions``), then as many sessions over the wire (``over_the_wire``).

    With each run, the dashboards' own time for the reruns of its sessions (sign-ins and
    page switches: ``server_ms``, wall and CPU, from their profile log, ``dashboard.profiling``):
    the share of a page switch that is the server's, when the browsers share its cores."""
    runs: dict[str, dict[str, Any]] = {"by_sessions": {}, "over_the_wire": {}}
    log = state / "profile.jsonl"
    with layout(warehouse, processes, state, seeds) as url:
        for n in sessions:
            for kind, drawn in (("by_sessions", True), ("over_the_wire", False)):
                seen = len(log.read_text().splitlines()) if log.exists() else 0
                try:
                    run = concurrent_sessions(url, n, switches, drawn=drawn)
                except Exception as exc:  # noqa: BLE001 - e.g. the browsers ran out of memory
                    run = {"sessions": n, "failed": f"{type(exc).__name__}: {exc}"}
                reruns = [json.loads(line) for line in log.read_text().splitlines()[seen:]]
                run["server_ms"] = {
                    "wall": percentiles([r["wall_ms"] for r in reruns]),
                    "cpu": percentiles([r["cpu_ms"] for r in reruns]),
                }
                runs[kind][str(n)] = run
    return {"processes": processes, "switches": switches, **runs}


def _main(argv: Sequence[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    views = sub.add_parser("views", help="server time per cached page view")
    views.add_argument("warehouse", type=Path)
    views.add_argument("--runs", type=int, default=20)
    sessions = sub.add_parser("sessions", help="page switches under concurrent sessions")
    sessions.add_argument("base_url")
    sessions.add_argument("--sessions", type=int, default=10)
    sessions.add_argument("--switches", type=int, default=5)
    sessions.add_argument("--user", default="board")
    sessions.add_argument(
        "--wire", action="store_true", help="sessions over the WebSocket that draw nothing"
    )
    args = parser.parse_args(argv)
    if args.what == "views":
        result = page_view_times(args.warehouse, args.runs)
    else:
        credential = (args.user, f"demo-only-{args.user}")
        result = concurrent_sessions(
            args.base_url, args.sessions, args.switches, (credential,), drawn=not args.wire
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
