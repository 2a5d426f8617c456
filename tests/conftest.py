"""Shared fixtures: one real demo warehouse per test session.

The demo (``smhp demo --no-dashboard``: synthetic extracts through the real nightly run,
twice) is the warehouse of the real shape that the dashboard tests compare against and
the browser tests serve. It takes about 20 s, so it is built at most once per session,
and only if a test asks for it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SMHP = str(Path(sys.executable).parent / "smhp")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """``smhp demo --no-dashboard`` run once per test run, as ``make demo`` runs it (with no
    SMHP_ setting from the environment); its folder is ``demo_run.args[3]``.

    With pytest-xdist's workers (``make test`` runs two), the first worker to get here
    builds it under a lock in the folder the workers share; the others wait and reuse it.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    demo_dir = shared / "dashboard-demo" / "demo"
    demo_dir.parent.mkdir(parents=True, exist_ok=True)
    with (demo_dir.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        args = [SMHP, "demo", "--dir", str(demo_dir), "--no-dashboard"]
        out, err = demo_dir.parent / "built.stdout", demo_dir.parent / "built.stderr"
        if err.exists():
            return subprocess.CompletedProcess(args, 0, out.read_text(), err.read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        out.write_text(done.stdout)
        err.write_text(done.stderr)  # last: its presence says the build is complete
        return done


@pytest.fixture(scope="session")
def demo_warehouse(demo_run: subprocess.CompletedProcess) -> Path:
    """The published demo warehouse (a link to its snapshot), built once per session."""
    return Path(demo_run.args[3]) / "warehouse.duckdb"


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


# The heaviest modules first (seconds on this 2-core machine, measured with
# `pytest --durations=0`), so that `make test`'s two workers (pytest-xdist, one module at a
# time) finish together instead of one waiting on a long module started last; the ones
# that need no demo warehouse are interleaved, so one worker runs them while the other
# builds it. Modules not listed keep their order, after these.
HEAVY_FIRST = (
    "e2e/test_accessibility.py",
    "test_faults.py",
    "test_nightly.py",
    "test_dashboard_access.py",
    "test_retention.py",
    "test_disclosure_attacks.py",
    "test_keys.py",
    "e2e/test_browser.py",
    "test_audit_tamper.py",
    "e2e/test_deploy.py",
    "test_quality.py",
    "test_dbt_project.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        for n, name in enumerate(HEAVY_FIRST):
            if path.endswith(f"tests/{name}"):
                return n
        return len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept
