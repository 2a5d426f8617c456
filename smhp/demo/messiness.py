"""The demo's deliberate faults: everything a pipeline must get right that real extracts do.

What it exercises is the extract contract (../shared/spec/extracts.md):

- ``Faults``: records deleted in a later extract (entered in error), bad rows of every
  kind the ingest must quarantine (each on a record that keeps a valid version, or on a
  decoy whose only row is bad), nights the extract job failed (the changes land in the next
  extract), and a profile sent under the wrong institution and deleted two weeks later.
- ``Decoys``: calibration traps around the funded counts: records that must *not* change
  them, each for its own reason (only record deleted, only row quarantined, a deletion with
  an unchanged updated_at, a late file, a date corrected out of the period). Their
  descriptions become ``DemoSummary.calibration_traps``.
- ``special_deliveries``: the last month's special files: late files, a byte-identical
  re-send, a corrected re-delivery (``uncorrected_rows`` is its first, wrong version), a
  file rejected whole (a required column missing), and a few files with an out-of-contract
  free-text column. ``delivery.arrivals`` applies them.

Bad rows, deletions and missing nights stay clear of the last month
(``Timeline.quiet_from``), so that each special delivery tells one story. They are planted
at the same places whatever the demo's end (before ``_FAULTS_UNTIL``, which every allowed end
leaves room for), each from a restarted stream (``records.Stream``); the special deliveries
follow the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from smhp.demo.events import Services
from smhp.demo.population import Pool
from smhp.demo.records import Event, FileRow, Record, RecordBook, Stream, Version, spaced
from smhp.demo.sources import file_name
from smhp.demo.timeline import EARLIEST_END, FUNDED_PERIOD, Timeline, office_at, timestamp
from smhp.pipeline.nhs_number import normalise

#: Every source's files: extract night -> rows, as ``delivery.Extracts`` lays them out.
Files = Mapping[str, dict[date, list[FileRow]]]

#: Missing nights and the yearly bad rows are planted before this night, the same for every
#: end: two months before the earliest end's quiet last month.
_FAULTS_UNTIL = Timeline(EARLIEST_END).quiet_from - timedelta(days=60)


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
    return date(y, 1, 1), min(date(y, 12, 31), _FAULTS_UNTIL)


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
#: (source, on or after, days late) over the years; one more in the last week (``_LAST_LATE``).
_LATE = (
    ("liaison_contacts", _LATE_TRAP_NIGHT, 3),
    ("referrals", date(2023, 3, 14), 4),
    ("case_discussions", date(2024, 5, 9), 6),
    ("ucope_episodes", date(2025, 1, 17), 10),
)


@dataclass(frozen=True)
class _LastWeek:
    """A special delivery around ``smhp demo``'s first load (``Timeline.first_load``).

    Its file is the source's last one with rows ``nights_before`` the first load (found
    among the source's own extract nights, so any end works); its late, re-sent or corrected
    delivery arrives ``arrives_after`` nights after the first load, so in the second.
    """

    source: str
    nights_before: int
    arrives_after: int

    def night_and_arrival(self, files: Files, first_load: date) -> tuple[date, date]:
        night = _last_file(files, self.source, first_load - timedelta(self.nights_before))
        return night, first_load + timedelta(self.arrives_after)


_LAST_LATE = _LastWeek("ucope_episodes", 0, 4)
_RESEND = _LastWeek("student_profiles", 0, 1)  # re-sent, byte-identical
_CORRECTED = _LastWeek("referrals", 2, 3)  # re-delivered corrected
#: The file rejected whole (a required column missing): the source's first night after the
#: first load.
_REJECTED = ("case_discussions", "agreed_pathway")
_EXTRA_COLUMN = ("referrals", date(2024, 2, 5), 3, "notes")  # 3 files from this night
_NOTES = (
    "Triaged by duty worker",
    'Awaiting letter, see "triage" note',
    "",
    "Phoned twice, no answer",
    "Transferred from paper form, checked",
)


# ----------------------------------------------------------------------------- faults


class Faults:
    """Deletions, bad rows and missing nights, and the tally the summary reports."""

    def __init__(self, book: RecordBook, timeline: Timeline) -> None:
        self.book = book
        self.rng: Stream = book.rng
        self.quiet_from = timeline.quiet_from
        self.used: set[int] = set()  # ids of records already given a messiness role
        self.bad: Counter[str] = Counter()
        self.bad_by_source: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.missing: dict[str, tuple[date, ...]] = {}

    def delete(self, record: Record, days: int, same_moment_night: date | None = None) -> bool:
        """Add a later version marking the record deleted (entered in error)."""
        last = record.versions[-1]
        at = last.at if same_moment_night else office_at(self.rng, last.at.date() + timedelta(days))
        if at.date() >= self.quiet_from:
            return False
        row = {**last.row, "record_status": "deleted", "updated_at": timestamp(at)}
        record.versions.append(Version(at, row, same_moment_night))
        self.deleted[record.source] += 1
        self.used.add(id(record))
        return True

    def deletions(self) -> None:
        """Records entered in error, deleted in a later extract (never one another record
        names, such as a contact with a case discussion: that would be an orphan)."""
        named = {
            id(target)
            for records in self.book.by_source.values()
            for record in records
            for target in record.links.values()
        }
        for source, (lo, hi), counted in _DELETIONS:
            self.rng.restart(f"deletion:{source}:{lo}")
            candidates = [
                r
                for r in self.book.by_source[source]
                if not r.tag
                and id(r) not in self.used
                and id(r) not in named
                and lo <= r.event_day <= hi
            ]
            if counted:  # the student must keep another record in the window
                per_student = Counter(r.student.ref for r in candidates)
                candidates = [r for r in candidates if per_student[r.student.ref] >= 2]
            self.rng.shuffle(candidates)
            if not any(self.delete(r, self.rng.randint(2, 20)) for r in candidates):
                raise AssertionError(f"no record to delete in {source} {lo}..{hi}")

    def skip_nights(self, source: str, nights: Sequence[date]) -> list[date]:
        """The extract nights that ran: all but a few when the extract job failed."""
        protected = set(_TRAP_NIGHTS)
        candidates = [
            d for d in nights if date(2020, 1, 6) <= d < _FAULTS_UNTIL and d not in protected
        ]
        self.rng.restart(f"missing nights:{source}")
        missing = sorted(self.rng.sample(candidates, _MISSING_NIGHTS[source]))
        self.missing[source] = tuple(missing)
        return [d for d in nights if d not in missing]

    def wrong_institution_profile(self) -> None:
        """A profile sent under the wrong institution, deleted two weeks later."""
        profiles = self.book.by_source["student_profiles"]
        self.rng.restart("wrong institution profile")
        for record in profiles:
            student = record.student
            if (
                record.institution == "UOL"
                and "LJMU" not in student.traits
                and (record.event_day >= date(2024, 3, 1))
            ):
                first = record.versions[0]
                wrong = Record("student_profiles", record.event_day, student, "LJMU", [])
                row = {**first.row, "institution_code": "LJMU"}
                wrong.versions.append(Version(first.at, row, first.night))
                profiles.append(wrong)
                self.delete(wrong, 14)
                return

    def bad_rows(self, files: Files) -> None:
        """Make planned rows of the laid-out files break the contract; each record gets one."""
        for plan in _BAD_ROWS:
            self.rng.restart(f"bad row:{plan.source}:{plan.kind}:{plan.window[0]}")
            candidates = [r for r in self.book.by_source[plan.source] if self._fits(r, plan)]
            self.rng.shuffle(candidates)
            if not any(self._spoil(files, r, plan) for r in candidates):
                raise AssertionError(f"no record fits {plan}")

    def _fits(self, record: Record, plan: _BadRow) -> bool:
        if record.tag != plan.tag or id(record) in self.used:
            return False
        if not plan.window[0] <= record.event_day <= plan.window[1]:
            return False
        placed = len(record.placed)
        enough = placed == 1 if plan.position == "only" else placed >= 2
        return enough and all(night < self.quiet_from for night, _ in record.placed)

    def _spoil(self, files: Files, record: Record, plan: _BadRow) -> bool:
        night, target = record.placed[0 if plan.position == "first" else -1]
        if plan.kind == "duplicate_id":
            rows = files[plan.source][night]
            twin = FileRow(target.key, dict(target.row), plan.kind)
            target.bad = plan.kind
            rows.insert(rows.index(target) + 1, twin)
            count = 2
        else:
            spoiled = spoiled_row(plan.kind, plan.source, target.row, night)
            if spoiled is None:
                return False
            target.row, target.bad, count = spoiled, plan.kind, 1
        self.used.add(id(record))
        self.bad[plan.kind] += count
        self.bad_by_source[plan.source] += count
        return True


def spoiled_row(kind: str, source: str, row: dict[str, str], night: date) -> dict[str, str] | None:
    """A copy of ``row`` breaking the contract in one way, or None if it cannot here."""
    new = dict(row)
    if kind == "invalid_nhs_number":
        digits = normalise(row["student_ref"])
        typo = digits[:9] + str((int(digits[9]) + 3) % 10)  # one digit mistyped
        new["student_ref"] = spaced(typo) if " " in row["student_ref"] else typo
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
        new["university_informed_at"] = timestamp(presented - timedelta(hours=3))
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


# ------------------------------------------------------------------ calibration decoys


class Decoys:
    """Records that must *not* change the funded counts, each for its own reason."""

    def __init__(self, book: RecordBook, pool: Pool, services: Services, faults: Faults) -> None:
        self.book = book
        self.pool = pool
        self.services = services
        self.faults = faults

    def plant(self) -> tuple[str, ...]:
        """Add every decoy; what each (and each calibrated boundary) tests, for the summary."""
        t, delete = self._trap, self.faults.delete
        rec = t("liaison_contacts", "UOL", datetime(2021, 2, 8, 22, 14, 5), "deleted_only")
        delete(rec, days=16)
        t("liaison_contacts", "LJMU", datetime(2020, 11, 23, 1, 33, 40), "bad_only")
        tie = t("liaison_contacts", "UOL", datetime.combine(_TIE_NIGHT, time(0, 52, 7)), "tie")
        tie.versions[0].at = tie.versions[0].at.replace(hour=9, minute=41)
        tie.versions[0].row["updated_at"] = timestamp(tie.versions[0].at)
        delete(tie, 0, same_moment_night=_TIE_NIGHT + timedelta(days=1))
        late = t("liaison_contacts", "LJMU", datetime.combine(_LATE_TRAP_NIGHT, time(2, 5)), "late")
        late.versions[0].at = datetime.combine(_LATE_TRAP_NIGHT, time(9, 20, 33))
        late.versions[0].row["updated_at"] = timestamp(late.versions[0].at)
        delete(late, 1)
        self._moved_out_of_period()
        rec = t("ucope_episodes", "UOL", datetime(2021, 10, 12), "deleted_only")
        delete(rec, days=9)
        t("ucope_episodes", "LJMU", datetime(2020, 2, 11), "bad_only")
        return (
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
        )

    def _trap(self, source: str, inst: str, at: datetime, tag: str) -> Record:
        """A decoy record (one version, no follow-ups) of a student seen nowhere else."""
        student = self.pool.new(inst, at.date(), listed=False)
        event = Event(at, inst)
        if source == "liaison_contacts":
            return self.services.contacts.add(student, event, tag=tag, follow_up=False)
        return self.services.episodes.add(student, event, tag=tag, progress=False)

    def _moved_out_of_period(self) -> None:
        """A contact first typed as 21 July 2022, corrected next day to 1 August 2022."""
        student = self.pool.new("LJMU", date(2022, 8, 1), listed=False)
        contacts = self.services.contacts
        base = contacts.base("LJMU", datetime(2022, 7, 21, 1, 10, 33), "signposting")
        changes = [
            (datetime(2022, 8, 1, 10, 12, 9), {}),
            (datetime(2022, 8, 2, 11, 30, 0), {"presented_at": "2022-08-01 01:10:33"}),
        ]
        self.book.add(
            "liaison_contacts", student, "LJMU", date(2022, 7, 21), base, changes, "moved"
        )


# ------------------------------------------------------------------ special deliveries


@dataclass(frozen=True)
class SpecialDeliveries:
    """The files that do not simply arrive once on their own night, or arrive altered."""

    late: dict[str, int]  # file name -> days late
    resent: tuple[str, date]  # file name, arrival of its byte-identical second delivery
    corrected: tuple[str, date]  # file name, arrival of the corrected re-delivery
    rejected: str  # file name: a required column is missing, so it is rejected whole
    rejected_column: str
    extra_column_files: set[str]  # file names with the out-of-contract column
    extra_column: str


def special_deliveries(rng: Stream, files: Files, timeline: Timeline) -> SpecialDeliveries:
    """Choose the special files among the laid-out ones (and fill the extra column)."""
    first_load = timeline.first_load
    late = {file_name(s, _first_file(files, s, d)): days for s, d, days in _LATE}
    night, arrival = _LAST_LATE.night_and_arrival(files, first_load)
    late[file_name(_LAST_LATE.source, night)] = (arrival - night).days
    resent, resent_arrival = _RESEND.night_and_arrival(files, first_load)
    corrected, corrected_arrival = _CORRECTED.night_and_arrival(files, first_load)
    source, column = _REJECTED
    rejected = next(n for n in files[source] if n > first_load)
    rng.restart("special deliveries")
    return SpecialDeliveries(
        late=late,
        resent=(file_name(_RESEND.source, resent), resent_arrival),
        corrected=(file_name(_CORRECTED.source, corrected), corrected_arrival),
        rejected=file_name(source, rejected),
        rejected_column=column,
        extra_column_files=_extra_column_files(rng, files),
        extra_column=_EXTRA_COLUMN[3],
    )


def uncorrected_rows(rows: list[FileRow]) -> list[FileRow]:
    """The first, wrong delivery: two rows short, one row under the wrong institution."""
    first = rows[0].row
    wrong = "LJMU" if first["institution_code"] != "LJMU" else "UOL"
    return [FileRow(rows[0].key, {**first, "institution_code": wrong}), *rows[1:-2]]


def _first_file(files: Files, source: str, on_or_after: date) -> date:
    """The first night on or after a date with a file holding rows."""
    return next(n for n, rows in files[source].items() if n >= on_or_after and rows)


def _last_file(files: Files, source: str, on_or_before: date) -> date:
    """The last night on or before a date with a file holding rows."""
    return max(n for n, rows in files[source].items() if n <= on_or_before and rows)


def _extra_column_files(rng: Stream, files: Files) -> set[str]:
    """A few files whose export added a free-text column (harmless synthetic notes)."""
    source, start, count, column = _EXTRA_COLUMN
    nights = [n for n, rows in files[source].items() if n >= start and rows][:count]
    for night in nights:
        for row in files[source][night]:
            row.row[column] = rng.choice(_NOTES)
    return {file_name(source, n) for n in nights}
