"""Shared fixtures: one real demo warehouse per test session.

The demo (``smhp demo --no-dashboard``: synthetic extracts through the real nightly run,
twice) is the warehouse of the real shape that the dashboard tests compare against and
the browser tests serve. It takes about 20 s, so it is built at most once per session,
and only if a test asks for it.
"""

from __future__ import annotations

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
    """``smhp demo --no-dashboard`` run once per session, as ``make demo`` runs it (with no
    SMHP_ setting from the environment); its folder is ``demo_run.args[3]``."""
    demo_dir = tmp_path_factory.mktemp("dashboard-demo") / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}
    done = subprocess.run(
        [SMHP, "demo", "--dir", str(demo_dir), "--no-dashboard"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def demo_warehouse(demo_run: subprocess.CompletedProcess) -> Path:
    """The published demo warehouse (a link to its snapshot), built once per session."""
    return Path(demo_run.args[3]) / "warehouse.duckdb"


@pytest.fixture(scope="session")
def demo_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file with the demo's users (one per role, ``smhp.users.DEMO_USERS``)."""
    from smhp.users import create_demo_users

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
