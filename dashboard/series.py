"""Monthly series as a viewer may see them, and their SPC analysis, as pure functions.

A month with no row in ``metrics_monthly`` is 0 for a count and "no records" (a gap) for a
percentage or median (metric spec). Under disclosure control each month was controlled on
its exact base by the query (``dashboard.data.monthly_metrics``) before anything is drawn
or analysed, so an SPC chart of a disclosed view is the chart of the shown numbers and
reveals nothing the table does not.
"""

from __future__ import annotations

import calendar
from datetime import date

import pandas as pd

from dashboard.disclose import numbers, round_shown
from dashboard.spc import SpcResult, analyse
from smhp.reporting.catalogue import MetricInfo


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
    hit = values[(values["metric"] == metric) & (values["month"] == month)]["value"]
    if hit.empty:
        return None
    value = hit.iloc[0]
    return value if isinstance(value, str) else float(value)


def shown_series(values: pd.DataFrame, info: MetricInfo, months: list[date]) -> pd.DataFrame:
    """The metric month by month as shown: columns ``month`` and ``value`` (a number,
    ``*`` or ``None``; a count without a row is 0), percentages and medians rounded to 1
    decimal. ``values`` is ``monthly_metrics`` of the viewer's scope, already disclosed
    where the scope says so."""
    rows = []
    for month in months:
        value = value_of(values, info.metric, month)
        if value is None and info.kind == "count":
            value = 0.0  # a missing count row is 0
        rows.append({"month": month, "value": value})
    frame = pd.DataFrame(rows, columns=["month", "value"])
    return round_shown(frame, {"value": 0 if info.kind == "count" else 1})


def spc_of(series: pd.DataFrame, info: MetricInfo) -> tuple[list[date], SpcResult]:
    """The SPC analysis of a shown series: the months analysed (those with a number)
    and the result. Gaps (no records, or suppressed) are left out, not treated as 0."""
    pairs = [
        (m, v)
        for m, v in zip(series["month"], numbers(series["value"]), strict=True)
        if v is not None
    ]
    months = [m for m, _ in pairs]
    bounds = (0.0, 100.0) if info.kind == "pct" else (0.0, None)
    return months, analyse([v for _, v in pairs], info.direction, info.target, bounds)


def spc_table(series: pd.DataFrame, months: list[date], result: SpcResult) -> pd.DataFrame:
    """The numbers of an SPC chart, one row per month: the value as shown, the mean and
    limits, the target and the special-cause signal (what the chart draws)."""
    signals = {
        m: f"{p.signal} ({p.side}): {'; '.join(p.rules)}"
        for m, p in zip(months, result.points, strict=True)
        if p.special
    }

    def level(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    out = series.copy()
    out["mean"] = level(result.mean)
    out["lower_limit"] = level(result.lower)
    out["upper_limit"] = level(result.upper)
    out["special_cause"] = [signals.get(m, "") for m in out["month"]]
    return out
