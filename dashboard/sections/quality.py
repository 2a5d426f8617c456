"""What the data-quality page shows, worked out from its cached queries: its tables with
the page's column headings and its charts (built: ``charts.Drawn``), cached per snapshot
(``dashboard.cached.derived``; operational figures are the same for every scope).

In a module of its own, not in the page script: Streamlit runs a page script again on
every view, and each run would wrap these functions in its cache again (reading their
source to name the cache). The page (``dashboard/views/quality.py``) only draws.
"""

from __future__ import annotations

import pandas as pd

from dashboard import cached, charts
from dashboard.banner import OUTCOME_TEXT
from dashboard.theme import CONCERN, IMPROVEMENT, NEUTRAL

# The nightly run's stages in the order they run (others after).
STAGE_ORDER = {"ingest": 0, "dbt build": 1, "quality": 2, "publish": 3}
STATUS_COLOURS = {"pass": IMPROVEMENT, "warn": NEUTRAL, "fail": CONCERN, "error": CONCERN}

# The heading of each column of the page's tables: one name for a column wherever it is
# shown (a source, a status, rows loaded).
COLUMNS = {
    "source": "Source",
    "status": "Status",
    "reason": "Reason",
    "run_id": "Run",
    "started_at": "Started",
    "ended_at": "Ended",
    "outcome": "Outcome",
    "stage": "Stage",
    "seconds": "Seconds",
    "files": "Files",
    "files_loaded": "Files loaded",
    "files_rejected": "Files rejected",
    "rows_read": "Rows read",
    "rows_loaded": "Rows loaded",
    "rows_quarantined": "Rows quarantined",
    "last_extract_date": "Latest extract",
    "days_since": "Days since",
    "warn_after_days": "Warn after (days)",
    "processed_at": "Processed",
    "path": "File",
    "extract_date": "Extract date",
    "column_name": "Column",
    "rule": "Rule",
    "value_class": "What was wrong",
    "rows": "Rows",
    "kind": "Kind",
    "suite": "Suite",
    "name": "Check",
    "severity": "Severity",
    "observed_value": "Observed",
    "why": "Why it matters",
    "checks": "Checks",
}


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns headed as ``COLUMNS`` says (the page's one wording)."""
    return frame.rename(columns=COLUMNS)


@cached.derived
def freshness(snapshot: str) -> pd.DataFrame:
    return _labelled(cached.freshness(snapshot))


@cached.derived
def runs(snapshot: str) -> pd.DataFrame:
    runs = cached.recent_runs(snapshot)
    runs["outcome"] = runs["outcome"].map(lambda o: OUTCOME_TEXT.get(o, o))
    return _labelled(runs)


@cached.derived
def stages(snapshot: str) -> tuple[pd.DataFrame, charts.Drawn] | None:
    """Each run's stages in the order they ran (the run's start as a category label) and
    their chart."""
    stages = cached.run_stages(snapshot)
    if stages.empty:
        return None
    stages["order"] = [STAGE_ORDER.get(s, len(STAGE_ORDER)) for s in stages["stage"]]
    stages = stages.sort_values(["started_at", "order", "stage"], kind="stable")
    stages["Run started"] = stages["started_at"].astype(str)
    shown = _labelled(stages)
    fig = charts.bars(
        shown,
        "Run started",
        "Seconds",
        color="Stage",
        title="Time per stage of each run",
        x_title="Run started",
        y_title="Seconds",
        labels=False,
    )
    return shown[["Run", "Run started", "Stage", "Seconds"]], charts.drawn(fig)


@cached.derived
def quarantine(snapshot: str) -> tuple[pd.DataFrame, charts.Drawn] | None:
    """The quarantined rows by reason and source as recorded, and the chart of their sums
    by reason and source."""
    shown = _labelled(cached.quarantine_by_reason(snapshot))
    if shown.empty:
        return None
    by_reason = shown.groupby(["What was wrong", "Source"], as_index=False)["Rows"].sum()
    fig = charts.bars(
        by_reason,
        "What was wrong",
        "Rows",
        color="Source",
        horizontal=True,
        title="Quarantined rows by what was wrong",
        x_title="Rows (one per broken rule)",
        y_title=None,
        labels=False,
    )
    if by_reason.groupby("What was wrong")["Rows"].sum().max() <= 10:
        fig.update_xaxes(dtick=1)  # whole rows: no ticks at 0.5
    return shown, charts.drawn(fig)


@cached.derived
def checks(snapshot: str) -> tuple[pd.DataFrame, charts.Drawn, pd.DataFrame] | None:
    """The last run's checks counted by kind and result, their chart,
    and the checks that did not pass."""
    checks = cached.latest_checks(snapshot)
    if checks.empty:
        return None
    summary = checks.groupby(["kind", "status"], as_index=False).size()
    summary = _labelled(summary.rename(columns={"size": "checks"}))
    fig = charts.bars(
        summary,
        "Kind",
        "Checks",
        color="Status",
        horizontal=True,
        title="Checks of the last run by result",
        x_title="Checks",
        y_title=None,
        colours=STATUS_COLOURS,
        labels=False,
    )
    return summary, charts.drawn(fig), _labelled(checks[checks["status"] != "pass"])


@cached.derived
def rejected(snapshot: str) -> pd.DataFrame:
    return _labelled(cached.rejected_files(snapshot))


@cached.derived
def load_log(snapshot: str) -> pd.DataFrame:
    return _labelled(cached.load_summary(snapshot))
