"""Queries of the equity-of-access page: who a service reached, band by band, against the
students enrolled (metric spec, "Equity of access"; the statistics are
``smhp.reporting.equity``'s).

For a release period, a service (liaison, U-COPE, referrals, or any) and a dimension:

- **reached**: distinct (student, institution) pairs in ``marts.fct_service_reach`` with an
  event of the service in the period, in the band of the student's profile at that
  institution; no profile or no value is band ``not_known``, always shown (0 if none);
- **enrolled**: ``marts.dim_enrolments`` for the academic year containing the period's end,
  summed over the scope's institutions that have a row for that year (as
  ``referrals_per_1000_students``); students reached at an institution without such a row
  are left out of every band, as their referrals are left out of that rate;
- **rate per 1,000 enrolled** with its 95 % Wilson interval, and the **representation
  ratio** with its interval, for the bands with a known value. ``not_known`` has its
  reached count (and its enrolled count where the seed has one, for ``sex`` and
  ``ethnic_group``), but no rate and no ratio: it holds the students reached with no
  profile, who have no counterpart among the enrolled.

Under the scope's disclosure control the counts are controlled first (``*`` for 1-7, others
to the nearest 5; a band breakdown is never exact) and every rate, interval and ratio is
then calculated from the shown counts alone (the totals of the ratio too: the rounded
total of the known bands), ``*`` where a count it needs is ``*``: so nothing exact can be
worked back from them. The page gets the table as it may be shown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dashboard.data import IN_SCOPE, read_frame
from dashboard.disclose import Count, disclose, round_shown
from smhp import academic_year
from smhp.access import Scope
from smhp.reporting.disclosure import SUPPRESSED, suppress_count
from smhp.reporting.equity import BANDS, NOT_KNOWN, band_figures, under_reached
from smhp.reporting.release_periods import ReleasePeriod, check_release

DIMENSIONS: dict[str, str] = {
    "study_level": "Level of study",
    "year_of_study": "Year of study",
    "domicile": "Domicile",
    "sex": "Sex",
    "age_band": "Age",
    "ethnic_group": "Ethnic group",
}
"""The bands compared (a column of fct_service_reach, and its label)."""

SERVICES: dict[str, str] = {
    "any": "Any of the three",
    "liaison": "Liaison",
    "ucope": "U-COPE",
    "referrals": "Referrals",
}
"""The services (``fct_service_reach.service``, or any of them), and their labels."""

BAND_LABELS: dict[str, str] = {
    "undergraduate": "Undergraduate",
    "postgraduate_taught": "Postgraduate taught",
    "postgraduate_research": "Postgraduate research",
    "foundation": "Foundation",
    "home": "Home",
    "international": "International",
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "under_21": "Under 21",
    "21_24": "21 to 24",
    "25_29": "25 to 29",
    "30_plus": "30 and over",
    "asian": "Asian",
    "black": "Black",
    "mixed": "Mixed",
    "white": "White",
    NOT_KNOWN: "Not known",
}

COUNTS = ("reached", "enrolled")
STATISTICS = ("rate", "rate_low", "rate_high", "ratio", "ratio_low", "ratio_high")


def _sql(column: str) -> str:
    # `column` is a key of DIMENSIONS (checked by the caller), never input: an identifier
    # cannot be a bound parameter.
    return f"""
with
enrolled as (
    select institution_code, band, students, is_estimate
    from marts.dim_enrolments
    where {IN_SCOPE} and academic_year = $year and dimension = $dimension
),
reached as (
    select {column} as band, count(distinct (student_key, institution_code)) as reached
    from marts.fct_service_reach
    where {IN_SCOPE} and reached_on between $start and $end
      and ($service is null or service = $service)
      and institution_code in (select institution_code from enrolled)
    group by all
),
bands as (
    select band, sum(students) as enrolled, bool_or(is_estimate) as estimate
    from enrolled group by all
)
select coalesce(b.band, r.band) as band,
       coalesce(r.reached, 0) as reached,
       b.enrolled,
       coalesce(b.estimate, false) as estimate
from bands b full join reached r on r.band = b.band
"""


def _number(value: object) -> float | None:
    """A shown count as a number; ``None`` for ``*`` or a gap."""
    if value is None or isinstance(value, str) or pd.isna(value):
        return None
    return float(value)


def _total(values: pd.Series, controlled: bool) -> int | str:
    """The total of exact counts, as shown: through the count rule under disclosure control."""
    total = int(sum(0 if pd.isna(v) else v for v in values))
    return suppress_count(total) if controlled else total


def _statistics(shown: pd.DataFrame, known_reached: object, known_enrolled: object) -> None:
    """Add the rate, the ratio and their intervals to each band of ``shown``, from the shown
    counts (numbers, or ``*``): ``*`` where a count needed is ``*``, ``None`` where the
    statistic does not exist (not_known, no one enrolled)."""
    columns: dict[str, list[object]] = {c: [] for c in STATISTICS}
    totals = (_number(known_reached), _number(known_enrolled))
    for band, reached, enrolled in zip(
        shown["band"], shown["reached"], shown["enrolled"], strict=True
    ):
        counts = (_number(reached), _number(enrolled))
        if band == NOT_KNOWN or enrolled is None or pd.isna(enrolled) or enrolled == 0:
            values: tuple[object, ...] = (None,) * len(STATISTICS)
        elif None in counts:
            values = (SUPPRESSED,) * len(STATISTICS)
        else:
            figures = band_figures(counts[0], counts[1], totals[0] or 0.0, totals[1] or 0.0)
            rate = (figures.rate, figures.rate_low, figures.rate_high)
            ratio = (figures.ratio, figures.ratio_low, figures.ratio_high)
            if None in totals:
                ratio = (SUPPRESSED,) * 3
            values = (*rate, *ratio)
        for column, value in zip(STATISTICS, values, strict=True):
            columns[column].append(value)
    for column, values in columns.items():
        shown[column] = pd.Series(values, index=shown.index, dtype=object)


def rates(
    snapshot: Path | str,
    scope: Scope,
    period: ReleasePeriod,
    dimension: str,
    service: str = "any",
) -> pd.DataFrame:
    """Per band of ``dimension`` (contract order, then ``not_known``): students reached by
    ``service`` in the release period, students enrolled, the rate per 1,000 enrolled and the
    representation ratio with their 95 % intervals (see the module's docstring), and whether
    the enrolled figure is an estimate. Under disclosure control every count is controlled
    and every statistic recalculated from the shown counts; a band breakdown is never exact.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {dimension!r}; one of {sorted(DIMENSIONS)}.")
    if service not in SERVICES:
        raise ValueError(f"Unknown service {service!r}; one of {sorted(SERVICES)}.")
    if scope.disclosure_control and scope.institutions is not None:
        for code in scope.institutions:  # one institution: academic years and funded only
            check_release(period, code)
    params = {
        "start": period.start,
        "end": period.end,
        "year": academic_year.label(period.end),
        "dimension": dimension,
        "service": None if service == "any" else service,
    }
    found = read_frame(snapshot, _sql(dimension), {**scope.params(), **params}).set_index("band")
    order = [b for b in BANDS[dimension] if b != NOT_KNOWN] + [NOT_KNOWN]
    exact = found.reindex(order).reset_index()
    exact["reached"] = [0 if pd.isna(v) else int(v) for v in exact["reached"]]
    exact["enrolled"] = pd.Series(
        [None if pd.isna(v) else int(v) for v in exact["enrolled"]], dtype=object
    )
    exact["estimate"] = [bool(v) if not pd.isna(v) else False for v in exact["estimate"]]
    known = exact[exact["band"] != NOT_KNOWN]
    controlled = scope.disclosure_control
    totals = (_total(known["reached"], controlled), _total(known["enrolled"], controlled))
    shown = disclose(exact, [Count(c) for c in COUNTS], controlled)
    if controlled:  # a band with no enrolment row stays without one (not a 0 to round)
        pairs = zip(exact["enrolled"], shown["enrolled"], strict=True)
        shown["enrolled"] = pd.Series(
            [None if e is None else s for e, s in pairs], index=shown.index, dtype=object
        )
    _statistics(shown, *totals)
    return shown[["band", *COUNTS, *STATISTICS, "estimate"]]


# --- the table and sentence as shown (the equity page and the packs) -----------------

COLUMNS = {
    "band": "Band",
    "reached": "Students reached",
    "enrolled": "Students enrolled",
    "rate": "Reached per 1,000 enrolled",
    "rate_low": "Rate, lower 95% limit",
    "rate_high": "Rate, upper 95% limit",
    "ratio": "Representation ratio",
    "ratio_low": "Ratio, lower 95% limit",
    "ratio_high": "Ratio, upper 95% limit",
    "enrolled_is": "Enrolled figure",
}
# Shown where the seed has no enrolled figure for a band.
NO_FIGURE = "—"
RATIO_COLUMNS = ["Band", "Representation ratio", "Ratio, lower 95% limit", "Ratio, upper 95% limit"]


def _band(dimension: str, band: str) -> str:
    if dimension == "year_of_study" and band != NOT_KNOWN:
        return f"Year {band}"
    return BAND_LABELS.get(band, band)


def shown_table(shown: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The shown table with its headings: labelled bands, rates to 1 place, ratios to 2."""
    rounded = round_shown(
        shown,
        {"rate": 1, "rate_low": 1, "rate_high": 1, "ratio": 2, "ratio_low": 2, "ratio_high": 2},
    )
    rounded["band"] = [_band(dimension, b) for b in rounded["band"]]
    # a band with no enrolment figure (not known, mostly) says so, rather than a blank
    rounded["enrolled"] = pd.Series(
        [NO_FIGURE if e is None else e for e in rounded["enrolled"]], dtype=object
    )
    rounded["enrolled_is"] = [
        "" if e == NO_FIGURE else ("estimate" if est else "published")
        for e, est in zip(rounded["enrolled"], rounded["estimate"], strict=True)
    ]
    return rounded[list(COLUMNS)].rename(columns=COLUMNS)


def finding(table: pd.DataFrame) -> str:
    """The plain sentence: the bands reached clearly less than their share, or none."""
    ratios = table.set_index("Band")
    named = under_reached(ratios["Ratio, upper 95% limit"].to_dict())
    if not named:
        return (
            "**No band was reached clearly less than its share**: every representation ratio's "
            "95% interval reaches 1 or above (or cannot be shown)."
        )
    parts = [
        f"{band} (ratio {ratios.at[band, 'Representation ratio']:.2f}, 95% interval "
        f"{ratios.at[band, 'Ratio, lower 95% limit']:.2f} to "
        f"{ratios.at[band, 'Ratio, upper 95% limit']:.2f})"
        for band in named
    ]
    verb = "was" if len(parts) == 1 else "were"
    return (
        f"**Reached clearly less than {'its' if len(parts) == 1 else 'their'} share**: "
        f"{'; '.join(parts)} {verb} reached less than in proportion to enrolment "
        "(the whole 95% interval of the ratio is below 1)."
    )
