"""Synthetic nightly extracts for the demo and the end-to-end tests.

Real extracts hold NHS numbers, so the demo runs on made-up data that looks and misbehaves
like the real thing. It must tell the same story on every machine and on every day: all of
it comes from one seeded random generator and a fixed end date (``DEMO_END``), never from
today's date, and nothing iterates over a set of strings (whose order changes per process).

What the data models (volumes, seasons, waits) is described where it is generated. What it
*exercises* is the extract contract (../shared/spec/extracts.md): deltas with updates and
deletions, quarantinable rows, a file rejected whole, an out-of-contract column, late files,
missing nights, header-only nights, a re-send and a corrected re-delivery. The funded
project period is calibrated so that the pipeline must report exactly
``FUNDED_LIAISON_STUDENTS`` liaison and ``FUNDED_UCOPE_STUDENTS`` U-COPE students; every
deleted, bad or superseded row around those counts is placed so that only a pipeline that
follows the contract's rules gets them right (see ``DemoSummary.calibration_traps``).

Choices worth knowing when reading the demo:

- Extract cadence differs per source, to keep the demo at a few thousand files: referrals
  and liaison contacts are extracted on weekday nights, case discussions weekly (Thursday,
  the meeting day), U-COPE weekly (Friday) and student profiles weekly (Saturday, plus the
  go-live night ``DEMO_START``). A change lands in the first extract on or after the day
  it was made; a missing night's changes land in the next extract.
- Student profiles are delivered on the last profile night on or before a student's first
  record at that institution, and again before their first record in each later academic
  year (year of study moves on).
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from smhp import academic_year
from smhp.pipeline.nhs_number import check_digit, normalise

__all__ = [
    "DEMO_END",
    "DEMO_PSEUDONYM_KEY",
    "DEMO_START",
    "FUNDED_LIAISON_STUDENTS",
    "FUNDED_PERIOD",
    "FUNDED_UCOPE_STUDENTS",
    "SOURCES",
    "DemoSummary",
    "write_demo_extracts",
]

DEMO_START = date(2019, 9, 1)  # go-live night: the first extracts
DEMO_END = date(2026, 10, 31)  # the last extract night of the demo
FUNDED_PERIOD = (date(2019, 6, 1), date(2022, 7, 31))
#: Pseudonymisation key for the demo only: never use it for real extracts.
DEMO_PSEUDONYM_KEY = "smhp-demo-only-pseudonym-key:synthetic-data-never-real"
#: What the pipeline must report for the funded period (the published impact figures).
FUNDED_LIAISON_STUDENTS = 429
FUNDED_UCOPE_STUDENTS = 299

SOURCES = (
    "liaison_contacts",
    "case_discussions",
    "referrals",
    "ucope_episodes",
    "student_profiles",
)
_SEED = 20190601
_MON, _TUE, _WED, _THU, _FRI, _SAT, _SUN = range(7)
# Bad rows, deletions and missing nights stay clear of the last month, where the special
# deliveries (re-send, corrected, late, rejected) are, so that each tells one story.
_QUIET_FROM = DEMO_END - timedelta(days=30)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _SourceSpec:
    """How one partner system delivers: columns in its own order, cadence, file format."""

    name: str
    columns: tuple[str, ...]
    extract_weekdays: tuple[int, ...]
    header_only_when_quiet: bool  # sends a header-only file on an extract night with no changes
    line_end: str = "\n"
    bom: bool = False
    quote_all: bool = False


_SPECS = {
    s.name: s
    for s in (
        _SourceSpec(
            "liaison_contacts",
            (
                "contact_id",
                "student_ref",
                "institution_code",
                "presented_at",
                "setting",
                "outcome",
                "referred_to",
                "university_informed_at",
                "updated_at",
                "record_status",
            ),
            (_MON, _TUE, _WED, _THU, _FRI),
            header_only_when_quiet=False,
        ),
        _SourceSpec(
            "case_discussions",
            (
                "discussion_id",
                "discussed_on",
                "contact_id",
                "student_ref",
                "institution_code",
                "agreed_pathway",
                "pathway_started_on",
                "record_status",
                "updated_at",
            ),
            (_THU,),
            header_only_when_quiet=True,
            quote_all=True,  # every field quoted: empty fields arrive as ""
        ),
        _SourceSpec(
            "referrals",
            (
                "referral_id",
                "referred_on",
                "student_ref",
                "institution_code",
                "source",
                "service_code",
                "outcome",
                "first_appointment_on",
                "closed_on",
                "updated_at",
                "record_status",
            ),
            (_MON, _TUE, _WED, _THU, _FRI),
            header_only_when_quiet=True,
            line_end="\r\n",  # the GP system is a Windows export
        ),
        _SourceSpec(
            "ucope_episodes",
            (
                "updated_at",
                "episode_id",
                "student_ref",
                "institution_code",
                "referral_source",
                "referred_on",
                "assessed_on",
                "sessions_attended",
                "core10_start",
                "discharged_on",
                "discharge_reason",
                "core10_end",
                "record_status",
            ),
            (_FRI,),
            header_only_when_quiet=False,
        ),
        _SourceSpec(
            "student_profiles",
            (
                "institution_code",
                "student_ref",
                "age_band",
                "sex",
                "ethnic_group",
                "study_level",
                "year_of_study",
                "domicile",
                "updated_at",
                "record_status",
            ),
            (_SAT,),
            header_only_when_quiet=False,
            bom=True,  # saved from a spreadsheet tool
        ),
    )
}
_ID_COLUMN = {
    "liaison_contacts": "contact_id",
    "case_discussions": "discussion_id",
    "referrals": "referral_id",
    "ucope_episodes": "episode_id",
}
_ID_PREFIX = {
    "liaison_contacts": "LC",
    "case_discussions": "CD",
    "referrals": "RF",
    "ucope_episodes": "UC",
}


# ---------------------------------------------------------------------- institutions


@dataclass(frozen=True)
class _Institution:
    code: str
    enrolment: int
    first_day: date  # first day of demo activity (joining is 2022/23 for four of them)
    international: float  # share of international students
    levels: Mapping[str, float]


_INSTITUTIONS = {
    i.code: i
    for i in (
        _Institution(
            "UOL",
            30_000,
            date(2019, 9, 2),
            0.28,
            {"undergraduate": 0.70, "postgraduate_taught": 0.20, "postgraduate_research": 0.10},
        ),
        _Institution(
            "LJMU",
            26_000,
            date(2019, 9, 2),
            0.14,
            {"undergraduate": 0.82, "postgraduate_taught": 0.14, "postgraduate_research": 0.04},
        ),
        _Institution(
            "HOPE",
            5_500,
            date(2022, 9, 19),
            0.08,
            {"undergraduate": 0.80, "postgraduate_taught": 0.15, "postgraduate_research": 0.05},
        ),
        _Institution(
            "LIPA",
            1_000,
            date(2022, 10, 3),
            0.15,
            {"undergraduate": 0.93, "postgraduate_taught": 0.07},
        ),
        _Institution(
            "LSTM",
            800,
            date(2022, 9, 26),
            0.55,
            {"postgraduate_taught": 0.70, "postgraduate_research": 0.30},
        ),
        _Institution(
            "UOLIC",
            900,
            date(2022, 10, 10),
            0.97,
            {"foundation": 0.75, "undergraduate": 0.15, "postgraduate_taught": 0.10},
        ),
    )
}
#: Where students move on to another partner: UOLIC progression to UOL, UG to LSTM masters.
_FEEDERS = {"UOL": ("UOLIC",), "LSTM": ("UOL", "LJMU")}
_TRANSFER_CHANCE = {"UOL": 0.03, "LSTM": 0.08}


# ------------------------------------------------------------------ rhythm and volume

# Freshers (Sep-Oct), January and May-June exams, summer lull.
_MONTH_FACTOR = {
    1: 1.15,
    2: 1.0,
    3: 1.0,
    4: 0.8,
    5: 1.15,
    6: 1.05,
    7: 0.5,
    8: 0.45,
    9: 1.1,
    10: 1.45,
    11: 1.2,
    12: 0.8,
}
_MEAN_MONTH = sum(_MONTH_FACTOR.values()) / 12
#: Demand per academic year (Aug-Jul) relative to 2019/20: a Covid dip, then growth.
_GROWTH = {2019: 1.0, 2020: 0.9, 2021: 1.05, 2022: 1.3, 2023: 1.4, 2024: 1.5, 2025: 1.6, 2026: 1.7}
_LOCKDOWN = (date(2020, 3, 23), date(2020, 6, 30))


@dataclass(frozen=True)
class _Rhythm:
    """When a kind of event happens in the week (Mon..Sun, mean 1) and over the holidays."""

    weekday: tuple[float, ...]
    closure: float  # factor on the Christmas / New Year closure days


_URGENT = _Rhythm((1.0, 1.0, 1.0, 1.0, 1.05, 1.0, 0.95), 1.0)  # urgent care never closes
_OFFICE = _Rhythm((1.25, 1.25, 1.2, 1.2, 1.1, 0.5, 0.5), 0.1)  # weekend: online self-referral

#: Events per 1,000 students per year at 2019/20 demand.
_LIAISON_PER_1000 = 3.4
_REFERRALS_PER_1000 = 24.0
_UCOPE_PER_1000 = 2.1
#: The funded period's events: fixed so that exactly the calibrated students appear.
_FUNDED_LIAISON_CONTACTS = 543
_FUNDED_UCOPE_EPISODES = 332
#: Share of later events that are a student new to the service (the rest are repeats).
_NEW_SHARE = {"liaison_contacts": 0.8, "referrals": 0.85, "ucope_episodes": 0.9}
#: Chance that a student new to a service is one already known to another service.
_CROSS_SERVICE = {"liaison_contacts": 0.1, "referrals": 0.1, "ucope_episodes": 0.35}

#: Relative chance of presenting at urgent care by hour of day: evenings and nights.
_NIGHT_HOURS = (5, 4, 3, 2, 1.5, 1, 1, 1, 1.5, 2, 2.5, 3, 3, 3, 3, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6, 5)


def _is_closure(day: date) -> bool:
    return (day.month, day.day) in ((12, 25), (12, 26), (1, 1))


def _working_day(day: date) -> date:
    """The first day on or after ``day`` when offices are open."""
    while day.weekday() >= _SAT or _is_closure(day):
        day += timedelta(days=1)
    return day


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _meeting_on_or_after(day: date) -> date:
    """The weekly case-discussion meeting (Thursday) on or after ``day``, skipping closures."""
    meeting = _next_weekday(day, _THU)
    while _is_closure(meeting):
        meeting += timedelta(days=7)
    return meeting


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _spaced(digits: str) -> str:
    """The 3-3-4 spaced form of an NHS number some partners write (`999 123 4567`)."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _day_weight(day: date, inst: _Institution, rhythm: _Rhythm) -> float:
    """Relative activity of one institution on one day (students x demand x season)."""
    if day < inst.first_day:
        return 0.0
    weight = inst.enrolment * _GROWTH[academic_year.start_year(day)]
    weight *= _MONTH_FACTOR[day.month] / _MEAN_MONTH * rhythm.weekday[day.weekday()]
    if _is_closure(day):
        weight *= rhythm.closure
    if _LOCKDOWN[0] <= day <= _LOCKDOWN[1]:
        weight *= 0.6
    return weight


@cache
def _population(
    start: date, end: date, rhythm: _Rhythm
) -> tuple[tuple[tuple[date, str], ...], tuple[float, ...]]:
    """Every (day, institution) in a window with its cumulative weight, for sampling."""
    cells: list[tuple[date, str]] = []
    cumulative: list[float] = []
    total = 0.0
    for day in _days(start, end):
        for inst in _INSTITUTIONS.values():
            weight = _day_weight(day, inst, rhythm)
            if weight > 0:
                total += weight
                cells.append((day, inst.code))
                cumulative.append(total)
    return tuple(cells), tuple(cumulative)


# --------------------------------------------------------------------------- students

_AGE_BANDS = ("under_21", "21_24", "25_29", "30_plus")
_SEX = {"female": 0.58, "male": 0.37, "other": 0.02, "not_known": 0.03}
_ETHNIC_HOME = {
    "white": 0.78,
    "asian": 0.08,
    "black": 0.05,
    "mixed": 0.05,
    "other": 0.02,
    "not_known": 0.02,
}
_ETHNIC_INTERNATIONAL = {
    "asian": 0.62,
    "black": 0.12,
    "white": 0.1,
    "mixed": 0.04,
    "other": 0.08,
    "not_known": 0.04,
}
# More first-years: they are both more numerous among help-seekers and new to the city.
_FIRST_YEAR = {
    "undergraduate": {1: 0.42, 2: 0.28, 3: 0.24, 4: 0.06},
    "postgraduate_taught": {1: 0.92, 2: 0.08},
    "postgraduate_research": {1: 0.35, 2: 0.3, 3: 0.25, 4: 0.1},
    "foundation": {1: 1.0},
}
_MAX_YEAR = {
    "undergraduate": 5,
    "postgraduate_taught": 2,
    "postgraduate_research": 6,
    "foundation": 1,
}
_AGE_WEIGHTS = {
    "undergraduate": (0.8, 0.12, 0.04, 0.04),
    "foundation": (0.85, 0.13, 0.02, 0.0),
    "postgraduate_taught": (0.02, 0.55, 0.25, 0.18),
    "postgraduate_research": (0.0, 0.25, 0.45, 0.30),
}


@dataclass(frozen=True)
class _Traits:
    """A student's coarse profile at one institution, as of the year they were first seen."""

    academic_year: int
    study_level: str
    year_of_study: int
    age_index: int
    sex: str
    ethnic_group: str
    domicile: str

    def profile(self, academic_year: int) -> dict[str, str]:
        """The profile row for a later academic year: the year of study moves on."""
        elapsed = max(0, academic_year - self.academic_year)
        return {
            "age_band": _AGE_BANDS[min(3, self.age_index + elapsed // 2)],
            "sex": self.sex,
            "ethnic_group": self.ethnic_group,
            "study_level": self.study_level,
            "year_of_study": str(min(self.year_of_study + elapsed, _MAX_YEAR[self.study_level])),
            "domicile": self.domicile,
        }


@dataclass(eq=False)
class _Student:
    ref: str  # ten digits, valid check digit
    traits: dict[str, _Traits] = field(default_factory=dict)
    first_day: dict[str, date] = field(default_factory=dict)


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _draw_traits(
    rng: random.Random, inst: str, academic_year: int, moved_from: _Traits | None
) -> _Traits:
    """A new student's profile; one moving on from a partner keeps who they are."""
    if moved_from is not None:
        level = "postgraduate_taught" if inst == "LSTM" else "undergraduate"
        if moved_from.study_level == "postgraduate_taught":
            level = "postgraduate_research" if inst == "LSTM" else "postgraduate_taught"
        year = 2 if (inst, moved_from.study_level) == ("UOL", "undergraduate") else 1
        age = max(moved_from.age_index, 1 if inst == "LSTM" else 0)
        return _Traits(
            academic_year,
            level,
            year,
            age,
            moved_from.sex,
            moved_from.ethnic_group,
            moved_from.domicile,
        )
    spec = _INSTITUTIONS[inst]
    level = _pick(rng, spec.levels)
    year = int(_pick(rng, {str(y): w for y, w in _FIRST_YEAR[level].items()}))
    international = rng.random() < spec.international
    ages = _AGE_WEIGHTS[level]
    if level == "undergraduate" and year > 1:
        ages = (0.45, 0.43, 0.06, 0.06)
    return _Traits(
        academic_year,
        level,
        year,
        rng.choices(range(4), weights=ages)[0],
        _pick(rng, _SEX),
        _pick(rng, _ETHNIC_INTERNATIONAL if international else _ETHNIC_HOME),
        "international" if international else "home",
    )


class _Pool:
    """Every synthetic student: unique valid NHS numbers of the 999 test range."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._taken: set[str] = set()  # membership only, never iterated
        self.at: dict[str, list[_Student]] = defaultdict(list)

    def _new_ref(self) -> str:
        while True:
            nine = f"999{self.rng.randrange(10**6):06d}"
            check = check_digit(nine)
            if check is not None and nine + str(check) not in self._taken:
                self._taken.add(nine + str(check))
                return nine + str(check)

    def new(self, inst: str, day: date) -> _Student:
        student = _Student(self._new_ref())
        self.enrol(student, inst, day)
        return student

    def enrol(
        self, student: _Student, inst: str, day: date, moved_from: _Traits | None = None
    ) -> None:
        student.first_day[inst] = day
        student.traits[inst] = _draw_traits(
            self.rng, inst, academic_year.start_year(day), moved_from
        )
        self.at[inst].append(student)

    def known(self, inst: str, day: date, exclude: Mapping[str, object]) -> _Student | None:
        """A student seen at ``inst`` in the past year and not in ``exclude``, if one turns up."""
        students = self.at[inst]
        for _ in range(12 if students else 0):
            student = self.rng.choice(students)
            age = (day - student.first_day[inst]).days
            if 0 <= age <= 365 and student.ref not in exclude:
                return student
        return None

    def moving_on(self, inst: str, day: date, exclude: Mapping[str, object]) -> _Student | None:
        """A student of a feeder partner one or two years ago, now enrolled at ``inst``."""
        for feeder in _FEEDERS.get(inst, ()):
            students = self.at[feeder]
            for _ in range(12 if students else 0):
                student = self.rng.choice(students)
                age = (day - student.first_day[feeder]).days
                if 240 <= age <= 800 and inst not in student.traits and student.ref not in exclude:
                    self.enrol(student, inst, day, moved_from=student.traits[feeder])
                    return student
        return None


@dataclass
class _ServiceLog:
    """Who a service has seen so far, per institution, in the order they were seen."""

    seen: dict[str, None] = field(default_factory=dict)
    by_inst: dict[str, list[tuple[date, _Student]]] = field(default_factory=dict)

    def add(self, day: date, inst: str, student: _Student) -> None:
        self.seen[student.ref] = None
        self.by_inst.setdefault(inst, []).append((day, student))


# ---------------------------------------------------------------------------- records


@dataclass
class _Version:
    at: datetime  # updated_at
    row: dict[str, str]
    night: date | None = None  # extract night, when not simply the next one after `at`


@dataclass
class _FileRow:
    key: str  # the record id as the ingest sees it
    row: dict[str, str]
    bad: str = ""  # the kind of contract breach, for the summary


@dataclass(eq=False)
class _Record:
    source: str
    event_day: date
    student: _Student
    institution: str
    versions: list[_Version]
    tag: str = ""  # a calibration decoy: kept out of the generic messiness
    links: dict[str, _Record] = field(default_factory=dict)  # column -> record whose id
    rid: str = ""
    placed: list[tuple[date, _FileRow]] = field(default_factory=list)

    @property
    def key(self) -> str:
        if self.source == "student_profiles":
            return f"{self.student.ref}|{self.institution}"
        return self.rid


@dataclass(frozen=True)
class _Event:
    at: datetime
    inst: str

    @property
    def day(self) -> date:
        return self.at.date()


# --------------------------------------------------------------------------- messiness


@dataclass(frozen=True)
class _BadRow:
    """One planned contract breach: a row of a record in a window, made bad one way."""

    source: str
    kind: str
    window: tuple[date, date]
    position: str  # first | last (of a record delivered at least twice) | only (a decoy)
    tag: str = ""


_FUNDED = FUNDED_PERIOD


def _year(y: int) -> tuple[date, date]:
    return date(y, 1, 1), min(date(y, 12, 31), _QUIET_FROM - timedelta(days=60))


_BAD_ROWS = (
    # Around the calibrated counts: each hits a counted record that keeps a valid version,
    # or a decoy whose only row is bad.
    _BadRow("liaison_contacts", "invalid_nhs_number", _FUNDED, "first"),
    _BadRow("liaison_contacts", "informed_before_presented", _FUNDED, "last"),
    _BadRow("liaison_contacts", "duplicate_id", _FUNDED, "last"),
    _BadRow("liaison_contacts", "code_wrong_case", _FUNDED, "only", tag="bad_only"),
    _BadRow("ucope_episodes", "core10_out_of_range", _FUNDED, "last"),
    _BadRow("ucope_episodes", "code_wrong_case", _FUNDED, "first"),
    _BadRow("ucope_episodes", "date_wrong_format", _FUNDED, "only", tag="bad_only"),
    # Elsewhere over the years.
    _BadRow("liaison_contacts", "unknown_code", _year(2024), "first"),
    _BadRow("ucope_episodes", "date_wrong_format", _year(2024), "last"),
    _BadRow("case_discussions", "pathway_before_discussed", _year(2021), "last"),
    _BadRow("case_discussions", "missing_required", _year(2023), "first"),
    _BadRow("case_discussions", "unknown_code", _year(2025), "first"),
    _BadRow("referrals", "invalid_nhs_number", _year(2020), "first"),
    _BadRow("referrals", "future_date", _year(2021), "first"),
    _BadRow("referrals", "date_wrong_format", _year(2023), "last"),
    _BadRow("referrals", "unknown_code", _year(2024), "first"),
    _BadRow("referrals", "duplicate_id", _year(2025), "last"),
    _BadRow("referrals", "code_wrong_case", _year(2026), "last"),
    # Profiles: on a later year's update, so the first profile still precedes the records.
    _BadRow("student_profiles", "code_wrong_case", _year(2020), "last"),
    _BadRow("student_profiles", "code_with_spaces", _year(2023), "last"),
    _BadRow("student_profiles", "integer_out_of_range", _year(2025), "last"),
)
_UNKNOWN_CODE = {
    "liaison_contacts": ("setting", "walk_in_centre"),
    "case_discussions": ("agreed_pathway", "counselling"),
    "referrals": ("source", "pharmacy"),
    "ucope_episodes": ("referral_source", "school_nurse"),
    "student_profiles": ("ethnic_group", "prefer_not_to_say"),
}
_WRONG_CASE_COLUMN = {
    "liaison_contacts": "institution_code",
    "referrals": "outcome",
    "ucope_episodes": "referral_source",
    "student_profiles": "sex",
}
_DATE_COLUMN = {"referrals": "referred_on", "ucope_episodes": "referred_on"}

#: (source, window, counted): a deleted record; `counted` keeps the student counted
#: through another record of the same service in the window.
_DELETIONS = (
    ("liaison_contacts", _FUNDED, True),
    ("ucope_episodes", _FUNDED, True),
    ("liaison_contacts", _year(2024), False),
    ("ucope_episodes", _year(2025), False),
    ("referrals", _year(2021), False),
    ("referrals", _year(2023), False),
    ("referrals", _year(2025), False),
    ("case_discussions", _year(2023), False),
)
_MISSING_NIGHTS = {
    "liaison_contacts": 3,
    "referrals": 3,
    "case_discussions": 2,
    "ucope_episodes": 2,
    "student_profiles": 2,
}
#: Calibration decoys' nights (liaison), protected from being missing nights.
_TIE_NIGHT = date(2020, 11, 10)  # a Tuesday
_LATE_TRAP_NIGHT = date(2021, 3, 16)  # a Tuesday
#: Every night a calibration decoy is delivered on: never a missing night.
_TRAP_NIGHTS = (
    _TIE_NIGHT,
    _TIE_NIGHT + timedelta(days=1),
    _LATE_TRAP_NIGHT,
    _LATE_TRAP_NIGHT + timedelta(days=1),
    date(2022, 8, 1),  # the contact moved out of the funded period
    date(2022, 8, 2),
)
#: (source, on or after, days late); the last one arrives within the demo's final week.
_LATE = (
    ("liaison_contacts", _LATE_TRAP_NIGHT, 3),
    ("referrals", date(2023, 3, 14), 4),
    ("case_discussions", date(2024, 5, 9), 6),
    ("ucope_episodes", date(2025, 1, 17), 10),
    ("ucope_episodes", DEMO_END - timedelta(days=8), 5),
)
_RESEND = ("student_profiles", DEMO_END - timedelta(days=7), 1)  # re-sent the next night
_CORRECTED = ("referrals", DEMO_END - timedelta(days=9), 5)  # corrected 5 nights later
_REJECTED = ("case_discussions", DEMO_END - timedelta(days=2), "agreed_pathway")
_EXTRA_COLUMN = ("referrals", date(2024, 2, 5), 3, "notes")  # 3 files from this night
_NOTES = (
    "Triaged by duty worker",
    'Awaiting letter, see "triage" note',
    "",
    "Phoned twice, no answer",
    "Transferred from paper form, checked",
)


# ------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class DemoSummary:
    """What one call delivered, and the catalogue of what the whole demo exercises.

    ``files``, ``rows_by_source`` and ``header_only_files`` describe the files delivered by
    ``arrived_by``; the catalogue (bad rows, deletions, special files) is of the whole demo.
    Bad rows are counted as rows the ingest must quarantine (a repeated id is two rows).
    """

    out: Path
    arrived_by: date | None
    files: int
    files_written: int
    files_unchanged: int
    rows_by_source: dict[str, int]
    header_only_files: int
    students: int
    bad_rows: dict[str, int]
    bad_rows_by_source: dict[str, int]
    deleted_records: dict[str, int]
    missing_nights: dict[str, tuple[date, ...]]
    extra_column_files: tuple[str, ...]
    rejected_file: str
    resent_file: str
    corrected_file: str
    late_files: tuple[str, ...]
    calibration_traps: tuple[str, ...]
    funded_liaison_students: int
    funded_ucope_students: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.rows_by_source.values())


# ------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Delivery:
    name: str  # <source>/<source>_<date>.csv
    source: str
    arrival: date
    content: bytes
    rows: int


@dataclass(frozen=True)
class _Plan:
    deliveries: tuple[_Delivery, ...]  # in arrival order
    students: int
    bad_rows: dict[str, int]
    bad_rows_by_source: dict[str, int]
    deleted_records: dict[str, int]
    missing_nights: dict[str, tuple[date, ...]]
    extra_column_files: tuple[str, ...]
    rejected_file: str
    resent_file: str
    corrected_file: str
    late_files: tuple[str, ...]
    calibration_traps: tuple[str, ...]


def _file_name(source: str, night: date) -> str:
    return f"{source}/{source}_{night.isoformat()}.csv"


class _Generator:
    """Builds the whole demo in memory: services → decoys → deletions → files → arrivals."""

    def __init__(self) -> None:
        self.rng = random.Random(_SEED)
        self.pool = _Pool(self.rng)
        self.records: dict[str, list[_Record]] = {s: [] for s in SOURCES}
        self.logs = {s: _ServiceLog() for s in _NEW_SHARE}
        self.schedules: dict[str, list[date]] = {}
        self.missing: dict[str, tuple[date, ...]] = {}
        self.files: dict[str, dict[date, list[_FileRow]]] = {s: {} for s in SOURCES}
        self.used: set[int] = set()  # ids of records already given a messiness role
        self.bad: Counter[str] = Counter()
        self.bad_by_source: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.traps: list[str] = []

    # ------------------------------------------------------------------ small helpers

    def _office_at(self, day: date) -> datetime:
        """A moment in office hours on the first working day on or after ``day``."""
        minutes = self.rng.randint(8 * 60 + 30, 18 * 60 + 30)
        moment = time(minutes // 60, minutes % 60, self.rng.randint(0, 59))
        return datetime.combine(_working_day(day), moment)

    def _timed(self, day: date, inst: str, hours: Sequence[float]) -> _Event:
        hour = self.rng.choices(range(24), weights=hours)[0]
        moment = time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59))
        return _Event(datetime.combine(day, moment), inst)

    def _sample(self, n: int, start: date, end: date, rhythm: _Rhythm) -> list[tuple[date, str]]:
        cells, cumulative = _population(start, end, rhythm)
        return sorted(self.rng.choices(cells, cum_weights=cumulative, k=n))

    def _expected(self, start: date, end: date, rhythm: _Rhythm, per_1000: float) -> int:
        """How many events a rate gives over a window (student-years x rate)."""
        return round(_population(start, end, rhythm)[1][-1] / 365.25 * per_1000 / 1000)

    def _ref_text(self, student: _Student) -> str:
        """The NHS number as one row writes it: some rows use the spaced 3-3-4 form."""
        return _spaced(student.ref) if self.rng.random() < 0.12 else student.ref

    def _record(
        self,
        source: str,
        student: _Student,
        inst: str,
        event_day: date,
        base: dict[str, str],
        changes: Sequence[tuple[datetime, dict[str, str]]],
        tag: str = "",
    ) -> _Record:
        """A record whose versions are ``base`` plus each change so far, in time order.

        Changes after ``DEMO_END`` have not happened yet. Each version is a full row, as a
        delta extract delivers it; updated_at only ever moves forward.
        """
        record = _Record(source, event_day, student, inst, [], tag)
        state = {**base, "record_status": "active"}
        last: datetime | None = None
        for at, change in changes:
            if last is not None and at <= last:
                at = last + timedelta(minutes=self.rng.randint(5, 90))
            if at.date() > DEMO_END:
                break
            state.update(change)
            row = {**state, "updated_at": _ts(at), "student_ref": self._ref_text(student)}
            record.versions.append(_Version(at, row))
            last = at
        if record.versions:
            self.records[source].append(record)
        return record

    def _delete(self, record: _Record, days: int, same_moment_night: date | None = None) -> bool:
        """Add a later version marking the record deleted (entered in error)."""
        last = record.versions[-1]
        at = last.at if same_moment_night else self._office_at(last.at.date() + timedelta(days))
        if at.date() >= _QUIET_FROM:
            return False
        row = {**last.row, "record_status": "deleted", "updated_at": _ts(at)}
        record.versions.append(_Version(at, row, same_moment_night))
        self.deleted[record.source] += 1
        self.used.add(id(record))
        return True

    # ------------------------------------------------------------------ who is seen

    def _assign(
        self,
        service: str,
        events: list[_Event],
        *,
        exactly: int | None = None,
        forced: Sequence[int] = (),
    ) -> list[_Student]:
        """The student of each event, with exactly ``exactly`` new to the service if given.

        A repeat is a student the service saw recently at the same institution, so a
        window's distinct students are exactly its events marked new.
        """
        log = self.logs[service]
        flags = self._new_flags(service, events, exactly, forced)
        students = []
        for event, new in zip(events, flags, strict=True):
            student = None if new else self._repeat(log, event)
            if student is None:
                if exactly is not None and not new:
                    raise AssertionError("a calibrated repeat found no earlier student")
                student = self._newcomer(service, event)
            log.add(event.day, event.inst, student)
            students.append(student)
        return students

    def _new_flags(
        self,
        service: str,
        events: list[_Event],
        exactly: int | None,
        forced: Sequence[int],
    ) -> list[bool]:
        """Which events bring a student new to the service (exactly ``exactly`` if given)."""
        log = self.logs[service]
        must = set(forced)
        insts_seen = set(log.by_inst)
        for i, event in enumerate(events):  # an institution's first event has no one to repeat
            if event.inst not in insts_seen:
                must.add(i)
                insts_seen.add(event.inst)
        if exactly is None:
            share = _NEW_SHARE[service]
            return [self.rng.random() < share or i in must for i in range(len(events))]
        others = [i for i in range(len(events)) if i not in must]
        chosen = set(self.rng.sample(others, exactly - len(must)))
        return [i in must or i in chosen for i in range(len(events))]

    def _repeat(self, log: _ServiceLog, event: _Event) -> _Student | None:
        earlier = [(d, s) for d, s in log.by_inst.get(event.inst, [])[-60:] if d <= event.day]
        recent = [s for d, s in earlier if (event.day - d).days <= 240]
        if recent or earlier:
            return self.rng.choice(recent or [s for _, s in earlier])
        return None

    def _newcomer(self, service: str, event: _Event) -> _Student:
        log = self.logs[service]
        draw = self.rng.random()
        student = None
        if draw < _TRANSFER_CHANCE.get(event.inst, 0.0):
            student = self.pool.moving_on(event.inst, event.day, log.seen)
        if student is None and draw < _CROSS_SERVICE[service]:
            student = self.pool.known(event.inst, event.day, log.seen)
        return student or self.pool.new(event.inst, event.day)

    # ------------------------------------------------------------------ services

    def liaison(self) -> None:
        """Students presenting at urgent care; a referral and a case discussion may follow.

        The funded period has a fixed number of contacts, exactly FUNDED_LIAISON_STUDENTS
        of them by students new to the service, one of them at 23:45 on its last day.
        """
        funded_end = FUNDED_PERIOD[1]
        cells = self._sample(_FUNDED_LIAISON_CONTACTS - 1, DEMO_START, funded_end, _URGENT)
        boundary = _Event(datetime(2022, 7, 31, 23, 45, 12), "UOL")
        self._run("liaison_contacts", cells, boundary, FUNDED_LIAISON_STUDENTS, self._contact)
        start = funded_end + timedelta(days=1)
        n = self._expected(start, DEMO_END, _URGENT, _LIAISON_PER_1000)
        cells = self._sample(n, start, DEMO_END, _URGENT)
        after = _Event(datetime(2022, 8, 1, 0, 20, 41), "LJMU")
        self._run("liaison_contacts", cells, after, None, self._contact)

    def _run(
        self,
        service: str,
        cells: list[tuple[date, str]],
        boundary: _Event,
        exactly: int | None,
        build: Callable[[_Student, _Event], object],
    ) -> None:
        """Time the sampled days, add the boundary event (always a new student), build."""
        hours = _NIGHT_HOURS if service == "liaison_contacts" else None
        events = [
            self._timed(day, inst, hours) if hours else _Event(datetime.combine(day, time()), inst)
            for day, inst in cells
        ]
        events.append(boundary)
        events.sort(key=lambda e: (e.at, e.inst))
        forced = [i for i, e in enumerate(events) if e is boundary]
        students = self._assign(service, events, exactly=exactly, forced=forced)
        for event, student in zip(events, students, strict=True):
            build(student, event)

    def _contact_base(self, inst: str, presented: datetime, outcome: str) -> dict[str, str]:
        referred_to = _pick(self.rng, _LIAISON_REFERRED_TO) if outcome == "referral" else ""
        return {
            "contact_id": "",
            "institution_code": inst,
            "presented_at": _ts(presented),
            "setting": _pick(self.rng, _SETTINGS),
            "outcome": outcome,
            "referred_to": referred_to,
            "university_informed_at": "",
        }

    def _contact(
        self, student: _Student, event: _Event, *, tag: str = "", follow_up: bool = True
    ) -> _Record:
        rng = self.rng
        presented = event.at
        base = self._contact_base(event.inst, presented, _pick(rng, _LIAISON_OUTCOMES))
        created = presented + timedelta(minutes=rng.randint(30, 16 * 60))
        changes: list[tuple[datetime, dict[str, str]]] = [(created, {})]
        informed = None if tag else self._informed_at(presented)
        if informed is not None:
            told = {"university_informed_at": _ts(informed)}
            if informed <= created:
                changes = [(created, told)]
            else:
                changes.append((informed + timedelta(minutes=rng.randint(2, 45)), told))
        record = self._record(
            "liaison_contacts", student, event.inst, presented.date(), base, changes, tag
        )
        if follow_up and record.versions:
            referred_to = base["referred_to"]
            if referred_to:
                self._referral(student, event.inst, created.date(), "liaison_service", referred_to)
            if rng.random() < 0.4:
                pathway = referred_to if referred_to and rng.random() < 0.7 else ""
                pathway = pathway or _pick(rng, _PATHWAYS)
                self._discussion(student, event.inst, presented.date(), record, pathway)
        return record

    def _informed_at(self, presented: datetime) -> datetime | None:
        """When the university team was told: mostly the next working day, some later."""
        draw = self.rng.random()
        if draw < 0.1:
            return None
        day = presented.date()
        office_hours = day == _working_day(day) and 8 <= presented.hour < 15
        if draw < 0.85:
            if not (office_hours and self.rng.random() < 0.5):
                day = _working_day(day + timedelta(days=1))
        else:
            day = day + timedelta(days=self.rng.randint(3, 9))
        informed = self._office_at(day)
        return max(informed, presented + timedelta(minutes=self.rng.randint(20, 120)))

    def _discussion(
        self, student: _Student, inst: str, after: date, contact: _Record | None, pathway: str
    ) -> None:
        """A joint case discussion at a weekly meeting; the pathway mostly starts in 14 days."""
        rng = self.rng
        meeting = _meeting_on_or_after(after + timedelta(days=1))
        if rng.random() < 0.3:
            meeting = _meeting_on_or_after(meeting + timedelta(days=7))
        at = datetime.combine(meeting, time(rng.randint(13, 16), rng.randint(0, 59)))
        changes: list[tuple[datetime, dict[str, str]]] = [(at, {})]
        draw = rng.random()
        if draw < 0.92:
            started = meeting + timedelta(
                days=rng.randint(0, 14) if draw < 0.8 else rng.randint(15, 45)
            )
            recorded = _meeting_on_or_after(started)  # noted at the next meeting
            moment = time(rng.randint(13, 16), rng.randint(0, 59), rng.randint(0, 59))
            changes.append(
                (datetime.combine(recorded, moment), {"pathway_started_on": started.isoformat()})
            )
        base = {
            "discussion_id": "",
            "institution_code": inst,
            "contact_id": "",
            "discussed_on": meeting.isoformat(),
            "agreed_pathway": pathway,
            "pathway_started_on": "",
        }
        record = self._record("case_discussions", student, inst, meeting, base, changes)
        if contact is not None:
            record.links["contact_id"] = contact

    def referrals(self) -> None:
        """Referrals into services from GPs, self-referral, university teams and others."""
        n = self._expected(DEMO_START, DEMO_END, _OFFICE, _REFERRALS_PER_1000)
        cells = self._sample(n, DEMO_START, DEMO_END, _OFFICE)
        events = [_Event(datetime.combine(day, time()), inst) for day, inst in cells]
        for event, student in zip(events, self._assign("referrals", events), strict=True):
            source = _pick(self.rng, _REFERRAL_SOURCES)
            service = _pick(self.rng, _SERVICE_BY_SOURCE[source])
            self._referral(student, event.inst, event.day, source, service)

    def _referral(
        self, student: _Student, inst: str, referred_on: date, source: str, service: str
    ) -> None:
        """Created `waiting`; later seen (and perhaps closed), or closed another way."""
        rng = self.rng
        if source == "liaison_service":
            self.logs["referrals"].add(referred_on, inst, student)
        lag = timedelta(days=rng.choice((0, 0, 0, 1, 1, 2)))
        changes: list[tuple[datetime, dict[str, str]]] = [(self._office_at(referred_on + lag), {})]
        outcome = _pick(rng, _REFERRAL_OUTCOMES)
        wait = self._wait_days(service, referred_on)
        appointment = referred_on + timedelta(days=wait)
        if outcome == "seen":
            changes.append(
                (
                    self._office_at(appointment),
                    {"outcome": "seen", "first_appointment_on": appointment.isoformat()},
                )
            )
            if rng.random() < 0.45:
                closed = appointment + timedelta(days=rng.randint(28, 150))
                changes.append((self._office_at(closed), {"closed_on": closed.isoformat()}))
        else:
            closed = appointment + timedelta(days=rng.randint(0, 14))
            if outcome != "did_not_attend":
                closed = referred_on + timedelta(days=min(wait, rng.randint(1, 21)))
            changes.append(
                (self._office_at(closed), {"outcome": outcome, "closed_on": closed.isoformat()})
            )
        base = {
            "referral_id": "",
            "institution_code": inst,
            "source": source,
            "service_code": service,
            "referred_on": referred_on.isoformat(),
            "first_appointment_on": "",
            "outcome": "waiting",
            "closed_on": "",
        }
        self._record("referrals", student, inst, referred_on, base, changes)
        if source == "university_wellbeing" and rng.random() < 0.05:
            self._discussion(student, inst, referred_on, None, service)

    def _wait_days(self, service: str, referred_on: date) -> int:
        """Log-normal waits around the service's median, lengthening as demand grows."""
        median, spread = _WAITS[service]
        pressure = 1 + 0.04 * (academic_year.start_year(referred_on) - 2019)
        return max(0, round(median * pressure * math.exp(self.rng.gauss(0, spread))))

    def ucope(self) -> None:
        """U-COPE episodes; the funded period has exactly FUNDED_UCOPE_STUDENTS students."""
        funded_end = FUNDED_PERIOD[1]
        cells = self._sample(_FUNDED_UCOPE_EPISODES - 1, DEMO_START, funded_end, _OFFICE)
        boundary = _Event(datetime(2022, 7, 31), "LJMU")
        self._run("ucope_episodes", cells, boundary, FUNDED_UCOPE_STUDENTS, self._episode)
        start = funded_end + timedelta(days=1)
        n = self._expected(start, DEMO_END, _OFFICE, _UCOPE_PER_1000)
        cells = self._sample(n, start, DEMO_END, _OFFICE)
        after = _Event(datetime(2022, 8, 1), "UOL")
        self._run("ucope_episodes", cells, after, None, self._episode)

    def _episode(
        self, student: _Student, event: _Event, *, tag: str = "", progress: bool = True
    ) -> _Record:
        rng = self.rng
        referred_on = event.day
        created = self._office_at(referred_on + timedelta(days=rng.choice((0, 0, 1, 2))))
        base = {
            "episode_id": "",
            "institution_code": event.inst,
            "referral_source": _pick(rng, _UCOPE_SOURCES),
            "referred_on": referred_on.isoformat(),
            "assessed_on": "",
            "discharged_on": "",
            "discharge_reason": "",
            "sessions_attended": "0",
            "core10_start": "",
            "core10_end": "",
        }
        changes = [(created, {})] + (self._course(referred_on) if progress else [])
        return self._record("ucope_episodes", student, event.inst, referred_on, base, changes, tag)

    def _course(self, referred_on: date) -> list[tuple[datetime, dict[str, str]]]:
        """Assessment (mostly within 14 days), up to six weekly sessions, discharge."""
        rng = self.rng
        if rng.random() < 0.06:  # never assessed
            end = referred_on + timedelta(days=rng.randint(7, 28))
            return [
                (
                    self._office_at(end),
                    {"discharged_on": end.isoformat(), "discharge_reason": "declined"},
                )
            ]
        delay = rng.randint(2, 14) if rng.random() < 0.86 else rng.randint(15, 40)
        assessed = _working_day(referred_on + timedelta(days=delay))
        start = min(38, max(6, round(rng.gauss(22, 5)))) if rng.random() < 0.95 else None
        steps = [
            (
                self._office_at(assessed),
                {"assessed_on": assessed.isoformat(), "core10_start": str(start or "")},
            )
        ]
        reason = _pick(rng, _DISCHARGE_REASONS)
        sessions = {
            "completed": 6,
            "disengaged": rng.randint(1, 4),
            "transferred": rng.randint(0, 3),
            "declined": 0,
        }[reason]
        if sessions >= 3:
            third = self._office_at(assessed + timedelta(weeks=3))
            steps.append((third, {"sessions_attended": "3"}))
        gap = rng.randint(21, 35) if reason == "disengaged" else rng.randint(1, 10)
        end = assessed + timedelta(weeks=sessions, days=gap)
        discharge = {
            "discharged_on": end.isoformat(),
            "discharge_reason": reason,
            "sessions_attended": str(sessions),
            "core10_end": self._core10_end(start, reason),
        }
        steps.append((self._office_at(end), discharge))
        return steps

    def _core10_end(self, start: int | None, reason: str) -> str:
        """CORE-10 at discharge: completers mostly improve; others less often measured."""
        recorded, mean, spread = _CORE10_CHANGE[reason]
        if start is None or self.rng.random() >= recorded:
            return ""
        return str(min(40, max(0, start - round(self.rng.gauss(mean, spread)))))

    # ------------------------------------------------------------------ calibration decoys

    def decoys(self) -> None:
        """Records that must *not* change the funded counts, each for its own reason."""
        t = self._trap
        rec = t("liaison_contacts", "UOL", datetime(2021, 2, 8, 22, 14, 5), "deleted_only")
        self._delete(rec, days=16)
        t("liaison_contacts", "LJMU", datetime(2020, 11, 23, 1, 33, 40), "bad_only")
        tie = t("liaison_contacts", "UOL", datetime.combine(_TIE_NIGHT, time(0, 52, 7)), "tie")
        tie.versions[0].at = tie.versions[0].at.replace(hour=9, minute=41)
        tie.versions[0].row["updated_at"] = _ts(tie.versions[0].at)
        self._delete(tie, 0, same_moment_night=_TIE_NIGHT + timedelta(days=1))
        late = t("liaison_contacts", "LJMU", datetime.combine(_LATE_TRAP_NIGHT, time(2, 5)), "late")
        late.versions[0].at = datetime.combine(_LATE_TRAP_NIGHT, time(9, 20, 33))
        late.versions[0].row["updated_at"] = _ts(late.versions[0].at)
        self._delete(late, 1)
        self._moved_out_of_period()
        rec = t("ucope_episodes", "UOL", datetime(2021, 10, 12), "deleted_only")
        self._delete(rec, days=9)
        t("ucope_episodes", "LJMU", datetime(2020, 2, 11), "bad_only")
        self.traps += [
            "liaison 2022-07-31 23:45 contact of a student seen only then: counts (last day)",
            "liaison 2022-08-01 00:20 contact of a new student: outside the period",
            "U-COPE referral on 2022-07-31 counts; one on 2022-08-01 does not",
            "liaison/U-COPE: a decoy student whose only record is later deleted",
            "liaison/U-COPE: a decoy student whose only row is quarantined",
            f"liaison: decoy deleted in the {_TIE_NIGHT + timedelta(days=1)} extract with an "
            "unchanged updated_at (the later extract wins the tie)",
            f"liaison: decoy created in the {_LATE_TRAP_NIGHT} extract, which arrives late, "
            "and deleted in the next night's extract (arrival order never decides)",
            "liaison: decoy whose presented_at is corrected from 2022-07-21 to 2022-08-01",
            "liaison/U-COPE: a deleted record of a student who has another one in the period",
            "liaison/U-COPE: bad rows (quarantined) of records that keep a valid version",
        ]

    def _trap(self, source: str, inst: str, at: datetime, tag: str) -> _Record:
        """A decoy record (one version, no follow-ups) of a student seen nowhere else."""
        student = self.pool.new(inst, at.date())
        event = _Event(at, inst)
        if source == "liaison_contacts":
            return self._contact(student, event, tag=tag, follow_up=False)
        return self._episode(student, event, tag=tag, progress=False)

    def _moved_out_of_period(self) -> None:
        """A contact first typed as 21 July 2022, corrected next day to 1 August 2022."""
        student = self.pool.new("LJMU", date(2022, 8, 1))
        base = self._contact_base("LJMU", datetime(2022, 7, 21, 1, 10, 33), "signposting")
        changes = [
            (datetime(2022, 8, 1, 10, 12, 9), {}),
            (datetime(2022, 8, 2, 11, 30, 0), {"presented_at": "2022-08-01 01:10:33"}),
        ]
        self._record("liaison_contacts", student, "LJMU", date(2022, 7, 21), base, changes, "moved")

    def deletions(self) -> None:
        """Records entered in error, deleted in a later extract."""
        for source, (lo, hi), counted in _DELETIONS:
            candidates = [
                r
                for r in self.records[source]
                if not r.tag and id(r) not in self.used and lo <= r.event_day <= hi
            ]
            if counted:  # the student must keep another record in the window
                per_student = Counter(r.student.ref for r in candidates)
                candidates = [r for r in candidates if per_student[r.student.ref] >= 2]
            self.rng.shuffle(candidates)
            if not any(self._delete(r, self.rng.randint(2, 20)) for r in candidates):
                raise AssertionError(f"no record to delete in {source} {lo}..{hi}")

    def number(self) -> None:
        """Ids in creation order, as a source system would issue them."""
        for source in _ID_COLUMN:
            ordered = sorted(self.records[source], key=lambda r: r.versions[0].at)
            for n, record in enumerate(ordered, start=1):
                record.rid = f"{_ID_PREFIX[source]}{n:06d}"
        for source in _ID_COLUMN:
            for record in self.records[source]:
                for version in record.versions:
                    version.row[_ID_COLUMN[source]] = record.rid
                    for column, linked in record.links.items():
                        version.row[column] = linked.rid

    # ------------------------------------------------------------------ nights and files

    def schedule(self, source: str) -> None:
        """The source's extract nights, less a few nights when the extract job failed."""
        spec = _SPECS[source]
        nights = [d for d in _days(DEMO_START, DEMO_END) if d.weekday() in spec.extract_weekdays]
        if source == "student_profiles":
            nights.insert(0, DEMO_START)  # the go-live extract
        protected = set(_TRAP_NIGHTS)
        candidates = [
            d
            for d in nights
            if date(2020, 1, 6) <= d < _QUIET_FROM - timedelta(days=60) and d not in protected
        ]
        missing = sorted(self.rng.sample(candidates, _MISSING_NIGHTS[source]))
        self.missing[source] = tuple(missing)
        self.schedules[source] = [d for d in nights if d not in missing]

    def _night_for(self, source: str, version: _Version) -> date | None:
        """The extract that delivers a version: the first night on or after its change."""
        if version.night is not None:
            return version.night
        nights = self.schedules[source]
        i = bisect.bisect_left(nights, version.at.date())
        return nights[i] if i < len(nights) else None

    def lay_out(self, source: str) -> None:
        """Put each record's latest version per extract night into that night's file."""
        files = self.files[source]
        for record in self.records[source]:
            per_night: dict[date, _Version] = {}
            for version in record.versions:
                night = self._night_for(source, version)
                if night is not None:
                    per_night[night] = version
            for night, version in per_night.items():
                row = _FileRow(record.key, version.row)
                files.setdefault(night, []).append(row)
                record.placed.append((night, row))
        if _SPECS[source].header_only_when_quiet:
            for night in self.schedules[source]:
                files.setdefault(night, [])
        for rows in files.values():
            rows.sort(key=lambda r: (r.row["updated_at"], r.key))
        self.files[source] = dict(sorted(files.items()))

    def profiles(self) -> None:
        """A profile before each student's first record at an institution, each year."""
        firsts: dict[tuple[str, str], dict[int, date]] = {}
        students: dict[str, _Student] = {}
        for source in SOURCES[:-1]:
            for record in self.records[source]:
                if not record.placed:  # changed too late for any extract of the demo
                    continue
                students[record.student.ref] = record.student
                years = firsts.setdefault((record.student.ref, record.institution), {})
                for night, _ in record.placed:
                    year = academic_year.start_year(night)
                    years[year] = min(years.get(year, night), night)
        for (ref, inst), years in firsts.items():
            self._profile(students[ref], inst, years)
        self._wrong_institution_profile()

    def _profile(self, student: _Student, inst: str, years: dict[int, date]) -> _Record:
        nights = self.schedules["student_profiles"]
        traits = student.traits[inst]
        record = _Record("student_profiles", min(years.values()), student, inst, [])
        last: date | None = None
        for year in sorted(years):
            night = nights[bisect.bisect_right(nights, years[year]) - 1]
            if last is not None and night <= last:
                continue
            day = night - timedelta(days=self.rng.randint(0, 5))
            day = night if last is not None and day <= last else day
            moment = time(self.rng.randint(7, 21), self.rng.randint(0, 59), self.rng.randint(0, 59))
            row = {
                "institution_code": inst,
                **traits.profile(year),
                "updated_at": _ts(datetime.combine(day, moment)),
                "student_ref": self._ref_text(student),
                "record_status": "active",
            }
            record.versions.append(_Version(datetime.combine(day, moment), row, night))
            last = night
        self.records["student_profiles"].append(record)
        return record

    def _wrong_institution_profile(self) -> None:
        """A profile sent under the wrong institution, deleted two weeks later."""
        for record in self.records["student_profiles"]:
            student = record.student
            if (
                record.institution == "UOL"
                and "LJMU" not in student.traits
                and (record.event_day >= date(2024, 3, 1))
            ):
                first = record.versions[0]
                wrong = _Record("student_profiles", record.event_day, student, "LJMU", [])
                row = {**first.row, "institution_code": "LJMU"}
                wrong.versions.append(_Version(first.at, row, first.night))
                self.records["student_profiles"].append(wrong)
                self._delete(wrong, 14)
                return

    def bad_rows(self) -> None:
        """Make planned rows break the contract; each record gets at most one."""
        for plan in _BAD_ROWS:
            candidates = [r for r in self.records[plan.source] if self._fits(r, plan)]
            self.rng.shuffle(candidates)
            if not any(self._spoil(r, plan) for r in candidates):
                raise AssertionError(f"no record fits {plan}")

    def _fits(self, record: _Record, plan: _BadRow) -> bool:
        if record.tag != plan.tag or id(record) in self.used:
            return False
        if not plan.window[0] <= record.event_day <= plan.window[1]:
            return False
        placed = len(record.placed)
        enough = placed == 1 if plan.position == "only" else placed >= 2
        return enough and all(night < _QUIET_FROM for night, _ in record.placed)

    def _spoil(self, record: _Record, plan: _BadRow) -> bool:
        night, target = record.placed[0 if plan.position == "first" else -1]
        if plan.kind == "duplicate_id":
            rows = self.files[plan.source][night]
            twin = _FileRow(target.key, dict(target.row), plan.kind)
            target.bad = plan.kind
            rows.insert(rows.index(target) + 1, twin)
            count = 2
        else:
            spoiled = _spoiled(plan.kind, plan.source, target.row, night)
            if spoiled is None:
                return False
            target.row, target.bad, count = spoiled, plan.kind, 1
        self.used.add(id(record))
        self.bad[plan.kind] += count
        self.bad_by_source[plan.source] += count
        return True

    # ------------------------------------------------------------------ deliveries

    def deliveries(self) -> _Plan:
        """Render every file and decide when each version arrives."""
        late = {self._late_name(s, d): days for s, d, days in _LATE}
        resend, corrected = self._special(_RESEND), self._special(_CORRECTED)
        rejected = _file_name(_REJECTED[0], _REJECTED[1])
        extra = self._extra_column_files()
        out: list[_Delivery] = []
        for source, files in self.files.items():
            for night, rows in files.items():
                name = _file_name(source, night)
                missing = _REJECTED[2] if name == rejected else None
                content = _render(_SPECS[source], rows, name in extra, missing)
                if name == corrected[0]:
                    out.append(self._uncorrected(source, night, rows))
                    out.append(_Delivery(name, source, corrected[1], content, len(rows)))
                    continue
                out.append(
                    _Delivery(
                        name, source, night + timedelta(late.get(name, 0)), content, len(rows)
                    )
                )
                if name == resend[0]:
                    out.append(_Delivery(name, source, resend[1], content, len(rows)))
        out.sort(key=lambda d: (d.arrival, d.name))
        if rejected not in {d.name for d in out} or out[-1].arrival > DEMO_END:
            raise AssertionError("the special deliveries do not fit the demo's last week")
        return _Plan(
            deliveries=tuple(out),
            students=len({r.student.ref for r in self.records["student_profiles"]}),
            bad_rows=dict(sorted(self.bad.items())),
            bad_rows_by_source={s: self.bad_by_source[s] for s in SOURCES},
            deleted_records={s: self.deleted[s] for s in SOURCES},
            missing_nights=dict(self.missing),
            extra_column_files=tuple(sorted(extra)),
            rejected_file=rejected,
            resent_file=resend[0],
            corrected_file=corrected[0],
            late_files=tuple(late),
            calibration_traps=tuple(self.traps),
        )

    def _first_file(self, source: str, on_or_after: date) -> date:
        """The first night on or after a date with a file holding rows."""
        return next(n for n, rows in self.files[source].items() if n >= on_or_after and rows)

    def _late_name(self, source: str, on_or_after: date) -> str:
        return _file_name(source, self._first_file(source, on_or_after))

    def _special(self, plan: tuple[str, date, int]) -> tuple[str, date]:
        """(file name, arrival of its second delivery) for a re-send or a correction."""
        source, night, days = plan
        if not self.files[source].get(night):
            raise AssertionError(f"no {source} file with rows on {night}")
        return _file_name(source, night), night + timedelta(days=days)

    def _uncorrected(self, source: str, night: date, rows: list[_FileRow]) -> _Delivery:
        """The first, wrong delivery: two rows short, one row under the wrong institution."""
        first = rows[0].row
        wrong = "LJMU" if first["institution_code"] != "LJMU" else "UOL"
        shortened = [_FileRow(rows[0].key, {**first, "institution_code": wrong}), *rows[1:-2]]
        content = _render(_SPECS[source], shortened, False, None)
        return _Delivery(_file_name(source, night), source, night, content, len(shortened))

    def _extra_column_files(self) -> set[str]:
        """A few files whose export added a free-text column (harmless synthetic notes)."""
        source, start, count, column = _EXTRA_COLUMN
        nights = [n for n, rows in self.files[source].items() if n >= start and rows][:count]
        for night in nights:
            for row in self.files[source][night]:
                row.row[column] = self.rng.choice(_NOTES)
        return {_file_name(source, n) for n in nights}


def _spoiled(kind: str, source: str, row: dict[str, str], night: date) -> dict[str, str] | None:
    """A copy of ``row`` breaking the contract in one way, or None if it cannot here."""
    new = dict(row)
    if kind == "invalid_nhs_number":
        digits = normalise(row["student_ref"])
        typo = digits[:9] + str((int(digits[9]) + 3) % 10)  # one digit mistyped
        new["student_ref"] = _spaced(typo) if " " in row["student_ref"] else typo
    elif kind == "unknown_code":
        column, value = _UNKNOWN_CODE[source]
        new[column] = value
    elif kind == "code_wrong_case":
        column = _WRONG_CASE_COLUMN[source]
        value = row[column]
        new[column] = value.capitalize() if value.isupper() else value.upper()
    elif kind == "code_with_spaces":
        new["domicile"] = row["domicile"] + " "
    elif kind == "date_wrong_format":
        column = _DATE_COLUMN[source]
        new[column] = date.fromisoformat(row[column]).strftime("%d/%m/%Y")
    elif kind == "informed_before_presented":
        if not row["university_informed_at"]:
            return None
        presented = datetime.fromisoformat(row["presented_at"])
        new["university_informed_at"] = _ts(presented - timedelta(hours=3))
    elif kind == "pathway_before_discussed":
        if not row["pathway_started_on"]:
            return None
        discussed = date.fromisoformat(row["discussed_on"])
        new["pathway_started_on"] = (discussed - timedelta(days=2)).isoformat()
    elif kind == "missing_required":
        new["agreed_pathway"] = ""
    elif kind == "core10_out_of_range":
        if not row["core10_start"]:
            return None
        new["core10_start"] = "41"
    elif kind == "future_date":
        if row["first_appointment_on"]:
            return None
        new["first_appointment_on"] = (night + timedelta(days=10)).isoformat()
    elif kind == "integer_out_of_range":
        new["year_of_study"] = "8"
    else:
        raise ValueError(f"unknown bad-row kind {kind}")
    return new


def _render(spec: _SourceSpec, rows: list[_FileRow], extra: bool, missing: str | None) -> bytes:
    """One file's bytes: the source's column order, line ends, quoting and BOM."""
    columns = [c for c in spec.columns if c != missing] + ([_EXTRA_COLUMN[3]] if extra else [])
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if spec.quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, lineterminator=spec.line_end, quoting=quoting)
    writer.writerow(columns)
    writer.writerows([r.row.get(c, "") for c in columns] for r in rows)
    return (("\ufeff" if spec.bom else "") + buffer.getvalue()).encode("utf-8")


# ------------------------------------------------------------------ code lists and mixes

_SETTINGS = {
    "emergency_department": 0.5,
    "crisis_line": 0.15,
    "urgent_gp": 0.12,
    "nhs_111": 0.15,
    "other": 0.08,
}
_LIAISON_OUTCOMES = {"brief_intervention": 0.35, "signposting": 0.3, "referral": 0.35}
_LIAISON_REFERRED_TO = {
    "talking_therapies": 0.25,
    "university_wellbeing": 0.25,
    "community_mental_health": 0.15,
    "ucope": 0.12,
    "crisis_team": 0.1,
    "gp": 0.08,
    "third_sector": 0.05,
}
_PATHWAYS = {
    "university_wellbeing": 0.5,
    "talking_therapies": 0.2,
    "gp": 0.15,
    "third_sector": 0.15,
}
_REFERRAL_SOURCES = {
    "gp": 0.34,
    "self": 0.26,
    "university_wellbeing": 0.24,
    "emergency_department": 0.05,
    "student_union": 0.06,
    "other": 0.05,
}
_SERVICE_BY_SOURCE = {
    "gp": {
        "talking_therapies": 0.55,
        "community_mental_health": 0.15,
        "university_wellbeing": 0.15,
        "third_sector": 0.1,
        "crisis_team": 0.05,
    },
    "self": {"university_wellbeing": 0.6, "talking_therapies": 0.35, "third_sector": 0.05},
    "university_wellbeing": {
        "talking_therapies": 0.45,
        "gp": 0.2,
        "community_mental_health": 0.15,
        "third_sector": 0.1,
        "ucope": 0.1,
    },
    "emergency_department": {
        "crisis_team": 0.4,
        "community_mental_health": 0.3,
        "ucope": 0.2,
        "talking_therapies": 0.1,
    },
    "student_union": {"university_wellbeing": 0.7, "third_sector": 0.3},
    "other": {"talking_therapies": 0.4, "university_wellbeing": 0.3, "third_sector": 0.3},
}
#: Median wait in days and log-normal spread, per service.
_WAITS = {
    "university_wellbeing": (9, 0.6),
    "talking_therapies": (30, 0.75),
    "community_mental_health": (35, 0.6),
    "crisis_team": (1, 0.9),
    "gp": (5, 0.5),
    "third_sector": (14, 0.6),
    "ucope": (8, 0.5),
}
_REFERRAL_OUTCOMES = {
    "seen": 0.63,
    "did_not_attend": 0.11,
    "declined": 0.07,
    "signposted": 0.09,
    "withdrawn": 0.1,
}
_UCOPE_SOURCES = {
    "gp": 0.3,
    "self": 0.2,
    "university_wellbeing": 0.25,
    "liaison_service": 0.12,
    "emergency_department": 0.08,
    "student_union": 0.03,
    "other": 0.02,
}
_DISCHARGE_REASONS = {"completed": 0.64, "disengaged": 0.22, "transferred": 0.08, "declined": 0.06}
#: Per discharge reason: chance CORE-10 is measured at discharge, mean and spread of the drop.
_CORE10_CHANGE = {
    "completed": (0.9, 9.0, 5.0),
    "disengaged": (0.35, 3.0, 4.0),
    "transferred": (0.5, 1.0, 4.0),
    "declined": (0.0, 0.0, 0.0),
}


# ------------------------------------------------------------------------- writing


@cache
def _plan() -> _Plan:
    """The whole demo, built once per process (it is deterministic, so caching is safe)."""
    gen = _Generator()
    gen.liaison()
    gen.referrals()
    gen.ucope()
    gen.decoys()
    gen.deletions()
    gen.number()
    for source in SOURCES:
        gen.schedule(source)
    for source in SOURCES[:-1]:
        gen.lay_out(source)
    gen.profiles()
    gen.lay_out("student_profiles")
    gen.bad_rows()
    return gen.deliveries()


def _previous_cutoff(
    on_disk: Mapping[str, bytes], versions: Mapping[str, list[_Delivery]]
) -> date | None:
    """The last arrival night already written to ``out``, inferred from the files there.

    A file's bytes tell which of its versions is on disk; the earliest night those bytes
    arrived is a night the previous call had reached. None when nothing of ours is there.
    """
    latest: date | None = None
    for name, data in on_disk.items():
        arrivals = [v.arrival for v in versions[name] if v.content == data]
        if arrivals:
            latest = max(latest or min(arrivals), min(arrivals))
    return latest


def write_demo_extracts(out: Path, arrived_by: date | None = None) -> DemoSummary:
    """Write the demo's extracts as they stood on the night ``arrived_by`` (None: all).

    Each file name gets its latest version arrived by then. Incremental: a file already
    there with the same bytes is left alone (mtime and all), unless a delivery of it
    arrived after the previous call's night (a re-send is rewritten with the same bytes,
    which is what a re-send is); a corrected re-delivery overwrites. Never deletes.
    """
    started = clock.perf_counter()
    plan = _plan()
    cutoff = arrived_by or DEMO_END
    versions: dict[str, list[_Delivery]] = defaultdict(list)
    for delivery in plan.deliveries:
        versions[delivery.name].append(delivery)
    on_disk = {name: (out / name).read_bytes() for name in versions if (out / name).is_file()}
    previous = _previous_cutoff(on_disk, versions)
    written = unchanged = header_only = 0
    rows: Counter[str] = Counter()
    for name, deliveries in versions.items():
        arrived = [d for d in deliveries if d.arrival <= cutoff]
        if not arrived:
            continue
        target = arrived[-1]
        rows[target.source] += target.rows
        header_only += int(target.rows == 0)
        fresh = previous is None or any(d.arrival > previous for d in arrived)
        if on_disk.get(name) == target.content and not fresh:
            unchanged += 1
            continue
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(target.content)
        written += 1
    return DemoSummary(
        out=out,
        arrived_by=arrived_by,
        files=written + unchanged,
        files_written=written,
        files_unchanged=unchanged,
        rows_by_source={s: rows[s] for s in SOURCES},
        header_only_files=header_only,
        students=plan.students,
        bad_rows=plan.bad_rows,
        bad_rows_by_source=plan.bad_rows_by_source,
        deleted_records=plan.deleted_records,
        missing_nights=plan.missing_nights,
        extra_column_files=plan.extra_column_files,
        rejected_file=plan.rejected_file,
        resent_file=plan.resent_file,
        corrected_file=plan.corrected_file,
        late_files=plan.late_files,
        calibration_traps=plan.calibration_traps,
        funded_liaison_students=FUNDED_LIAISON_STUDENTS,
        funded_ucope_students=FUNDED_UCOPE_STUDENTS,
        seconds=round(clock.perf_counter() - started, 2),
    )
