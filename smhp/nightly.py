"""The nightly run: ingest new extracts → dbt build → publish.

Everything happens in a candidate copy of the warehouse; only a run whose ingest and
``dbt build`` both succeed replaces the published file (see ``smhp.publish``). The
return value says whether it published, for the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from smhp.ingest import LOADED, REJECTED, REPLACED, SKIPPED, IngestReport, ingest
from smhp.publish import WarehouseLayout
from smhp.reporter import Reporter
from smhp.settings import Settings

STAGES = 3


@dataclass
class NightlyResult:
    run_id: str
    published: bool
    reason: str | None = None  # why it did not publish
    snapshot: Path | None = None
    ingest: IngestReport | None = None
    failed_nodes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def new_run_id(now: datetime) -> str:
    """Sortable and unique per run: snapshot files are named after it."""
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _report_ingest(report: IngestReport, reporter: Reporter) -> None:
    for f in report.files:
        if f.status == REJECTED:
            reporter.line(f"  rejected {f.path}: {f.reason}")
        elif f.status == SKIPPED:
            reporter.line(f"  skipped {f.path}: {f.reason}")
        elif f.rows_quarantined or f.dropped_columns or f.status == REPLACED:
            reporter.line(
                f"  {f.status} {f.path}: {f.rows_read} rows read, {f.rows_loaded} loaded, "
                f"{f.rows_quarantined} quarantined" + (f"; {f.reason}" if f.reason else "")
            )
    reporter.line(
        f"  files: {report.count(LOADED)} loaded, {report.count(REPLACED)} replaced, "
        f"{report.count(SKIPPED)} skipped as re-sends, {report.count(REJECTED)} rejected, "
        f"{report.unchanged} unchanged since the last run"
    )
    reporter.line(
        f"  rows: {report.rows_loaded} loaded, {report.rows_quarantined} quarantined "
        "(reasons in raw.quarantine)"
    )


def _run_dbt(database: Path, reporter: Reporter) -> list[str]:
    """Build the dbt project in the candidate; the names of failed nodes (empty: success)."""
    from smhp.dbt_build import build  # imports dbt (~3 s): only when a run needs it

    result = build(database)
    by_type: dict[str, int] = {}
    for node in result.nodes:
        by_type[node.resource_type] = by_type.get(node.resource_type, 0) + 1
    reporter.line("  " + ", ".join(f"{n} {t}s" for t, n in sorted(by_type.items())))
    for node in result.warned:
        reporter.line(f"  WARN {node.resource_type} {node.name}: {node.failures} rows")
    failed = [f"{n.resource_type} {n.name}: {n.status}" for n in result.failed]
    if not result.success and not failed:
        failed = [result.error or "dbt build failed"]
    for line in failed:
        reporter.line(f"  FAILED {line}")
    return failed


def run_nightly(
    settings: Settings, key: bytes, reporter: Reporter, today: date | None = None
) -> NightlyResult:
    """One nightly run against ``settings.landing`` and ``settings.warehouse``."""
    now = datetime.now(UTC).replace(tzinfo=None)
    run_id = new_run_id(now)
    layout = WarehouseLayout(settings.warehouse)
    result = NightlyResult(run_id=run_id, published=False)
    today = today or date.today()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with layout.lock():
        reporter.open_log(layout.logs_dir / f"{run_id}.log")
        reporter.line(f"smhp nightly run {run_id}: {settings.landing} → {settings.warehouse}")
        try:
            candidate = layout.start_candidate()
            with reporter.stage(1, STAGES, "ingest"):
                con = duckdb.connect(str(candidate))
                try:
                    result.ingest = ingest(con, settings.landing, key, run_id, now, today)
                    con.execute("checkpoint")
                finally:
                    con.close()
                _report_ingest(result.ingest, reporter)
            with reporter.stage(2, STAGES, "dbt build"):
                result.failed_nodes = _run_dbt(candidate, reporter)
            if result.failed_nodes:
                result.reason = f"dbt build failed: {result.failed_nodes[0]}"
                return result
            with reporter.stage(3, STAGES, "publish"):
                _checkpoint(candidate)
                result.snapshot = layout.publish(run_id, settings.keep_snapshots)
                result.published = True
                reporter.line(f"  published {settings.warehouse} → {result.snapshot.name}")
            return result
        finally:
            if not result.published:
                layout.discard_candidate()
            result.timings = dict(reporter.timings)
            reporter.line(_summary(result))
            reporter.close()


def _checkpoint(database: Path) -> None:
    """Fold any write-ahead log into the file so the renamed file is complete."""
    con = duckdb.connect(str(database))
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _summary(result: NightlyResult) -> str:
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    if result.published:
        warnings = ""
        if result.ingest and (result.ingest.count(REJECTED) or result.ingest.rows_quarantined):
            warnings = (
                f" with warnings: {result.ingest.count(REJECTED)} file(s) rejected, "
                f"{result.ingest.rows_quarantined} row(s) quarantined"
            )
        return f"PUBLISHED{warnings} ({timing})"
    reason = result.reason or "the run failed"
    return f"NOT PUBLISHED: {reason}; the previous data stays published ({timing})"
