"""The demo generator's parts, one rule each: calendar, file formats, faults, who is seen.

The whole demo is tested through its files in ``test_demo_data.py``; these pin the small
rules its modules hold, so a change to one shows where it went wrong.
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest

from smhp.cli import main
from smhp.demo.delivery import render
from smhp.demo.messiness import spoiled_row, uncorrected_rows
from smhp.demo.population import Caseload, Traits
from smhp.demo.records import Event, FileRow
from smhp.demo.sources import SPECS
from smhp.demo.timeline import (
    EARLIEST_END,
    Timeline,
    default_end,
    meeting_on_or_after,
    working_day,
)
from smhp.demo.volume import growth
from smhp.pipeline.nhs_number import is_valid_nhs_number, normalise


def test_meetings_and_working_days_skip_the_holiday_closures():
    # Christmas 2025 is a Thursday and New Year's Day 2026 too: the next meeting is 8 Jan.
    assert meeting_on_or_after(date(2025, 12, 19)) == date(2026, 1, 8)
    assert meeting_on_or_after(date(2025, 12, 18)) == date(2025, 12, 18)
    assert working_day(date(2019, 12, 25)) == date(2019, 12, 27)  # Wed, Boxing Day Thu: Fri
    assert working_day(date(2020, 12, 25)) == date(2020, 12, 28)  # Fri, weekend: Mon
    assert working_day(date(2024, 12, 24)) == date(2024, 12, 24)


@pytest.fixture
def smhp() -> Iterator[Callable[[list[str]], int]]:
    """The ``smhp`` command in this process, leaving the process's umask as it was."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield main
    os.umask(umask)


def test_the_demo_ends_yesterday_by_default_and_never_before_the_earliest_end(
    smhp, capsys, monkeypatch, tmp_path
):
    assert default_end(date(2027, 3, 1)) == date(2027, 2, 28)
    assert default_end() == date.today() - timedelta(days=1)
    written = []
    monkeypatch.setattr(
        "smhp.demo.write_demo_extracts", lambda out, **kw: written.append(kw) or "written"
    )
    assert smhp(["demo-data", "--out", str(tmp_path)]) == 0
    assert smhp(["demo-data", "--out", str(tmp_path), "--end", "2027-01-05"]) == 0
    assert [kw["end"] for kw in written] == [default_end(), date(2027, 1, 5)]

    with pytest.raises(ValueError, match="cannot end before 2026-10-31"):
        Timeline(EARLIEST_END - timedelta(days=1))
    assert smhp(["demo-data", "--out", str(tmp_path), "--end", "2026-10-30"]) == 2
    assert "--end: the demo cannot end before 2026-10-31" in capsys.readouterr().err
    assert smhp(["demo", "--dir", str(tmp_path / "d"), "--end", "2999-01-01"]) == 2
    assert "is after today" in capsys.readouterr().err and not (tmp_path / "d").exists()


def test_demand_keeps_growing_past_the_table():
    assert (growth(2026), growth(2027), growth(2029)) == pytest.approx((1.7, 1.8, 2.0))


def test_each_partners_file_format():
    rows = [FileRow("RF000001", {"referral_id": "RF000001", "notes": 'a "quoted" note'})]
    referrals = render(SPECS["referrals"], rows, "notes", None).decode("utf-8")
    assert referrals.endswith("\r\n") and '"a ""quoted"" note"' in referrals
    header = next(csv.reader(io.StringIO(referrals)))
    assert header == [*SPECS["referrals"].columns, "notes"]

    profiles = render(SPECS["student_profiles"], [], None, None)
    assert profiles.startswith("\ufeff".encode()) and profiles.count(b"\n") == 1

    rejected = render(SPECS["case_discussions"], [], None, "agreed_pathway").decode("utf-8")
    assert rejected.startswith('"discussion_id"') and "agreed_pathway" not in rejected


@pytest.mark.parametrize(
    ("kind", "source", "row", "check"),
    [
        (
            "invalid_nhs_number",
            "referrals",
            {"student_ref": "999 000 0018"},
            lambda r: (
                " " in r["student_ref"] and not is_valid_nhs_number(normalise(r["student_ref"]))
            ),
        ),
        ("code_wrong_case", "liaison_contacts", {"institution_code": "UOL"}, None),
        ("date_wrong_format", "ucope_episodes", {"referred_on": "2024-03-05"}, None),
        ("integer_out_of_range", "student_profiles", {"year_of_study": "2"}, None),
    ],
)
def test_a_spoiled_row_breaks_the_contract_one_way(kind, source, row, check):
    assert "student_ref" not in row or is_valid_nhs_number(normalise(row["student_ref"]))
    spoiled = spoiled_row(kind, source, row, date(2024, 3, 8))
    assert spoiled is not None and spoiled != row and set(spoiled) == set(row)
    assert check is None or check(spoiled)
    expected = {
        "code_wrong_case": {"institution_code": "Uol"},
        "date_wrong_format": {"referred_on": "05/03/2024"},
        "integer_out_of_range": {"year_of_study": "8"},
    }
    assert kind not in expected or spoiled == expected[kind]


def test_a_spoil_that_cannot_apply_is_refused():
    row = {"core10_start": "", "first_appointment_on": "2024-01-02"}
    assert spoiled_row("core10_out_of_range", "ucope_episodes", row, date(2024, 1, 5)) is None
    assert spoiled_row("future_date", "referrals", row, date(2024, 1, 5)) is None
    with pytest.raises(ValueError, match="unknown bad-row kind"):
        spoiled_row("typo", "referrals", row, date(2024, 1, 5))


def test_the_uncorrected_delivery_is_two_rows_short_with_one_wrong_institution():
    rows = [FileRow(f"RF{n}", {"institution_code": "LJMU", "n": str(n)}) for n in range(5)]
    first = uncorrected_rows(rows)
    assert [r.key for r in first] == ["RF0", "RF1", "RF2"]
    assert first[0].row["institution_code"] == "UOL" and rows[0].row["institution_code"] == "LJMU"


def test_year_of_study_moves_on_and_stops_at_the_levels_last_year():
    traits = Traits(2021, "postgraduate_taught", 1, 1, "female", "asian", "international")
    assert traits.profile(2021)["year_of_study"] == "1"
    assert traits.profile(2022)["year_of_study"] == "2"
    assert traits.profile(2025)["year_of_study"] == "2"  # a taught masters lasts two years
    assert traits.profile(2023)["age_band"] == "25_29"  # age moves on every two years


def test_a_calibrated_window_gets_exactly_the_new_students_asked_for():
    caseload = Caseload(random.Random(1))
    events = [Event(datetime(2020, 1, 1 + n % 28, 10), ("UOL", "LJMU")[n % 2]) for n in range(40)]
    events.sort(key=lambda e: (e.at, e.inst))
    students = caseload.assign("ucope_episodes", events, exactly=15, forced=[39])
    assert len({s.ref for s in students}) == 15
    assert students[39].ref not in {s.ref for s in students[:39]}
    for student, event in zip(students, events, strict=True):
        assert is_valid_nhs_number(student.ref) and event.inst in student.traits
