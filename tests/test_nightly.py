"""The nightly run end to end, for real: CSV extracts → `smhp nightly` → published DuckDB.

The fixture below is small enough to compute every metric by hand; the expected values
carry their arithmetic in comments. Runs the real CLI in a subprocess (real dbt build).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from extracts import (
    NIGHTLY_ENV,
    case_discussion,
    liaison,
    nhs_number,
    referral,
    table_dump,
    ucope,
    write_extract,
)
from extracts import run_nightly as nightly
from extracts import run_smhp as smhp

from smhp.settings import SEEDS_DIR

pytestmark = pytest.mark.slow  # real `smhp nightly` runs (dbt build)


def write_fixture(landing: Path) -> None:
    """Two nights of deliveries (1 and 20 March 2024) with updates, ties and a deletion."""
    day1, day2 = "2024-03-01", "2024-03-20"
    write_extract(
        landing,
        "liaison_contacts",
        day1,
        [
            liaison(
                "C1",
                1,
                presented_at="2024-02-01 10:00:00",
                outcome="referral",
                referred_to="talking_therapies",
                university_informed_at="2024-02-04 10:00:00",
                updated_at="2024-02-04 10:00:00",
            ),  # exactly 72 h
            liaison(
                "C2",
                2,
                presented_at="2024-02-10 10:00:00",
                outcome="referral",
                referred_to="gp",
                university_informed_at="2024-02-13 10:00:01",
                updated_at="2024-02-10 11:00:00",
            ),  # 72 h + 1 s
            liaison(
                "C3",
                1,
                institution_code="LJMU",
                presented_at="2024-02-15 08:00:00",
                outcome="referral",
                referred_to="gp",
                university_informed_at="",
                updated_at="2024-02-16 08:00:00",
            ),
            liaison(
                "C4",
                3,
                institution_code="LJMU",
                presented_at="2024-02-20 08:00:00",
                outcome="referral",
                referred_to="gp",
                university_informed_at="2024-02-20 12:00:00",
                updated_at="2024-02-20 12:00:00",
            ),
            liaison(
                "C5",
                4,
                presented_at="2024-01-31 23:59:59",
                university_informed_at="",
                updated_at="2024-02-01 00:00:00",
            ),
        ],
    )
    write_extract(
        landing,
        "liaison_contacts",
        day2,
        [
            # C2 superseded by a later updated_at; C3 on an equal updated_at, the later extract wins.
            liaison(
                "C2",
                2,
                presented_at="2024-02-10 10:00:00",
                outcome="signposting",
                university_informed_at="2024-02-13 10:00:01",
                updated_at="2024-02-11 09:00:00",
            ),
            liaison(
                "C3",
                1,
                institution_code="LJMU",
                presented_at="2024-02-15 08:00:00",
                outcome="brief_intervention",
                university_informed_at="",
                updated_at="2024-02-16 08:00:00",
            ),
            liaison(
                "C4",
                3,
                institution_code="LJMU",
                presented_at="2024-02-20 08:00:00",
                outcome="referral",
                referred_to="gp",
                university_informed_at="2024-02-20 12:00:00",
                updated_at="2024-03-02 12:00:00",
                record_status="deleted",
            ),
        ],
    )
    write_extract(
        landing,
        "case_discussions",
        day1,
        [
            case_discussion(
                "D1", 1, discussed_on="2024-02-05", pathway_started_on="2024-02-19"
            ),  # 14 days
            case_discussion(
                "D2", 2, discussed_on="2024-02-06", pathway_started_on="2024-02-21"
            ),  # 15 days
            case_discussion("D3", 3, institution_code="LJMU", discussed_on="2024-02-07"),
        ],
    )
    write_extract(
        landing,
        "referrals",
        day1,
        [
            referral("R1", 1, referred_on="2024-02-01"),
            referral("R2", 2, referred_on="2024-02-01"),
            referral(
                "R3",
                3,
                institution_code="LJMU",
                referred_on="2024-02-10",
                outcome="did_not_attend",
                updated_at="2024-02-25 10:00:00",
            ),
            referral("R4", 4, institution_code="LJMU", referred_on="2024-01-20"),
            referral(
                "R5",
                5,
                referred_on="2024-02-20",
                first_appointment_on="2024-02-27",
                outcome="seen",
                updated_at="2024-02-27 10:00:00",
            ),
        ],
    )
    write_extract(
        landing,
        "referrals",
        day2,
        [
            referral(
                "R1",
                1,
                referred_on="2024-02-01",
                first_appointment_on="2024-03-14",
                outcome="seen",
                updated_at="2024-03-14 10:00:00",
            ),  # 42 days
            referral(
                "R2",
                2,
                referred_on="2024-02-01",
                first_appointment_on="2024-03-15",
                outcome="seen",
                updated_at="2024-03-15 10:00:00",
            ),  # 43 days
            referral(
                "R4",
                4,
                institution_code="LJMU",
                referred_on="2024-01-20",
                first_appointment_on="2024-03-02",
                outcome="seen",
                updated_at="2024-03-02 10:00:00",
            ),  # 42 days
        ],
    )
    write_extract(
        landing,
        "ucope_episodes",
        day1,
        [
            ucope(
                "E1",
                1,
                referred_on="2024-02-01",
                assessed_on="2024-02-15",
                sessions_attended="1",
                core10_start="20",
                updated_at="2024-02-15 10:00:00",
            ),  # 14 days
            ucope(
                "E2",
                6,
                referred_on="2024-02-01",
                assessed_on="2024-02-16",
                sessions_attended="1",
                core10_start="20",
                updated_at="2024-02-16 10:00:00",
            ),  # 15 days
            ucope(
                "E3",
                1,
                institution_code="LJMU",
                referred_on="2024-02-05",
                assessed_on="2024-02-08",
                sessions_attended="1",
                core10_start="18",
                updated_at="2024-02-08 10:00:00",
            ),  # 3 days
            ucope("E4", 7, institution_code="LJMU", referred_on="2024-02-06"),
        ],
    )
    write_extract(
        landing,
        "ucope_episodes",
        day2,
        [
            ucope(
                "E1",
                1,
                referred_on="2024-02-01",
                assessed_on="2024-02-15",
                discharged_on="2024-03-01",
                discharge_reason="completed",
                sessions_attended="6",
                core10_start="20",
                core10_end="10",
                updated_at="2024-03-01 10:00:00",
            ),  # improvement 10, ends below 11: reliable recovery
            ucope(
                "E2",
                6,
                referred_on="2024-02-01",
                assessed_on="2024-02-16",
                discharged_on="2024-03-03",
                discharge_reason="disengaged",
                sessions_attended="2",
                core10_start="20",
                core10_end="15",
                updated_at="2024-03-03 10:00:00",
            ),  # improvement 5
            ucope(
                "E3",
                1,
                institution_code="LJMU",
                referred_on="2024-02-05",
                assessed_on="2024-02-08",
                discharged_on="2024-03-04",
                discharge_reason="completed",
                sessions_attended="6",
                core10_start="18",
                updated_at="2024-03-04 10:00:00",
            ),  # no end score
            ucope(
                "E4",
                7,
                institution_code="LJMU",
                referred_on="2024-02-06",
                updated_at="2024-03-05 10:00:00",
                record_status="deleted",
            ),
        ],
    )


def headcount(institution: str | None, year: str) -> int:
    with (SEEDS_DIR / "institution_populations.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["academic_year"] == year]
    return sum(int(r["students"]) for r in rows if institution in (None, r["institution_code"]))


def expected_metrics() -> dict[tuple[str, str, str], float]:
    feb, mar, jan = "2024-02-01", "2024-03-01", "2024-01-01"
    third = 100 / 3
    e = {
        # Liaison, February: UOL C1, C2; LJMU C3 (C4 deleted); ALL students s1 (twice), s2.
        (feb, "UOL", "liaison_contacts"): 2,
        (feb, "LJMU", "liaison_contacts"): 1,
        (feb, "ALL", "liaison_contacts"): 3,
        (feb, "UOL", "liaison_students"): 2,
        (feb, "LJMU", "liaison_students"): 1,
        (feb, "ALL", "liaison_students"): 2,
        (feb, "UOL", "liaison_referral_pct"): 50,
        (feb, "LJMU", "liaison_referral_pct"): 0,
        (feb, "ALL", "liaison_referral_pct"): third,
        (feb, "UOL", "liaison_informed_72h_pct"): 50,
        (feb, "LJMU", "liaison_informed_72h_pct"): 0,
        (feb, "ALL", "liaison_informed_72h_pct"): third,
        (jan, "UOL", "liaison_contacts"): 1,
        (jan, "UOL", "liaison_students"): 1,
        (jan, "UOL", "liaison_referral_pct"): 0,
        (jan, "UOL", "liaison_informed_72h_pct"): 0,
        (jan, "ALL", "liaison_contacts"): 1,
        (jan, "ALL", "liaison_students"): 1,
        (jan, "ALL", "liaison_referral_pct"): 0,
        (jan, "ALL", "liaison_informed_72h_pct"): 0,
        # Case discussions: D1 14 days (counts), D2 15 days, D3 not started.
        (feb, "UOL", "case_discussions"): 2,
        (feb, "LJMU", "case_discussions"): 1,
        (feb, "ALL", "case_discussions"): 3,
        (feb, "UOL", "case_pathway_started_14d_pct"): 50,
        (feb, "LJMU", "case_pathway_started_14d_pct"): 0,
        (feb, "ALL", "case_pathway_started_14d_pct"): third,
        # Referrals received by referred_on: Feb UOL R1 R2 R5, LJMU R3 (DNA); Jan LJMU R4.
        (feb, "UOL", "referrals_received"): 3,
        (feb, "LJMU", "referrals_received"): 1,
        (feb, "ALL", "referrals_received"): 4,
        (jan, "LJMU", "referrals_received"): 1,
        (jan, "ALL", "referrals_received"): 1,
        (feb, "UOL", "referral_dna_pct"): 0,
        (feb, "LJMU", "referral_dna_pct"): 100,
        (feb, "ALL", "referral_dna_pct"): 25,
        (jan, "LJMU", "referral_dna_pct"): 0,
        (jan, "ALL", "referral_dna_pct"): 0,
        (feb, "UOL", "referrals_per_1000_students"): 1000 * 3 / headcount("UOL", "2023/24"),
        (feb, "LJMU", "referrals_per_1000_students"): 1000 * 1 / headcount("LJMU", "2023/24"),
        (feb, "ALL", "referrals_per_1000_students"): 1000 * 4 / headcount(None, "2023/24"),
        (jan, "LJMU", "referrals_per_1000_students"): 1000 * 1 / headcount("LJMU", "2023/24"),
        (jan, "ALL", "referrals_per_1000_students"): 1000 * 1 / headcount(None, "2023/24"),
        # Completed waits by first_appointment_on: Feb R5 (7 days); Mar UOL R1 42, R2 43; LJMU R4 42.
        (feb, "UOL", "referral_completed_waits"): 1,
        (feb, "ALL", "referral_completed_waits"): 1,
        (feb, "UOL", "referral_median_wait_days"): 7,
        (feb, "ALL", "referral_median_wait_days"): 7,
        (feb, "UOL", "referral_seen_6wk_pct"): 100,
        (feb, "ALL", "referral_seen_6wk_pct"): 100,
        (mar, "UOL", "referral_completed_waits"): 2,
        (mar, "LJMU", "referral_completed_waits"): 1,
        (mar, "ALL", "referral_completed_waits"): 3,
        (mar, "UOL", "referral_median_wait_days"): 42.5,  # (42 + 43) / 2
        (mar, "LJMU", "referral_median_wait_days"): 42,
        (mar, "ALL", "referral_median_wait_days"): 42,
        (mar, "UOL", "referral_seen_6wk_pct"): 50,
        (mar, "LJMU", "referral_seen_6wk_pct"): 100,
        (mar, "ALL", "referral_seen_6wk_pct"): 200 / 3,
        # U-COPE referrals Feb: UOL E1 (s1) E2 (s6); LJMU E3 (s1), E4 deleted; ALL students s1, s6.
        (feb, "UOL", "ucope_referrals"): 2,
        (feb, "LJMU", "ucope_referrals"): 1,
        (feb, "ALL", "ucope_referrals"): 3,
        (feb, "UOL", "ucope_students"): 2,
        (feb, "LJMU", "ucope_students"): 1,
        (feb, "ALL", "ucope_students"): 2,
        # Assessed Feb: UOL 14, 15 days; LJMU 3 days.
        (feb, "UOL", "ucope_assessed"): 2,
        (feb, "LJMU", "ucope_assessed"): 1,
        (feb, "ALL", "ucope_assessed"): 3,
        (feb, "UOL", "ucope_median_days_to_assessment"): 14.5,
        (feb, "LJMU", "ucope_median_days_to_assessment"): 3,
        (feb, "ALL", "ucope_median_days_to_assessment"): 14,
        (feb, "UOL", "ucope_assessed_14d_pct"): 50,
        (feb, "LJMU", "ucope_assessed_14d_pct"): 100,
        (feb, "ALL", "ucope_assessed_14d_pct"): 200 / 3,
        # Discharged Mar: UOL E1 completed (20→10), E2 disengaged (20→15); LJMU E3 completed, no end score.
        (mar, "UOL", "ucope_discharges"): 2,
        (mar, "LJMU", "ucope_discharges"): 1,
        (mar, "ALL", "ucope_discharges"): 3,
        (mar, "UOL", "ucope_completion_pct"): 50,
        (mar, "LJMU", "ucope_completion_pct"): 100,
        (mar, "ALL", "ucope_completion_pct"): 200 / 3,
        (mar, "UOL", "ucope_reliable_improvement_pct"): 50,
        (mar, "ALL", "ucope_reliable_improvement_pct"): 50,
        (mar, "UOL", "ucope_reliable_recovery_pct"): 50,  # E1 of E1, E2 (both start at 20)
        (mar, "ALL", "ucope_reliable_recovery_pct"): 50,
    }
    return {k: float(v) for k, v in e.items()}


def metrics(warehouse: Path) -> dict[tuple[str, str, str], float]:
    con = duckdb.connect(os.path.realpath(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select month::varchar, institution_code, metric, value from marts.metrics_monthly"
        ).fetchall()
    finally:
        con.close()
    return {(m, i, k): v for m, i, k, v in rows}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    base = tmp_path_factory.mktemp("nightly")
    landing, warehouse = base / "landing", base / "var" / "warehouse.duckdb"
    write_fixture(landing)
    done = nightly(landing, warehouse)
    assert done.returncode == 3, done.stderr  # published with warnings: 2024 data is stale
    return landing, warehouse, done


def test_every_metric_matches_the_hand_computed_values(published):
    _, warehouse, _ = published
    got = metrics(warehouse)
    want = expected_metrics()
    assert {k: pytest.approx(v) for k, v in want.items()} == got


def test_metrics_monthly_has_exactly_the_spec_columns(published):
    _, warehouse, _ = published
    cols = table_dump(
        warehouse,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'metrics_monthly' order by ordinal_position",
    )
    assert cols == [
        ("month", "DATE"),
        ("institution_code", "VARCHAR"),
        ("metric", "VARCHAR"),
        ("value", "DOUBLE"),
    ]
    seeds = table_dump(
        warehouse,
        "select column_name from information_schema.columns "
        "where table_name = 'institution_populations' order by ordinal_position",
    )
    assert [c for (c,) in seeds][:3] == ["institution_code", "academic_year", "students"]


def test_progress_and_summary_are_shown(published):
    _, _, done = published
    for stage in ("[1/4] ingest", "[2/4] dbt build", "[3/4] quality", "[4/4] publish", "PUBLISHED"):
        assert stage in done.stderr


def test_impact_totals_for_a_period(published):
    _, warehouse, _ = published
    done = smhp(
        "impact",
        "--warehouse",
        str(warehouse),
        "--from",
        "2024-02-01",
        "--to",
        "2024-02-29",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    totals = json.loads(done.stdout)
    # Feb: liaison s1, s2; U-COPE s1, s6; referrals R1 R2 R3 R5; one first appointment (R5, 7 days).
    assert {
        k: totals[k]
        for k in (
            "liaison_students",
            "ucope_students",
            "referrals_received",
            "referral_median_wait_days",
            "referral_seen_6wk_pct",
        )
    } == {
        "liaison_students": 2,
        "ucope_students": 2,
        "referrals_received": 4,
        "referral_median_wait_days": 7.0,
        "referral_seen_6wk_pct": 100.0,
    }
    ljmu = json.loads(
        smhp(
            "impact",
            "--warehouse",
            str(warehouse),
            "--from",
            "2024-01-01",
            "--to",
            "2024-03-31",
            "--institution",
            "LJMU",
            "--json",
        ).stdout
    )
    # LJMU Jan–Mar: liaison C3 (s1); U-COPE E3 (s1); referrals R3, R4; first appointment R4 (42 days).
    assert (ljmu["liaison_students"], ljmu["ucope_students"], ljmu["referrals_received"]) == (
        1,
        1,
        2,
    )
    assert (ljmu["referral_median_wait_days"], ljmu["referral_seen_6wk_pct"]) == (42.0, 100.0)


def test_no_raw_identifier_in_database_or_logs(published):
    _, warehouse, done = published
    refs = [nhs_number(i) for i in range(1, 8)]
    tables = table_dump(
        warehouse, "select table_schema || '.' || table_name from information_schema.tables"
    )
    text = " ".join(
        str(v)
        for (t,) in tables
        for row in table_dump(warehouse, f"select * from {t}")
        for v in row
    )
    logs = "".join(p.read_text() for p in warehouse.parent.rglob("*.log"))
    for ref in refs:
        assert ref not in text and ref not in logs and ref not in done.stderr + done.stdout


def test_rerun_with_nothing_new_changes_nothing(published):
    landing, warehouse, _ = published
    query = "select * from marts.metrics_monthly order by all"
    before = table_dump(warehouse, query)
    facts_before = table_dump(warehouse, "select * from marts.fct_referrals order by all")
    log_before = table_dump(warehouse, "select count(*) from raw.load_log")
    runs = "select run_id, outcome, warnings, built_by_run_id from ops.runs order by run_id"
    checks = "select kind, suite, name, status from ops.run_checks where run_id = ? order by all"

    done = nightly(landing, warehouse)  # nothing new: nothing rebuilt
    assert done.returncode == 3, done.stderr  # published with warnings: 2024 data is stale
    assert "its marts are kept, not rebuilt" in done.stderr
    assert table_dump(warehouse, query) == before
    assert table_dump(warehouse, "select * from marts.fct_referrals order by all") == facts_before
    assert table_dump(warehouse, "select count(*) from raw.load_log") == log_before
    (built_run, built, _, built_by), (kept_run, kept, kept_warnings, kept_by) = table_dump(
        warehouse, runs
    )
    assert built_by == built_run and kept_by == built_run  # the marts of the first run
    assert kept == built and "stale" in kept_warnings
    first_checks = table_dump(warehouse, checks.replace("?", f"'{built_run}'"))
    assert len(first_checks) > 200  # every dbt test and expectation, carried over as they were
    assert table_dump(warehouse, checks.replace("?", f"'{kept_run}'")) == first_checks

    resent = landing / "referrals" / "referrals_2024-03-20.csv"
    resent.write_bytes(resent.read_bytes())  # the same bytes, delivered again
    done = nightly(landing, warehouse)
    assert "skipped referrals/referrals_2024-03-20.csv: re-send" in done.stderr
    assert "not rebuilt" not in done.stderr  # a file was logged: the marts are rebuilt
    assert table_dump(warehouse, query) == before

    done = nightly(landing, warehouse, "--full-refresh")  # nothing new, rebuilt on request
    assert done.returncode == 3, done.stderr
    assert "not rebuilt" not in done.stderr and "expectations:" in done.stderr
    assert table_dump(warehouse, query) == before
    rebuilt_run, _, _, rebuilt_by = table_dump(warehouse, runs)[-1]
    assert rebuilt_by == rebuilt_run


def test_corrected_redelivery_replaces_what_the_earlier_version_contributed(published):
    landing, warehouse, _ = published
    write_extract(
        landing,
        "referrals",
        "2024-03-20",
        [
            referral(
                "R1",
                1,
                referred_on="2024-02-01",
                first_appointment_on="2024-03-14",
                outcome="seen",
                updated_at="2024-03-14 10:00:00",
            ),
            referral(
                "R2",
                2,
                referred_on="2024-02-01",
                first_appointment_on="2024-03-13",
                outcome="seen",
                updated_at="2024-03-13 10:00:00",
            ),  # corrected: 41 days
            referral(
                "R4",
                4,
                institution_code="LJMU",
                referred_on="2024-01-20",
                first_appointment_on="2024-03-02",
                outcome="seen",
                updated_at="2024-03-02 10:00:00",
            ),
        ],
    )
    done = nightly(landing, warehouse)
    assert done.returncode == 3, done.stderr  # published with warnings: 2024 data is stale
    assert "replaced referrals/referrals_2024-03-20.csv" in done.stderr
    got = metrics(warehouse)
    assert got[("2024-03-01", "UOL", "referral_median_wait_days")] == 41.5
    assert got[("2024-03-01", "UOL", "referral_seen_6wk_pct")] == 100.0
    assert table_dump(warehouse, "select count(*) from raw.referrals where referral_id = 'R2'") == [
        (2,)
    ]


def test_failed_run_leaves_the_published_data_in_place(published, tmp_path):
    _, warehouse, _ = published
    before = metrics(warehouse)
    log_before = table_dump(warehouse, "select * from raw.load_log order by file_id")
    done = nightly(tmp_path / "missing", warehouse)
    assert done.returncode == 1
    assert "NOT PUBLISHED" in done.stderr and "missing" in done.stderr
    assert metrics(warehouse) == before
    assert table_dump(warehouse, "select * from raw.load_log order by file_id") == log_before
    # The data stays; the run history (republished with it) says what happened.
    (outcome, reason), *_ = table_dump(
        warehouse, "select outcome, reason from ops.runs order by run_id desc"
    )
    assert outcome == "failed" and reason.startswith("failed during ingest: FileNotFoundError")
    status = smhp("status", "--warehouse", str(warehouse))
    assert "failed during ingest" in status.stdout and "Source freshness" in status.stdout


def test_a_run_without_a_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in NIGHTLY_ENV.items() if not k.startswith("SMHP_PSEUDONYM_KEY")}
    done = nightly(tmp_path, tmp_path / "w.duckdb", env=env)
    assert done.returncode == 2
    assert "SMHP_PSEUDONYM_KEY" in done.stderr and "Refusing to start" in done.stderr
    assert not (tmp_path / "w.duckdb").exists()
