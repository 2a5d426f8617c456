"""Shared fixtures: one real demo warehouse per test session.

The demo (``smhp demo --no-dashboard``: synthetic extracts through the real nightly run,
twice) is the warehouse of the real shape that the dashboard tests compare against and
the browser tests serve. It takes about 20 s, so it is built at most once per session,
and only if a test asks for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
