"""The demo's population: institutions, students, their traits, and who each service sees.

Six partner institutions (UOL and LJMU from the start, four joining in autumn 2022) with
their enrolment, international share and study levels. Each synthetic student is a unique
valid NHS number of the 999 test range (checked by ``smhp.pipeline.nhs_number``, the same
rule the ingest applies) with coarse traits per institution drawn the year they are first
seen; some move on from a feeder partner (UOLIC to UOL, undergraduates to LSTM masters).

The ``Caseload`` decides the student of each event: someone new to the service, a repeat
seen recently at the same institution, or a student already known to another service; a
calibrated window gets exactly the number of new students asked for. ``add_profiles`` builds
the student_profiles extract's records: a profile delivered on the last profile night on or
before a student's first record at an institution, and again before their first record in
each later academic year (the year of study moves on).
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from smhp import academic_year
from smhp.demo.records import Event, Record, RecordBook, Version
from smhp.demo.sources import EVENT_SOURCES
from smhp.demo.timeline import timestamp
from smhp.pipeline.nhs_number import check_digit

# ---------------------------------------------------------------------- institutions


@dataclass(frozen=True)
class Institution:
    code: str
    enrolment: int
    first_day: date  # first day of demo activity (joining is 2022/23 for four of them)
    international: float  # share of international students
    levels: Mapping[str, float]


INSTITUTIONS = {
    i.code: i
    for i in (
        Institution(
            "UOL",
            30_000,
            date(2019, 9, 2),
            0.28,
            {"undergraduate": 0.70, "postgraduate_taught": 0.20, "postgraduate_research": 0.10},
        ),
        Institution(
            "LJMU",
            26_000,
            date(2019, 9, 2),
            0.14,
            {"undergraduate": 0.82, "postgraduate_taught": 0.14, "postgraduate_research": 0.04},
        ),
        Institution(
            "HOPE",
            5_500,
            date(2022, 9, 19),
            0.08,
            {"undergraduate": 0.80, "postgraduate_taught": 0.15, "postgraduate_research": 0.05},
        ),
        Institution(
            "LIPA",
            1_000,
            date(2022, 10, 3),
            0.15,
            {"undergraduate": 0.93, "postgraduate_taught": 0.07},
        ),
        Institution(
            "LSTM",
            800,
            date(2022, 9, 26),
            0.55,
            {"postgraduate_taught": 0.70, "postgraduate_research": 0.30},
        ),
        Institution(
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
class Traits:
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
class Student:
    """One synthetic student, with their traits and first day at each institution."""

    ref: str  # ten digits, valid check digit
    traits: dict[str, Traits] = field(default_factory=dict)
    first_day: dict[str, date] = field(default_factory=dict)


def pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One value of a mix, drawn by weight (mixes are dicts: their order never changes)."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def draw_traits(
    rng: random.Random, inst: str, academic_year: int, moved_from: Traits | None
) -> Traits:
    """A new student's profile; one moving on from a partner keeps who they are."""
    if moved_from is not None:
        level = "postgraduate_taught" if inst == "LSTM" else "undergraduate"
        if moved_from.study_level == "postgraduate_taught":
            level = "postgraduate_research" if inst == "LSTM" else "postgraduate_taught"
        year = 2 if (inst, moved_from.study_level) == ("UOL", "undergraduate") else 1
        age = max(moved_from.age_index, 1 if inst == "LSTM" else 0)
        return Traits(
            academic_year,
            level,
            year,
            age,
            moved_from.sex,
            moved_from.ethnic_group,
            moved_from.domicile,
        )
    spec = INSTITUTIONS[inst]
    level = pick(rng, spec.levels)
    year = int(pick(rng, {str(y): w for y, w in _FIRST_YEAR[level].items()}))
    international = rng.random() < spec.international
    ages = _AGE_WEIGHTS[level]
    if level == "undergraduate" and year > 1:
        ages = (0.45, 0.43, 0.06, 0.06)
    return Traits(
        academic_year,
        level,
        year,
        rng.choices(range(4), weights=ages)[0],
        pick(rng, _SEX),
        pick(rng, _ETHNIC_INTERNATIONAL if international else _ETHNIC_HOME),
        "international" if international else "home",
    )


class Pool:
    """Every synthetic student: unique valid NHS numbers of the 999 test range."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._taken: set[str] = set()  # membership only, never iterated
        self.at: dict[str, list[Student]] = defaultdict(list)

    def _new_ref(self) -> str:
        while True:
            nine = f"999{self.rng.randrange(10**6):06d}"
            check = check_digit(nine)
            if check is not None and nine + str(check) not in self._taken:
                self._taken.add(nine + str(check))
                return nine + str(check)

    def new(self, inst: str, day: date, *, listed: bool = True) -> Student:
        """A new student at ``inst``; one not ``listed`` is never picked by a service later
        (a calibration decoy: a student seen nowhere else)."""
        student = Student(self._new_ref())
        self.enrol(student, inst, day, listed=listed)
        return student

    def enrol(
        self,
        student: Student,
        inst: str,
        day: date,
        moved_from: Traits | None = None,
        *,
        listed: bool = True,
    ) -> None:
        student.first_day[inst] = day
        student.traits[inst] = draw_traits(
            self.rng, inst, academic_year.start_year(day), moved_from
        )
        if listed:
            self.at[inst].append(student)

    def known(self, inst: str, day: date, exclude: Mapping[str, object]) -> Student | None:
        """A student seen at ``inst`` in the past year and not in ``exclude``, if one turns up."""
        students = self.at[inst]
        for _ in range(12 if students else 0):
            student = self.rng.choice(students)
            age = (day - student.first_day[inst]).days
            if 0 <= age <= 365 and student.ref not in exclude:
                return student
        return None

    def moving_on(self, inst: str, day: date, exclude: Mapping[str, object]) -> Student | None:
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
class ServiceLog:
    """Who a service has seen so far, per institution, in the order they were seen."""

    seen: dict[str, None] = field(default_factory=dict)
    by_inst: dict[str, list[tuple[date, Student]]] = field(default_factory=dict)

    def add(self, day: date, inst: str, student: Student) -> None:
        self.seen[student.ref] = None
        self.by_inst.setdefault(inst, []).append((day, student))


# --------------------------------------------------------------------- who is seen

#: Share of later events that are a student new to the service (the rest are repeats).
_NEW_SHARE = {"liaison_contacts": 0.8, "referrals": 0.85, "ucope_episodes": 0.9}
#: Chance that a student new to a service is one already known to another service.
_CROSS_SERVICE = {"liaison_contacts": 0.1, "referrals": 0.1, "ucope_episodes": 0.35}


class Caseload:
    """Who each service sees: every student, and each service's log of whom it has seen."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = Pool(rng)
        self.logs = {s: ServiceLog() for s in _NEW_SHARE}

    def assign(
        self,
        service: str,
        events: list[Event],
        *,
        exactly: int | None = None,
        forced: Sequence[int] = (),
    ) -> list[Student]:
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
        events: list[Event],
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

    def _repeat(self, log: ServiceLog, event: Event) -> Student | None:
        earlier = [(d, s) for d, s in log.by_inst.get(event.inst, [])[-60:] if d <= event.day]
        recent = [s for d, s in earlier if (event.day - d).days <= 240]
        if recent or earlier:
            return self.rng.choice(recent or [s for _, s in earlier])
        return None

    def _newcomer(self, service: str, event: Event) -> Student:
        log = self.logs[service]
        draw = self.rng.random()
        student = None
        if draw < _TRANSFER_CHANCE.get(event.inst, 0.0):
            student = self.pool.moving_on(event.inst, event.day, log.seen)
        if student is None and draw < _CROSS_SERVICE[service]:
            student = self.pool.known(event.inst, event.day, log.seen)
        return student or self.pool.new(event.inst, event.day)


# -------------------------------------------------------------------------- profiles


def add_profiles(book: RecordBook, nights: Sequence[date]) -> None:
    """A profile before each student's first record at an institution, each year.

    ``nights`` are the student_profiles extract nights; the event records must already be
    placed in their nights' files (``delivery.Extracts.lay_out``).
    """
    firsts: dict[tuple[str, str], dict[int, date]] = {}
    students: dict[str, Student] = {}
    for source in EVENT_SOURCES:
        for record in book.by_source[source]:
            if not record.placed:  # changed too late for any extract of the demo
                continue
            students[record.student.ref] = record.student
            years = firsts.setdefault((record.student.ref, record.institution), {})
            for night, _ in record.placed:
                year = academic_year.start_year(night)
                years[year] = min(years.get(year, night), night)
    for (ref, inst), years in firsts.items():
        _profile(book, nights, students[ref], inst, years)


def _profile(
    book: RecordBook,
    nights: Sequence[date],
    student: Student,
    inst: str,
    years: dict[int, date],
) -> Record:
    """One student's profile record at one institution: a version per academic year.

    Drawn from a stream of its own, so a profile's earlier versions never depend on how many
    later years (or other students) the demo's end brings.
    """
    rng = book.rng
    rng.restart(f"profile:{student.ref}:{inst}")
    traits = student.traits[inst]
    record = Record("student_profiles", min(years.values()), student, inst, [])
    last: date | None = None
    for year in sorted(years):
        night = nights[bisect.bisect_right(nights, years[year]) - 1]
        if last is not None and night <= last:
            continue
        day = night - timedelta(days=rng.randint(0, 5))
        day = night if last is not None and day <= last else day
        moment = time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59))
        row = {
            "institution_code": inst,
            **traits.profile(year),
            "updated_at": timestamp(datetime.combine(day, moment)),
            "student_ref": book.ref_text(student),
            "record_status": "active",
        }
        record.versions.append(Version(datetime.combine(day, moment), row, night))
        last = night
    book.by_source["student_profiles"].append(record)
    return record
