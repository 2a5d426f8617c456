"""Run history: what every nightly run did, kept beside the warehouse and published in it.

Each run writes one JSON record to ``FILE.work/history/<run_id>.json`` when it ends —
including runs that were blocked or failed, which publish no new data. Every publish
(see ``smhp.pipeline.nightly``) loads all records into the ``ops`` schema of the new snapshot, so
the dashboard and ``smhp status`` read the history from the published database like any
other table. A run that was killed cannot write its record; it leaves its marker file,
and the next run records it as failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from smhp.atomic import write_atomically

PUBLISHED = "published"
PUBLISHED_WITH_WARNINGS = "published_with_warnings"
BLOCKED = "blocked"
FAILED = "failed"

_OPS_TABLES: dict[str, dict[str, str]] = {
    "runs": {
        "run_id": "varchar",
        "started_at": "timestamp",
        "ended_at": "timestamp",
        "outcome": "varchar",
        "reason": "varchar",
        "warnings": "varchar",
        "key_fingerprint": "varchar",
        "built_by_run_id": "varchar",
    },
    "run_stages": {"run_id": "varchar", "stage": "varchar", "seconds": "double"},
    "run_files": {
        "run_id": "varchar",
        "source": "varchar",
        "files_loaded": "integer",
        "files_replaced": "integer",
        "files_skipped": "integer",
        "files_rejected": "integer",
        "rows_read": "bigint",
        "rows_loaded": "bigint",
        "rows_quarantined": "bigint",
    },
    "run_quarantine": {
        "run_id": "varchar",
        "source": "varchar",
        "column_name": "varchar",
        "value_class": "varchar",
        "rule": "varchar",
        "rows": "bigint",
    },
    "run_checks": {
        "run_id": "varchar",
        "kind": "varchar",
        "suite": "varchar",
        "name": "varchar",
        "severity": "varchar",
        "status": "varchar",
        "observed_value": "varchar",
        "why": "varchar",
    },
    "freshness": {
        "run_id": "varchar",
        "source": "varchar",
        "last_extract_date": "date",
        "days_since": "integer",
        "warn_after_days": "integer",
        "status": "varchar",
    },
    # What ran after the run (smhp.pipeline.addons): packs, alerts. A run's own add-ons
    # happen after its publish, so they show from the next published snapshot on.
    "run_addons": {
        "run_id": "varchar",
        "addon": "varchar",
        "status": "varchar",
        "detail": "varchar",
        "seconds": "double",
    },
}


@dataclass
class RunRecord:
    """One run, as the history tables show it (lists of dicts: one per table row)."""

    run_id: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = FAILED
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    freshness: list[dict] = field(default_factory=list)
    #: ``smhp.pipeline.keys.fingerprint`` of the run's pseudonym key (None in records made
    #: before it).
    key_fingerprint: str | None = None
    #: The run whose dbt build and checks the published data carry: this run itself after a
    #: full build, an earlier run when nothing was new (``smhp.pipeline.build_state``);
    #: None when the run published nothing (and in records made before it).
    built_by: str | None = None
    #: What ran after the run and how it went (``smhp.pipeline.addons.AddOnOutcome``).
    addons: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        data = json.loads(text)
        for key in ("started_at", "ended_at"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)

    def rows(self, table: str) -> list[dict]:
        """This record's rows of one ops table."""
        if table == "runs":
            return [
                {
                    "run_id": self.run_id,
                    "started_at": self.started_at,
                    "ended_at": self.ended_at,
                    "outcome": self.outcome,
                    "reason": self.reason,
                    "warnings": "; ".join(self.warnings) or None,
                    "key_fingerprint": self.key_fingerprint,
                    "built_by_run_id": self.built_by,
                }
            ]
        if table == "run_stages":
            return [
                {"run_id": self.run_id, "stage": k, "seconds": v} for k, v in self.stages.items()
            ]
        items = {
            "run_files": self.files,
            "run_quarantine": self.quarantine,
            "run_checks": self.checks,
            "freshness": self.freshness,
            "run_addons": self.addons,
        }[table]
        return [{"run_id": self.run_id, **item} for item in items]


class HistoryStore:
    """The JSON records of one warehouse's runs, and the marker of the run in progress."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.marker = folder / "current_run.json"

    def save(self, record: RunRecord) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.folder / f"{record.run_id}.json", record.to_json())

    def records(self) -> list[RunRecord]:
        if not self.folder.is_dir():
            return []
        paths = sorted(p for p in self.folder.glob("*.json") if p != self.marker)
        return [RunRecord.from_json(p.read_text(encoding="utf-8")) for p in paths]

    def record(self, run_id: str) -> RunRecord | None:
        """The record of run ``run_id``, if kept (one file read, not the whole history)."""
        path = self.folder / f"{run_id}.json"
        if path == self.marker or not path.is_file():
            return None
        return RunRecord.from_json(path.read_text(encoding="utf-8"))

    def published_key_fingerprint(self) -> str | None:
        """The key fingerprint of the latest run that published data: the key the published
        pseudonyms were made with (None: no such run, or one recorded before fingerprints)."""
        published = [r for r in self.records() if r.outcome in (PUBLISHED, PUBLISHED_WITH_WARNINGS)]
        return published[-1].key_fingerprint if published else None

    def mark_running(self, record: RunRecord, stage: str) -> None:
        """Note the stage a run is in, so that a run killed there can be recorded later."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(
            self.marker,
            json.dumps(
                {
                    "run_id": record.run_id,
                    "started_at": record.started_at.isoformat(),
                    "stage": stage,
                }
            ),
        )

    def clear_marker(self) -> None:
        self.marker.unlink(missing_ok=True)

    def recover_interrupted(self, now: datetime) -> RunRecord | None:
        """Record a run that left its marker (killed or crashed hard) as failed."""
        if not self.marker.exists():
            return None
        try:
            marker = json.loads(self.marker.read_text(encoding="utf-8"))
            record = RunRecord(
                run_id=marker["run_id"],
                started_at=datetime.fromisoformat(marker["started_at"]),
                ended_at=now,
                outcome=FAILED,
                reason=f"the run stopped without finishing during {marker['stage']} "
                "(killed or crashed); nothing was published",
            )
        except (ValueError, KeyError):
            record = None
        if record is not None and not (self.folder / f"{record.run_id}.json").exists():
            self.save(record)
        self.clear_marker()
        return record


def write_ops_tables(con: duckdb.DuckDBPyConnection, records: list[RunRecord]) -> None:
    """(Re)create the ``ops`` schema in ``con``'s database from every run record."""
    con.execute("create schema if not exists ops")
    for table, columns in _OPS_TABLES.items():
        cols = ", ".join(f"{name} {dtype}" for name, dtype in columns.items())
        con.execute(f"create or replace table ops.{table} ({cols})")
        rows = [row for record in records for row in record.rows(table)]
        if not rows:
            continue
        # Records read back from JSON hold dates as text: give arrow one type per column
        # (text for dates) and let the cast below restore the SQL type.
        data = pa.table({name: [_plain(row.get(name)) for row in rows] for name in columns})
        con.register("_ops_rows", data)
        try:
            select = ", ".join(
                f"cast({name} as {dtype}) as {name}" for name, dtype in columns.items()
            )
            con.execute(f"insert into ops.{table} select {select} from _ops_rows")
        finally:
            con.unregister("_ops_rows")


def _plain(value: object) -> object:
    return (
        value.isoformat(sep=" ")
        if isinstance(value, datetime)
        else (value.isoformat() if isinstance(value, date) else value)
    )
