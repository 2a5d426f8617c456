"""Queries of the board overview beyond the monthly series (``dashboard.data``): the
institutions' monthly values side by side, with the headcounts that make them comparable.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from dashboard.data import IN_SCOPE, read_frame
from dashboard.disclose import Count, Median, Percentage, Rate, Rule, disclose
from smhp.access import Scope
from smhp.reporting.catalogue import info

# Every (month, institution) of the window, so that a month without a row is 0 for a count
# and a gap for a percentage, instead of silently missing from an institution's panel.
_SQL = f"""
with
months as (
    select unnest(generate_series($start::date, $end::date, interval 1 month))::date as month
),
institutions as (
    select institution_code, institution_name from marts.dim_institutions where {IN_SCOPE}
),
rows as (
    select month, institution_code, metric, value
    from marts.metrics_monthly
    where institution_code <> 'ALL' and {IN_SCOPE}
      and month between $start and $end
      and metric in ($metric, $count)
)
select
    m.month,
    i.institution_code,
    i.institution_name,
    max(r.value) filter (where r.metric = $metric) as value,
    coalesce(max(r.value) filter (where r.metric = $count), 0) as count,
    any_value(p.students) as students
from months m
cross join institutions i
left join rows r on r.month = m.month and r.institution_code = i.institution_code
left join marts.dim_institution_populations p
    on p.institution_code = i.institution_code
   and m.month between p.academic_year_starts_on and p.academic_year_ends_on
group by all
order by i.institution_code, m.month
"""


def institution_monthly(
    snapshot: Path | str,
    scope: Scope,
    metric: str | None,
    count: str,
    start: date,
    end: date,
) -> pd.DataFrame:
    """Per institution and month from ``start`` to ``end`` (first days of months): the
    published ``metric`` (``value``), its base or source ``count`` (missing = 0) and the
    students enrolled that academic year (``students``, null without a headcount).

    ``metric=None`` asks for a count per 1,000 students, derived here from the published
    count exactly as ``referrals_per_1000_students`` is (1000 × count / students; no
    headcount, no rate).

    Under the scope's disclosure control the value is shown only where its count may be
    (a rate) or its base is 8 or more (a percentage), and the count is controlled too.
    """
    frame = read_frame(
        snapshot,
        _SQL,
        {**scope.params(), "metric": metric or count, "count": count, "start": start, "end": end},
    )
    has_headcount = [not pd.isna(s) and s > 0 for s in frame["students"]]
    if metric is None:
        frame["value"] = [
            1000.0 * c / s if known else None
            for c, s, known in zip(frame["count"], frame["students"], has_headcount, strict=True)
        ]
    elif info(metric).kind == "rate":
        # A published rate has no row where its count is 0: with a headcount, that is 0.
        frame["value"] = [
            0.0 if pd.isna(v) and c == 0 and known else v
            for v, c, known in zip(frame["value"], frame["count"], has_headcount, strict=True)
        ]
    kind = "rate" if metric is None else info(metric).kind
    rule: Rule
    if kind == "rate":
        rule = Rate("value", "count", "students")
    elif kind == "pct":  # the numerator of a published percentage: value x base / 100
        frame["numerator"] = [
            None if pd.isna(v) else round(v * c / 100.0)
            for v, c in zip(frame["value"], frame["count"], strict=True)
        ]
        rule = Percentage("value", "numerator", "count")
    else:
        rule = Median("value", "count")
    shown = disclose(frame, [rule, Count("count")], scope.disclosure_control)
    return shown.drop(columns=["numerator"], errors="ignore")
