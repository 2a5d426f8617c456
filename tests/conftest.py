"""Shared fixtures and the suite's layout.

- One real demo warehouse per test run (``demo_run``): ``smhp demo --no-dashboard``, synthetic
  extracts through the real nightly run, twice; the warehouse of the real shape that the
  dashboard tests compare against and the browser tests serve. Built once, only if a test
  asks for it, and shared by pytest-xdist's workers (``shared_builds.build_once``).
- argon2id at its cheapest in the test process (``cheap_password_hashes``).
- The ``slow`` mark on every test that needs the demo build or chromium (``SLOW_FIXTURES``),
  and the heaviest modules first (``HEAVY_FIRST``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faults_kit import build_first_run, landing_and_warehouse
from shared_builds import build_once, copy_built

from smhp.demo.timeline import PINNED_DEMO_END

SMHP = str(Path(sys.executable).parent / "smhp")


def _demo_args(folder: Path) -> list[str]:
    """``smhp demo`` at the pinned end, so that the dashboard tests meet the same data every
    day (a plain ``smhp demo`` ends yesterday)."""
    end = PINNED_DEMO_END.isoformat()
    return [SMHP, "demo", "--dir", str(folder / "demo"), "--no-dashboard", "--end", end]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """``smhp demo --no-dashboard`` run once per test run (``shared_builds.build_once``, also
    across pytest-xdist's workers), as ``make demo`` runs it (with no SMHP_ setting from the
    environment); its folder is ``demo_run.args[3]``."""

    def build(folder: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
        done = subprocess.run(
            _demo_args(folder), capture_output=True, text=True, env=env, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        (folder / "demo.stdout").write_text(done.stdout)
        (folder / "demo.stderr").write_text(done.stderr)

    folder = build_once(tmp_path_factory, "demo", build)
    out, err = (folder / "demo.stdout").read_text(), (folder / "demo.stderr").read_text()
    return subprocess.CompletedProcess(_demo_args(folder), 0, out, err)


@pytest.fixture(scope="session")
def demo_warehouse(demo_run: subprocess.CompletedProcess) -> Path:
    """The published demo warehouse (a link to its snapshot), built once per session."""
    return Path(demo_run.args[3]) / "warehouse.duckdb"


@pytest.fixture(scope="session")
def faults_first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fault tests' first run (``faults_kit.build_first_run``), built once per test run;
    never changed: tests take copies (``faults_copy``)."""
    return build_once(tmp_path_factory, "faults-first-run", build_first_run)


@pytest.fixture
def faults_copy(faults_first_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's own copy of ``faults_first_run``: its landing folder and published
    warehouse."""
    return landing_and_warehouse(copy_built(faults_first_run, tmp_path))


@pytest.fixture(scope="session", autouse=True)
def quality_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | None]:
    """A warm pool of GX workers (``smhp.pipeline.quality.pool``) for this process's real
    ``smhp nightly`` runs (``extracts.NIGHTLY_ENV``), when the session has slow tests.

    Each run would otherwise import GX in a worker of its own: about 5 s of CPU, some 50
    times in a test run on 2 cores. The pool imports it once and forks a worker per run,
    so every run still validates in a fresh process with real GX. Set for the runs'
    environment only, not this process's: the tests of ``GxWorker`` itself start real
    worker subprocesses. A run that starts before the pool is ready uses its own worker.
    """
    from extracts import NIGHTLY_ENV

    from smhp.pipeline.quality.pool import POOL_ENV

    if not any(item.get_closest_marker("slow") for item in request.session.items):
        yield None
        return
    path = tmp_path_factory.mktemp("quality-pool") / "gx.sock"
    log = (path.parent / "pool.log").open("wb")
    pool = subprocess.Popen(
        [sys.executable, "-m", "smhp.pipeline.quality", "pool", "--socket", str(path)],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=log,
    )
    NIGHTLY_ENV[POOL_ENV] = str(path)
    try:
        yield path
    finally:
        NIGHTLY_ENV.pop(POOL_ENV, None)
        pool.stdin.close()  # type: ignore[union-attr]  # the pool exits when stdin closes
        try:
            pool.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pool.kill()
        log.close()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id at its cheapest parameters in the test process.

    The tests hash and check a few hundred passwords (the demo users, every sign-in of an
    AppTest page); at the production cost (64 MiB, 3 passes) that is about a minute of the
    2 cores. Only the cost changes: the parameters travel inside each hash, so a hash made
    by an `smhp` subprocess (which keeps the production cost) still verifies here, and
    ``tests/test_passwords.py`` checks the production parameters in a process of its own.
    """
    from argon2 import PasswordHasher

    from smhp.access import passwords

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        passwords._dummy_hash.cache_clear()  # made with the hasher in use
        yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def demo_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file with the demo's users (one per role, ``smhp.access.users.DEMO_USERS``)."""
    from smhp.access.users import create_demo_users

    path = tmp_path_factory.mktemp("access") / "users.json"
    create_demo_users(path)
    return path


@pytest.fixture
def dashboard_access(demo_users: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The dashboard's sign-in settings for a test: the demo users and a session-wide
    audit log beside them (returned). Lock-out and expiry tests use files of their own."""
    audit_db = demo_users.parent / "audit.sqlite3"
    monkeypatch.setenv("SMHP_USERS_FILE", str(demo_users))
    monkeypatch.setenv("SMHP_AUDIT_DB", str(audit_db))
    monkeypatch.delenv("SMHP_ACCESS_CONFIG", raising=False)
    return audit_db


@pytest.fixture
def private_access(
    demo_warehouse: Path, demo_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The demo warehouse, a private copy of the demo users and a fresh audit log (returned):
    for tests that count audit events or change users."""
    users = tmp_path / "users.json"
    shutil.copyfile(demo_users, users)
    audit_db = tmp_path / "audit.sqlite3"
    monkeypatch.setenv("SMHP_WAREHOUSE", str(demo_warehouse))
    monkeypatch.setenv("SMHP_USERS_FILE", str(users))
    monkeypatch.setenv("SMHP_AUDIT_DB", str(audit_db))
    monkeypatch.delenv("SMHP_ACCESS_CONFIG", raising=False)
    return audit_db


@pytest.fixture
def clicks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], bytes]]:
    """The deferred data of each download button drawn on the latest run, by table key:
    calling it is what Streamlit does when the button is clicked (the real callable)."""
    from dashboard import downloads

    latest: dict[str, Callable[[], bytes]] = {}
    real = downloads.prepare

    def spy(shown, table, not_in_csv=()):
        latest[table] = real(shown, table, not_in_csv)
        return latest[table]

    monkeypatch.setattr(downloads, "prepare", spy)
    return latest


# The order in which `make test`'s workers take modules (pytest-xdist, one module at a time;
# pyproject.toml turns off xdist's own reordering by test count, which ignored this list).
# The first three start together: one builds the demo (about 60 s, one core) while the other
# two run the fault tests, which need no demo; the browser modules, which spend much of their
# time waiting on the dashboard, then run beside the CPU-heavy pipeline modules. Seconds of
# each (wall, `make test` on the 2-core machine); re-measure and re-order when a module grows.
# Modules not listed keep their order, after these.
HEAVY_FIRST = (
    "e2e/test_accessibility.py",  # 140, after the demo build (60)
    "test_faults.py",  # 90: killed runs, a reader through a run (6 nightly runs)
    "test_faults_inputs.py",  # 85: bad files, full disk, failed gate (6 nightly runs)
    "test_nightly.py",  # 130: 7 nightly runs
    "e2e/test_deploy.py",  # 145
    "test_keys.py",  # 36: 8 nightly runs, 3 with a dbt build
    "e2e/test_browser.py",  # 88
    "test_quality.py",  # 59: 3 dbt builds
    "test_retention.py",  # 49
    "test_demo_scale.py",  # 49: a nightly run at scale 2
    "test_dashboard_access.py",  # 48
    "test_packs.py",  # 41
    "test_audit_tamper.py",  # 29: 2 nightly runs
    "test_demo_data.py",  # 26
    "test_dashboard_app.py",  # 25
    "test_dbt_project.py",  # 23: 2 dbt builds
    "test_incremental.py",  # 22: a full rebuild of the demo
    "e2e/test_follows_published_link.py",  # 22
    "test_disclosure_attacks.py",  # 19
)


#: A test that uses one of these fixtures is ``slow`` (``make test-fast`` leaves it out): the
#: demo build (the real pipeline, once per run) and chromium. Modules that run the pipeline
#: or dbt themselves say so with ``pytestmark = pytest.mark.slow``.
SLOW_FIXTURES = frozenset({"demo_run", "browser"})


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(item.fixturenames):  # every fixture it needs, transitively
            item.add_marker(pytest.mark.slow)

    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        for n, name in enumerate(HEAVY_FIRST):
            if path.endswith(f"tests/{name}"):
                return n
        return len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported (``gc.freeze``), as the dashboard server freezes its
    startup heap: the test process's full collections then stop walking every module of
    Streamlit, plotly, pandas, dbt and the app, which the AppTest page runs and the
    in-process builds trigger again and again: about 12 % of the workers' own CPU."""
    from dashboard.server import freeze_heap

    freeze_heap()
