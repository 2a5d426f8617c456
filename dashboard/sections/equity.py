"""What the equity-of-access page shows, worked out from its cached query: the table, its
finding in words and its two charts (built: ``charts.Drawn``), cached per snapshot, scope and
filters (``dashboard.cached.derived``) and keyed by them, never by the rows.

In a module of its own, not in the page script: Streamlit runs a page script again on
every view, and each run would wrap this function in its cache again (reading its source
to name the cache). The page (``dashboard/views/equity.py``) only draws.
"""

from __future__ import annotations

import pandas as pd

from dashboard import cached, charts
from dashboard.queries.equity import BAND_LABELS, DIMENSIONS, SERVICES
from dashboard.queries.equity import finding as _finding
from dashboard.queries.equity import shown_table as _table
from dashboard.theme import NEITHER
from smhp.access import Scope
from smhp.reporting.equity import NOT_KNOWN
from smhp.reporting.release_periods import ReleasePeriod


@cached.derived
def view(
    snapshot: str, scope: Scope, period: ReleasePeriod, dimension: str, service: str
) -> tuple[pd.DataFrame, str, charts.Drawn, charts.Drawn] | None:
    """The page's table, its finding in words and its two charts (rates per 1,000 and
    representation ratios, built), cached per snapshot, scope and filters
    and keyed by them (``cached.derived``); None without enrolled students for the year."""
    shown = cached.equity_rates(snapshot, scope, period, dimension, service)
    if all(e is None for e in shown["enrolled"]):  # no seed row for the year
        return None
    table = _table(shown, dimension)
    what = DIMENSIONS[dimension].lower()
    who = SERVICES[service] if service != "any" else "any service"
    charted = table[table["Band"] != BAND_LABELS[NOT_KNOWN]]
    rates = charts.estimates(
        charted,
        "Band",
        "Reached per 1,000 enrolled",
        "Rate, lower 95% limit",
        "Rate, upper 95% limit",
        title=f"Students reached by {who} per 1,000 enrolled, by {what}",
        x_title=DIMENSIONS[dimension],
        y_title="Per 1,000 enrolled",
    )
    ratios = charts.estimates(
        charted,
        "Band",
        "Representation ratio",
        "Ratio, lower 95% limit",
        "Ratio, upper 95% limit",
        title=f"Representation ratio of students reached by {who}, by {what}",
        x_title=DIMENSIONS[dimension],
        y_title="Share reached / share enrolled",
        dots=True,
        line_at=(1.0, "reached in proportion to enrolment"),
        colour=NEITHER,
    )
    return table, _finding(table), charts.drawn(rates), charts.drawn(ratios)
