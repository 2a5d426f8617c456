"""Disclosure control applied to whole tables, on top of ``smhp.disclosure``.

Every query function (``dashboard.data``, ``dashboard.queries``) builds an exact table
first, then declares how each column is controlled: a ``Count``, a ``Statistic``
(percentage or median) with the count it is computed over, or a ``Rate`` with the count
it is derived from. ``disclose`` applies those rules, where the viewer's scope says so,
with the *exact* counts (a base is judged before it is rounded, as the rule requires) and
the query returns the table as it may be shown: numbers, or ``*`` where suppressed. A page
never sees the exact table; its chart, its table and its CSV download are all drawn from
that one shown table, so the download holds exactly the numbers on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.catalog import MetricInfo
from smhp.disclosure import (
    SUPPRESSED,
    suppress_count,
    suppress_rate,
    suppress_statistic,
)

Shown = float | int | str | None


@dataclass(frozen=True)
class Count:
    """A count column: 0 stays 0, 1-7 are ``*``, others to the nearest 5."""

    column: str


@dataclass(frozen=True)
class Statistic:
    """A percentage or median column, hidden when its base count is under 8.

    ``base=None``: the base is not known (not published), so the value is always hidden
    under disclosure control.
    """

    column: str
    base: str | None


@dataclass(frozen=True)
class Rate:
    """A rate column (per 1,000), shown only where the count it comes from may be."""

    column: str
    count: str


Rule = Count | Statistic | Rate


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


def _control(rule: Rule, row: pd.Series) -> Shown:
    value = row[rule.column]
    if isinstance(rule, Count):
        return suppress_count(0.0 if _missing(value) else float(value))
    if _missing(value):
        return None
    if isinstance(rule, Statistic):
        if rule.base is None:
            return SUPPRESSED
        base = row[rule.base]
        return suppress_statistic(float(value), 0.0 if _missing(base) else float(base))
    count = row[rule.count]
    return suppress_rate(float(value), 0.0 if _missing(count) else float(count))


def disclose(frame: pd.DataFrame, rules: Sequence[Rule], apply: bool) -> pd.DataFrame:
    """``frame`` as it may be shown: with ``apply``, every ruled column controlled.

    Without ``apply`` (the board's exact view) the frame is returned unchanged. Columns
    without a rule pass through (labels, dates, reference data such as headcounts).
    """
    if not apply or frame.empty:
        return frame.copy()
    exact = frame.copy()
    shown = frame.copy()
    for rule in rules:
        shown[rule.column] = pd.Series(
            [_control(rule, row) for _, row in exact.iterrows()], index=exact.index, dtype=object
        )
    return shown


def rule_for(info: MetricInfo, column: str = "value", base_column: str = "base") -> Rule:
    """The rule of a catalogued metric, for a table with its value and base columns."""
    if info.kind == "count":
        return Count(column)
    if info.kind == "rate":
        return Rate(column, base_column)
    return Statistic(column, base_column if info.base else None)


def shown_metric(info: MetricInfo, value: float | None, base: float | None, apply: bool) -> Shown:
    """One catalogued metric's value as it may be shown (a missing count is 0)."""
    if info.kind == "count" and value is None:
        value = 0.0
    if not apply:
        return value
    row = pd.Series({"value": value, "base": base})
    return _control(rule_for(info), row)


def round_shown(frame: pd.DataFrame, decimals: dict[str, int]) -> pd.DataFrame:
    """Round the numbers of the given columns for display, leaving ``*`` and gaps alone.

    Done after disclosure (which works on exact values) and before drawing, so that the
    chart, the table and the CSV show the same rounded numbers.
    """
    out = frame.copy()
    for column, places in decimals.items():
        values = [
            v if isinstance(v, str) or _missing(v) else round(float(v), places) for v in out[column]
        ]
        if places == 0:
            values = [v if isinstance(v, str) or _missing(v) else int(v) for v in values]
        # object dtype: a gap stays None (not NaN) and ``*`` stays beside numbers
        out[column] = pd.Series(
            [None if _missing(v) else v for v in values], index=out.index, dtype=object
        )
    return out


def numbers(values: Sequence[Shown] | pd.Series) -> list[float | None]:
    """Values for a chart axis: suppressed (``*``) and missing values become gaps."""
    return [None if isinstance(v, str) or _missing(v) else float(v) for v in values]
