"""``smhp status``: the latest runs and source freshness, from the published run history."""

from __future__ import annotations

from pathlib import Path

from smhp.warehouse import open_published


def _cell(value: object, width: int = 90) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[tuple]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def print_status(warehouse: Path, runs: int = 10) -> None:
    con = open_published(warehouse)
    try:
        has_ops = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'ops'"
        ).fetchone()[0]
        if not has_ops:
            print(f"{warehouse}: published, but it holds no run history yet.")
            return
        latest = con.execute(
            "select run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S'),"
            " round(epoch(ended_at - started_at), 1), outcome, reason"
            " from ops.runs order by run_id desc limit ?",
            [runs],
        ).fetchall()
        print(f"Latest runs of {warehouse} (times UTC):")
        print(_table(["run", "started", "seconds", "outcome", "reason"], latest))
        if not latest:
            return
        last = latest[0][0]
        fresh = con.execute(
            "select source, last_extract_date, days_since, warn_after_days, status"
            " from ops.freshness where run_id = ? order by source",
            [last],
        ).fetchall()
        print("\nSource freshness (days since the last extract, at the latest run):")
        print(_table(["source", "last extract", "days", "warn after", "status"], fresh))
        failing = con.execute(
            "select kind, suite, name, severity, status, observed_value from ops.run_checks"
            " where run_id = ? and status not in ('pass', 'success')"
            " order by severity, suite, name",
            [last],
        ).fetchall()
        print(f"\nChecks of the latest run not passing: {len(failing)}")
        if failing:
            print(_table(["kind", "suite", "check", "severity", "status", "observed"], failing))
    finally:
        con.close()
