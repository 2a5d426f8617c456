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
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published demo warehouse (a link to its snapshot), built once per session."""
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
    return demo_dir / "warehouse.duckdb"
