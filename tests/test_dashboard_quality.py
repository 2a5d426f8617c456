"""The data-quality page and the banner's last run: from the run history (``ops``) when
the warehouse has one, "no run history yet" when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_warehouse import (
    add_run_history,
    copy_warehouse,
    drop_run_history,
    query,
    run_page,
    run_record,
    tables,
)

from smhp.pipeline.history import RunRecord

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user


def serve(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))


def test_demo_run_history_is_shown(demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, demo_warehouse)
    at = run_page("quality")
    shown = tables(at)
    latest = query(
        demo_warehouse,
        "select run_id, outcome from ops.runs order by started_at desc limit 1",
    ).iloc[0]
    freshness = query(
        demo_warehouse,
        "select source, days_since, status from ops.freshness where run_id = $r order by 1",
        {"r": latest["run_id"]},
    )
    assert list(shown["quality_freshness"]["Source"]) == list(freshness["source"])
    assert list(shown["quality_freshness"]["Days since"]) == list(freshness["days_since"])
    assert list(shown["quality_freshness"]["Status"]) == list(freshness["status"])
    runs = shown["quality_runs"]
    assert len(runs) == query(demo_warehouse, "select count(*) as n from ops.runs")["n"][0]
    assert runs["Run"].iloc[0] == latest["run_id"]
    checks = query(
        demo_warehouse,
        "select kind, count(*) as n from ops.run_checks where run_id = $r group by 1",
        {"r": latest["run_id"]},
    ).set_index("kind")["n"]
    summary = shown["quality_checks_summary"].groupby("Kind")["Checks"].sum()
    assert summary.to_dict() == checks.to_dict()
    assert any("Every check of the last run passed" in s.value for s in at.success)
    # the banner: the last run's outcome, and the sources it found stale
    banner = at.warning[0].value if at.warning else at.info[0].value
    assert "last nightly run" in banner and "**published with warnings**" in banner


def test_rejected_files_and_quarantined_rows_equal_the_raw_layer(
    demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, demo_warehouse)
    shown = tables(run_page("quality"))
    rejected = query(
        demo_warehouse, "select path, reason from raw.load_log where status = 'rejected'"
    )
    assert list(shown["quality_rejected"]["File"]) == list(rejected["path"])
    assert list(shown["quality_rejected"]["Reason"]) == list(rejected["reason"])
    quarantined = query(demo_warehouse, "select count(*) as n from raw.quarantine")["n"][0]
    assert shown["quality_quarantine"]["Rows"].sum() == quarantined
    assert "value" not in " ".join(shown["quality_quarantine"].columns).lower()


def test_without_run_history_the_page_says_so(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, drop_run_history(copy_warehouse(demo_warehouse, tmp_path)))
    at = run_page("quality")
    assert not at.error
    no_history = [i.value for i in at.info if i.value.startswith("No run history yet")]
    assert len(no_history) == 2  # the runs and the checks
    banner = at.warning[0].value if at.warning else at.info[0].value
    assert "last nightly run: no run history yet" in banner
    freshness = tables(at)["quality_freshness"]
    assert "Days behind the latest source" in freshness.columns
    assert freshness["Days behind the latest source"].min() == 0


def test_a_blocked_last_run_is_a_warning_with_its_failed_checks(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok: RunRecord = run_record(
        "20261123T010000Z", "published", started="2026-11-23 01:00:00", ended="2026-11-23 01:00:09"
    )
    blocked = run_record(
        "20261124T010000Z",
        "blocked",
        "1 expectation failed: referrals.wait_days_in_range",
        checks=[
            {
                "kind": "expectation",
                "suite": "referrals",
                "name": "wait_days_in_range",
                "severity": "error",
                "status": "fail",
                "observed_value": "3 rows over 365 days",
                "why": "an impossible wait would distort the median",
            },
            {
                "kind": "dbt_test",
                "suite": "dbt",
                "name": "unique_fct_referrals_referral_id",
                "severity": "error",
                "status": "pass",
                "observed_value": "0 failing rows",
                "why": None,
            },
        ],
        freshness=[
            {
                "source": "referrals",
                "last_extract_date": "2026-11-23",
                "days_since": 1,
                "warn_after_days": 2,
                "status": "fresh",
            }
        ],
    )
    path = add_run_history(copy_warehouse(demo_warehouse, tmp_path), [ok, blocked])
    serve(monkeypatch, path)
    at = run_page("quality")
    assert "The last nightly run did not publish" in at.warning[0].value
    assert "1 expectation failed" in at.warning[0].value
    shown = tables(at)
    assert list(shown["quality_runs"]["Outcome"]) == [
        "blocked by a quality gate (nothing published)",
        "published",
    ]
    failing = shown["quality_checks_failing"]
    assert list(failing["Check"]) == ["wait_days_in_range"]
    assert failing["Why it matters"].iloc[0] == "an impossible wait would distort the median"
    stages = shown["quality_stages"]
    assert list(stages[stages["Run"] == "20261124T010000Z"]["Stage"]) == [
        "ingest",
        "dbt build",
        "publish",
    ]
