"""What the fault tests share (``test_faults.py``: killed runs and readers;
``test_faults_inputs.py``: bad files, a full disk, an unwritable folder, a failed gate):
the first run every test copies (built once per test run by the fixtures
``faults_first_run`` and ``faults_copy`` in ``conftest.py``) and the helpers that start,
kill and inspect real ``smhp nightly`` runs. Two files, so that pytest-xdist runs them side
by side: together they were the longest module of the suite."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from extracts import NIGHTLY_ENV, SMHP, referral, write_extract
from extracts import run_nightly as nightly

from smhp.warehouse import open_published

WARNINGS = 3  # published with warnings (the fixture's 2024 extracts are stale)


def referrals_count(warehouse: Path) -> int:
    con = open_published(warehouse)
    try:
        return con.execute("select count(*) from marts.fct_referrals").fetchone()[0]
    finally:
        con.close()


def latest_run(warehouse: Path) -> list[tuple]:
    con = open_published(warehouse)
    try:
        return con.execute("select outcome, reason from ops.runs order by run_id").fetchall()
    finally:
        con.close()


def landing_and_warehouse(folder: Path) -> tuple[Path, Path]:
    return folder / "landing", folder / "wh" / "warehouse.duckdb"


def build_first_run(folder: Path) -> None:
    """A landing folder with two referrals and a clean first run on it (for ``build_once``)."""
    landing, warehouse = landing_and_warehouse(folder)
    write_extract(landing, "referrals", "2024-03-01", [referral("R1", 1), referral("R2", 2)])
    done = nightly(landing, warehouse)
    assert done.returncode == WARNINGS, done.stderr
    assert referrals_count(warehouse) == 2


def start_and_kill_when(
    landing: Path, warehouse: Path, marker: str, env: dict | None = None, then=lambda: None
) -> str:
    """Start a nightly run, SIGKILL it once its stderr shows ``marker`` (and ``then()`` ran)."""
    proc = subprocess.Popen(
        [SMHP, "nightly", "--landing", str(landing), "--warehouse", str(warehouse)],
        stderr=subprocess.PIPE,
        text=True,
        env=env or NIGHTLY_ENV,
    )
    seen = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # type: ignore[union-attr]
        seen.append(line)
        if marker in line:
            then()
            proc.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(seen)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def add_new_referral(landing: Path) -> None:
    write_extract(
        landing,
        "referrals",
        "2024-03-02",
        [referral("R3", 3, referred_on="2024-03-02", updated_at="2024-03-02 09:00:00")],
    )


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
