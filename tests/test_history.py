"""The run-history store: JSON records, the marker of a killed run, the ops tables."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from smhp.pipeline.history import BLOCKED, FAILED, HistoryStore, RunRecord, write_ops_tables


def test_records_round_trip_and_fill_the_ops_tables(tmp_path):
    store = HistoryStore(tmp_path / "history")
    record = RunRecord(
        run_id="20240301T020000000000Z",
        started_at=datetime(2024, 3, 1, 2),
        ended_at=datetime(2024, 3, 1, 2, 1),
        outcome=BLOCKED,
        reason="blocked: expectation x failed",
        stages={"ingest": 1.5},
        files=[
            {
                "source": "referrals",
                "files_loaded": 1,
                "files_replaced": 0,
                "files_skipped": 0,
                "files_rejected": 0,
                "rows_read": 3,
                "rows_loaded": 2,
                "rows_quarantined": 1,
            }
        ],
        quarantine=[
            {
                "source": "referrals",
                "column_name": "source",
                "value_class": "unknown code",
                "rule": "one of …",
                "rows": 1,
            }
        ],
        checks=[
            {
                "kind": "expectation",
                "suite": "s",
                "name": "x",
                "severity": "error",
                "status": "fail",
                "observed_value": "120.0",
                "why": "percentages are 0–100",
            }
        ],
        freshness=[
            {
                "source": "referrals",
                "last_extract_date": date(2024, 3, 1),
                "days_since": 0,
                "warn_after_days": 2,
                "status": "fresh",
            }
        ],
    )
    store.save(record)
    (loaded,) = store.records()
    assert loaded.run_id == record.run_id and loaded.started_at == record.started_at
    newer = RunRecord(
        run_id="20240302T020000000000Z",
        started_at=datetime(2024, 3, 2, 2),
        freshness=[dict(record.freshness[0], last_extract_date=date(2024, 3, 2))],
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    write_ops_tables(con, [loaded, newer])  # one from JSON (dates as text), one fresh
    assert con.execute("select run_id, outcome from ops.runs order by 1").fetchall() == [
        ("20240301T020000000000Z", "blocked"),
        ("20240302T020000000000Z", "failed"),
    ]
    assert con.execute("select max(last_extract_date) from ops.freshness").fetchone() == (
        date(2024, 3, 2),
    )
    assert con.execute("select observed_value from ops.run_checks").fetchall() == [("120.0",)]
    assert con.execute("select rows from ops.run_quarantine").fetchall() == [(1,)]


def test_a_killed_run_is_recorded_as_failed_by_the_next(tmp_path):
    store = HistoryStore(tmp_path / "history")
    killed = RunRecord(run_id="20240301T020000000000Z", started_at=datetime(2024, 3, 1, 2))
    store.mark_running(killed, "dbt build")
    recovered = store.recover_interrupted(datetime(2024, 3, 2, 2))
    assert recovered is not None and recovered.outcome == FAILED
    assert "during dbt build" in recovered.reason
    assert [r.run_id for r in store.records()] == [killed.run_id]
    assert store.recover_interrupted(datetime(2024, 3, 2, 2)) is None  # recorded once


def test_one_record_is_read_by_its_run_id(tmp_path):
    store = HistoryStore(tmp_path / "history")
    assert store.record("20240301T020000000000Z") is None  # no history yet
    record = RunRecord(run_id="20240301T020000000000Z", started_at=datetime(2024, 3, 1, 2))
    record.built_by = record.run_id
    store.save(record)
    assert store.record(record.run_id) == record
    assert store.record("20240302T020000000000Z") is None
    assert store.record("current_run") is None  # the marker is not a record
