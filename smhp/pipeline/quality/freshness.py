"""How current each source is: the one definition of freshness.

A source's latest extract is the latest extract date among its files whose rows are in
the warehouse (status ``loaded`` or ``replaced``; a skipped re-send or a rejected file
adds nothing). Its age is the days from that date to a reference day; it is stale when it
has no extract at all or its age exceeds the source's ``warn_after`` (dbt freshness, in
the sources yml: ``smhp.pipeline.contract``).

Two readers use it. The nightly run records it for every source of the contract, aged to
the day of the run, in the run history (``ops.freshness``), which the dashboard banner,
the quality page and ``smhp status`` show. A warehouse without run history has no day of
a run to age to: the dashboard then ages every source to the latest extract of any
source ("days behind the latest source"), from ``marts.fct_extract_files``, without a
status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

IN_WAREHOUSE = ("loaded", "replaced")
"""Load-log statuses of files whose rows are in the warehouse."""


def latest_extracts_sql(load_log: str) -> str:
    """The query of (source, latest extract date) over ``load_log``: ``raw.load_log`` in
    a candidate, ``marts.fct_extract_files`` in a published warehouse (same columns)."""
    statuses = ", ".join(f"'{s}'" for s in IN_WAREHOUSE)
    return (
        f"select source, max(extract_date) as last_extract_date from {load_log}"
        f" where status in ({statuses}) group by source"
    )


def source_freshness(
    latest: Mapping[str, date | None],
    as_of: date,
    sources: Iterable[str],
    warn_after_days: Mapping[str, int | None] | None = None,
) -> list[dict[str, Any]]:
    """One row per source (sorted): its latest extract, the days since to ``as_of``, its
    ``warn_after`` and its status (``stale`` or ``fresh``). Without ``warn_after_days``
    (no threshold known) the threshold and the status are None."""
    rows = []
    for name in sorted(sources):
        last = latest.get(name)
        days = (as_of - last).days if last else None
        warn = None if warn_after_days is None else warn_after_days.get(name)
        status = None
        if warn_after_days is not None:
            stale = days is None or (warn is not None and days > warn)
            status = "stale" if stale else "fresh"
        rows.append(
            {
                "source": name,
                "last_extract_date": last,
                "days_since": days,
                "warn_after_days": warn,
                "status": status,
            }
        )
    return rows
