"""The services' records: liaison contacts, case discussions, referrals, U-COPE episodes.

Each service turns sampled days (``volume``) and students (``population.Caseload``) into
records whose versions follow a plausible course: a liaison contact is created after the
student presents, and the university is told mostly the next working day; a referral waits
(log-normal, lengthening as demand grows), then is seen, closed or not attended; a U-COPE
episode is assessed, runs up to six weekly sessions and is discharged with CORE-10 scores.
A liaison contact may lead to a referral and a case discussion at the weekly meeting.

Liaison contacts and U-COPE episodes are calibrated: the funded period has a fixed number of
events, exactly ``FUNDED_LIAISON_STUDENTS`` / ``FUNDED_UCOPE_STUDENTS`` of them by students
new to the service, with one boundary event on the period's last day (counted) and one on
the next day (not counted). Every service makes its funded-period records first
(``Services.run_funded``) and the years after it, up to the demo's end, later
(``Services.run_after``, from a restarted stream), so the funded period never depends on the
end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from smhp import academic_year
from smhp.demo.population import Caseload, Student, pick
from smhp.demo.records import Event, Record, RecordBook
from smhp.demo.timeline import (
    DEMO_START,
    FUNDED_LIAISON_STUDENTS,
    FUNDED_PERIOD,
    FUNDED_UCOPE_STUDENTS,
    meeting_on_or_after,
    office_at,
    timestamp,
    working_day,
)
from smhp.demo.volume import (
    FUNDED_LIAISON_CONTACTS,
    FUNDED_UCOPE_EPISODES,
    LIAISON_PER_1000,
    NIGHT_HOURS,
    OFFICE,
    REFERRALS_PER_1000,
    UCOPE_PER_1000,
    URGENT,
    Rhythm,
    expected,
    sample,
)

Changes = list[tuple[datetime, dict[str, str]]]
_FUNDED_END = FUNDED_PERIOD[1]
_AFTER_FUNDED = _FUNDED_END + timedelta(days=1)  # the first day after the funded period


class _Service:
    """What every service shares: the record book, the caseload and the one random stream."""

    def __init__(self, book: RecordBook, caseload: Caseload) -> None:
        self.book = book
        self.caseload = caseload
        self.rng = book.rng


@dataclass(frozen=True)
class _Calibration:
    """A calibrated service: its funded-period events and students, and its later rate."""

    funded_events: int
    funded_students: int
    last_day: Event  # on the funded period's last day, by a new student: counted
    next_day: Event  # on the day after, by a new student: not counted
    rhythm: Rhythm
    per_1000: float  # events per 1,000 students per year after the funded period


class _CalibratedService(_Service):
    """A service whose funded period must give exactly ``calibration.funded_students``."""

    source: str
    calibration: _Calibration
    hours: Sequence[float] | None = None  # events timed by hour of day, else at midnight

    def run_funded(self) -> None:
        """The funded period: a fixed number of events, exactly the calibrated new students."""
        c = self.calibration
        cells = sample(self.rng, c.funded_events - 1, DEMO_START, _FUNDED_END, c.rhythm)
        self._run(cells, c.last_day, c.funded_students)

    def run_after(self, end: date) -> None:
        """The years after the funded period, to the demo's last night, at the later rate."""
        c = self.calibration
        n = expected(_AFTER_FUNDED, end, c.rhythm, c.per_1000)
        self._run(sample(self.rng, n, _AFTER_FUNDED, end, c.rhythm), c.next_day, None)

    def _run(self, cells: list[tuple[date, str]], boundary: Event, exactly: int | None) -> None:
        """Time the sampled days, add the boundary event (always a new student), build."""
        events = [
            self._timed(day, inst) if self.hours else Event(datetime.combine(day, time()), inst)
            for day, inst in cells
        ]
        events.append(boundary)
        events.sort(key=lambda e: (e.at, e.inst))
        forced = [i for i, e in enumerate(events) if e is boundary]
        students = self.caseload.assign(self.source, events, exactly=exactly, forced=forced)
        for event, student in zip(events, students, strict=True):
            self.add(student, event)

    def _timed(self, day: date, inst: str) -> Event:
        hour = self.rng.choices(range(24), weights=self.hours)[0]
        moment = time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59))
        return Event(datetime.combine(day, moment), inst)

    def add(self, student: Student, event: Event) -> Record:
        raise NotImplementedError


# -------------------------------------------------------------------- case discussions


class Discussions(_Service):
    """Joint case discussions at the weekly meeting, after a contact or a referral."""

    def add(
        self, student: Student, inst: str, after: date, contact: Record | None, pathway: str
    ) -> None:
        """A joint case discussion at a weekly meeting; the pathway mostly starts in 14 days."""
        rng = self.rng
        meeting = meeting_on_or_after(after + timedelta(days=1))
        if rng.random() < 0.3:
            meeting = meeting_on_or_after(meeting + timedelta(days=7))
        at = datetime.combine(meeting, time(rng.randint(13, 16), rng.randint(0, 59)))
        changes: Changes = [(at, {})]
        draw = rng.random()
        if draw < 0.92:
            started = meeting + timedelta(
                days=rng.randint(0, 14) if draw < 0.8 else rng.randint(15, 45)
            )
            recorded = meeting_on_or_after(started)  # noted at the next meeting
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
        record = self.book.add("case_discussions", student, inst, meeting, base, changes)
        if contact is not None:
            record.links["contact_id"] = contact


# --------------------------------------------------------------------------- referrals


class Referrals(_Service):
    """Referrals into services from GPs, self-referral, university teams and others."""

    def __init__(self, book: RecordBook, caseload: Caseload, discussions: Discussions) -> None:
        super().__init__(book, caseload)
        self.discussions = discussions

    def run(self, start: date, end: date) -> None:
        """The referrals made directly in a window (liaison's referrals come with contacts)."""
        n = expected(start, end, OFFICE, REFERRALS_PER_1000)
        cells = sample(self.rng, n, start, end, OFFICE)
        events = [Event(datetime.combine(day, time()), inst) for day, inst in cells]
        for event, student in zip(events, self.caseload.assign("referrals", events), strict=True):
            source = pick(self.rng, _REFERRAL_SOURCES)
            service = pick(self.rng, _SERVICE_BY_SOURCE[source])
            self.add(student, event.inst, event.day, source, service)

    def add(
        self, student: Student, inst: str, referred_on: date, source: str, service: str
    ) -> None:
        """Created `waiting`; later seen (and perhaps closed), or closed another way."""
        rng = self.rng
        if source == "liaison_service":
            self.caseload.logs["referrals"].add(referred_on, inst, student)
        lag = timedelta(days=rng.choice((0, 0, 0, 1, 1, 2)))
        changes: Changes = [(office_at(rng, referred_on + lag), {})]
        outcome = pick(rng, _REFERRAL_OUTCOMES)
        wait = self._wait_days(service, referred_on)
        appointment = referred_on + timedelta(days=wait)
        if outcome == "seen":
            changes.append(
                (
                    office_at(rng, appointment),
                    {"outcome": "seen", "first_appointment_on": appointment.isoformat()},
                )
            )
            if rng.random() < 0.45:
                closed = appointment + timedelta(days=rng.randint(28, 150))
                changes.append((office_at(rng, closed), {"closed_on": closed.isoformat()}))
        else:
            closed = appointment + timedelta(days=rng.randint(0, 14))
            if outcome != "did_not_attend":
                closed = referred_on + timedelta(days=min(wait, rng.randint(1, 21)))
            changes.append(
                (office_at(rng, closed), {"outcome": outcome, "closed_on": closed.isoformat()})
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
        self.book.add("referrals", student, inst, referred_on, base, changes)
        if source == "university_wellbeing" and rng.random() < 0.05:
            self.discussions.add(student, inst, referred_on, None, service)

    def _wait_days(self, service: str, referred_on: date) -> int:
        """Log-normal waits around the service's median, lengthening as demand grows."""
        median, spread = _WAITS[service]
        pressure = 1 + 0.04 * (academic_year.start_year(referred_on) - 2019)
        return max(0, round(median * pressure * math.exp(self.rng.gauss(0, spread))))


# ---------------------------------------------------------------------- liaison contacts


class Contacts(_CalibratedService):
    """Students presenting at urgent care; a referral and a case discussion may follow.

    The funded period has a fixed number of contacts, exactly FUNDED_LIAISON_STUDENTS
    of them by students new to the service, one of them at 23:45 on its last day.
    """

    source = "liaison_contacts"
    hours = NIGHT_HOURS
    calibration = _Calibration(
        FUNDED_LIAISON_CONTACTS,
        FUNDED_LIAISON_STUDENTS,
        last_day=Event(datetime(2022, 7, 31, 23, 45, 12), "UOL"),
        next_day=Event(datetime(2022, 8, 1, 0, 20, 41), "LJMU"),
        rhythm=URGENT,
        per_1000=LIAISON_PER_1000,
    )

    def __init__(
        self,
        book: RecordBook,
        caseload: Caseload,
        referrals: Referrals,
        discussions: Discussions,
    ) -> None:
        super().__init__(book, caseload)
        self.referrals = referrals
        self.discussions = discussions

    def base(self, inst: str, presented: datetime, outcome: str) -> dict[str, str]:
        """A new contact's row before any change: where the student presented, and the outcome."""
        referred_to = pick(self.rng, _LIAISON_REFERRED_TO) if outcome == "referral" else ""
        return {
            "contact_id": "",
            "institution_code": inst,
            "presented_at": timestamp(presented),
            "setting": pick(self.rng, _SETTINGS),
            "outcome": outcome,
            "referred_to": referred_to,
            "university_informed_at": "",
        }

    def add(
        self, student: Student, event: Event, *, tag: str = "", follow_up: bool = True
    ) -> Record:
        """A contact (a decoy when ``tag`` is set), and its referral and discussion if any."""
        rng = self.rng
        presented = event.at
        base = self.base(event.inst, presented, pick(rng, _LIAISON_OUTCOMES))
        created = presented + timedelta(minutes=rng.randint(30, 16 * 60))
        changes: Changes = [(created, {})]
        informed = None if tag else self._informed_at(presented)
        if informed is not None:
            told = {"university_informed_at": timestamp(informed)}
            if informed <= created:
                changes = [(created, told)]
            else:
                changes.append((informed + timedelta(minutes=rng.randint(2, 45)), told))
        record = self.book.add(
            "liaison_contacts", student, event.inst, presented.date(), base, changes, tag
        )
        if follow_up and record.versions:
            referred_to = base["referred_to"]
            if referred_to:
                self.referrals.add(
                    student, event.inst, created.date(), "liaison_service", referred_to
                )
            if rng.random() < 0.4:
                pathway = referred_to if referred_to and rng.random() < 0.7 else ""
                pathway = pathway or pick(rng, _PATHWAYS)
                self.discussions.add(student, event.inst, presented.date(), record, pathway)
        return record

    def _informed_at(self, presented: datetime) -> datetime | None:
        """When the university team was told: mostly the next working day, some later."""
        draw = self.rng.random()
        if draw < 0.1:
            return None
        day = presented.date()
        office_hours = day == working_day(day) and 8 <= presented.hour < 15
        if draw < 0.85:
            if not (office_hours and self.rng.random() < 0.5):
                day = working_day(day + timedelta(days=1))
        else:
            day = day + timedelta(days=self.rng.randint(3, 9))
        informed = office_at(self.rng, day)
        return max(informed, presented + timedelta(minutes=self.rng.randint(20, 120)))


# ---------------------------------------------------------------------- U-COPE episodes


class Episodes(_CalibratedService):
    """U-COPE episodes; the funded period has exactly FUNDED_UCOPE_STUDENTS students."""

    source = "ucope_episodes"
    calibration = _Calibration(
        FUNDED_UCOPE_EPISODES,
        FUNDED_UCOPE_STUDENTS,
        last_day=Event(datetime(2022, 7, 31), "LJMU"),
        next_day=Event(datetime(2022, 8, 1), "UOL"),
        rhythm=OFFICE,
        per_1000=UCOPE_PER_1000,
    )

    def add(
        self, student: Student, event: Event, *, tag: str = "", progress: bool = True
    ) -> Record:
        """An episode (a decoy when ``tag`` is set) and, if it progresses, its course."""
        rng = self.rng
        referred_on = event.day
        created = office_at(rng, referred_on + timedelta(days=rng.choice((0, 0, 1, 2))))
        base = {
            "episode_id": "",
            "institution_code": event.inst,
            "referral_source": pick(rng, _UCOPE_SOURCES),
            "referred_on": referred_on.isoformat(),
            "assessed_on": "",
            "discharged_on": "",
            "discharge_reason": "",
            "sessions_attended": "0",
            "core10_start": "",
            "core10_end": "",
        }
        changes = [(created, {})] + (self._course(referred_on) if progress else [])
        return self.book.add("ucope_episodes", student, event.inst, referred_on, base, changes, tag)

    def _course(self, referred_on: date) -> Changes:
        """Assessment (mostly within 14 days), up to six weekly sessions, discharge."""
        rng = self.rng
        if rng.random() < 0.06:  # never assessed
            end = referred_on + timedelta(days=rng.randint(7, 28))
            return [
                (
                    office_at(rng, end),
                    {"discharged_on": end.isoformat(), "discharge_reason": "declined"},
                )
            ]
        delay = rng.randint(2, 14) if rng.random() < 0.86 else rng.randint(15, 40)
        assessed = working_day(referred_on + timedelta(days=delay))
        start = min(38, max(6, round(rng.gauss(22, 5)))) if rng.random() < 0.95 else None
        steps = [
            (
                office_at(rng, assessed),
                {"assessed_on": assessed.isoformat(), "core10_start": str(start or "")},
            )
        ]
        reason = pick(rng, _DISCHARGE_REASONS)
        sessions = {
            "completed": 6,
            "disengaged": rng.randint(1, 4),
            "transferred": rng.randint(0, 3),
            "declined": 0,
        }[reason]
        if sessions >= 3:
            third = office_at(rng, assessed + timedelta(weeks=3))
            steps.append((third, {"sessions_attended": "3"}))
        gap = rng.randint(21, 35) if reason == "disengaged" else rng.randint(1, 10)
        end = assessed + timedelta(weeks=sessions, days=gap)
        discharge = {
            "discharged_on": end.isoformat(),
            "discharge_reason": reason,
            "sessions_attended": str(sessions),
            "core10_end": self._core10_end(start, reason),
        }
        steps.append((office_at(rng, end), discharge))
        return steps

    def _core10_end(self, start: int | None, reason: str) -> str:
        """CORE-10 at discharge: completers mostly improve; others less often measured."""
        recorded, mean, spread = _CORE10_CHANGE[reason]
        if start is None or self.rng.random() >= recorded:
            return ""
        return str(min(40, max(0, start - round(self.rng.gauss(mean, spread)))))


# ---------------------------------------------------------------------- all of them


@dataclass(frozen=True)
class Services:
    """The four services, wired so that a contact's follow-ups land in the right service."""

    contacts: Contacts
    referrals: Referrals
    episodes: Episodes

    @classmethod
    def open(cls, book: RecordBook, caseload: Caseload) -> Services:
        discussions = Discussions(book, caseload)
        referrals = Referrals(book, caseload, discussions)
        return cls(
            Contacts(book, caseload, referrals, discussions),
            referrals,
            Episodes(book, caseload),
        )

    def run_funded(self) -> None:
        """Every service's records of the funded period (the order fixes the random stream)."""
        self.contacts.run_funded()
        self.referrals.run(DEMO_START, _FUNDED_END)
        self.episodes.run_funded()

    def run_after(self, end: date) -> None:
        """Every service's records after the funded period, to the demo's last night."""
        self.contacts.run_after(end)
        self.referrals.run(_AFTER_FUNDED, end)
        self.episodes.run_after(end)


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
