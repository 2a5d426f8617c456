"""Synthetic nightly extracts for the demo and the end-to-end tests (``smhp demo-data``).

Real extracts hold NHS numbers, so the demo runs on made-up data that looks and misbehaves
like the real thing: deltas with updates and deletions, quarantinable rows, a file rejected
whole, an out-of-contract column, late files, missing nights, header-only nights, a re-send
and a corrected re-delivery (the extract contract, ../shared/spec/extracts.md). The funded
project period is calibrated so that the pipeline must report exactly
``FUNDED_LIAISON_STUDENTS`` liaison and ``FUNDED_UCOPE_STUDENTS`` U-COPE students; every
deleted, bad or superseded row around those counts is placed so that only a pipeline that
follows the contract's rules gets them right (``DemoSummary.calibration_traps``).

Where each part of the story lives:

- ``generator``: the steps in order, from one seeded random stream, and
  ``write_demo_extracts`` (the entry point); the demo's pseudonymisation key.
- ``timeline``: go-live, the last night (``Timeline``: yesterday by default, never before
  ``EARLIEST_END``; the tests pin ``PINNED_DEMO_END``), the funded period and the figures it
  must give; closures, working days, meeting days.
- ``sources``: each partner system's columns, extract cadence and file format.
- ``population``: institutions, students and their traits, who each service sees
  (``Caseload``), and the student_profiles records.
- ``volume``: seasons, weekdays, growth and lockdown: how many events, and when.
- ``events``: the services' records (liaison contacts, case discussions, referrals, U-COPE
  episodes), calibrated to the funded figures.
- ``records``: the record model, the one place versions are made (``RecordBook``), and the
  one random stream every step draws from (``Stream``).
- ``messiness``: the deliberate faults (deletions, bad rows, missing nights, a wrong
  profile), the calibration decoys, and the last month's special deliveries.
- ``delivery``: which night delivers each version, the files' bytes, arrivals, and
  writing the landing folder.
- ``scale``: the demo N times over (``--scale N``): the city's rows, then N-1 copies renamed
  into institutions, records and students of their own; and the seeds folder they need.
"""

from __future__ import annotations

from smhp.demo.generator import (
    DEMO_PSEUDONYM_KEY,
    DemoSummary,
    arrival_nights,
    write_demo_extracts,
)
from smhp.demo.scale import write_scaled_seeds
from smhp.demo.sources import SOURCES
from smhp.demo.timeline import (
    DEMO_START,
    EARLIEST_END,
    FUNDED_LIAISON_STUDENTS,
    FUNDED_PERIOD,
    FUNDED_UCOPE_STUDENTS,
    PINNED_DEMO_END,
    Timeline,
    default_end,
)

__all__ = [
    "DEMO_PSEUDONYM_KEY",
    "DEMO_START",
    "EARLIEST_END",
    "FUNDED_LIAISON_STUDENTS",
    "FUNDED_PERIOD",
    "FUNDED_UCOPE_STUDENTS",
    "PINNED_DEMO_END",
    "SOURCES",
    "DemoSummary",
    "Timeline",
    "arrival_nights",
    "default_end",
    "write_demo_extracts",
    "write_scaled_seeds",
]
