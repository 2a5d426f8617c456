"""The demo's records as the partner systems hold them, before any file is written.

A record is one contact, case discussion, referral, U-COPE episode or student profile, with
every version it has had: a delta extract delivers the latest version per night as a full
row (``delivery`` decides which night). The ``RecordBook`` holds them all and is the one
place versions are made, so updated_at only ever moves forward and nothing changes after
the demo's last night. Which records exist is ``events`` (and ``population`` for profiles);
what goes wrong with them is ``messiness``. ``Stream`` is the one random stream they all
draw from.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from smhp.demo.sources import ID_COLUMN, ID_PREFIX, SOURCES
from smhp.demo.timeline import timestamp

if TYPE_CHECKING:  # a record's student; population builds its own records with this module
    from smhp.demo.population import Student


@dataclass
class Version:
    at: datetime  # updated_at
    row: dict[str, str]
    night: date | None = None  # extract night, when not simply the next one after `at`


@dataclass
class FileRow:
    key: str  # the record id as the ingest sees it
    row: dict[str, str]
    bad: str = ""  # the kind of contract breach, for the summary


@dataclass(eq=False)
class Record:
    source: str
    event_day: date
    student: Student
    institution: str
    versions: list[Version]
    tag: str = ""  # a calibration decoy: kept out of the generic messiness
    links: dict[str, Record] = field(default_factory=dict)  # column -> record whose id
    rid: str = ""
    placed: list[tuple[date, FileRow]] = field(default_factory=list)

    @property
    def key(self) -> str:
        if self.source == "student_profiles":
            return f"{self.student.ref}|{self.institution}"
        return self.rid


@dataclass(frozen=True)
class Event:
    """Something happening to a student at an institution: the start of a record."""

    at: datetime
    inst: str

    @property
    def day(self) -> date:
        return self.at.date()


class Stream(random.Random):
    """The demo's one random stream, restarted from a seed of its own by each step.

    Every part of the demo draws from this one generator, so the order of the draws is part
    of the data. A step that must not depend on how much an earlier step drew (the years
    after the funded period, which grow with the demo's end; each planted fault) calls
    ``restart`` first: from then on its draws depend only on the demo's seed and its name.
    """

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.base_seed = seed

    def restart(self, step: str) -> None:
        """Reseed from the demo's seed and the step's name (str seeds are stable across runs)."""
        self.seed(f"{self.base_seed}:{step}")


def spaced(digits: str) -> str:
    """The 3-3-4 spaced form of an NHS number some partners write (`999 123 4567`)."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


class RecordBook:
    """Every record of the demo, per source, in the order it was made."""

    def __init__(self, rng: Stream, end: date) -> None:
        self.rng = rng
        self.end = end  # the demo's last night: later changes have not happened yet
        self.by_source: dict[str, list[Record]] = {s: [] for s in SOURCES}

    def ref_text(self, student: Student) -> str:
        """The NHS number as one row writes it: some rows use the spaced 3-3-4 form."""
        return spaced(student.ref) if self.rng.random() < 0.12 else student.ref

    def add(
        self,
        source: str,
        student: Student,
        inst: str,
        event_day: date,
        base: dict[str, str],
        changes: Sequence[tuple[datetime, dict[str, str]]],
        tag: str = "",
    ) -> Record:
        """A record whose versions are ``base`` plus each change so far, in time order.

        Changes after the demo's end have not happened yet. Each version is a full row, as a
        delta extract delivers it; updated_at only ever moves forward.
        """
        record = Record(source, event_day, student, inst, [], tag)
        state = {**base, "record_status": "active"}
        last: datetime | None = None
        for at, change in changes:
            if last is not None and at <= last:
                at = last + timedelta(minutes=self.rng.randint(5, 90))
            if at.date() > self.end:
                break
            state.update(change)
            row = {**state, "updated_at": timestamp(at), "student_ref": self.ref_text(student)}
            record.versions.append(Version(at, row))
            last = at
        if record.versions:
            self.by_source[source].append(record)
        return record

    def number(self) -> None:
        """Ids in creation order, as a source system would issue them."""
        for source in ID_COLUMN:
            ordered = sorted(self.by_source[source], key=lambda r: r.versions[0].at)
            for n, record in enumerate(ordered, start=1):
                record.rid = f"{ID_PREFIX[source]}{n:06d}"
        for source in ID_COLUMN:
            for record in self.by_source[source]:
                for version in record.versions:
                    version.row[ID_COLUMN[source]] = record.rid
                    for column, linked in record.links.items():
                        version.row[column] = linked.rid
