"""The academic year rule, once for Python (dbt's copy is ``macros/academic_year.sql``).

An academic year runs from 1 August to 31 July and is written like ``2023/24``: the
label of the ``institution_populations`` seed, the release periods and the demo's
growth curve. July 2024 is in 2023/24, August 2024 in 2024/25. A test holds this
function and the dbt macro to the same answers.
"""

from __future__ import annotations

from datetime import date

FIRST_MONTH = 8
"""August: the month an academic year starts."""


def start_year(day: date) -> int:
    """The calendar year in which the academic year containing ``day`` began."""
    return day.year if day.month >= FIRST_MONTH else day.year - 1


def label(day: date) -> str:
    """The academic year containing ``day``, written like ``2023/24``."""
    first = start_year(day)
    return f"{first}/{(first + 1) % 100:02d}"


def bounds(day: date) -> tuple[date, date]:
    """The first and last day of the academic year containing ``day``."""
    first = start_year(day)
    return date(first, FIRST_MONTH, 1), date(first + 1, FIRST_MONTH - 1, 31)
