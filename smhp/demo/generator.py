"""The demo generator: builds the whole demo in memory, in order, and writes what arrived.

The demo must tell the same story on every machine and on every day: all of it comes from
one seeded random generator and a fixed end date (``DEMO_END``), never from today's date,
and nothing iterates over a set of strings (whose order changes per process). Every step
draws from the one random stream, so the order of the steps in ``_plan`` is part of the
data: reorder them and every file changes. ``smhp.demo``'s docstring maps the steps to
their modules.
"""

from __future__ import annotations

import random
import time as clock
from dataclasses import dataclass, fields
from datetime import date
from functools import cache
from pathlib import Path

from smhp.demo.delivery import Delivery, Extracts, arrivals, extract_nights, write_arrived
from smhp.demo.events import Services
from smhp.demo.messiness import Decoys, Faults, special_deliveries
from smhp.demo.population import Caseload, add_profiles
from smhp.demo.records import RecordBook
from smhp.demo.sources import EVENT_SOURCES, SOURCES
from smhp.demo.timeline import DEMO_END, FUNDED_LIAISON_STUDENTS, FUNDED_UCOPE_STUDENTS

#: Pseudonymisation key for the demo only: never use it for real extracts.
DEMO_PSEUDONYM_KEY = "smhp-demo-only-pseudonym-key:synthetic-data-never-real"
_SEED = 20190601

__all__ = ["DEMO_PSEUDONYM_KEY", "DemoSummary", "write_demo_extracts"]


@dataclass(frozen=True)
class DemoCatalogue:
    """What the whole demo exercises, decided once by ``_plan`` and reported by every call.

    Bad rows are counted as rows the ingest must quarantine (a repeated id is two rows).
    """

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


@dataclass(frozen=True)
class DemoSummary(DemoCatalogue):
    """What one call delivered, and the catalogue of what the whole demo exercises.

    ``files``, ``rows_by_source`` and ``header_only_files`` describe the files delivered by
    ``arrived_by``; the catalogue (``DemoCatalogue``: bad rows, deletions, special files) is
    of the whole demo.
    """

    out: Path
    arrived_by: date | None
    files: int
    files_written: int
    files_unchanged: int
    rows_by_source: dict[str, int]
    header_only_files: int
    funded_liaison_students: int
    funded_ucope_students: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.rows_by_source.values())


@dataclass(frozen=True)
class _Plan(DemoCatalogue):
    """The whole demo: every delivery, and the catalogue of what it exercises."""

    deliveries: tuple[Delivery, ...]  # in arrival order


@cache
def _plan() -> _Plan:
    """The whole demo, built once per process (it is deterministic, so caching is safe).

    Services → decoys → deletions → ids → nights → files → profiles → bad rows → arrivals.
    """
    rng = random.Random(_SEED)
    book = RecordBook(rng)
    caseload = Caseload(rng)
    services = Services.open(book, caseload)
    services.run()
    faults = Faults(book)
    traps = Decoys(book, caseload.pool, services, faults).plant()
    faults.deletions()
    book.number()
    extracts = Extracts()
    for source in SOURCES:
        extracts.schedules[source] = faults.skip_nights(source, extract_nights(source))
    for source in EVENT_SOURCES:
        extracts.lay_out(source, book.by_source[source])
    add_profiles(book, extracts.schedules["student_profiles"])
    faults.wrong_institution_profile()
    extracts.lay_out("student_profiles", book.by_source["student_profiles"])
    faults.bad_rows(extracts.files)
    special = special_deliveries(rng, extracts.files)
    return _Plan(
        deliveries=arrivals(extracts.files, special),
        students=len({r.student.ref for r in book.by_source["student_profiles"]}),
        bad_rows=dict(sorted(faults.bad.items())),
        bad_rows_by_source={s: faults.bad_by_source[s] for s in SOURCES},
        deleted_records={s: faults.deleted[s] for s in SOURCES},
        missing_nights=dict(faults.missing),
        extra_column_files=tuple(sorted(special.extra_column_files)),
        rejected_file=special.rejected,
        resent_file=special.resent[0],
        corrected_file=special.corrected[0],
        late_files=tuple(special.late),
        calibration_traps=traps,
    )


def write_demo_extracts(out: Path, arrived_by: date | None = None) -> DemoSummary:
    """Write the demo's extracts as they stood on the night ``arrived_by`` (None: all).

    Each file name gets its latest version arrived by then; see ``delivery.write_arrived``
    for what an incremental call rewrites.
    """
    started = clock.perf_counter()
    plan = _plan()
    landed = write_arrived(out, plan.deliveries, arrived_by or DEMO_END)
    return DemoSummary(
        out=out,
        arrived_by=arrived_by,
        files=landed.written + landed.unchanged,
        files_written=landed.written,
        files_unchanged=landed.unchanged,
        rows_by_source=landed.rows_by_source,
        header_only_files=landed.header_only,
        **{field.name: getattr(plan, field.name) for field in fields(DemoCatalogue)},
        funded_liaison_students=FUNDED_LIAISON_STUDENTS,
        funded_ucope_students=FUNDED_UCOPE_STUDENTS,
        seconds=round(clock.perf_counter() - started, 2),
    )
