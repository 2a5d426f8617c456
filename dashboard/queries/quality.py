"""Queries of the data-quality page and of the banner's "last run" line.

The files and quarantined rows come from the marts ``fct_extract_files`` and
``fct_rule_breaks`` (the public interface of the dbt project; never ``raw.*``). The run
history (schema ``ops``: runs, stages, files, quarantine, checks, freshness) is
written by the nightly run from the release that adds it; an older warehouse has none,
so every ``ops`` query first asks ``has_run_history`` and the page says "no run history
yet" instead of failing. These are operational figures (files, rows, checks), not
people, so disclosure control does not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from dashboard.data import read_frame
from smhp.pipeline.quality.freshness import latest_extracts_sql, source_freshness

RECENT_RUNS = 20
"""How many of the latest runs the page lists."""


def has_run_history(snapshot: Path | str) -> bool:
    """Whether the warehouse has the run history (the table ``ops.runs``)."""
    frame = read_frame(
        snapshot,
        "select count(*) as n from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'runs'",
    )
    return bool(frame["n"].iloc[0])


@dataclass(frozen=True)
class LastRun:
    """The latest nightly run, for the banner."""

    run_id: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    reason: str | None


def last_run(snapshot: Path | str) -> LastRun | None:
    """The latest run of the run history (``None`` without a history or a run)."""
    if not has_run_history(snapshot):
        return None
    frame = read_frame(
        snapshot,
        "select run_id, started_at, ended_at, outcome, reason from ops.runs "
        "order by started_at desc, run_id desc limit 1",
    )
    if frame.empty:
        return None
    row = frame.iloc[0]
    return LastRun(
        str(row["run_id"]),
        pd.Timestamp(row["started_at"]).to_pydatetime(),
        None if pd.isna(row["ended_at"]) else pd.Timestamp(row["ended_at"]).to_pydatetime(),
        str(row["outcome"]),
        None if pd.isna(row["reason"]) else str(row["reason"]),
    )


def stale_sources(snapshot: Path | str) -> list[tuple[str, int]]:
    """The sources the latest run found stale, with their days since the last extract
    (empty without a run history: the publish time is the banner's only clue then)."""
    if not has_run_history(snapshot):
        return []
    frame = read_frame(
        snapshot,
        """
        select source, days_since from ops.freshness
        where status = 'stale'
          and run_id = (select run_id from ops.freshness f join ops.runs r using (run_id)
                        order by r.started_at desc, r.run_id desc limit 1)
        order by source
        """,
    )
    return [(str(s), int(d)) for s, d in zip(frame["source"], frame["days_since"], strict=True)]


def recent_runs(snapshot: Path | str, limit: int = RECENT_RUNS) -> pd.DataFrame:
    """The latest runs, newest first, with their files and rows (from ``ops.run_files``)."""
    return read_frame(
        snapshot,
        """
        with files as (
            select run_id,
                   sum(files_loaded) as files_loaded, sum(files_rejected) as files_rejected,
                   sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined
            from ops.run_files group by run_id
        )
        select r.run_id, r.started_at, r.ended_at, r.outcome, r.reason,
               date_diff('second', r.started_at, r.ended_at) as seconds,
               f.files_loaded, f.files_rejected, f.rows_loaded, f.rows_quarantined
        from ops.runs r left join files f using (run_id)
        order by r.started_at desc, r.run_id desc
        limit $limit
        """,
        {"limit": limit},
    )


def run_stages(snapshot: Path | str, limit: int = RECENT_RUNS) -> pd.DataFrame:
    """Seconds per stage of the latest runs (oldest first, for a chart over time)."""
    return read_frame(
        snapshot,
        """
        with latest as (
            select run_id, started_at from ops.runs
            order by started_at desc, run_id desc limit $limit
        )
        select l.run_id, l.started_at, s.stage, s.seconds
        from latest l join ops.run_stages s using (run_id)
        order by l.started_at, l.run_id, s.stage
        """,
        {"limit": limit},
    )


def freshness(snapshot: Path | str) -> pd.DataFrame:
    """Per source, the latest extract loaded and how old it is.

    From the latest run's ``ops.freshness`` when there is a run history (with its
    warn-after days and status); otherwise by the same definition
    (``smhp.pipeline.quality.freshness``) from ``marts.fct_extract_files``, with the days
    since counted to the latest extract of any source (no status: no day of a run).
    """
    if has_run_history(snapshot):
        return read_frame(
            snapshot,
            """
            select source, last_extract_date, days_since, warn_after_days, status
            from ops.freshness
            where run_id = (select run_id from ops.freshness f join ops.runs r using (run_id)
                            order by r.started_at desc, r.run_id desc limit 1)
            order by source
            """,
        )
    extracts = read_frame(snapshot, latest_extracts_sql("marts.fct_extract_files"))
    latest = {
        str(source): pd.Timestamp(day).date()
        for source, day in zip(extracts["source"], extracts["last_extract_date"], strict=True)
        if not pd.isna(source) and not pd.isna(day)
    }
    as_of = max(latest.values(), default=None)
    rows = source_freshness(latest, as_of, latest) if as_of else []
    frame = pd.DataFrame(rows, columns=list(_FRESHNESS_TYPES))
    return frame.astype(_FRESHNESS_TYPES)


_FRESHNESS_TYPES = {
    "source": "str",
    "last_extract_date": "datetime64[us]",
    "days_since": "int64",
    "warn_after_days": "Int32",
    "status": "object",
}
"""The columns of ``ops.freshness`` as the page reads them."""


def rejected_files(snapshot: Path | str) -> pd.DataFrame:
    """Every file rejected whole, newest first: when, which, and why."""
    return read_frame(
        snapshot,
        """
        select processed_at, source, path, extract_date, reason
        from marts.fct_extract_files where status = 'rejected'
        order by processed_at desc, path
        """,
    )


def quarantine_by_reason(snapshot: Path | str) -> pd.DataFrame:
    """Quarantined row-rule breaks by source, column, rule and value class (no values)."""
    return read_frame(
        snapshot,
        """
        select source, column_name, rule, value_class, count(*) as rows
        from marts.fct_rule_breaks
        group by all order by rows desc, source, column_name, rule
        """,
    )


def load_summary(snapshot: Path | str) -> pd.DataFrame:
    """Files and rows of the whole load log by source and status."""
    return read_frame(
        snapshot,
        """
        select source, status, count(*) as files,
               coalesce(sum(rows_read), 0) as rows_read,
               coalesce(sum(rows_loaded), 0) as rows_loaded,
               coalesce(sum(rows_quarantined), 0) as rows_quarantined
        from marts.fct_extract_files group by all order by source, status
        """,
    )


def latest_checks(snapshot: Path | str) -> pd.DataFrame:
    """The checks of the latest run that recorded any, failures first."""
    return read_frame(
        snapshot,
        """
        select kind, suite, name, severity, status, observed_value, why
        from ops.run_checks
        where run_id = (select run_id from ops.run_checks c join ops.runs r using (run_id)
                        order by r.started_at desc, r.run_id desc limit 1)
        order by status = 'pass', severity, kind, suite, name
        """,
    )
