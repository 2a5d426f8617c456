"""The counts released to funders, cell by cell, and which of them may be exact.

Every disclosed output shows, for a release period and an institution (or the whole
partnership, ``ALL``), counts of a few *measures*: students supported (distinct), referrals,
first appointments and those within 6 or 18 weeks, liaison contacts and those whose
university was told within 72 hours, U-COPE assessments and those within 14 days. The
spec lets one cell be exact (``smhp.reporting.disclosure.exact_allowed``: ``ALL`` over exactly the
funded period). ``exact_measures`` decides, per measure, whether that cell's exact count is
safe next to every other released figure of the measure (``smhp.reporting.disclosure_audit``): it
rebuilds the whole released grid (every month, quarter and academic year that has ended,
each institution and ``ALL``) exactly as the outputs round it, and asks the audit.

``MEASURES`` names the released counts; each one's event table, date and condition come from
the metric catalogue (``smhp.reporting.catalogue``: a count metric's fact and event date, a
standard's numerator flag over its base); ``smhp.reporting.impact`` and the funder standards
compute the same counts for one cell (a test holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb

from smhp.reporting.catalogue import WAIT_18WK_DAYS, info
from smhp.reporting.disclosure import REACH, exact_allowed, suppress_count
from smhp.reporting.disclosure_audit import ALL, Cell, Family, exact_is_safe
from smhp.reporting.release_periods import FUNDED, KINDS, ReleasePeriod, kinds_for, released_periods
from smhp.warehouse import open_published, release_date, resolve_published

__all__ = [
    "MEASURES",
    "Measure",
    "counted",
    "exact_figures",
    "exact_measures",
    "family",
    "met",
    "released_grid",
]


@dataclass(frozen=True)
class Measure:
    """A released count: rows of ``table`` whose ``on`` date falls in the period and
    that meet ``where``; distinct students when ``distinct`` (else rows)."""

    table: str
    on: str
    where: str = "true"
    distinct: bool = False


def counted(metric: str, where: str = "true") -> Measure:
    """The released count of a catalogued count ``metric``: its fact table and event date
    (distinct students for a count of students), optionally only the rows meeting ``where``."""
    m = info(metric)
    if m.kind != "count":
        raise ValueError(f"{metric} is a {m.kind}, not a count")
    return Measure(f"marts.{m.fact}", m.event_date, where, m.counts_students)


def met(standard: str) -> Measure:
    """The released count of the records meeting a percentage ``standard``: its base's
    rows that have its numerator flag (e.g. ``seen_within_6wk``)."""
    m = info(standard)
    if m.base is None or m.numerator is None:
        raise ValueError(f"{standard} has no published base and numerator")
    return counted(m.base, m.numerator)


MEASURES: dict[str, Measure] = {
    "liaison_students": counted("liaison_students"),
    "ucope_students": counted("ucope_students"),
    "referrals_received": counted("referrals_received"),
    "referral_completed_waits": counted("referral_completed_waits"),
    "referral_seen_6wk": met("referral_seen_6wk_pct"),
    "referral_seen_18wk": counted("referral_completed_waits", f"wait_days <= {WAIT_18WK_DAYS}"),
    "liaison_contacts": counted("liaison_contacts"),
    "liaison_informed_72h": met("liaison_informed_72h_pct"),
    "ucope_assessed": counted("ucope_assessed"),
    "ucope_assessed_14d": met("ucope_assessed_14d_pct"),
}
"""The counts released to funders: the impact totals' counts and each funder standard's
base and met counts."""


def _periods(as_of: date) -> list[ReleasePeriod]:
    """Every release period offered by ``as_of`` (from the funded project's start)."""
    return [p for kind in KINDS for p in released_periods(FUNDED.start, as_of, kind)]


def released_grid(
    con: duckdb.DuckDBPyConnection, measure: str, as_of: date
) -> tuple[tuple[str, ...], dict[Cell, int]]:
    """The exact count of ``measure`` in every released cell by ``as_of``: the
    institutions, and each (period, institution or ``ALL``) cell's count (institutions
    for academic years and the funded period only: ``smhp.reporting.release_periods.kinds_for``)."""
    spec = MEASURES[measure]
    codes = con.execute("select institution_code from marts.dim_institutions order by 1")
    institutions = tuple(r[0] for r in codes.fetchall())
    periods = _periods(as_of)
    counted = "count(distinct student_key)" if spec.distinct else "count(*)"
    # One row per (period, institution or ALL); the periods as a VALUES list of bounds.
    values = ", ".join(["(?, ?)"] * len(periods))
    rows = con.execute(
        f"""
        with periods(first_day, last_day) as (values {values}),
        events as (
            select institution_code, student_key, {spec.on} as day
            from {spec.table} where {spec.on} is not null and ({spec.where})
        )
        select p.first_day, p.last_day, coalesce(e.institution_code, 'ALL') as place,
               {counted} as n
        from periods p join events e on e.day between p.first_day and p.last_day
        group by grouping sets ((p.first_day, p.last_day, e.institution_code),
                                (p.first_day, p.last_day))
        """,
        [d for p in periods for d in (p.start, p.end)],
    ).fetchall()
    by_bounds = {(p.start, p.end): p for p in periods}
    counts = {
        Cell(p, place): 0
        for p in periods
        for place in (*institutions, ALL)
        if p.kind in kinds_for(None if place == ALL else place)
    }
    for first, last, place, n in rows:
        cell = Cell(by_bounds[(first, last)], place)
        if cell in counts:  # a month or quarter of one institution is not released
            counts[cell] = int(n)
    return institutions, counts


def family(
    con: duckdb.DuckDBPyConnection, measure: str, as_of: date, exact: set[Cell] | None = None
) -> tuple[Family, dict[Cell, int]]:
    """The released figures of ``measure`` by ``as_of`` (every cell rounded, those in
    ``exact`` exact), and the exact counts behind them."""
    institutions, counts = released_grid(con, measure, as_of)
    exact = exact or set()
    shown = {c: suppress_count(n, exact=c in exact) for c, n in counts.items()}
    spec = MEASURES[measure]
    return Family(measure, not spec.distinct, institutions, shown, set(exact)), counts


def exact_measures(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The measures whose partnership-wide count over the whole funded period may be shown
    exactly: none before the funded period has ended (by ``smhp.warehouse.release_date``),
    and of the others those whose exact count lies strictly inside the range every other
    released figure of the measure already allows (``exact_is_safe``)."""
    as_of = release_date(con)
    if as_of is None or FUNDED.end > as_of:
        return frozenset()
    cell = Cell(FUNDED, ALL)
    safe = set()
    for measure in MEASURES:
        fam, counts = family(con, measure, as_of)
        if exact_is_safe(fam, cell, counts[cell]):
            safe.add(measure)
    return frozenset(safe)


@lru_cache(maxsize=8)
def _exact_measures_of(snapshot: str) -> frozenset[str]:
    con = open_published(snapshot)
    try:
        return exact_measures(con)
    finally:
        con.close()


def exact_figures(
    snapshot: Path | str, period: ReleasePeriod, institution: str | None
) -> frozenset[str]:
    """The figures of the cell (``period``, ``institution`` or ``ALL`` for ``None``) that
    may be shown exactly: none outside the allowed cell; in it, the safe measures and the
    reach (institutions and students enrolled: reference data, not people).

    ``snapshot`` is a published snapshot (or the link to one); its answer is kept per
    snapshot file, which never changes once published.
    """
    if not exact_allowed(period, institution):
        return frozenset()
    return _exact_measures_of(str(resolve_published(snapshot))) | REACH
