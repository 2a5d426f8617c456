"""The extract contract's bad-input cases, file by file and rule by rule (no dbt here)."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from extracts import (
    TEST_KEY,
    case_discussion,
    csv_bytes,
    liaison,
    nhs_number,
    profile,
    referral,
    ucope,
    write_extract,
)

from smhp.pipeline.ingest import ingest

TODAY = date(2024, 3, 10)


def run(landing: Path, db: Path, today: date = TODAY):
    con = duckdb.connect(str(db))
    try:
        report = ingest(con, landing, TEST_KEY, "run", datetime(2024, 3, 10, 2, 0), today)
        return report, con.execute(
            "select * from raw.quarantine order by file_id, row_number"
        ).fetchall()
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


def by_path(report) -> dict:
    return {f.path: f for f in report.files}


# --- file level -------------------------------------------------------------------------


def test_valid_file_loads_and_every_row_is_accounted_for(landing, db):
    write_extract(landing, "liaison_contacts", "2024-03-02", [liaison("C1", 1), liaison("C2", 2)])
    report, quarantine = run(landing, db)
    (f,) = report.files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 2, 2, 0)
    assert quarantine == []
    assert query(db, "select contact_id, _row_number from raw.liaison_contacts order by 1") == [
        ("C1", 2),
        ("C2", 3),
    ]


@pytest.mark.parametrize(
    ("relative", "data", "reason"),
    [
        (
            "liaison_contacts/liaison_contacts_2024-03-02.csv",
            "é".encode("latin-1") + b",x\n",
            "not UTF-8",
        ),
        ("liaison_contacts/liaison_contacts_2024-03-02.csv", b"", "empty file: no header row"),
        (
            "liaison_contacts/liaison_contacts_2024-03-02.csv",
            csv_bytes(list(liaison("C1", 1)), []) + b'"C1,\n',
            "not readable as CSV",
        ),
        ("liaison_contacts/contacts_2024-03-02.csv", None, "does not match the pattern"),
        ("liaison_contacts/liaison_contacts_2024-03-02.CSV", None, "does not match the pattern"),
        ("liaison_contacts/liaison_contacts_2024-02-30.csv", None, "impossible date"),
        ("liaison_contacts/liaison_contacts_2024-03-11.csv", None, "extract date is in the future"),
        ("appointments/appointments_2024-03-02.csv", None, "unknown source folder 'appointments'"),
        ("liaison_contacts_2024-03-02.csv", None, "not in a source folder"),
    ],
)
def test_file_level_rejects_name_the_reason_and_the_rest_still_loads(
    landing, db, relative, data, reason
):
    bad = landing / relative
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(data if data is not None else csv_bytes(["contact_id"], []))
    write_extract(landing, "referrals", "2024-03-02", [referral("R1", 1)])
    report, _ = run(landing, db)
    files = by_path(report)
    assert files[relative].status == "rejected"
    assert reason in files[relative].reason
    assert files["referrals/referrals_2024-03-02.csv"].status == "loaded"


def test_missing_contract_column_rejects_the_file_naming_the_columns(landing, db):
    rows = [liaison("C1", 1)]
    header = [c for c in rows[0] if c not in ("setting", "updated_at")]
    write_extract(landing, "liaison_contacts", "2024-03-02", rows, header=header)
    report, _ = run(landing, db)
    (f,) = report.files
    assert f.status == "rejected"
    assert f.reason == "missing contract column(s): setting, updated_at"
    assert query(db, "select count(*) from raw.liaison_contacts") == [(0,)]


def test_header_only_file_is_a_valid_empty_delivery(landing, db):
    write_extract(landing, "ucope_episodes", "2024-03-02", [])
    report, _ = run(landing, db)
    (f,) = report.files
    assert (f.status, f.rows_read, f.rows_loaded) == ("loaded", 0, 0)


def test_bom_crlf_and_free_column_order_are_accepted(landing, db):
    row = referral("R1", 1)
    header = list(reversed(row))
    write_extract(
        landing, "referrals", "2024-03-02", [row], header=header, newline="\r\n", bom=True
    )
    report, _ = run(landing, db)
    assert report.files[0].rows_loaded == 1
    assert query(db, "select referral_id, record_status from raw.referrals") == [("R1", "active")]


def test_columns_outside_the_contract_are_dropped_and_logged(landing, db):
    row = dict(liaison("C1", 1), notes="Student said something private")
    write_extract(landing, "liaison_contacts", "2024-03-02", [row], header=list(row))
    report, _ = run(landing, db)
    (f,) = report.files
    assert (f.status, f.rows_loaded, f.dropped_columns) == ("loaded", 1, "notes")
    assert "dropped columns outside the contract: notes" in f.reason
    cols = [r[0] for r in query(db, "select column_name from information_schema.columns")]
    assert "notes" not in cols
    assert not any(
        "private" in str(v) for r in query(db, "select * from raw.liaison_contacts") for v in r
    )


# --- row level --------------------------------------------------------------------------

ROW_CASES = [
    ("liaison_contacts", liaison("", 1), "contact_id", "empty"),
    (
        "liaison_contacts",
        liaison("C1", 1, setting="Emergency_department"),
        "setting",
        "code in the wrong case",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, setting="crisis_line "),
        "setting",
        "code with surrounding spaces",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, institution_code="MMU"),
        "institution_code",
        "unknown code",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, student_ref="9990000001"),
        "student_ref",
        "10 digits with a wrong check digit",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, student_ref="99900000A1"),
        "student_ref",
        "not 10 digits",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, presented_at="2024-03-01 22:15"),
        "presented_at",
        "not a valid timestamp",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, presented_at="2024-02-30 10:00:00"),
        "presented_at",
        "not a valid timestamp",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, presented_at="2024-03-07 10:00:00", university_informed_at=""),
        "presented_at",
        "timestamp after the extract date",
    ),
    (
        "liaison_contacts",
        liaison("C1", 1, university_informed_at="2024-03-01 22:14:59"),
        "university_informed_at",
        "before presented_at",
    ),
    ("liaison_contacts", liaison("C1", 1, outcome="referral"), "referred_to", "empty"),
    ("liaison_contacts", liaison("C1", 1, referred_to="gp"), "referred_to", "set"),
    ("liaison_contacts", liaison("C1", 1, updated_at=""), "updated_at", "empty"),
    (
        "case_discussions",
        case_discussion("D1", 1, discussed_on="04/03/2024"),
        "discussed_on",
        "not a valid date",
    ),
    (
        "case_discussions",
        case_discussion("D1", 1, pathway_started_on="2024-03-03"),
        "pathway_started_on",
        "before discussed_on",
    ),
    ("referrals", referral("R1", 1, source="GP"), "source", "code in the wrong case"),
    ("referrals", referral("R1", 1, outcome="lost"), "outcome", "unknown code"),
    ("referrals", referral("R1", 1, closed_on="2024-02-29"), "closed_on", "before referred_on"),
    ("ucope_episodes", ucope("E1", 1, core10_start="41"), "core10_start", "number out of range"),
    (
        "ucope_episodes",
        ucope("E1", 1, sessions_attended="2.0"),
        "sessions_attended",
        "not a whole number",
    ),
    (
        "ucope_episodes",
        ucope("E1", 1, sessions_attended="-1"),
        "sessions_attended",
        "not a whole number",
    ),
    ("ucope_episodes", ucope("E1", 1, discharged_on="2024-03-05"), "discharge_reason", "empty"),
    ("ucope_episodes", ucope("E1", 1, discharge_reason="completed"), "discharge_reason", "set"),
    ("student_profiles", profile(1, year_of_study="8"), "year_of_study", "number out of range"),
    ("student_profiles", profile(1, record_status="removed"), "record_status", "unknown code"),
]


@pytest.mark.parametrize(("source", "row", "column", "value_class"), ROW_CASES)
def test_row_level_rule_breaks_are_quarantined_with_a_reason(
    landing, db, source, row, column, value_class
):
    write_extract(landing, source, "2024-03-06", [row])
    report, quarantine = run(landing, db)
    (f,) = report.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (1, 0, 1)
    assert [(q[1], q[3], q[5], q[6]) for q in quarantine] == [(f.path, 2, column, value_class)]
    assert query(db, f"select count(*) from raw.{source}") == [(0,)]


def test_student_ref_with_spaces_is_valid_and_pseudonymised_like_without(landing, db):
    ref = nhs_number(7)
    spaced = f"{ref[:3]} {ref[3:6]} {ref[6:]}"
    write_extract(landing, "liaison_contacts", "2024-03-02", [liaison("C1", 7, student_ref=spaced)])
    write_extract(landing, "referrals", "2024-03-02", [referral("R1", 7)])
    run(landing, db)
    keys = query(
        db,
        "select student_key from raw.liaison_contacts union all select student_key from raw.referrals",
    )
    assert keys[0] == keys[1] and len(keys[0][0]) == 64


def test_every_rule_broken_in_a_row_is_reported(landing, db):
    row = liaison("C1", 1, setting="ED", outcome="referral", updated_at="yesterday")
    write_extract(landing, "liaison_contacts", "2024-03-02", [row])
    _, quarantine = run(landing, db)
    assert sorted(q[5] for q in quarantine) == ["referred_to", "setting", "updated_at"]
    assert all(q[8].startswith(q[5] + ": ") for q in quarantine)


def test_repeated_id_quarantines_every_row_of_that_id(landing, db):
    rows = [liaison("C1", 1), liaison("C1", 1, outcome="signposting"), liaison("C2", 2)]
    write_extract(landing, "liaison_contacts", "2024-03-02", rows)
    report, quarantine = run(landing, db)
    assert (report.files[0].rows_loaded, report.files[0].rows_quarantined) == (1, 2)
    assert [(q[3], q[4], q[6]) for q in quarantine] == [
        (2, "C1", "record id repeated in this file"),
        (3, "C1", "record id repeated in this file"),
    ]


def test_profile_record_id_is_student_and_institution(landing, db):
    rows = [profile(1), profile(1, institution_code="LJMU"), profile(2), profile(2, sex="male")]
    write_extract(landing, "student_profiles", "2024-03-02", rows)
    report, quarantine = run(landing, db)
    assert (report.files[0].rows_loaded, report.files[0].rows_quarantined) == (2, 2)
    assert {q[4] for q in quarantine} == {None}  # never show an id that holds a student_ref


def test_wrong_number_of_fields_is_quarantined(landing, db):
    header = list(liaison("C1", 1))
    data = csv_bytes(header, [list(liaison("C1", 1).values()), ["C2", nhs_number(2)]])
    path = landing / "liaison_contacts" / "liaison_contacts_2024-03-02.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    report, quarantine = run(landing, db)
    assert (report.files[0].rows_loaded, report.files[0].rows_quarantined) == (1, 1)
    assert quarantine[0][5:7] == ("(row)", "2 fields")


def test_quoted_empty_field_is_null(landing, db):
    header = list(liaison("C1", 1))
    line = ",".join(f'"{v}"' for v in liaison("C1", 1, university_informed_at="").values())
    path = landing / "liaison_contacts" / "liaison_contacts_2024-03-02.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(header) + "\n" + line + "\n", encoding="utf-8")
    run(landing, db)
    assert query(db, "select university_informed_at is null from raw.liaison_contacts") == [(True,)]


# --- deliveries over time ---------------------------------------------------------------


def test_unchanged_resend_and_corrected_files(landing, db):
    path = write_extract(landing, "referrals", "2024-03-02", [referral("R1", 1), referral("R2", 2)])
    first, _ = run(landing, db)
    assert first.files[0].status == "loaded"

    again, _ = run(landing, db)
    assert (again.files, again.unchanged) == ([], 1)  # nothing new: nothing logged, nothing changed

    os.utime(
        path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9)
    )  # same bytes re-sent
    resend, _ = run(landing, db)
    assert [(f.status, f.reason) for f in resend.files] == [
        ("skipped", "re-send: same bytes as already processed")
    ]
    assert query(db, "select count(*) from raw.referrals") == [(2,)]

    write_extract(landing, "referrals", "2024-03-02", [referral("R1", 1, outcome="declined")])
    corrected, _ = run(landing, db)
    (f,) = corrected.files
    assert (f.status, f.replaces_file_id) == ("replaced", first.files[0].file_id)
    assert query(db, "select referral_id, outcome from raw.referrals") == [("R1", "declined")]
    log = query(db, "select status from raw.load_log order by file_id")
    assert log == [("loaded",), ("skipped",), ("replaced",)]


def test_rejected_correction_keeps_the_earlier_version(landing, db):
    write_extract(landing, "referrals", "2024-03-02", [referral("R1", 1)])
    run(landing, db)
    (landing / "referrals" / "referrals_2024-03-02.csv").write_bytes(b"referral_id\nR1\n")
    report, _ = run(landing, db)
    assert report.files[0].status == "rejected"
    assert "the earlier version of this file stays loaded" in report.files[0].reason
    assert query(db, "select count(*) from raw.referrals") == [(1,)]


def test_late_files_and_missing_nights_load(landing, db):
    write_extract(landing, "referrals", "2024-03-05", [referral("R2", 2, referred_on="2024-03-05")])
    run(landing, db)
    write_extract(landing, "referrals", "2024-03-01", [referral("R1", 1)])  # arrives late
    report, _ = run(landing, db)
    assert [f.path for f in report.files] == ["referrals/referrals_2024-03-01.csv"]
    assert query(db, "select referral_id, _extract_date from raw.referrals order by 1") == [
        ("R1", date(2024, 3, 1)),
        ("R2", date(2024, 3, 5)),
    ]


def test_no_raw_student_ref_anywhere_in_the_database(landing, db):
    refs = [nhs_number(i) for i in range(1, 6)]
    write_extract(
        landing, "liaison_contacts", "2024-03-02", [liaison(f"C{i}", i) for i in range(1, 4)]
    )
    write_extract(
        landing, "student_profiles", "2024-03-02", [profile(4), profile(4), profile(5, sex="x")]
    )
    write_extract(
        landing, "referrals", "2024-03-02", [referral("R1", 5, student_ref=refs[4][:9] + "0")]
    )
    run(landing, db)
    text = " ".join(
        str(v)
        for t in query(db, "select table_schema||'.'||table_name from information_schema.tables")
        for r in query(db, f"select * from {t[0]}")
        for v in r
    )
    assert not any(ref in text or ref[:9] in text for ref in refs)
