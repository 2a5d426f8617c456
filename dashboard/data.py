"""The dashboard's reading of the warehouse, free of Streamlit so it can be tested alone:
``read_frame`` and the scope's SQL condition (``in_scope``), the monthly series and the
data's as-of dates.

Every query function of the dashboard (here and in ``dashboard.queries``) takes the
snapshot file to read (see ``smhp.warehouse``) and the viewer's ``Scope``
(``smhp.access.Scope``), and returns what that scope may see and nothing more:

- **institutions** are applied in SQL through bound parameters (a filter narrows the
  scope, ``Scope.narrowed_to``, and can never widen it);
- **disclosure control**, where the scope says so, is applied by the query function
  itself before it returns (counts to the nearest 5, 1-7 as ``*``, statistics on small
  bases hidden; ``dashboard.disclose``), judged on the exact values, which never leave
  the function: a page, its chart and its CSV download only ever see the shown numbers;
- **record-level** rows (the worklist) are refused to a scope without ``record_level``.

Each call opens the snapshot read-only, queries and closes (``read_frame``): a
connection held across calls would serve a swapped-out snapshot (duckdb issue 15912).

The monthly figures come from ``marts.metrics_monthly`` and are never recomputed here.
A scope of several institutions combines their rows: counts are summed, and a percentage
is the mean of the institutions' percentages weighted by its base count, which gives the
exact percentage over the union because every contact, referral and episode belongs to one
institution. Distinct-student counts and medians cannot be combined that way and are
refused for such a scope.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from dashboard.disclose import shown_metric
from smhp.access import Scope
from smhp.reporting.catalogue import ADDITIVE_COUNTS, PERCENT_BASES, info, with_bases
from smhp.settings import Settings
from smhp.warehouse import latest_event, open_published
from smhp.warehouse import latest_extract as _latest_extract

WAREHOUSE_ENV = "SMHP_WAREHOUSE"


def in_scope(column: str = "institution_code") -> str:
    """The SQL condition of ``Scope.params()`` on an institution-code column (a constant)."""
    return f"($institutions is null or list_contains($institutions, {column}))"


IN_SCOPE = in_scope()
"""``in_scope()`` on a table's own ``institution_code`` column."""


def read_frame(
    snapshot: Path | str, sql: str, params: dict[str, object] | None = None
) -> pd.DataFrame:
    """Run one parameterised query on the snapshot, read-only, and close the connection.

    Values only ever reach DuckDB as bound parameters; ``sql`` is a constant of the
    calling module (identifiers in it come from a fixed allow-list, never from input).
    """
    con = open_published(snapshot)
    try:
        cursor = con.execute(sql, params or {})
        dates = [d[0] for d in cursor.description or () if str(d[1]) == "DATE"]
        frame = cursor.df()
    finally:
        con.close()
    for column in dates:  # pandas would make them timestamps at midnight
        frame[column] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]]
    return frame


def warehouse_path() -> Path:
    """The published warehouse, from the one place settings live (``smhp.settings``)."""
    return Settings.from_env().warehouse


def _rows_for(con: duckdb.DuckDBPyConnection, scope: Scope, metrics: list[str]) -> pd.DataFrame:
    """``metrics_monthly`` rows of the scope: the ``ALL`` rows, or the scope's institutions."""
    if scope.institutions is None:
        return con.execute(
            """
            select month, institution_code, metric, value
            from marts.metrics_monthly
            where institution_code = 'ALL' and list_contains($metrics, metric)
            order by month, metric
            """,
            {"metrics": metrics},
        ).df()
    return con.execute(
        """
        select month, institution_code, metric, value
        from marts.metrics_monthly
        where list_contains($institutions, institution_code)
          and list_contains($metrics, metric)
        order by month, metric
        """,
        {**scope.params(), "metrics": metrics},
    ).df()


def monthly_metrics(snapshot: Path | str, scope: Scope, metrics: tuple[str, ...]) -> pd.DataFrame:
    """The monthly values of ``metrics`` as the scope may see them: columns month, metric,
    value.

    ``month`` is a ``datetime.date``. Rows keep the table's convention: a missing count row
    means 0, a missing percentage means an empty denominator. Under the scope's disclosure
    control each value is already controlled here, on the exact value of its base in the
    same month (a number, or ``*``): a page never sees the exact figure.
    """
    wanted = tuple(metrics)
    if scope.disclosure_control:
        wanted = with_bases(wanted)  # disclosure judges each value on its exact base
    exact = _exact_monthly(snapshot, scope, wanted)
    if not scope.disclosure_control:
        return exact
    return _disclosed_monthly(exact, metrics)


def _disclosed_monthly(exact: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    values = {
        (m, k): v for m, k, v in zip(exact["month"], exact["metric"], exact["value"], strict=True)
    }
    rows = []
    for month, metric, value in zip(exact["month"], exact["metric"], exact["value"], strict=True):
        if metric not in metrics:
            continue
        mi = info(metric)
        base = values.get((month, mi.base), 0.0) if mi.base else None
        rows.append((month, metric, shown_metric(mi, value, base, True)))
    out = pd.DataFrame(rows, columns=["month", "metric", "value"])
    out["value"] = pd.Series(list(out["value"]), index=out.index, dtype=object)
    return out


def _exact_monthly(snapshot: Path | str, scope: Scope, metrics: tuple[str, ...]) -> pd.DataFrame:
    """The published monthly values of ``metrics`` for the scope, exact."""
    single = scope.institutions is None or len(scope.institutions) <= 1  # () = nothing
    if not single:
        unsupported = [m for m in metrics if m not in ADDITIVE_COUNTS and m not in PERCENT_BASES]
        if unsupported:
            raise ValueError(
                f"Cannot combine {unsupported} over several institutions from monthly rows."
            )
    # A percentage of several institutions needs its base to weight the institutions' values.
    needed = sorted(set(metrics) | {PERCENT_BASES[m] for m in metrics if m in PERCENT_BASES})
    con = open_published(snapshot)
    try:
        rows = _rows_for(con, scope, sorted(set(metrics)) if single else needed)
    finally:
        con.close()
    rows["month"] = pd.to_datetime(rows["month"]).dt.date
    if single:
        out = rows[rows["metric"].isin(metrics)]
        return out[["month", "metric", "value"]].reset_index(drop=True)
    return _combine(rows, metrics)


def _combine(rows: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Combine several institutions' rows: sum the counts that add up (the catalogue's
    ``ADDITIVE_COUNTS``), and weight each percentage by its base count (``PERCENT_BASES``)."""
    frames = []
    counts = rows[rows["metric"].isin(ADDITIVE_COUNTS) & rows["metric"].isin(metrics)]
    if not counts.empty:
        frames.append(counts.groupby(["month", "metric"], as_index=False)["value"].sum())
    for metric, base in PERCENT_BASES.items():
        if metric not in metrics:
            continue
        pct = rows[rows["metric"] == metric]
        weights = rows[rows["metric"] == base][["month", "institution_code", "value"]]
        joined = pct.merge(weights, on=["month", "institution_code"], suffixes=("", "_base"))
        if joined.empty:
            continue
        joined["weighted"] = joined["value"] * joined["value_base"]
        summed = joined.groupby("month", as_index=False)[["weighted", "value_base"]].sum()
        summed["value"] = summed["weighted"] / summed["value_base"]
        summed["metric"] = metric
        frames.append(summed[["month", "metric", "value"]])
    if not frames:
        return pd.DataFrame({"month": [], "metric": [], "value": []})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["month", "metric"]).reset_index(drop=True)


@dataclass(frozen=True)
class AsOf:
    """How current the data is.

    ``data_through`` is the latest event date in the facts, over the whole partnership
    (freshness is a property of the nightly delivery, not of one institution's activity);
    ``latest_extract`` the latest extract date found in the warehouse, if it records one;
    ``latest_month`` the latest month with a published row in the viewer's scope;
    ``complete_month`` the latest calendar month that had ended by the later of the two
    dates, i.e. the month the headline figures describe.
    """

    data_through: date | None
    latest_extract: date | None
    latest_month: date | None
    complete_month: date | None


def complete_month_by(day: date) -> date:
    """The first day of the latest calendar month that has ended by the end of ``day``."""
    last_day = calendar.monthrange(day.year, day.month)[1]
    if day.day == last_day:
        return day.replace(day=1)
    if day.month == 1:
        return date(day.year - 1, 12, 1)
    return date(day.year, day.month - 1, 1)


def as_of(snapshot: Path | str, scope: Scope) -> AsOf:
    """The data's as-of dates (see ``AsOf``); the latest month is the scope's."""
    con = open_published(snapshot)
    try:
        data_through = latest_event(con)
        latest_extract = _latest_extract(con)
        (latest_month,) = con.execute(
            """
            select max(month) from marts.metrics_monthly
            where case when $institutions is null then institution_code = 'ALL'
                       else list_contains($institutions, institution_code) end
            """,
            scope.params(),
        ).fetchone()
    finally:
        con.close()
    known = [d for d in (data_through, latest_extract) if d is not None]
    complete = complete_month_by(max(known)) if known else None
    return AsOf(data_through, latest_extract, latest_month, complete)


def institution_joins(snapshot: Path | str, scope: Scope) -> pd.DataFrame:
    """The scope's institutions and their joining dates (for annotation, never a filter)."""
    return read_frame(
        snapshot,
        f"""
        select institution_code, institution_name, joined_on
        from marts.dim_institutions
        where {IN_SCOPE}
        order by joined_on, institution_code
        """,
        scope.params(),
    )
