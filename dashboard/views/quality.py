"""Data quality: "Can we trust last night's figures?"

Freshness per source, the latest nightly runs, files rejected and rows quarantined (by
reason, never by value), and the results of the data tests and expectations. Parts that
need the run history (``ops``) say "no run history yet" on a warehouse without one.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cached, charts, definitions, ui
from dashboard.banner import OUTCOME_TEXT
from dashboard.context import PageContext, current
from dashboard.theme import CONCERN, IMPROVEMENT, NEUTRAL

NO_HISTORY = (
    "No run history yet: this warehouse was published before the nightly run recorded "
    "its runs (schema `ops`). The next nightly run will add it."
)
# The nightly run's stages in the order they run (others after). No docstring here: a
# bare string in a page script is Streamlit "magic" and would be drawn on the page.
STAGE_ORDER = {"ingest": 0, "dbt build": 1, "quality": 2, "publish": 3}
STATUS_COLOURS = {"pass": IMPROVEMENT, "warn": NEUTRAL, "fail": CONCERN, "error": CONCERN}

# The heading of each column of the page's tables: one name for a column wherever it is
# shown (a source, a status, rows loaded). A comment, not a docstring: see STAGE_ORDER.
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


# What the page works out from its queries is worked out once per snapshot
# (``cached.derived``), not on every view: the functions below named ``_..._shown``.


@cached.derived
def _freshness_shown(snapshot: str) -> pd.DataFrame:
    return _labelled(cached.freshness(snapshot))


@cached.derived
def _runs_shown(snapshot: str) -> pd.DataFrame:
    runs = cached.recent_runs(snapshot)
    runs["outcome"] = runs["outcome"].map(lambda o: OUTCOME_TEXT.get(o, o))
    return _labelled(runs)


@cached.derived
def _stages_shown(snapshot: str) -> tuple[pd.DataFrame, dict] | None:
    """Each run's stages in the order they ran (the run's start as a category label) and
    their chart (the figure's dict)."""
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
    return shown[["Run", "Run started", "Stage", "Seconds"]], fig.to_dict()


@cached.derived
def _quarantine_shown(snapshot: str) -> tuple[pd.DataFrame, dict] | None:
    """The quarantined rows by reason and source as recorded, and the chart of their sums
    by reason and source (the figure's dict)."""
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
    return shown, fig.to_dict()


@cached.derived
def _checks_shown(snapshot: str) -> tuple[pd.DataFrame, dict, pd.DataFrame] | None:
    """The last run's checks counted by kind and result, their chart (the figure's dict),
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
    return summary, fig.to_dict(), _labelled(checks[checks["status"] != "pass"])


def _freshness(ctx: PageContext, history: bool) -> None:
    shown = _freshness_shown(ctx.snapshot)
    notes = []
    if not history:
        shown = shown.rename(columns={"Days since": "Days behind the latest source"})
        notes.append(NO_HISTORY + " Until then, freshness comes from the load log.")
    if shown.empty:
        ui.no_data("no extract has been loaded yet.")
        return
    ui.table(
        shown,
        key="quality_freshness",
        title="Freshness per source",
        definitions=[definitions.FRESHNESS],
        notes=notes,
    )


def _runs(ctx: PageContext) -> None:
    runs = _runs_shown(ctx.snapshot)
    if runs.empty:
        st.info("The run history has no runs yet.")
        return
    ui.table(
        runs,
        key="quality_runs",
        title="Latest nightly runs",
        definitions=[definitions.RUNS],
    )
    view = _stages_shown(ctx.snapshot)
    if view is None:
        return
    shown, spec = view
    ui.figure(
        cached.figure_from(spec),
        shown,
        key="quality_stages",
        definitions=[definitions.RUNS],
    )


def _rejected(ctx: PageContext) -> None:
    rejected = cached.rejected_files(ctx.snapshot)
    if rejected.empty:
        st.subheader("Rejected files")
        st.success("No file has been rejected.")
        return
    ui.table(
        _labelled(rejected),
        key="quality_rejected",
        title="Rejected files",
        definitions=[definitions.REJECTED],
    )


def _quarantine(ctx: PageContext) -> None:
    view = _quarantine_shown(ctx.snapshot)
    if view is None:
        st.success("No row has been quarantined.")
        return
    shown, spec = view
    ui.figure(
        cached.figure_from(spec),
        shown,
        key="quality_quarantine",
        definitions=[definitions.QUARANTINE],
    )


def _load_log(ctx: PageContext) -> None:
    ui.table(
        _labelled(cached.load_summary(ctx.snapshot)),
        key="quality_load_log",
        title="Files and rows loaded, by source",
        definitions=[definitions.REJECTED, definitions.QUARANTINE],
    )


def _checks(ctx: PageContext) -> None:
    view = _checks_shown(ctx.snapshot)
    if view is None:
        st.info("The last run recorded no checks.")
        return
    summary, spec, failing = view
    ui.figure(
        cached.figure_from(spec),
        summary,
        key="quality_checks_summary",
        definitions=[definitions.CHECKS],
    )
    if failing.empty:
        st.success("Every check of the last run passed.")
        return
    ui.table(
        failing,
        key="quality_checks_failing",
        title="Checks that did not pass",
        definitions=[definitions.CHECKS],
    )


def render(ctx: PageContext) -> None:
    """Draw the data-quality page (operational figures: the same for every scope)."""
    ui.header("Data quality", "Can we trust last night's figures?")
    history = cached.has_run_history(ctx.snapshot)
    _freshness(ctx, history)
    st.header("Nightly runs")
    if history:
        _runs(ctx)
    else:
        st.info(NO_HISTORY)
    st.header("Rejected files and quarantined rows")
    _rejected(ctx)
    st.subheader("Quarantined rows by reason")
    _quarantine(ctx)
    _load_log(ctx)
    st.header("Tests and expectations")
    if history:
        _checks(ctx)
    else:
        st.info(NO_HISTORY)


render(current("quality"))
