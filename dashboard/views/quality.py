"""Data quality: "Can we trust last night's figures?"

Freshness per source, the latest nightly runs, files rejected and rows quarantined (by
reason, never by value), and the results of the data tests and expectations. Parts that
need the run history (``ops``) say "no run history yet" on a warehouse without one.
"""

from __future__ import annotations

import streamlit as st

from dashboard import cached, definitions, ui
from dashboard.context import PageContext, current
from dashboard.sections import quality as sections

NO_HISTORY = (
    "No run history yet: this warehouse was published before the nightly run recorded "
    "its runs (schema `ops`). The next nightly run will add it."
)


def _freshness(ctx: PageContext, history: bool) -> None:
    shown = sections.freshness(ctx.snapshot)
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
    runs = sections.runs(ctx.snapshot)
    if runs.empty:
        st.info("The run history has no runs yet.")
        return
    ui.table(
        runs,
        key="quality_runs",
        title="Latest nightly runs",
        definitions=[definitions.RUNS],
    )
    view = sections.stages(ctx.snapshot)
    if view is None:
        return
    shown, spec = view
    ui.figure(
        spec,
        shown,
        key="quality_stages",
        definitions=[definitions.RUNS],
    )


def _rejected(ctx: PageContext) -> None:
    rejected = sections.rejected(ctx.snapshot)
    if rejected.empty:
        st.subheader("Rejected files")
        st.success("No file has been rejected.")
        return
    ui.table(
        rejected,
        key="quality_rejected",
        title="Rejected files",
        definitions=[definitions.REJECTED],
    )


def _quarantine(ctx: PageContext) -> None:
    view = sections.quarantine(ctx.snapshot)
    if view is None:
        st.success("No row has been quarantined.")
        return
    shown, spec = view
    ui.figure(
        spec,
        shown,
        key="quality_quarantine",
        definitions=[definitions.QUARANTINE],
    )


def _load_log(ctx: PageContext) -> None:
    ui.table(
        sections.load_log(ctx.snapshot),
        key="quality_load_log",
        title="Files and rows loaded, by source",
        definitions=[definitions.REJECTED, definitions.QUARANTINE],
    )


def _checks(ctx: PageContext) -> None:
    view = sections.checks(ctx.snapshot)
    if view is None:
        st.info("The last run recorded no checks.")
        return
    summary, spec, failing = view
    ui.figure(
        spec,
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
