"""What the funder impact summary shows, worked out from its cached queries: the service
standards, the trend by academic year and the totals by institution, each as its table
and chart (built: ``charts.Drawn``), cached per snapshot, scope and period
(``dashboard.cached.derived``) and keyed by them, never by the rows.

In a module of its own, not in the page script: Streamlit runs a page script again on
every view, and each run would wrap these functions in its cache again (reading their
source to name the cache). The page (``dashboard/views/funder.py``) only draws.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard import cached, charts
from dashboard.disclose import round_shown
from dashboard.queries.funder import HEADLINES, OUTCOMES, Shown
from dashboard.theme import TARGET
from smhp.access import Scope
from smhp.reporting.impact import OUTCOME_SHARES
from smhp.reporting.release_periods import ReleasePeriod


def _totals_table(rows: list[tuple[str, Shown]], label: str) -> pd.DataFrame:
    """Labelled impact totals as the queries returned them (a part: never exact)."""
    out = pd.DataFrame([{label: name, **t} for name, t in rows])[
        [label, *(k for k, _, _ in HEADLINES)]
    ]
    return round_shown(out, {"referral_median_wait_days": 1, "referral_seen_6wk_pct": 1})


_HEADERS = {key: label for key, label, _ in HEADLINES}


@cached.derived
def standards(
    snapshot: str, scope: Scope, period: ReleasePeriod
) -> tuple[pd.DataFrame, charts.Drawn] | None:
    """The standards' table and chart (bars of the share met, the target marked)."""
    shown = cached.standards(snapshot, scope, period)
    if all(b == 0 for b in shown["base"]):
        return None
    shown = round_shown(shown, {"pct": 1})
    table = shown[["label", "base", "met", "pct", "target"]].rename(
        columns={
            "label": "Standard",
            "base": "Measured",
            "met": "Met the standard",
            "pct": "Percent",
            "target": "Target (%)",
        }
    )
    fig = charts.bars(
        table,
        "Standard",
        "Percent",
        horizontal=True,
        title="Share meeting each service standard",
        x_title="Percent",
        y_title=None,
    )
    fig.add_scatter(
        x=list(table["Target (%)"]),
        y=list(table["Standard"]),
        mode="markers",
        name="Target",
        marker={"symbol": "line-ns", "size": 34, "line": {"width": 4, "color": TARGET}},
    )
    fig.update_layout(showlegend=True)
    fig.update_xaxes(range=[0, 100])
    return table, charts.drawn(fig)


@cached.derived
def trend(
    snapshot: str, scope: Scope, start: date, as_of: date
) -> tuple[pd.DataFrame, charts.Drawn] | None:
    """Every whole academic year's totals from ``start``: the table and the chart."""
    by_year = cached.impact_by_year(snapshot, scope, start, as_of)
    years = [(year.code, t) for year, t in by_year]
    if not years:
        return None
    shown = _totals_table(years, "Academic year").rename(columns=_HEADERS)
    return shown, charts.drawn(charts.students_each_year(years))


@cached.derived
def institutions(snapshot: str, scope: Scope, period: ReleasePeriod) -> pd.DataFrame:
    rows = cached.impact_by_institution(snapshot, scope, period)
    shown = _totals_table([(t["institution"] or "", t) for t in rows], "Institution")
    return shown.drop(columns=["institutions"]).rename(columns=_HEADERS)


@cached.derived
def headline_table(snapshot: str, scope: Scope, period: ReleasePeriod) -> pd.DataFrame:
    """The headline totals as a table: measure and value, as shown."""
    shown = cached.impact_totals(snapshot, scope, period)
    values = [
        round(v, 1) if isinstance(v, float) else v for v in (shown[k] for k, _, _ in HEADLINES)
    ]
    return pd.DataFrame(
        {
            "Measure": [label for _, label, _ in HEADLINES],
            # object: counts stay whole (429, not 429.0) beside 16.0 days and *
            "Value": pd.Series(values, dtype=object),
        }
    )


@cached.derived
def outcome_table(snapshot: str, scope: Scope, period: ReleasePeriod) -> pd.DataFrame:
    """The U-COPE outcomes as a table: each share with the counts it is of."""
    shown = cached.impact_totals(snapshot, scope, period)
    rows = [
        {
            "Outcome": label,
            "Of": shown[OUTCOME_SHARES[pct][1]],
            "Met": shown[OUTCOME_SHARES[pct][0]],
            "%": shown[pct],
        }
        for pct, label, _ in OUTCOMES
    ]
    return round_shown(pd.DataFrame(rows), {"%": 1})
