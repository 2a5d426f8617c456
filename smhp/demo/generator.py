"""The demo generator: builds the whole demo in memory, in order, and writes what arrived.

The demo must tell the same story on every machine for the same last night: all of it
comes from one seeded random stream (``records.Stream``) and the end it is given (``end``;
the command line defaults it to yesterday), never from today's date, and nothing iterates
over a set of strings (whose order changes per process). Every step draws from the one
stream, so the order of the steps in ``_plan`` is part of the data: reorder them and files
change. The funded period is made first, decoys included; everything whose amount grows with
the end (the years after the funded period) and every planted fault restarts the stream
from a seed of its own, so the funded period's records are the same for every end.
``smhp.demo``'s docstring maps the steps to their modules.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

from smhp.demo.delivery import Delivery, Extracts, arrivals, extract_nights, write_arrived
from smhp.demo.events import Services
from smhp.demo.messiness import Decoys, Faults, special_deliveries
from smhp.demo.population import Caseload, add_profiles
from smhp.demo.records import RecordBook, Stream
from smhp.demo.scale import scale_deliveries
from smhp.demo.sources import EVENT_SOURCES, SOURCES
from smhp.demo.timeline import FUNDED_LIAISON_STUDENTS, FUNDED_UCOPE_STUDENTS, Timeline

#: Pseudonymisation key for the demo only: never use it for real extracts.
DEMO_PSEUDONYM_KEY = "smhp-demo-only-pseudonym-key:synthetic-data-never-real"
_SEED = 20190601
#: The funded period's own stream (``records.Stream.restart``). Its name is chosen: with it
#: every funded-period count lies strictly inside the range the other released figures
#: allow, so the funder page shows all of them exactly (``smhp.reporting.released``; the
#: names tried before it rounded one or two, e.g. completed waits). ``test_demo_data``
#: checks the two student counts; ``test_disclosure_attacks`` every measure.
_FUNDED_STREAM = "funded period:7"

__all__ = ["DEMO_PSEUDONYM_KEY", "DemoSummary", "arrival_nights", "write_demo_extracts"]


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
    of the whole demo, which ends on ``end``. At ``scale`` N every count of rows and students
    is N times the city's (``smhp.demo.scale``); file names and nights are the city's.
    """

    out: Path
    end: date
    arrived_by: date | None
    scale: int
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


@lru_cache(maxsize=2)  # `smhp demo` writes one end twice; a test may compare two ends
def _plan(end: date) -> _Plan:
    """The whole demo to its last night, built once per process and end (deterministic).

    Funded period → decoys → (restarted) the years after → deletions → ids → nights →
    files → profiles → bad rows → arrivals.
    """
    timeline = Timeline(end)
    rng = Stream(_SEED)
    rng.restart(_FUNDED_STREAM)
    book = RecordBook(rng, end)
    caseload = Caseload(rng)
    services = Services.open(book, caseload)
    faults = Faults(book, timeline)
    services.run_funded()
    traps = Decoys(book, caseload.pool, services, faults).plant()
    rng.restart("after the funded period")
    services.run_after(end)
    faults.deletions()
    book.number()
    extracts = Extracts()
    for source in SOURCES:
        extracts.schedules[source] = faults.skip_nights(source, extract_nights(source, end))
    for source in EVENT_SOURCES:
        extracts.lay_out(source, book.by_source[source])
    add_profiles(book, extracts.schedules["student_profiles"])
    faults.wrong_institution_profile()
    extracts.lay_out("student_profiles", book.by_source["student_profiles"])
    faults.bad_rows(extracts.files)
    special = special_deliveries(rng, extracts.files, timeline)
    return _Plan(
        deliveries=arrivals(extracts.files, special, end),
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


@lru_cache(maxsize=2)
def _scaled_plan(end: date, scale: int) -> _Plan:
    """The demo at ``scale`` (``smhp.demo.scale``): the city's plan, every delivery followed
    by its copies, and the counts of rows and students times ``scale``; built once per
    process, end and scale, so incremental calls (``arrived_by``) reuse it."""
    if scale < 1:
        raise ValueError(f"scale must be 1 or more, not {scale}")
    plan = _plan(end)
    if scale == 1:
        return plan
    return replace(
        plan,
        deliveries=scale_deliveries(plan.deliveries, scale),
        students=plan.students * scale,
        bad_rows={kind: n * scale for kind, n in plan.bad_rows.items()},
        bad_rows_by_source={s: n * scale for s, n in plan.bad_rows_by_source.items()},
        deleted_records={s: n * scale for s, n in plan.deleted_records.items()},
    )


def write_demo_extracts(
    out: Path, *, end: date, arrived_by: date | None = None, scale: int = 1
) -> DemoSummary:
    """Write the extracts of the demo ending on ``end`` as they stood on the night
    ``arrived_by`` (None: all of them), at ``scale`` (1: the city; N: the city and N-1
    renamed copies of it, ``smhp.demo.scale``).

    Each file name gets its latest version arrived by then; see ``delivery.write_arrived``
    for what an incremental call rewrites. An end before ``timeline.EARLIEST_END`` is
    refused (ValueError).
    """
    started = clock.perf_counter()
    plan = _scaled_plan(end, scale)
    landed = write_arrived(out, plan.deliveries, arrived_by or end)
    return DemoSummary(
        out=out,
        end=end,
        arrived_by=arrived_by,
        scale=scale,
        files=landed.written + landed.unchanged,
        files_written=landed.written,
        files_unchanged=landed.unchanged,
        rows_by_source=landed.rows_by_source,
        header_only_files=landed.header_only,
        **{field.name: getattr(plan, field.name) for field in fields(DemoCatalogue)},
        funded_liaison_students=FUNDED_LIAISON_STUDENTS * scale,
        funded_ucope_students=FUNDED_UCOPE_STUDENTS * scale,
        seconds=round(clock.perf_counter() - started, 2),
    )


def arrival_nights(end: date) -> tuple[date, ...]:
    """The nights on which files of the demo ending on ``end`` arrive, in order (the same at
    every scale): e.g. the night before the last one is where a one-night incremental run
    starts (``bench/scale.py``)."""
    return tuple(sorted({delivery.arrival for delivery in _plan(end).deliveries}))
