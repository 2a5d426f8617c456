"""The dbt project, built for real on a small hand-made raw layer.

Each expected metric value is computed by hand in the comments next to it, from the rows
of ``raw`` below, following ../shared/spec/metrics.md. The SQL's traps (boundaries, ALL
rows, medians, per-1000 academic years) are also covered row by row by the dbt unit tests
in the model ymls; this test checks that the whole chain (raw -> staging -> winning
version -> facts -> metrics_monthly) holds together on delivered deltas.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from raw_fixtures import create_raw_tables, insert_rows

from smhp.pipeline import dbt_build
from smhp.pipeline.dbt_build import PIPELINE_DIR, DbtBuildResult, NodeResult, build

pytestmark = pytest.mark.slow

METRICS = {
    "liaison_contacts", "liaison_students", "liaison_referral_pct",
    "liaison_informed_72h_pct", "case_discussions", "case_pathway_started_14d_pct",
    "referrals_received", "referrals_per_1000_students", "referral_dna_pct",
    "referral_completed_waits", "referral_median_wait_days", "referral_seen_6wk_pct",
    "ucope_referrals", "ucope_students", "ucope_assessed",
    "ucope_median_days_to_assessment", "ucope_assessed_14d_pct", "ucope_discharges",
    "ucope_completion_pct", "ucope_reliable_improvement_pct", "ucope_reliable_recovery_pct",
}  # fmt: skip

ACTIVE = {"record_status": "active"}


def _contact(contact_id, student, institution, presented_at, outcome, informed_at, **kw):
    referred_to = kw.pop("referred_to", "ucope" if outcome == "referral" else None)
    return {
        "contact_id": contact_id, "student_key": student, "institution_code": institution,
        "presented_at": presented_at, "setting": "emergency_department", "outcome": outcome,
        "referred_to": referred_to, "university_informed_at": informed_at,
        "updated_at": presented_at, **ACTIVE, **kw,
    }  # fmt: skip


def _referral(referral_id, student, institution, referred_on, first_appointment_on, outcome,
              **kw):  # fmt: skip
    return {
        "referral_id": referral_id, "student_key": student, "institution_code": institution,
        "source": "gp", "service_code": "university_wellbeing", "referred_on": referred_on,
        "first_appointment_on": first_appointment_on, "outcome": outcome, "closed_on": None,
        "updated_at": f"{referred_on} 09:00:00", **ACTIVE, **kw,
    }  # fmt: skip


def _episode(episode_id, student, institution, referred_on, assessed_on, discharged_on,
             discharge_reason, core10_start, core10_end):  # fmt: skip
    return {
        "episode_id": episode_id, "student_key": student, "institution_code": institution,
        "referral_source": "liaison_service", "referred_on": referred_on,
        "assessed_on": assessed_on, "discharged_on": discharged_on,
        "discharge_reason": discharge_reason, "sessions_attended": "3",
        "core10_start": core10_start, "core10_end": core10_end,
        "updated_at": f"{referred_on} 09:00:00", **ACTIVE,
    }  # fmt: skip


def _load_raw(con: duckdb.DuckDBPyConnection) -> None:
    """The hand-made raw layer: several deliveries (deltas) per source."""
    create_raw_tables(con)

    # Liaison contacts, March 2024.
    insert_rows(con, "liaison_contacts", [
        # C1 informed exactly 72:00:00 later -> within 72 h; referral
        _contact("C1", "s1", "UOL", "2024-03-01 10:00:00", "referral", "2024-03-04 10:00:00"),
        # C2 informed 72:00:01 later -> not within 72 h
        _contact("C2", "s2", "UOL", "2024-03-02 09:00:00", "brief_intervention",
                 "2024-03-05 09:00:01"),
        # C3 never informed; the same student s1, at another institution
        _contact("C3", "s1", "LJMU", "2024-03-10 12:00:00", "signposting", None),
        # C4 active in this file, deleted in the next one (below) -> leaves every metric
        _contact("C4", "s3", "LJMU", "2024-03-11 12:00:00", "referral", "2024-03-11 15:00:00",
                 referred_to="gp"),
        # C5 version 1: brief intervention (superseded below)
        _contact("C5", "s4", "HOPE", "2024-03-15 10:00:00", "brief_intervention",
                 "2024-03-16 08:00:00"),
    ], extract_date="2024-03-16")  # fmt: skip
    insert_rows(con, "liaison_contacts", [
        _contact("C4", "s3", "LJMU", "2024-03-11 12:00:00", "referral", "2024-03-11 15:00:00",
                 referred_to="gp", updated_at="2024-03-17 08:00:00", record_status="deleted"),
        # C5 version 2: same updated_at, later extract date -> wins: a referral
        _contact("C5", "s4", "HOPE", "2024-03-15 10:00:00", "referral", "2024-03-16 08:00:00",
                 referred_to="university_wellbeing"),
    ], extract_date="2024-03-17")  # fmt: skip

    # Case discussions, March 2024.
    insert_rows(con, "case_discussions", [
        {"discussion_id": "D1", "student_key": "s1", "institution_code": "UOL",
         "contact_id": "C1", "discussed_on": "2024-03-05", "agreed_pathway": "ucope",
         "pathway_started_on": "2024-03-19",  # 14 days -> within
         "updated_at": "2024-03-19 12:00:00", **ACTIVE},
        {"discussion_id": "D2", "student_key": "s2", "institution_code": "UOL",
         "contact_id": None, "discussed_on": "2024-03-06",
         "agreed_pathway": "talking_therapies",
         "pathway_started_on": "2024-03-21",  # 15 days -> not within
         "updated_at": "2024-03-21 12:00:00", **ACTIVE},
    ], extract_date="2024-03-22")  # fmt: skip

    # Referrals, July and August 2024 (academic years 2023/24 and 2024/25).
    insert_rows(con, "referrals", [
        # R1 wait 10 Jul -> 21 Aug = 42 days -> seen within 6 weeks
        _referral("R1", "s1", "UOL", "2024-07-10", "2024-08-21", "seen"),
        # R2 wait 15 Jul -> 27 Aug = 43 days -> not within 6 weeks
        _referral("R2", "s2", "UOL", "2024-07-15", "2024-08-27", "seen"),
        # R3 did not attend, no first appointment
        _referral("R3", "s5", "LJMU", "2024-07-20", None, "did_not_attend"),
        # R4 wait 1 Aug -> 11 Aug = 10 days
        _referral("R4", "s1", "LJMU", "2024-08-01", "2024-08-11", "seen"),
        # R5 version 1: waiting (superseded below)
        _referral("R5", "s6", "UOL", "2024-08-05", None, "waiting"),
    ], extract_date="2024-08-28")  # fmt: skip
    insert_rows(
        con,
        "referrals",
        [
            # R5 version 2, later updated_at -> wins: did not attend
            _referral(
                "R5",
                "s6",
                "UOL",
                "2024-08-05",
                None,
                "did_not_attend",
                closed_on="2024-08-20",
                updated_at="2024-08-20 10:00:00",
            ),
        ],
        extract_date="2024-08-21",
    )  # an older extract, arriving late: updated_at decides

    # U-COPE episodes.
    insert_rows(con, "ucope_episodes", [
        # E1 assessed after 14 days; discharged completed; 20 -> 12 is a fall of 8 >= 6
        _episode("E1", "s1", "UOL", "2024-01-10", "2024-01-24", "2024-03-05", "completed",
                 "20", "12"),
        # E2 assessed after 15 days; discharged disengaged without an end score
        _episode("E2", "s7", "LJMU", "2024-01-12", "2024-01-27", "2024-03-10", "disengaged",
                 "25", None),
        # E3 s1 again, at LJMU; not assessed yet
        _episode("E3", "s1", "LJMU", "2024-01-20", None, None, None, None, None),
    ], extract_date="2024-03-11")  # fmt: skip

    # Student profiles: s1 at two institutions; s2's profile deleted in a later delta.
    profile = {"age_band": "under_21", "sex": "female", "ethnic_group": "white",
               "study_level": "undergraduate", "year_of_study": "1", "domicile": "home",
               "updated_at": "2024-01-01 00:00:00", **ACTIVE}  # fmt: skip
    insert_rows(con, "student_profiles", [
        {"student_key": "s1", "institution_code": "UOL", **profile},
        {"student_key": "s1", "institution_code": "LJMU", **profile},
        {"student_key": "s2", "institution_code": "UOL", **profile},
    ], extract_date="2024-01-02")  # fmt: skip
    insert_rows(con, "student_profiles", [
        {"student_key": "s2", "institution_code": "UOL", **profile,
         "updated_at": "2024-02-01 00:00:00", "record_status": "deleted"},
    ], extract_date="2024-02-02")  # fmt: skip


def _headcount(institution: str | None, academic_year: str) -> int:
    """Students enrolled from the seed (None: summed over every institution with a row)."""
    path = PIPELINE_DIR.parent / "seeds" / "institution_populations.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return sum(
            int(row["students"])
            for row in csv.DictReader(f)
            if row["academic_year"] == academic_year
            and (institution is None or row["institution_code"] == institution)
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtBuildResult, list]:
    database = tmp_path_factory.mktemp("dbt") / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    try:
        _load_raw(con)
    finally:
        con.close()
    progress: list[NodeResult] = []
    result = build(database, on_node=progress.append)
    return database, result, progress


@pytest.fixture(scope="module")
def metrics(built) -> dict[tuple[str, str, str], float]:
    database, result, _ = built
    assert result.success, result.summary()
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "select strftime(month, '%Y-%m'), institution_code, metric, value "
            "from marts.metrics_monthly"
        ).fetchall()
    finally:
        con.close()
    return {(month, inst, metric): value for month, inst, metric, value in rows}


def test_build_succeeds_and_reports_every_node(built) -> None:
    _, result, progress = built
    assert result.success, result.summary()
    assert result.error is None
    assert not result.failed
    kinds = {node.resource_type for node in result.nodes}
    assert {"model", "seed", "test", "unit_test"} <= kinds
    # on_node saw every node that ran (the exposure is reported as a no-op)
    assert {n.unique_id for n in progress} == {n.unique_id for n in result.nodes}
    assert all(node.execution_time >= 0 for node in result.nodes)


def test_schemas_tables_and_contract(built) -> None:
    database, _, _ = built
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'metrics_monthly' "
            "order by ordinal_position"
        ).fetchall()
        populations = con.execute("select count(*) from seeds.institution_populations")
        n_populations = populations.fetchone()[0]
        profiles = con.execute(
            "select student_key, institution_code from marts.dim_student_profiles order by all"
        ).fetchall()
    finally:
        con.close()
    schemas = {schema for schema, _, _ in tables}
    assert {"raw", "seeds", "staging", "intermediate", "marts"} <= schemas
    # every model is a table: views would name the catalog, which the rename breaks
    assert all(table_type == "BASE TABLE" for _, _, table_type in tables)
    assert columns == [
        ("month", "DATE"), ("institution_code", "VARCHAR"),
        ("metric", "VARCHAR"), ("value", "DOUBLE"),
    ]  # fmt: skip
    # UOL and LJMU from 2019/20, the four that joined in 2022 from 2022/23, to 2026/27
    assert n_populations == 2 * 8 + 4 * 5
    # s2's profile was deleted by a later delta
    assert profiles == [("s1", "LJMU"), ("s1", "UOL")]


def test_every_metric_is_published(metrics) -> None:
    assert {metric for _, _, metric in metrics} == METRICS


def test_liaison_metrics(metrics) -> None:
    m = "2024-03"
    # UOL: C1, C2 -> 2 contacts, students s1, s2; referral C1 -> 50 %;
    #      informed within 72 h: C1 (exactly 72:00:00) yes, C2 (72:00:01) no -> 50 %
    assert metrics[(m, "UOL", "liaison_contacts")] == 2
    assert metrics[(m, "UOL", "liaison_students")] == 2
    assert metrics[(m, "UOL", "liaison_referral_pct")] == 50
    assert metrics[(m, "UOL", "liaison_informed_72h_pct")] == 50
    # LJMU: C3 only (C4 deleted by the second delta): not a referral, never informed
    assert metrics[(m, "LJMU", "liaison_contacts")] == 1
    assert metrics[(m, "LJMU", "liaison_referral_pct")] == 0
    assert metrics[(m, "LJMU", "liaison_informed_72h_pct")] == 0
    # HOPE: C5, whose winning version (equal updated_at, later extract) is a referral
    assert metrics[(m, "HOPE", "liaison_referral_pct")] == 100
    # ALL: C1, C2, C3, C5 = 4 contacts; students s1, s2, s4 = 3 (s1 at UOL and LJMU
    # counts once); referrals C1, C5 = 2/4 = 50 %; informed C1, C5 = 2/4 = 50 %
    assert metrics[(m, "ALL", "liaison_contacts")] == 4
    assert metrics[(m, "ALL", "liaison_students")] == 3
    assert metrics[(m, "ALL", "liaison_referral_pct")] == 50
    assert metrics[(m, "ALL", "liaison_informed_72h_pct")] == 50
    # a count of 0 has no row: no contact in April
    assert ("2024-04", "ALL", "liaison_contacts") not in metrics


def test_case_discussion_metrics(metrics) -> None:
    # D1 started after 14 days (counts), D2 after 15 (does not): 1/2 = 50 %
    assert metrics[("2024-03", "UOL", "case_discussions")] == 2
    assert metrics[("2024-03", "UOL", "case_pathway_started_14d_pct")] == 50
    assert metrics[("2024-03", "ALL", "case_pathway_started_14d_pct")] == 50


def test_referral_metrics(metrics) -> None:
    # July 2024 (academic year 2023/24): UOL R1, R2; LJMU R3 (DNA)
    assert metrics[("2024-07", "UOL", "referrals_received")] == 2
    assert metrics[("2024-07", "LJMU", "referrals_received")] == 1
    assert metrics[("2024-07", "ALL", "referrals_received")] == 3
    assert metrics[("2024-07", "LJMU", "referral_dna_pct")] == 100
    assert metrics[("2024-07", "ALL", "referral_dna_pct")] == pytest.approx(100 / 3)
    # per 1000: UOL 1000 x 2 / 30735 (2023/24, published HESA) = 0.06507...;
    # ALL: 1000 x 3 / headcount of all six institutions in 2023/24
    assert metrics[("2024-07", "UOL", "referrals_per_1000_students")] == pytest.approx(
        1000 * 2 / 30735
    )
    assert metrics[("2024-07", "ALL", "referrals_per_1000_students")] == pytest.approx(
        1000 * 3 / _headcount(None, "2023/24")
    )
    # August 2024 (academic year 2024/25): UOL R5 (its winning version: DNA); LJMU R4
    assert metrics[("2024-08", "UOL", "referral_dna_pct")] == 100
    assert metrics[("2024-08", "ALL", "referral_dna_pct")] == 50
    assert metrics[("2024-08", "UOL", "referrals_per_1000_students")] == pytest.approx(
        1000 * 1 / _headcount("UOL", "2024/25")
    )
    assert metrics[("2024-08", "ALL", "referrals_per_1000_students")] == pytest.approx(
        1000 * 2 / _headcount(None, "2024/25")
    )
    # First appointments in August: UOL R1 (42 days), R2 (43); LJMU R4 (10)
    assert metrics[("2024-08", "UOL", "referral_completed_waits")] == 2
    assert metrics[("2024-08", "UOL", "referral_median_wait_days")] == 42.5  # (42 + 43) / 2
    assert metrics[("2024-08", "UOL", "referral_seen_6wk_pct")] == 50  # 42 yes, 43 no
    assert metrics[("2024-08", "ALL", "referral_completed_waits")] == 3
    assert metrics[("2024-08", "ALL", "referral_median_wait_days")] == 42  # of 10, 42, 43
    assert metrics[("2024-08", "ALL", "referral_seen_6wk_pct")] == pytest.approx(200 / 3)
    # no first appointment in July: no wait rows
    assert ("2024-07", "ALL", "referral_median_wait_days") not in metrics


def test_ucope_metrics(metrics) -> None:
    # January referrals: UOL E1; LJMU E2, E3. Students: s1 (UOL and LJMU), s7
    assert metrics[("2024-01", "LJMU", "ucope_referrals")] == 2
    assert metrics[("2024-01", "ALL", "ucope_referrals")] == 3
    assert metrics[("2024-01", "ALL", "ucope_students")] == 2  # s1 counts once
    # Assessed in January: E1 after 14 days, E2 after 15 -> median (14 + 15) / 2 = 14.5
    assert metrics[("2024-01", "ALL", "ucope_assessed")] == 2
    assert metrics[("2024-01", "ALL", "ucope_median_days_to_assessment")] == 14.5
    assert metrics[("2024-01", "UOL", "ucope_assessed_14d_pct")] == 100
    assert metrics[("2024-01", "LJMU", "ucope_assessed_14d_pct")] == 0
    assert metrics[("2024-01", "ALL", "ucope_assessed_14d_pct")] == 50
    # Discharged in March: E1 completed, E2 disengaged -> 50 %
    assert metrics[("2024-03", "ALL", "ucope_discharges")] == 2
    assert metrics[("2024-03", "ALL", "ucope_completion_pct")] == 50
    # Reliable improvement over discharges with both scores: only E1 (fall of 8) -> 100 %;
    # LJMU's only discharge (E2) lacks an end score -> no row
    assert metrics[("2024-03", "UOL", "ucope_reliable_improvement_pct")] == 100
    assert metrics[("2024-03", "ALL", "ucope_reliable_improvement_pct")] == 100
    assert ("2024-03", "LJMU", "ucope_reliable_improvement_pct") not in metrics
    # Reliable recovery over the same discharges starting at or above 11: E1 ends on 12,
    # still in the clinical range -> 0 %, a row (its base is 1); LJMU -> no row
    assert metrics[("2024-03", "UOL", "ucope_reliable_recovery_pct")] == 0
    assert metrics[("2024-03", "ALL", "ucope_reliable_recovery_pct")] == 0
    assert ("2024-03", "LJMU", "ucope_reliable_recovery_pct") not in metrics


def test_failing_test_is_reported_by_name(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data problem fails the build and names the test that caught it. The build, in a
    new target folder, starts from the cached parse of another with the same seeds and
    vars (``dbt_build.parse_cache``): here the module's build, of a database of the same
    name in another folder. The log says which parse it made at dbt's debug level
    (``DBT_LOG_LEVEL_FILE``)."""
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    monkeypatch.setattr(dbt_build, "PARSE_CACHE_DIR", tmp_path / "cache")
    cache = dbt_build.parse_cache(os.path.relpath(dbt_build.SEEDS_DIR, PIPELINE_DIR), None)
    cache.parent.mkdir()
    shutil.copyfile(PIPELINE_DIR / "target" / "partial_parse.msgpack", cache)
    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    try:
        create_raw_tables(con)
        # an unknown service code (the ingest would have quarantined it)
        insert_rows(con, "referrals", [
            _referral("R1", "s1", "UOL", "2024-07-10", None, "waiting", service_code="nope"),
        ])  # fmt: skip
    finally:
        con.close()
    result = build(
        database,
        exclude_resource_types=["unit_test"],
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
    )
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert "Starting full parse" not in log and "skipping partial parsing" in log
    assert not result.success
    failed = {node.name for node in result.failed}
    assert any(name.startswith("relationships_fct_referrals_service_code") for name in failed), (
        result.summary()
    )
    failing = next(n for n in result.failed if n.name.startswith("relationships_fct_referrals"))
    assert failing.status == "fail" and failing.failures == 1
    assert "FAIL" in result.summary()
