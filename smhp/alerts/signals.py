"""The signals an alert is about, computed from the published warehouse.

Four rules (``smhp.alerts.rules``), each a pure function of what the dashboard shows, so an
alert never says something the dashboard does not:

- **spc_concern**: the latest point of a key metric's SPC chart is a special-cause
  *concern*, for the partnership (``ALL``) or one institution, analysed exactly as the
  board page does it (``dashboard.series``: the shown series of the window ending with the
  latest complete month, the declared change points of ``marts.dim_spc_change_points``, the
  screening setting) with ``smhp.reporting.spc``;
- **standard_missed**: a standard (the catalogue's target) missed in the latest *complete*
  month (a month still being delivered would look like a sudden drop);
- **source_stale**: a source the latest run's ``ops.freshness`` found stale;
- **run_not_published**: the run was blocked or failed.

Only ``marts.*`` and ``ops.*`` are read, through the dashboard's own query functions
(``dashboard.data``, ``dashboard.queries``): monthly figures, change points, institutions,
freshness and runs. No record-level row, no pseudonym: a signal holds a metric, an
institution, a month, a value and a target, never a student.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from dashboard.data import as_of, institution_joins, monthly_metrics
from dashboard.disclose import numbers
from dashboard.queries.quality import freshness, last_run
from dashboard.queries.spc import change_points
from dashboard.series import (
    change_months,
    month_label,
    months_between,
    shown_series,
    spc_of,
    window_start,
)
from smhp.access.roles import BOARD_SCOPE, OVERVIEW, QUALITY, Scope
from smhp.alerts.rules import (
    RUN_NOT_PUBLISHED,
    SOURCE_STALE,
    SPC_CONCERN,
    STANDARD_MISSED,
    AlertRules,
)
from smhp.pipeline.history import BLOCKED, FAILED
from smhp.reporting.catalogue import MetricInfo, info

PARTNERSHIP = "ALL"
PARTNERSHIP_NAME = "the partnership (all institutions)"


@dataclass(frozen=True)
class Signal:
    """One thing worth telling someone, as its message names it.

    ``subject`` is what the signal is about: a metric name (``spc_concern``,
    ``standard_missed``), a source (``source_stale``) or the run's outcome
    (``run_not_published``). ``institution_code`` is ``ALL`` for the partnership and
    ``None`` when no institution is concerned (a source, a run). ``value`` and ``target``
    are as the dashboard shows them (``87.5%``); ``page_id`` is the dashboard page that shows
    it (``smhp.access.roles``).
    """

    rule: str
    subject: str
    label: str
    institution_code: str | None
    institution_name: str | None
    month: date | None
    value: str
    target: str | None
    detail: str
    page_id: str

    @property
    def key(self) -> str:
        """Stable across runs while the signal lasts: rule, subject, institution and month
        (``spc_concern:referral_seen_6wk_pct:UOL:2026-10``); the alert state's key."""
        month = f"{self.month:%Y-%m}" if self.month else "-"
        return ":".join((self.rule, self.subject, self.institution_code or "-", month))

    @property
    def where(self) -> str:
        """The institution as people read it: ``UOL (University of Liverpool)``."""
        if self.institution_code is None:
            return ""
        if self.institution_code == PARTNERSHIP:
            return "Partnership"
        return f"{self.institution_code} ({self.institution_name})"


@dataclass(frozen=True)
class RunStatus:
    """The outcome of a nightly run (``smhp.pipeline.addons.FinishedRun`` or ``ops.runs``)."""

    run_id: str
    outcome: str
    reason: str | None


# --- the pure rules ----------------------------------------------------------------------


def spc_concern(
    series: pd.DataFrame,
    mi: MetricInfo,
    place: tuple[str, str],
    *,
    changes: Sequence[date] = (),
    screen_outliers: bool = True,
) -> Signal | None:
    """A concern on the latest point of ``series`` (``dashboard.series.shown_series`` of
    the window), analysed as the board page does (``spc_of``); ``None`` otherwise.
    ``place``: (institution code, name)."""
    months, result = spc_of(series, mi, changes=changes, screen_outliers=screen_outliers)
    if not result.points or result.points[-1].signal != "concern":
        return None
    point = result.points[-1]
    segment = point.segment
    limits = (
        f"; mean {mi.format(segment.mean)}, process limits {mi.format(segment.lower)} to "
        f"{mi.format(segment.upper)}"
        if segment.has_limits
        else ""
    )
    return Signal(
        rule=SPC_CONCERN,
        subject=mi.metric,
        label=mi.label,
        institution_code=place[0],
        institution_name=place[1],
        month=months[-1],
        value=mi.format(point.value),
        target=None if mi.target is None else mi.format(mi.target),
        detail=f"{result.variation.value}: {'; '.join(point.rules)}{limits}",
        page_id=OVERVIEW,
    )


def standard_missed(
    values: pd.DataFrame, mi: MetricInfo, month: date, place: tuple[str, str]
) -> Signal | None:
    """The standard of ``mi`` missed in ``month`` (``values``: ``monthly_metrics``);
    ``None`` when met, or when the month has no value (no records is not a miss)."""
    (shown,) = numbers(shown_series(values, mi, [month])["value"])
    if shown is None or mi.meets_standard(shown):
        return None
    return Signal(
        rule=STANDARD_MISSED,
        subject=mi.metric,
        label=mi.label,
        institution_code=place[0],
        institution_name=place[1],
        month=month,
        value=mi.format(shown),
        target=mi.format(mi.target),
        detail=f"below its target in {month_label(month)}. {mi.target_note}",
        page_id=OVERVIEW,
    )


def stale_sources(fresh: pd.DataFrame) -> list[Signal]:
    """A signal per source the latest run found stale (``freshness`` of
    ``dashboard.queries.quality``: source, last_extract_date, days_since, warn_after_days,
    status)."""
    out = []
    for row in fresh.itertuples():
        if row.status != "stale":
            continue
        out.append(
            Signal(
                rule=SOURCE_STALE,
                subject=str(row.source),
                label=str(row.source),
                institution_code=None,
                institution_name=None,
                month=None,
                value=f"{int(row.days_since)} days since its latest extract "
                f"({row.last_extract_date})",
                target=f"an extract at least every {int(row.warn_after_days)} days",
                detail=f"the latest run found no extract of it for more than "
                f"{int(row.warn_after_days)} days; ask its data provider",
                page_id=QUALITY,
            )
        )
    return out


def run_not_published(run: RunStatus | None) -> Signal | None:
    """The run blocked or failed (nothing new published; the previous data stays)."""
    if run is None or run.outcome not in (BLOCKED, FAILED):
        return None
    return Signal(
        rule=RUN_NOT_PUBLISHED,
        subject=run.outcome,
        label=f"{run.outcome} (run {run.run_id})",
        institution_code=None,
        institution_name=None,
        month=None,
        value=run.outcome,
        target=None,
        detail=run.reason or "no reason recorded",
        page_id=QUALITY,
    )


# --- reading the warehouse ---------------------------------------------------------------


def _places(snapshot: Path) -> list[tuple[str, str, Scope]]:
    """The partnership and each institution, with the scope whose series is theirs."""
    joins = institution_joins(snapshot, BOARD_SCOPE)
    places = [(PARTNERSHIP, PARTNERSHIP_NAME, BOARD_SCOPE)]
    for code, name in zip(joins["institution_code"], joins["institution_name"], strict=True):
        places.append((str(code), str(name), BOARD_SCOPE.narrowed_to(str(code))))
    return places


def figure_signals(
    snapshot: Path, rules: AlertRules, *, screen_outliers: bool = True
) -> list[Signal]:
    """The SPC concerns and missed standards of the partnership and each institution."""
    spc = rules.spc_metrics if rules.on(SPC_CONCERN) else ()
    standards = rules.standard_metrics if rules.on(STANDARD_MISSED) else ()
    month = as_of(snapshot, BOARD_SCOPE).complete_month
    if month is None or not (spc or standards):
        return []
    wanted = tuple(dict.fromkeys((*spc, *standards)))
    out: list[Signal | None] = []
    for code, name, scope in _places(snapshot):
        values = monthly_metrics(snapshot, scope, wanted)
        if values.empty:
            continue
        first = max(min(values["month"]), window_start(month, rules.spc_months))
        if spc and first <= month:
            months = months_between(first, month)
            changes = change_points(snapshot, scope)
            out += [
                spc_concern(
                    shown_series(values, info(metric), months),
                    info(metric),
                    (code, name),
                    changes=change_months(changes, metric),
                    screen_outliers=screen_outliers,
                )
                for metric in spc
            ]
        out += [standard_missed(values, info(metric), month, (code, name)) for metric in standards]
    return [signal for signal in out if signal is not None]


def current_signals(
    snapshot: Path,
    rules: AlertRules,
    run: RunStatus | None = None,
    *,
    screen_outliers: bool = True,
) -> list[Signal]:
    """Every signal of the published ``snapshot`` under ``rules``, in rule order.

    ``run``: the run just finished (the nightly add-on); ``None`` takes the latest run of
    ``ops.runs`` (``smhp alerts`` on its own).
    """
    out = figure_signals(snapshot, rules, screen_outliers=screen_outliers)
    if rules.on(SOURCE_STALE):
        out += stale_sources(freshness(snapshot))
    if rules.on(RUN_NOT_PUBLISHED):
        if run is None:
            latest = last_run(snapshot)
            run = latest and RunStatus(latest.run_id, latest.outcome, latest.reason)
        signal = run_not_published(run)
        out += [signal] if signal else []
    return out
