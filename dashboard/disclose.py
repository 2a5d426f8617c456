"""Disclosure control applied to whole tables, on top of ``smhp.reporting.disclosure``.

Every query function (``dashboard.data``, ``dashboard.queries``) builds an exact table
first, then declares how each column is controlled: a ``Count``, a ``Percentage`` with its
numerator and denominator counts, a ``Median`` with its base, or a ``Rate`` with its count
and denominator. ``disclose`` applies those rules, where the viewer's scope says so, with
the cell functions of ``smhp.reporting.disclosure`` (percentages and rates recalculated from the
rounded counts; a base judged before it is rounded), and the query returns the table as
it may be shown: numbers, or ``*`` where suppressed. A page
never sees the exact table; its chart, its table and its CSV download are all drawn from
that one shown table, so the download holds exactly the numbers on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from smhp.reporting.catalogue import MetricInfo
from smhp.reporting.disclosure import SUPPRESSED, median, percentage, rate, suppress_count

Shown = float | int | str | None


@dataclass(frozen=True)
class Count:
    """A count column: 0 stays 0, 1-7 are ``*``, others to the nearest 5."""

    column: str


@dataclass(frozen=True)
class Percentage:
    """A percentage column, recalculated from the rounded ``numerator`` and ``denominator``
    count columns (``*`` on a denominator under 8 or a suppressed numerator)."""

    column: str
    numerator: str
    denominator: str


@dataclass(frozen=True)
class Median:
    """A median column, hidden when its ``base`` count is under 8 (``base=None``: not
    known, so always hidden under disclosure control)."""

    column: str
    base: str | None


@dataclass(frozen=True)
class Rate:
    """A rate column (per ``per``), recalculated from the rounded ``count`` and the rounded
    ``denominator`` columns; ``*`` where the count is."""

    column: str
    count: str
    denominator: str
    per: float = 1000.0


Rule = Count | Percentage | Median | Rate


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


def _number(row: pd.Series, column: str) -> float:
    value = row[column]
    return 0.0 if _missing(value) else float(value)


def _control(rule: Rule, row: pd.Series, exact: bool) -> Shown:
    value = row[rule.column]
    if isinstance(rule, Count):
        return suppress_count(0.0 if _missing(value) else float(value), exact)
    if _missing(value):
        return None
    if isinstance(rule, Percentage):
        return percentage(_number(row, rule.numerator), _number(row, rule.denominator), exact)
    if isinstance(rule, Rate):
        return rate(_number(row, rule.count), _number(row, rule.denominator), rule.per, exact)
    if rule.base is None:
        return value if exact else SUPPRESSED
    return median(float(value), _number(row, rule.base), exact)


def disclose(
    frame: pd.DataFrame, rules: Sequence[Rule], apply: bool, exact: bool = False
) -> pd.DataFrame:
    """``frame`` as it may be shown: with ``apply``, every ruled column controlled.

    Without ``apply`` (the board's exact view) the frame is returned unchanged. Columns
    without a rule pass through (labels, dates, reference data such as headcounts).
    ``exact``: the rows are the one cell the spec allows to be exact
    (``smhp.reporting.disclosure.exact_allowed``); they keep their exact figures.
    """
    if not apply or frame.empty:
        return frame.copy()
    exact_rows = frame.copy()
    shown = frame.copy()
    for rule in rules:
        shown[rule.column] = pd.Series(
            [_control(rule, row, exact) for _, row in exact_rows.iterrows()],
            index=exact_rows.index,
            dtype=object,
        )
    return shown


def shown_metric(info: MetricInfo, value: float | None, base: float | None, apply: bool) -> Shown:
    """One catalogued metric's monthly value as it may be shown (a missing count is 0).

    ``metrics_monthly`` holds a percentage and its base count, not its numerator: the
    numerator is ``value x base / 100`` (a whole number of records). A rate's denominator
    (students enrolled) is ``1000 x base / value``.
    """
    if info.kind == "count" and value is None:
        value = 0.0
    if not apply:
        return value
    if info.kind == "count":
        return suppress_count(float(value or 0.0))
    if value is None:
        return None
    if not info.base:
        return SUPPRESSED
    base = base or 0.0
    if info.kind == "pct":
        return percentage(round(value * base / 100.0), base)
    if info.kind == "rate":
        return rate(base, round(1000.0 * base / value) if value else 0.0)
    return median(value, base)


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
