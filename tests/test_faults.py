"""Fault tests with real processes: a run killed mid-build or mid-publish, and a reader
holding the warehouse through a run. The published warehouse stays complete and opens,
and the next run recovers. (Bad input, a full disk and a failed gate: test_faults_inputs.py.)"""

from __future__ import annotations

import os
import subprocess
import time

import duckdb
import pytest
from extracts import NIGHTLY_ENV, SMHP
from extracts import run_nightly as nightly
from faults_kit import (
    WARNINGS,
    add_new_referral,
    latest_run,
    referrals_count,
    start_and_kill_when,
    wait_for,
)

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)


def test_killed_during_dbt_build_leaves_published_data_and_next_run_recovers(faults_copy):
    landing, warehouse = faults_copy
    before = os.path.realpath(warehouse)
    add_new_referral(landing)
    wal = warehouse.parent / "warehouse.duckdb.work" / "candidate.duckdb.wal"
    start_and_kill_when(
        landing,
        warehouse,
        "[2/4] dbt build",
        then=lambda: wait_for(lambda: wal.exists(), seconds=20),
    )
    assert os.path.realpath(warehouse) == before and referrals_count(warehouse) == 2
    done = nightly(landing, warehouse)
    assert done.returncode == WARNINGS, done.stderr
    assert "stopped without finishing during dbt build" in done.stderr
    assert referrals_count(warehouse) == 3
    outcomes = [o for o, _ in latest_run(warehouse)]
    assert outcomes[-2:] == ["failed", "published_with_warnings"]


def test_killed_during_publish_leaves_published_data_and_next_run_recovers(faults_copy):
    landing, warehouse = faults_copy
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


def test_reader_sees_new_data_on_its_next_query_after_the_switch(faults_copy):
    landing, warehouse = faults_copy
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
