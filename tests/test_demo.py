"""The demo, end to end as `make demo` runs it (without the dashboard): the published
figures of the funded project must come out of the real pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

SMHP = str(Path(sys.executable).parent / "smhp")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_")}


@pytest.fixture(scope="module")
def demo(demo_run: subprocess.CompletedProcess) -> tuple[Path, subprocess.CompletedProcess]:
    """The session's demo run (tests/conftest.py): its warehouse and its output."""
    return Path(demo_run.args[3]) / "warehouse.duckdb", demo_run


def impact(warehouse: Path, *args: str) -> dict:
    done = subprocess.run(
        [SMHP, "impact", "--warehouse", str(warehouse), *args, "--json"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_funded_project_period_gives_the_published_figures(demo):
    warehouse, _ = demo
    totals = impact(warehouse, "--from", "2019-06-01", "--to", "2022-07-31")
    assert (totals["liaison_students"], totals["ucope_students"]) == (429, 299)


def test_demo_shows_the_contracts_messiness_in_the_load_log(demo):
    warehouse, done = demo
    con = duckdb.connect(os.path.realpath(warehouse), read_only=True)
    try:
        statuses = dict(
            con.execute("select status, count(*) from raw.load_log group by 1").fetchall()
        )
        quarantined = con.execute("select count(*) from raw.quarantine").fetchone()[0]
        counts = con.execute(
            "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from raw.load_log where status in ('loaded', 'replaced')"
        ).fetchone()
        deleted = con.execute(
            "select count(*) from intermediate.int_referrals__current "
            "where record_status = 'deleted'"
        ).fetchone()[0]
        institutions = con.execute(
            "select count(distinct institution_code) from marts.metrics_monthly "
            "where institution_code <> 'ALL'"
        ).fetchone()[0]
    finally:
        con.close()
    assert statuses["rejected"] == 1
    assert statuses["skipped"] >= 1 and statuses["replaced"] >= 1 and statuses["loaded"] > 100
    assert quarantined > 0 and deleted > 0
    assert counts[0] == counts[1] + counts[2]  # every row read is loaded or quarantined
    assert institutions == 6
    assert done.stderr.count("PUBLISHED") == 2
    # the demo's users live beside its warehouse, never in the repo's var/
    assert (warehouse.parent / "users.json").exists()
    assert "manager_uol" in done.stdout
