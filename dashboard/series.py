"""Monthly series as a viewer may see them, and their SPC analysis, as pure functions.

A month with no row in ``metrics_monthly`` is 0 for a count and "no records" (a gap) for a
percentage or median (metric spec). Under disclosure control each month was controlled on
its exact base by the query (``dashboard.data.monthly_metrics``) before anything is drawn
or analysed, so an SPC chart of a disclosed view is the chart of the shown numbers and
reveals nothing the table does not.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date

import pandas as pd

from dashboard.disclose import numbers, round_shown
from smhp.reporting.catalogue import MetricInfo
from smhp.reporting.spc import SpcResult, analyse


def months_between(first: date, last: date) -> list[date]:
    """The first days of every month from ``first``'s month to ``last``'s, inclusive."""
    return [d.date() for d in pd.date_range(first.replace(day=1), last.replace(day=1), freq="MS")]


def previous_month(month: date) -> date:
    """The first day of the month before ``month``."""
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def month_end(month: date) -> date:
    """The last day of ``month``'s month."""
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def window_start(month: date, months: int) -> date:
    """The first month of a window of ``months`` months ending with ``month``."""
    index = month.year * 12 + month.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def month_label(month: date) -> str:
    """``March 2024``."""
    return f"{month:%B %Y}"


def value_of(values: pd.DataFrame, metric: str, month: date) -> object:
    """A metric's value for a month as the query returned it (a number or ``*``),
    ``None`` where it has no row."""
    return _by_month(values, metric).get(month)


def _by_month(values: pd.DataFrame, metric: str) -> dict[date, object]:
    """A metric's values by month as ``value_of`` gives them (the first row of a month),
    in one pass: a page asks for hundreds of month values, and a pandas filter per value
    cost a tenth of a second per page view."""
    found: dict[date, object] = {}
    rows = values["metric"] == metric
    for month, value in zip(values["month"][rows], values["value"][rows], strict=True):
        if month not in found:
            found[month] = value if isinstance(value, str) else float(value)
    return found


def shown_series(values: pd.DataFrame, info: MetricInfo, months: list[date]) -> pd.DataFrame:
    """The metric month by month as shown: columns ``month`` and ``value`` (a number,
    ``*`` or ``None``; a count without a row is 0), percentages and medians rounded to 1
    decimal. ``values`` is ``monthly_metrics`` of the viewer's scope, already disclosed
    where the scope says so."""
    rows = []
    by_month = _by_month(values, info.metric)
    for month in months:
        value = by_month.get(month)
        if value is None and info.kind == "count":
            value = 0.0  # a missing count row is 0
        rows.append({"month": month, "value": value})
    frame = pd.DataFrame(rows, columns=["month", "value"])
    return round_shown(frame, {"value": 0 if info.kind == "count" else 1})


def change_months(change_points: pd.DataFrame, metric: str) -> list[date]:
    """The months in which the SPC limits of ``metric`` are recalculated: the rows of
    ``marts.dim_spc_change_points`` already chosen for the series drawn
    (``dashboard.queries.spc.change_points``) that name this metric or every metric (``*``)."""
    rows = change_points[change_points["metric"].isin(("*", metric))]
    return sorted({d.replace(day=1) for d in rows["changed_on"]})


def spc_of(
    series: pd.DataFrame,
    info: MetricInfo,
    *,
    changes: Sequence[date] = (),
    screen_outliers: bool = True,
) -> tuple[list[date], SpcResult]:
    """The SPC analysis of a shown series: the months analysed (those with a number)
    and the result. Gaps (no records, or suppressed) are left out, not treated as 0.

    ``changes``: months from which the limits are recalculated (``change_months``); a
    segment starts at the first analysed month on or after each. ``screen_outliers``:
    ``False`` for the Making Data Count Excel tool's variant (``SMHP_SPC_EXCEL_VARIANT``).
    """
    pairs = [
        (m, v)
        for m, v in zip(series["month"], numbers(series["value"]), strict=True)
        if v is not None
    ]
    months = [m for m, _ in pairs]
    result = analyse(
        [v for _, v in pairs],
        info.direction,
        info.target,
        change_points={bisect_left(months, change) for change in changes},
        screen_outliers=screen_outliers,
    )
    return months, result


def rebase_reasons(change_points: pd.DataFrame, metric: str, months: list[date]) -> dict[date, str]:
    """Why the limits of ``metric`` are recalculated, keyed by the analysed month where
    each new segment starts (as ``spc_of`` places it); a change before the first or after
    the last analysed month starts no segment and is left out."""
    reasons: dict[date, list[str]] = {}
    rows = change_points[change_points["metric"].isin(("*", metric))]
    for changed_on, reason in zip(rows["changed_on"], rows["reason"], strict=True):
        index = bisect_left(months, changed_on.replace(day=1))
        if 0 < index < len(months):
            reasons.setdefault(months[index], []).append(str(reason))
    return {month: "; ".join(texts) for month, texts in reasons.items()}


def spc_table(series: pd.DataFrame, months: list[date], result: SpcResult) -> pd.DataFrame:
    """The numbers of an SPC chart, one row per month: the value as shown, its segment's
    mean and limits (true values, never cut at the metric's bounds), the special-cause
    signal, the first month of its segment and whether its limits are trial limits (what
    the chart draws). A month without a value belongs to the segment it falls in."""

    def level(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    points = dict(zip(months, result.points, strict=True))
    starts = [months[s.start] for s in result.segments]
    rows = []
    for month in series["month"]:
        point = points.get(month)
        segment = result.segments[max(0, bisect_right(starts, month) - 1)] if starts else None
        rows.append(
            {
                "mean": level(segment.mean) if segment else None,
                "lower_limit": level(segment.lower) if segment else None,
                "upper_limit": level(segment.upper) if segment else None,
                "special_cause": (
                    f"{point.signal} ({point.side}): {'; '.join(point.rules)}"
                    if point and point.special
                    else ""
                ),
                "limits_from": months[segment.start] if segment else None,
                "trial_limits": segment.trial if segment else None,
            }
        )
    out = series.copy()
    columns = ["mean", "lower_limit", "upper_limit", "special_cause", "limits_from", "trial_limits"]
    for column, values in pd.DataFrame(rows, index=out.index, columns=columns).items():
        out[column] = values
    return out


def period_label(start: date, end: date) -> str:
    """``1 June 2019 to 31 July 2022``."""
    return f"{start.day} {start:%B %Y} to {end.day} {end:%B %Y}"


def fmt(value: object, pattern: str) -> str:
    """A shown value as text with ``pattern`` (e.g. ``"{:.1f}%"``); ``*`` stays ``*`` and
    a missing value is a dash."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return value if isinstance(value, str) else pattern.format(value)
