"""The banner above every page: how current the data is, and how the last run went.

Two questions a reader must be able to answer before trusting any figure: *as of when?*
(the latest extract loaded, and when it was published) and *did last night work?* (the
latest run's outcome from the run history, when the warehouse has one). The banner turns
into a warning when the published data is stale — no publish for ``STALE_AFTER``, or
sources the last run found stale (``ops.freshness``) — or when the latest run did not
publish, so that nobody reads old figures as current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dashboard.data import AsOf
from dashboard.queries.quality import LastRun

STALE_AFTER = timedelta(hours=48)
"""A nightly run publishes every night; two days without one means the data is stale."""

OUTCOME_TEXT = {
    "published": "published",
    "published_with_warnings": "published with warnings",
    "blocked": "blocked by a quality gate (nothing published)",
    "failed": "failed (nothing published)",
}


@dataclass(frozen=True)
class Banner:
    """The banner's text and whether it is a warning."""

    text: str
    warning: bool


def day(d: date) -> str:
    """``5 March 2024`` for a date or datetime."""
    return f"{d.day} {d:%B %Y}"


def moment(t: datetime) -> str:
    """``5 March 2024 02:10``."""
    return f"{day(t)} {t:%H:%M}"


def build(
    as_of: AsOf,
    published_at: datetime,
    last_run: LastRun | None,
    now: datetime,
    stale_sources: list[tuple[str, int]] | None = None,
) -> Banner:
    """The banner for the data's as-of dates, the snapshot's publish time, the last run
    and the sources the last run found stale (name, days since the last extract).

    ``published_at`` and ``now`` are timezone-aware (UTC); run times are shown as stored.
    """
    parts = []
    if as_of.latest_extract is not None:
        parts.append(f"Data as of **{day(as_of.latest_extract)}** (latest extract loaded)")
    elif as_of.data_through is not None:
        parts.append(f"Data as of **{day(as_of.data_through)}** (latest event)")
    else:
        parts.append("The published warehouse holds no events yet")
    parts.append(f"published {moment(published_at)} UTC")
    if last_run is None:
        parts.append("last nightly run: no run history yet")
    else:
        when = moment(last_run.ended_at or last_run.started_at)
        outcome = OUTCOME_TEXT.get(last_run.outcome, last_run.outcome)
        reason = f" — {last_run.reason}" if last_run.reason else ""
        parts.append(f"last nightly run {when}: **{outcome}**{reason}")
    text = "; ".join(parts) + "."

    warnings = []
    age = now - published_at
    if age > STALE_AFTER:
        warnings.append(
            f"**The data may be out of date:** nothing has been published for "
            f"{age.days} days (since {moment(published_at)} UTC). Check the nightly run."
        )
    if stale_sources:
        listed = ", ".join(f"{source} ({days} days)" for source, days in stale_sources)
        warnings.append(
            f"**Some sources are out of date:** no recent extract from {listed}. See Data quality."
        )
    if last_run is not None and last_run.outcome in ("blocked", "failed"):
        warnings.append(
            "**The last nightly run did not publish:** the figures are those of the "
            "previous successful run. See Data quality."
        )
    if warnings:
        return Banner(" ".join(warnings) + " " + text, warning=True)
    return Banner(text, warning=False)


def published_at(snapshot_mtime: float) -> datetime:
    """The publish time of a snapshot: its file's modification time (written once)."""
    return datetime.fromtimestamp(snapshot_mtime, tz=UTC)
