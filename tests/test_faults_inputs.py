"""Fault tests with real processes and bad surroundings: corrupt and truncated files, a full
disk, an unwritable folder, a failed blocking expectation. The published warehouse stays
complete and opens, and the next run recovers. (Killed runs and readers: test_faults.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from extracts import NIGHTLY_ENV, SMHP, liaison, referral, write_extract
from extracts import run_nightly as nightly
from faults_kit import (
    WARNINGS,
    add_new_referral,
    latest_run,
    referrals_count,
)
from shared_builds import copy_built

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)


def test_corrupt_and_truncated_files_are_rejected_and_the_rest_publishes(faults_copy):
    landing, warehouse = faults_copy
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


def test_disk_full_gives_a_clear_error_and_loses_nothing(faults_copy, small_disk):
    landing, warehouse = faults_copy
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


def test_failed_blocking_expectation_blocks_publishing_and_says_why(faults_copy, tmp_path):
    landing, warehouse = faults_copy
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
