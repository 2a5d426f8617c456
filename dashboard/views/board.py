"""Board overview: "Are we improving, and where do we need to act?"

Headline tiles for the latest *complete* month (a month still being delivered would look
like a sudden drop) against the month before and against the standards; a Making Data
Count summary and SPC chart of the key metrics; small multiples comparing institutions,
per 1,000 students where counts differ in scale.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import cached, definitions, filters, ui
from dashboard.catalog import BOARD_KEY_METRICS as KEY_METRICS
from dashboard.catalog import BOARD_TILES as TILES
from dashboard.context import PageContext, current
from dashboard.sections import board as sections
from dashboard.series import (
    month_label,
    months_between,
    previous_month,
    window_start,
)
from smhp.reporting.catalogue import info, with_bases
from smhp.settings import Settings

WINDOWS = {"24": "Last 24 months", "36": "Last 36 months", "all": "All months"}


def _key_metrics(ctx: PageContext) -> tuple[str, ...]:
    # A median cannot be combined from several institutions' rows (dashboard.data).
    single = ctx.scope.institutions is None or len(ctx.scope.institutions) == 1
    return tuple(m for m in KEY_METRICS if single or info(m).kind != "median")


def _metrics_of(ctx: PageContext) -> tuple[str, ...]:
    """Every metric the page reads: the tiles', the key metrics' and their bases."""
    return with_bases(tuple(sorted(set(TILES) | set(_key_metrics(ctx)))))


_BADGE_COLOURS = {"Meets": "blue", "Below": "orange", "Standard": "gray"}


def _tiles(ctx: PageContext, month: date) -> None:
    st.subheader(f"{month_label(month)} compared with {month_label(previous_month(month))}")
    figures = sections.tile_figures(ctx.snapshot, ctx.scope, _metrics_of(ctx), month)
    tiles = zip(st.columns(len(TILES)), TILES, figures, strict=True)
    for column, metric, (value, delta, standard) in tiles:
        mi = info(metric)
        ui.tile(
            column,
            mi.label,
            value,
            delta=delta,
            delta_color="off" if mi.direction.value == "neither" else "normal",
            help=definitions.metric(metric),
        )
        if standard is not None:
            column.badge(standard, color=_BADGE_COLOURS[standard.split(" ", 1)[0]])


def _screen_outliers() -> bool:
    """Whether SPC limits screen large month-to-month changes (not the Excel variant)."""
    return not Settings.from_env().spc_excel_variant


def _summary(ctx: PageContext, months: list[date]) -> None:
    rows = sections.summary_rows(
        ctx.snapshot, ctx.scope, _metrics_of(ctx), _key_metrics(ctx), months, _screen_outliers()
    )
    ui.table(
        rows,
        key="board_spc_summary",
        title=f"Key metrics, {month_label(months[0])} to {month_label(months[-1])}",
        definitions=[definitions.SPC, *(definitions.metric(m) for m in _key_metrics(ctx))],
        column_config={
            "Variation icon": st.column_config.ImageColumn(" ", width="small"),
            "Assurance icon": st.column_config.ImageColumn("  ", width="small"),
        },
        not_in_csv=("Variation icon", "Assurance icon"),
    )


def _spc_chart(ctx: PageContext, months: list[date]) -> None:
    metrics = _key_metrics(ctx)
    chosen = st.selectbox(
        "SPC chart of",
        metrics,
        index=metrics.index("referral_seen_6wk_pct"),
        format_func=lambda m: info(m).label,
        key="board_spc_metric",
    )
    view = sections.spc_view(
        ctx.snapshot, ctx.scope, _metrics_of(ctx), chosen, months, _screen_outliers()
    )
    if view is None:
        ui.no_data(
            f"{info(chosen).label} has no value in {month_label(months[0])} to "
            f"{month_label(months[-1])}."
        )
        return
    spec, shown, notes = view
    ui.figure(
        spec,
        shown,
        key=f"board_spc_{chosen}",
        definitions=[definitions.metric(chosen), definitions.SPC, definitions.COUNT_RULE],
        notes=notes,
    )


def _comparison(ctx: PageContext, months: list[date]) -> None:
    key = st.selectbox(
        "Compare institutions on",
        list(sections.COMPARISONS),
        format_func=lambda k: sections.COMPARISONS[k].label,
        key="board_compare",
    )
    comp = sections.COMPARISONS[key]
    compared = sections.compared(ctx.snapshot, ctx.scope, key, months[0], months[-1])
    if isinstance(compared, str):
        ui.no_data(compared)
        return
    table, spec = compared
    defs = [definitions.PER_1000] if comp.kind == "rate" else []
    defs.append(definitions.metric(comp.metric or comp.count))
    ui.figure(spec, table, key=f"board_compare_{key}", definitions=defs)


def render(ctx: PageContext) -> None:
    """Draw the board overview for the context's scope."""
    ui.header("Board overview", "Are we improving, and where do we need to act?")
    month = ctx.as_of.complete_month
    values = cached.monthly_metrics(ctx.snapshot, ctx.scope, _metrics_of(ctx))
    if month is None or values.empty:
        ui.no_data("the published warehouse holds no monthly figures for this view yet.")
        return
    _tiles(ctx, month)
    window = filters.choice("Months shown", WINDOWS, "board_window")
    earliest = min(values["month"])
    first = earliest if window == "all" else max(earliest, window_start(month, int(window)))
    if first > month:
        ui.no_data("no complete month has figures for this view yet.")
        return
    months = months_between(first, month)
    _summary(ctx, months)
    st.subheader("Statistical process control")
    _spc_chart(ctx, months)
    st.subheader("Institutions side by side")
    _comparison(ctx, months)
    ui.disclosure_footnote(ctx.scope.disclosure_control)


render(current("overview"))
