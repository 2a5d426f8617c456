"""What each pack holds: the board pack, a service-manager pack per institution and the funder
pack, as sections of paragraphs, tables and charts.

Every figure comes from the dashboard's own scoped query functions (``dashboard.data``,
``dashboard.queries.*``) called with the scope of the pack's reader, exactly as the page
of that reader calls them: ``BOARD_SCOPE`` (exact), one institution's service-manager scope
(``scope_for``), ``FUNDER_SCOPE`` (disclosure control, no records). There is no second SQL
path here, so a pack can never show a figure its reader's dashboard would not; a service
manager's pack asks only its institution's scope, so no other institution's rows reach it.
Tables keep the dashboard's column names (the disclosure checks read them by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, series
from dashboard.catalog import BOARD_KEY_METRICS, BOARD_TILES
from dashboard.data import as_of, institution_joins, monthly_metrics, read_frame
from dashboard.icons import assurance_icon, variation_icon
from dashboard.queries import board, equity, funder, quality, service, spc
from dashboard.series import fmt, period_label
from smhp.access import BOARD_SCOPE, FUNDER_SCOPE, Access, Scope, scope_for
from smhp.access.roles import SERVICE_MANAGER
from smhp.reporting.catalogue import WAIT_18WK_TARGET, MetricInfo, info, with_bases
from smhp.reporting.disclosure import FOOTNOTE
from smhp.reporting.impact import OUTCOME_SHARES
from smhp.reporting.release_periods import FUNDED, ReleasePeriod, released_periods
from smhp.reporting.spc import SpcResult
from smhp.settings import Settings

from .store import BOARD, FUNDER, MANAGER

WINDOW_MONTHS = 24
"""The SPC charts' window: the board page's default (the last 24 complete months)."""
PERIOD_MONTHS = 12
"""Waits and U-COPE outcomes: the service page's default period (12 complete months)."""


@dataclass(frozen=True)
class Table:
    """A table as shown: a caption, column headings and rows of text (first cell of each
    row is its header)."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Icon:
    """A Making Data Count icon (``dashboard.icons``): its image and its meaning in words."""

    image: str  # a data: URL
    text: str


@dataclass(frozen=True)
class Chart:
    """A chart: the dashboard's figure, and the one plain sentence printed under it."""

    figure: go.Figure
    sentence: str
    icons: tuple[Icon, ...] = ()


Block = str | Table | Chart
"""A paragraph (plain text), a table or a chart."""


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Pack:
    """One pack: its kind, file name, title, the institution it is for (manager packs),
    what its reader sees (the cover's lines) and its sections."""

    kind: str
    file_name: str
    title: str
    cover: tuple[str, ...]
    sections: tuple[Section, ...]
    institution: str | None = None
    metrics: tuple[str, ...] = field(default=())

    @property
    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


# --- shared pieces ------------------------------------------------------------------------


def _table(caption: str, frame: pd.DataFrame) -> Table:
    """A shown frame as a table of text (``*`` stays ``*``, a missing value is a dash)."""

    def text(value: object) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):  # already rounded as shown (a ratio to 2 places)
            return f"{value:,.0f}" if value.is_integer() else f"{round(value, 2):,}"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, date):
            return f"{value:%B %Y}" if value.day == 1 else f"{value.day} {value:%B %Y}"
        return str(value)

    rows = tuple(tuple(text(v) for v in row) for row in frame.itertuples(index=False))
    return Table(caption, tuple(str(c) for c in frame.columns), rows)


def _cover(snapshot: Path, scope: Scope, reader: str) -> tuple[list[str], date | None]:
    """The cover's lines (as-of date, the last run's outcome, who the pack is for) and the
    latest complete month."""
    dates = as_of(snapshot, scope)
    last = quality.last_run(snapshot)
    through = dates.latest_extract or dates.data_through
    lines = [
        f"Data as of {fmt_day(through)}; the latest complete month is "
        f"{series.month_label(dates.complete_month) if dates.complete_month else 'none yet'}.",
        (
            f"Last nightly run: {last.outcome.replace('_', ' ')} "
            f"({fmt_day(last.started_at.date())}, run {last.run_id})"
            + (f": {last.reason}" if last.reason else ".")
            if last
            else "No run history yet."
        ),
        reader,
    ]
    return lines, dates.complete_month


def fmt_day(day: date | None) -> str:
    """``5 March 2024``; a dash for none."""
    return "—" if day is None else f"{day.day} {day:%B %Y}"


def _key_metrics(scope: Scope) -> tuple[str, ...]:
    # A median cannot be combined from several institutions' rows (dashboard.data).
    single = scope.institutions is None or len(scope.institutions) == 1
    return tuple(m for m in BOARD_KEY_METRICS if single or info(m).kind != "median")


def _headline_table(values: pd.DataFrame, month: date) -> Table:
    """The board's headline tiles as a table: this month, the month before, the change
    and where it stands against its standard."""
    before = series.previous_month(month)
    rows = []
    for metric in BOARD_TILES:
        mi = info(metric)
        now = series.shown_series(values, mi, [month])["value"].iloc[0]
        then = series.shown_series(values, mi, [before])["value"].iloc[0]
        change = "—"
        if isinstance(now, int | float) and isinstance(then, int | float):
            delta = float(now) - float(then)
            change = f"{delta:+,.0f}" if mi.kind == "count" else f"{delta:+.1f} points"
        rows.append(
            (
                mi.label,
                mi.format(now),
                mi.format(then),
                change,
                mi.against_standard(now) or "no standard",
            )
        )
    header = (
        "Measure",
        series.month_label(month),
        series.month_label(before),
        "Change",
        "Against the standard",
    )
    return Table(
        f"Headline figures, {series.month_label(month)} compared with {series.month_label(before)}",
        header,
        tuple(rows),
    )


def _analysis(
    changes: pd.DataFrame, values: pd.DataFrame, mi: MetricInfo, months: list[date]
) -> tuple[pd.DataFrame, list[date], SpcResult, dict[date, str]]:
    """The SPC analysis of a metric as the board page makes it: the shown series, the
    declared change dates of the scope's series (``changes``) and the screening setting."""
    shown = series.shown_series(values, mi, months)
    analysed, result = series.spc_of(
        shown,
        mi,
        changes=series.change_months(changes, mi.metric),
        screen_outliers=not Settings.from_env().spc_excel_variant,
    )
    return shown, analysed, result, series.rebase_reasons(changes, mi.metric, analysed)


def spc_sentence(mi: MetricInfo, result: SpcResult) -> str:
    """The one plain sentence under an SPC chart: "Referrals received: common cause; no
    target"."""
    return f"{mi.label}: {result.variation.value}; {result.assurance.value}."


def _spc_blocks(
    snapshot: Path, scope: Scope, values: pd.DataFrame, months: list[date], metrics: Sequence[str]
) -> list[Block]:
    """The Making Data Count summary table and one SPC chart per metric of ``metrics``."""
    rows = []
    blocks: list[Block] = []
    joins = institution_joins(snapshot, scope)
    changes = spc.change_points(snapshot, scope)
    for metric in _key_metrics(scope):
        mi = info(metric)
        shown, analysed, result, reasons = _analysis(changes, values, mi, months)
        latest = shown["value"].iloc[-1] if not shown.empty else None
        rows.append(
            (
                mi.label,
                mi.format(latest),
                "—" if result.mean is None else f"{result.mean:,.1f}",
                "—" if result.lower is None else f"{result.lower:,.1f}",
                "—" if result.upper is None else f"{result.upper:,.1f}",
                "—" if mi.target is None else f"{mi.target:.0f}%",
                result.variation.value,
                result.assurance.value,
            )
        )
        if metric not in metrics or not analysed:
            continue
        fig = charts.metric_spc_chart(mi, analysed, result, reasons)
        charts.mark_joins(fig, joins, analysed)
        icons = (
            Icon(variation_icon(result.variation), f"Variation: {result.variation.value}"),
            Icon(assurance_icon(result.assurance), f"Assurance: {result.assurance.value}"),
        )
        blocks.append(Chart(fig, spc_sentence(mi, result), icons))
    summary = Table(
        f"Key metrics, {series.month_label(months[0])} to {series.month_label(months[-1])} "
        "(Making Data Count: the latest limits)",
        (
            "Metric",
            "Latest month",
            "Mean",
            "Lower limit",
            "Upper limit",
            "Target",
            "Variation",
            "Assurance",
        ),
        tuple(rows),
    )
    return [summary, *blocks]


def _window(values: pd.DataFrame, month: date) -> list[date]:
    earliest = min(values["month"])
    return series.months_between(max(earliest, series.window_start(month, WINDOW_MONTHS)), month)


def _period(month: date) -> tuple[date, date]:
    """The last ``PERIOD_MONTHS`` complete months up to ``month``."""
    return series.window_start(month, PERIOD_MONTHS), series.month_end(month)


def _waits(snapshot: Path, scope: Scope, start: date, end: date) -> Table:
    shown = service.wait_summary(snapshot, scope, start, end, None)
    six = info("referral_seen_6wk_pct")
    rows = (
        ("First appointments", fmt(shown["first_appointments"], "{:,.0f}"), "—"),
        ("Median wait", fmt(shown["median_wait_days"], "{:.1f} days"), "—"),
        ("Seen within 6 weeks", fmt(shown["within_6wk_pct"], "{:.1f}%"), f"{six.target:.0f}%"),
        (
            "Seen within 18 weeks",
            fmt(shown["within_18wk_pct"], "{:.1f}%"),
            f"{WAIT_18WK_TARGET:.0f}%",
        ),
    )
    return Table(
        f"Waits for a first appointment, first appointments {period_label(start, end)}",
        ("Measure", "Value", "Target"),
        rows,
    )


def _ucope(snapshot: Path, scope: Scope, start: date, end: date) -> Table:
    shown = service.ucope_pathway(snapshot, scope, start, end)
    labels = {
        "referred": "Episodes referred",
        "assessed": "Assessed",
        "assessed_14d": "Assessed within 14 days",
        "discharged": "Discharged",
        "completed": "Completed",
        "completion_pct": "Completion among discharges",
        "improvement_pct": "Reliable improvement (discharged with both CORE-10 scores)",
        "recovery_pct": "Reliable recovery (starting at 11 or more)",
    }
    rows = tuple(
        (label, fmt(shown[key], "{:.1f}%" if key.endswith("_pct") else "{:,.0f}"))
        for key, label in labels.items()
    )
    return Table(
        f"U-COPE episodes referred {period_label(start, end)}, followed to date",
        ("Measure", "Value"),
        rows,
    )


def _equity(snapshot: Path, scope: Scope, period: ReleasePeriod) -> list[Block]:
    """Per dimension: the plain under-reached sentence and the rate table (any service)."""
    blocks: list[Block] = [
        f"Students reached by any of the three services in {period.label} "
        f"({period_label(period.start, period.end)}) per 1,000 enrolled, band by band."
    ]
    for dimension, label in equity.DIMENSIONS.items():
        shown = equity.rates(snapshot, scope, period, dimension)
        if all(e is None for e in shown["enrolled"]):
            blocks.append(f"{label}: no enrolled students recorded for {period.label}.")
            continue
        table = equity.shown_table(shown, dimension)
        blocks.append(f"{label}. " + equity.finding(table).replace("**", ""))
        columns = [
            "Band",
            "Students reached",
            "Students enrolled",
            "Reached per 1,000 enrolled",
            "Representation ratio",
            "Ratio, lower 95% limit",
            "Ratio, upper 95% limit",
        ]
        blocks.append(
            _table(f"Equity of access by {label.lower()}, {period.label}", table[columns])
        )
    return blocks


def _appendix(metrics: Sequence[str]) -> Section:
    """Definitions of the pack's metrics, from the one metric catalogue."""
    rows = []
    for metric in dict.fromkeys(metrics):
        mi = info(metric)
        target = "—" if mi.target is None else f"{mi.target:.0f}% ({mi.target_source})"
        rows.append((mi.label, mi.definition, mi.direction.value, target))
    return Section(
        "Appendix: definitions",
        (
            "From the partnership's metric catalogue (seeds/metric_catalogue.csv), the same "
            "definitions the dashboard shows.",
            Table(
                "Metric definitions",
                ("Metric", "Definition", "Good direction", "Target (source)"),
                tuple(rows),
            ),
        ),
    )


def _monthly(snapshot: Path, scope: Scope) -> pd.DataFrame:
    metrics = with_bases(tuple(sorted(set(BOARD_TILES) | set(_key_metrics(scope)))))
    return monthly_metrics(snapshot, scope, metrics)


# --- the board pack -----------------------------------------------------------------------


def _side_by_side(snapshot: Path, months: list[date]) -> list[Block]:
    """Institutions side by side on one scale: referrals per 1,000 students and the share
    seen within 6 weeks (the board page's small multiples)."""
    blocks: list[Block] = []
    for metric, count, label, y_title in (
        (
            "referrals_per_1000_students",
            "referrals_received",
            "Referrals per 1,000 students",
            "Per 1,000",
        ),
        ("referral_seen_6wk_pct", "referral_completed_waits", "Seen within 6 weeks (%)", "Percent"),
    ):
        shown = board.institution_monthly(
            snapshot, BOARD_SCOPE, metric, count, months[0], months[-1]
        )
        shown = shown.assign(value=[None if pd.isna(v) else round(v, 1) for v in shown["value"]])
        fig = charts.institutions_side_by_side(shown, label, y_title)
        latest = shown[shown["month"] == months[-1]]
        parts = [
            f"{code} {fmt(v, '{:.1f}')}"
            for code, v in zip(latest["institution_code"], latest["value"], strict=True)
        ]
        blocks.append(
            Chart(fig, f"{label} in {series.month_label(months[-1])}: {', '.join(parts)}.")
        )
    return blocks


def _data_quality(snapshot: Path) -> Section:
    last = quality.last_run(snapshot)
    stale = quality.stale_sources(snapshot)
    rejected = quality.rejected_files(snapshot)
    lines: list[Block] = [
        (
            f"Last nightly run {last.run_id}: {last.outcome.replace('_', ' ')}"
            + (f" ({last.reason})." if last.reason else ".")
            if last
            else "No run history yet."
        ),
        (
            "Stale sources: "
            + ", ".join(f"{source} ({days} days since the last extract)" for source, days in stale)
            + "."
            if stale
            else "No source is stale."
        ),
        f"Files rejected whole (all loads): {len(rejected):,}.",
    ]
    loads = quality.load_summary(snapshot)
    by_source = loads.groupby("source", as_index=False)[
        ["files", "rows_read", "rows_loaded", "rows_quarantined"]
    ].sum()
    lines.append(
        _table(
            "Files and rows loaded by source, all loads (quarantined rows: broke a rule of the "
            "extract contract; no values are shown)",
            by_source.rename(
                columns={
                    "source": "Source",
                    "files": "Files",
                    "rows_read": "Rows read",
                    "rows_loaded": "Rows loaded",
                    "rows_quarantined": "Rows quarantined",
                }
            ),
        )
    )
    return Section("Data quality", tuple(lines))


def _monthly_sections(
    snapshot: Path,
    scope: Scope,
    month: date | None,
    spc_metrics: Sequence[str],
    *,
    side_by_side: bool = False,
    waiting: bool = False,
) -> tuple[list[Section], list[str]]:
    """The sections of the monthly figures (headlines, Making Data Count with a chart per
    metric of ``spc_metrics``, institutions side by side on request, waits, the referrals
    still waiting on request, U-COPE outcomes) and the metrics their appendix defines."""
    values = _monthly(snapshot, scope)
    metrics = list(BOARD_TILES) + list(_key_metrics(scope))
    if month is None or values.empty:
        return [], metrics
    months = _window(values, month)
    start, end = _period(month)
    spc = tuple(_spc_blocks(snapshot, scope, values, months, spc_metrics))
    sections = [
        Section("Headline figures", (_headline_table(values, month),)),
        Section("Key metrics: Making Data Count", spc),
    ]
    if side_by_side:
        sections.append(
            Section("Institutions side by side", tuple(_side_by_side(snapshot, months)))
        )
        metrics.append("referrals_per_1000_students")
    sections.append(Section("Waits against 6 and 18 weeks", (_waits(snapshot, scope, start, end),)))
    if waiting:
        sections.append(Section("Still waiting past 6 weeks", _waiting(snapshot, scope)))
    sections.append(Section("U-COPE outcomes", (_ucope(snapshot, scope, start, end),)))
    metrics.append("ucope_reliable_recovery_pct")
    return sections, metrics


def board_pack(snapshot: Path) -> Pack:
    """The board's pack: exact figures for the whole partnership (``BOARD_SCOPE``)."""
    scope = BOARD_SCOPE
    cover, month = _cover(
        snapshot, scope, "For the partnership board: exact figures, not for release."
    )
    sections, metrics = _monthly_sections(
        snapshot, scope, month, _key_metrics(scope), side_by_side=True
    )
    years = released_periods(
        FUNDED.start, as_of(snapshot, scope).data_through or FUNDED.end, "academic_year"
    )
    if years:
        sections.append(Section("Equity of access", tuple(_equity(snapshot, scope, years[0]))))
    sections.append(_data_quality(snapshot))
    sections.append(_appendix(metrics))
    return Pack(BOARD, "board.pdf", "Board pack", tuple(cover), tuple(sections))


# --- the service-manager packs ------------------------------------------------------------

MANAGER_CHARTS = ("referrals_received", "referral_seen_6wk_pct")
"""The SPC charts of a manager pack (the summary table has every key metric)."""


def manager_scope(code: str) -> Scope:
    """A service manager's scope for one institution, as the dashboard grants it."""
    return scope_for(Access(role=SERVICE_MANAGER, institutions=(code,), username="pack"))


def institutions(snapshot: Path) -> list[tuple[str, str]]:
    """Every institution of ``marts.dim_institutions`` (code, name): one manager pack each."""
    frame = read_frame(
        snapshot,
        "select institution_code, institution_name from marts.dim_institutions order by 1",
    )
    return list(zip(frame["institution_code"], frame["institution_name"], strict=True))


def manager_pack(snapshot: Path, code: str, name: str) -> Pack:
    """One institution's pack: that institution's scope only, with its waiting-list counts
    but never a record-level row (the worklist stays on the dashboard)."""
    scope = manager_scope(code)
    cover, month = _cover(
        snapshot, scope, f"For the service managers of {name} ({code}): this institution only."
    )
    sections, metrics = _monthly_sections(snapshot, scope, month, MANAGER_CHARTS, waiting=True)
    sections.append(_appendix(metrics))
    return Pack(
        MANAGER,
        f"manager-{code}.pdf",
        f"Service manager pack: {name}",
        tuple(cover),
        tuple(sections),
        institution=code,
    )


def _waiting(snapshot: Path, scope: Scope) -> tuple[Block, ...]:
    """Counts of referrals still waiting past 6 weeks, by month referred: a state as of the
    data's as-of date. Counts only; the pseudonymous worklist is never in a pack."""
    day = as_of(snapshot, scope).data_through
    if day is None:
        return ("No data yet.",)
    total = service.waiting_by_institution(snapshot, scope, day, None)
    by_month = service.waiting_by_month(snapshot, scope, day, None)
    waiting = int(sum(total["referrals"]))
    return (
        f"{waiting:,} referrals were still waiting for a first appointment more than 6 weeks "
        f"after referral on {fmt_day(day)}. The worklist of who is waiting is on the "
        "dashboard's service page, not in this pack.",
        _table(
            "Referrals still waiting past 6 weeks, by month referred",
            by_month.rename(columns={"month": "Month referred", "referrals": "Referrals"}),
        ),
    )


# --- the funder pack ----------------------------------------------------------------------


def _funder_totals(snapshot: Path, scope: Scope, period: ReleasePeriod) -> list[Block]:
    shown = funder.totals(snapshot, scope, period)
    exact = funder.exact_in(snapshot, scope, period)
    rows = tuple((label, fmt(shown[key], pattern)) for key, label, pattern in funder.HEADLINES)
    exact_labels = [label for key, label, _ in funder.HEADLINES if key in exact]
    said = (
        "Exact (partnership-wide totals over exactly the whole funded period): "
        + "; ".join(exact_labels)
        + ". Every other figure is rounded under disclosure control."
        if exact_labels
        else "Rounded under disclosure control (see the footnote)."
    )
    outcomes = tuple(
        (
            label,
            fmt(shown[OUTCOME_SHARES[pct][1]], "{:,.0f}"),
            fmt(shown[OUTCOME_SHARES[pct][0]], "{:,.0f}"),
            fmt(shown[pct], "{:.1f}%"),
        )
        for pct, label, _ in funder.OUTCOMES
    )
    return [
        Table("Totals for the period", ("Measure", "Value"), rows),
        f"{said} Students enrolled: headcounts of academic year {shown['academic_year']}.",
        Table(
            "U-COPE outcomes of the episodes discharged in the period",
            ("Outcome", "Of", "Met", "%"),
            outcomes,
        ),
    ]


def _funder_standards(snapshot: Path, scope: Scope, period: ReleasePeriod) -> Table:
    shown = funder.standards(snapshot, scope, period)
    rows = tuple(
        (
            label,
            fmt(base, "{:,.0f}"),
            fmt(met, "{:,.0f}"),
            fmt(pct, "{:.1f}%"),
            fmt(target, "{:.0f}%"),
        )
        for label, base, met, pct, target in zip(
            shown["label"], shown["base"], shown["met"], shown["pct"], shown["target"], strict=True
        )
    )
    return Table(
        "Share meeting each service standard",
        ("Standard", "Measured", "Met the standard", "Percent", "Target (%)"),
        rows,
    )


def _funder_trend(snapshot: Path, scope: Scope, day: date) -> list[Block]:
    years = funder.by_year(snapshot, scope, FUNDED.start, day)
    if not years:
        return ["No academic year has ended yet in the data."]
    fig = charts.students_each_year([(year.code, t) for year, t in years])
    latest_code, latest = years[-1][0].code, years[-1][1]
    sentence = (
        f"Students supported in {latest_code}: liaison {fmt(latest['liaison_students'], '{:,}')}, "
        f"U-COPE {fmt(latest['ucope_students'], '{:,}')} (rounded; each year's own figures)."
    )
    return [
        Chart(fig, sentence),
        Table(
            "Students supported each academic year",
            ("Academic year", *(label for key, label, _ in funder.HEADLINES[:2])),
            tuple(
                (str(y), fmt(t["liaison_students"], "{:,}"), fmt(t["ucope_students"], "{:,}"))
                for y, t in ((year.code, t) for year, t in years)
            ),
        ),
    ]


def _funder_institutions(snapshot: Path, scope: Scope, period: ReleasePeriod) -> Table:
    rows = funder.by_institution(snapshot, scope, period)
    keys = [(k, label, p) for k, label, p in funder.HEADLINES if k != "institutions"]
    return Table(
        "By institution",
        ("Institution", *(label for _, label, _ in keys)),
        tuple((str(t["institution"]), *(fmt(t[k], p) for k, _, p in keys)) for t in rows),
    )


def funder_pack(snapshot: Path) -> Pack:
    """The funder's pack (``FUNDER_SCOPE``): the funder page's figures over the funded
    period, always through disclosure control and never record-level."""
    scope = funder.with_scope_of(FUNDER_SCOPE, None)
    period = FUNDED
    cover, _ = _cover(
        snapshot,
        scope,
        f"For funders: {period.label}, {period_label(period.start, period.end)}, through "
        "disclosure control.",
    )
    day = as_of(snapshot, scope).data_through or period.end
    sections = [
        Section("What the money achieved", tuple(_funder_totals(snapshot, scope, period))),
        Section("Service standards", (_funder_standards(snapshot, scope, period),)),
        Section("Trend", tuple(_funder_trend(snapshot, scope, day))),
        Section("Institutions", (_funder_institutions(snapshot, scope, period),)),
        Section("Equity of access", tuple(_equity(snapshot, scope, period))),
        Section("Disclosure control", (FOOTNOTE,)),
        _appendix(
            [
                "liaison_students",
                "ucope_students",
                "referrals_received",
                "referral_median_wait_days",
                "referral_seen_6wk_pct",
                "ucope_assessed_14d_pct",
                "liaison_informed_72h_pct",
                "ucope_reliable_improvement_pct",
                "ucope_reliable_recovery_pct",
            ]
        ),
    ]
    return Pack(FUNDER, "funder.pdf", "Funder impact pack", tuple(cover), tuple(sections))
