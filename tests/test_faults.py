"""Fault tests with real processes: a run killed mid-build or mid-publish, a reader holding
the warehouse through a run, corrupt files, a full disk and an unwritable folder. In every
case the published warehouse stays complete and opens, and the next run recovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from extracts import NIGHTLY_ENV, SMHP, liaison, referral, write_extract
from extracts import run_nightly as nightly
from shared_builds import build_once, copy_built

from smhp.warehouse import open_published

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)
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


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landing folder with two referrals and the warehouse of a clean first run on it,
    built once per test run (``shared_builds``); never changed: tests take copies."""

    def build(folder: Path) -> None:
        landing, warehouse = landing_and_warehouse(folder)
        write_extract(landing, "referrals", "2024-03-01", [referral("R1", 1), referral("R2", 2)])
        done = nightly(landing, warehouse)
        assert done.returncode == WARNINGS, done.stderr
        assert referrals_count(warehouse) == 2

    return build_once(tmp_path_factory, "faults-first-run", build)


@pytest.fixture
def published(first_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's own copy of ``first_run``: its landing folder and published warehouse."""
    return landing_and_warehouse(copy_built(first_run, tmp_path))


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


def test_killed_during_dbt_build_leaves_published_data_and_next_run_recovers(published):
    landing, warehouse = published
    before = os.path.realpath(warehouse)
    add_new_referral(landing)
    wal = warehouse.parent / "warehouse.duckdb.work" / "candidate.duckdb.wal"
    start_and_kill_when(
        landing,
        warehouse,
        "[2/4] dbt build",
        then=lambda: _wait_for(lambda: wal.exists(), seconds=20),
    )
    assert os.path.realpath(warehouse) == before and referrals_count(warehouse) == 2
    done = nightly(landing, warehouse)
    assert done.returncode == WARNINGS, done.stderr
    assert "stopped without finishing during dbt build" in done.stderr
    assert referrals_count(warehouse) == 3
    outcomes = [o for o, _ in latest_run(warehouse)]
    assert outcomes[-2:] == ["failed", "published_with_warnings"]


def test_killed_during_publish_leaves_published_data_and_next_run_recovers(published):
    landing, warehouse = published
    before = os.path.realpath(warehouse)
    add_new_referral(landing)
    env = dict(NIGHTLY_ENV, SMHP_TEST_PAUSE_AT="publish")
    start_and_kill_when(landing, warehouse, "[test] paused at publish", env=env)
    snapshots = sorted((warehouse.parent / "warehouse.duckdb.snapshots").glob("*.duckdb"))
    assert len(snapshots) == 2  # the published one and the orphan the killed run renamed
    assert os.path.realpath(warehouse) == before and referrals_count(warehouse) == 2
    done = nightly(landing, warehouse)
    assert done.returncode == WARNINGS, done.stderr
    assert "stopped without finishing during publish" in done.stderr
    assert referrals_count(warehouse) == 3
    assert not any(s.exists() for s in snapshots if str(s) != before)  # the orphan is gone


def test_reader_sees_new_data_on_its_next_query_after_the_switch(published):
    landing, warehouse = published
    held = duckdb.connect(os.path.realpath(warehouse), read_only=True)  # an analyst's open shell
    try:
        add_new_referral(landing)
        proc = subprocess.Popen(
            [SMHP, "nightly", "--landing", str(landing), "--warehouse", str(warehouse)],
            stderr=subprocess.PIPE,
            text=True,
            env=NIGHTLY_ENV,
        )
        seen = []
        while proc.poll() is None:  # a dashboard-like reader querying throughout the run
            seen.append(referrals_count(warehouse))
            time.sleep(0.1)
        assert proc.returncode == WARNINGS, proc.stderr.read()  # type: ignore[union-attr]
        assert set(seen) <= {2, 3} and seen == sorted(seen)
        assert referrals_count(warehouse) == 3  # next query after the switch: the new data
        assert held.execute("select count(*) from marts.fct_referrals").fetchone()[0] == 2
    finally:
        held.close()


def test_corrupt_and_truncated_files_are_rejected_and_the_rest_publishes(published):
    landing, warehouse = published
    (landing / "referrals" / "referrals_2024-03-03.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    )
    good = write_extract(landing, "liaison_contacts", "2024-03-03", [liaison("C1", 1)])
    truncated = landing / "liaison_contacts" / "liaison_contacts_2024-03-04.csv"
    truncated.write_bytes(
        good.read_bytes()[:-20].replace(b"\nC1,", b'\n"C1,')
    )  # cut inside a quote
    add_new_referral(landing)
    done = nightly(landing, warehouse)
    assert done.returncode == WARNINGS, done.stderr
    assert "rejected referrals/referrals_2024-03-03.csv: not UTF-8" in done.stderr
    assert (
        "rejected liaison_contacts/liaison_contacts_2024-03-04.csv: not readable as CSV"
        in done.stderr
    )
    assert referrals_count(warehouse) == 3


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 MB tmpfs for the warehouse folder (root only, as in CI), removed afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_gives_a_clear_error_and_loses_nothing(published, small_disk):
    landing, warehouse = published
    small = copy_built(warehouse.parent, small_disk) / "warehouse.duckdb"  # a first run, copied
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * max(free - 256 * 1024, 0))  # leave almost nothing
    add_new_referral(landing)
    done = nightly(landing, small)
    assert done.returncode == 1
    assert "No space left on device" in done.stderr or "disk" in done.stderr.lower(), done.stderr
    assert "NOT PUBLISHED" in done.stderr
    assert referrals_count(small) == 2  # the published data is intact and opens
    filler.unlink()
    again = nightly(landing, small)
    assert again.returncode == WARNINGS, again.stderr
    assert referrals_count(small) == 3


def test_unwritable_warehouse_folder_gives_a_clear_error(tmp_path: Path):
    shared = Path("/tmp") / f"smhp-unwritable-{os.getpid()}"
    shared.mkdir(mode=0o755)
    try:
        landing = shared / "landing"
        write_extract(landing, "referrals", "2024-03-01", [referral("R1", 1)])
        folder = shared / "readonly"
        folder.mkdir(mode=0o555)
        os.chmod(shared, 0o755)
        for p in landing.rglob("*"):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        env = dict(NIGHTLY_ENV, HOME=str(shared))
        done = subprocess.run(
            [
                *as_nobody,
                SMHP,
                "nightly",
                "--landing",
                str(landing),
                "--warehouse",
                str(folder / "warehouse.duckdb"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if "setpriv" in done.stderr and done.returncode != 1:
            pytest.skip(f"cannot drop privileges here: {done.stderr[:200]}")
        assert done.returncode == 1, done.stderr
        assert "NOT PUBLISHED" in done.stderr and "Permission denied" in done.stderr
        assert str(folder) in done.stderr
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_failed_blocking_expectation_blocks_publishing_and_says_why(published, tmp_path):
    landing, warehouse = published
    suites = tmp_path / "expectations"
    shutil.copytree(Path(__file__).resolve().parents[1] / "expectations", suites)
    (suites / "blocking_referral_volume.sql").write_text(
        "select referral_id from marts.fct_referrals\n"
    )
    (suites / "blocking_referral_volume.json").write_text(
        json.dumps(
            {
                "name": "blocking_referral_volume",
                "expectations": [
                    {
                        "type": "expect_table_row_count_to_be_between",
                        "kwargs": {"min_value": 1000},
                        "meta": {
                            "severity": "error",
                            "why": "far fewer referrals than the partnership ever has",
                        },
                    }
                ],
            }
        )
    )
    add_new_referral(landing)
    env = dict(NIGHTLY_ENV, SMHP_EXPECTATIONS_DIR=str(suites))
    done = nightly(landing, warehouse, env=env)
    assert done.returncode == 4, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("NOT PUBLISHED: blocked: expectation blocking_referral_volume")
    assert "far fewer referrals" in last
    assert referrals_count(warehouse) == 2  # the new referral is not published
    outcome, reason = latest_run(warehouse)[-1]
    assert outcome == "blocked" and "far fewer referrals" in reason
    status = subprocess.run(
        [SMHP, "status", "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=NIGHTLY_ENV,
        timeout=60,
    )
    assert "blocked" in status.stdout and "blocking_referral_volume" in status.stdout
    done = nightly(landing, warehouse)  # the suite fixed (here: removed): the next run publishes
    assert done.returncode == WARNINGS, done.stderr
    assert referrals_count(warehouse) == 3
