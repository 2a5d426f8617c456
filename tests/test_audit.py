"""The audit log: append-only in the database, tamper-evident by its hash chain, and
never a store of passwords or NHS numbers, whatever a caller passes."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smhp.access import audit
from smhp.access.audit import AuditLog, scrub

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NHS_NUMBER = "9434765919"  # a valid synthetic NHS number (modulus 11)


def _log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "var" / "audit.sqlite3")


def test_append_and_read_back_newest_first(tmp_path: Path) -> None:
    log = _log(tmp_path)
    first = log.record(audit.SIGN_IN, "board", {"method": "password"}, at=T0)
    second = log.record(
        audit.PAGE_VIEW,
        "board",
        {"page": "overview", "filters": {"institution": "UOL", "months": 12}},
        at=T0 + timedelta(minutes=1),
    )
    log.record(audit.DOWNLOAD, "funder", {"file": "impact.csv", "rows": 12})
    assert (first, second) == (1, 2)

    rows = log.recent(10)
    assert [r["event"] for r in rows] == ["download", "page_view", "sign_in"]
    assert rows[1]["details"] == {
        "page": "overview",
        "filters": {"institution": "UOL", "months": 12},
    }
    assert rows[1]["at"] == T0 + timedelta(minutes=1)
    assert rows[1]["username"] == "board"
    assert [r["event"] for r in log.recent(10, event=audit.PAGE_VIEW)] == ["page_view"]
    assert [r["id"] for r in log.recent(10, username="board")] == [2, 1]
    assert len(log.recent(1)) == 1
    assert log.head()[0] == 3


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN, "board", {})
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    with sqlite3.connect(log.path) as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_update_and_delete_are_refused_by_the_database(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN, "board", {"method": "password"}, at=T0)
    con = sqlite3.connect(log.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("update audit_events set username = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("delete from audit_events")
    finally:
        con.close()
    assert log.recent(5)[0]["username"] == "board"
    assert log.verify_chain()


def test_chain_verifies_and_detects_tampering(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for i in range(5):
        log.record(audit.PAGE_VIEW, "manager_uol", {"page": "service", "i": i}, at=T0)
    assert log.verify_chain()
    assert log.find_break() is None

    # Someone with write access drops the triggers and edits a row in place.
    con = sqlite3.connect(log.path)
    con.execute("drop trigger audit_events_no_update")
    con.execute("update audit_events set details = ? where id = 3", ('{"i":2,"page":"overview"}',))
    con.commit()
    con.close()
    assert not log.verify_chain()
    assert log.find_break() == 3


def test_chain_detects_a_deleted_row_and_a_rewritten_hash(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for i in range(4):
        log.record(audit.DOWNLOAD, "board", {"i": i}, at=T0)
    con = sqlite3.connect(log.path)
    con.execute("drop trigger audit_events_no_delete")
    con.execute("delete from audit_events where id = 2")
    con.commit()
    con.close()
    assert log.find_break() == 3

    other = AuditLog(tmp_path / "other.sqlite3")
    for i in range(3):
        other.record(audit.DOWNLOAD, "board", {"i": i}, at=T0)
    con = sqlite3.connect(other.path)
    con.execute("drop trigger audit_events_no_update")
    # Recomputing one row's own hash is not enough: the next row names the old one.
    con.execute("update audit_events set username = 'x', hash = ? where id = 2", ("f" * 64,))
    con.commit()
    con.close()
    assert other.find_break() == 2


def test_reopening_restores_the_triggers(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN, "board", {})
    con = sqlite3.connect(log.path)
    con.execute("drop trigger audit_events_no_delete")
    con.commit()
    con.close()
    AuditLog(log.path)
    con = sqlite3.connect(log.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("delete from audit_events")
    finally:
        con.close()


def test_password_like_keys_are_dropped_at_any_depth(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(
        audit.SIGN_IN_FAILED,
        "board",
        {
            "password": "hunter2-secret-value",
            "Passwd": "p2",
            "form": {"new_password": "p3", "user": "board", "api_key": "k", "token": "t"},
            "reason": "wrong password",
        },
    )
    details = log.recent(1)[0]["details"]
    assert details["reason"] == "wrong password"
    assert details["form"] == {"user": "board"}
    assert "password" not in details and "Passwd" not in details
    assert set(details["_redacted"]) == {
        "password",
        "Passwd",
        "form.new_password",
        "form.api_key",
        "form.token",
    }
    assert b"hunter2-secret-value" not in _all_bytes(log.path)


@pytest.mark.parametrize(
    "value",
    [NHS_NUMBER, "943 476 5919", "943  476  5919", "search: 9434765919!", int(NHS_NUMBER)],
)
def test_nhs_number_like_values_are_never_stored(tmp_path: Path, value: object) -> None:
    log = _log(tmp_path)
    log.record(audit.PAGE_VIEW, "board", {"filters": {"q": value, "list": [value]}, "page": "x"})
    details = log.recent(1)[0]["details"]
    assert NHS_NUMBER not in str(details)
    assert "943 476 5919" not in str(details)
    assert "filters.q" in details["_redacted"]
    raw = _all_bytes(log.path)
    assert NHS_NUMBER.encode() not in raw
    assert b"943 476 5919" not in raw


def test_nhs_number_like_usernames_and_keys_are_redacted(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN_FAILED, NHS_NUMBER, {NHS_NUMBER: 1, "nhs_number": "x"})
    row = log.recent(1)[0]
    assert row["username"] == audit.REDACTED
    assert NHS_NUMBER not in str(row)
    assert NHS_NUMBER.encode() not in _all_bytes(log.path)


def test_ordinary_values_are_kept() -> None:
    kept = {
        "period": "2019-06-01 2022-07-31",  # dates: no ten-digit run
        "count": 429,
        "rate": 12.5,
        "flag": True,
        "none": None,
        "institutions": ["UOL", "HOPE"],
        "long_number": "123456789012",  # twelve digits: not an NHS number
        "student_key": "ab12" * 16,  # a pseudonym is not a raw identifier
    }
    assert scrub(kept) == kept


def test_event_names_are_checked_and_times_must_be_aware(tmp_path: Path) -> None:
    log = _log(tmp_path)
    with pytest.raises(ValueError):
        log.record("Page View; drop table", "board", {})
    with pytest.raises(ValueError):
        log.record(audit.PAGE_VIEW, "board", {}, at=datetime(2026, 1, 1))


def test_failures_since_counts_from_the_last_sign_in(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN_FAILED, "funder", {}, at=T0)
    log.record(audit.SIGN_IN_FAILED, "funder", {}, at=T0 + timedelta(minutes=1))
    log.record(audit.SIGN_IN_FAILED, "board", {}, at=T0 + timedelta(minutes=1))
    assert log.failures_since("funder", T0) == 2
    assert log.failures_since("funder", T0 + timedelta(seconds=30)) == 1
    log.record(audit.SIGN_IN, "funder", {}, at=T0 + timedelta(minutes=2))
    assert log.failures_since("funder", T0) == 0
    log.record(audit.SIGN_IN_FAILED, "funder", {}, at=T0 + timedelta(minutes=3))
    assert log.failure_times("funder") == [T0 + timedelta(minutes=3)]
    log.record(audit.USER_UNLOCKED, "funder", {}, at=T0 + timedelta(minutes=4))
    assert log.failure_times("funder") == []
    assert log.failures_since("board", T0) == 1


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    import threading

    log = _log(tmp_path)

    def write(n: int) -> None:
        for i in range(20):
            AuditLog(log.path).record(audit.PAGE_VIEW, f"user{n}", {"i": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.head()[0] == 80
    assert log.verify_chain()


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_rows_asked_for_during_a_write_are_committed_together_each_with_its_id(
    tmp_path: Path,
) -> None:
    """Group commit (``AuditLog.record``): while one thread waits for the write lock, the
    rows the others ask for queue, and the next write appends them in one transaction;
    every caller gets its own row's id, and the chain holds."""
    log = _log(tmp_path)
    other = sqlite3.connect(log.path, isolation_level=None)
    other.execute("begin immediate")  # another process holds the write lock
    ids: dict[int, int] = {}

    def write(n: int) -> None:
        ids[n] = log.record(audit.PAGE_VIEW, f"user{n}", {"n": n})

    first = threading.Thread(target=write, args=(0,))
    first.start()
    _wait_for(lambda: log._writing)  # the first row's write waits for the lock
    rest = [threading.Thread(target=write, args=(n,)) for n in range(1, 10)]
    for thread in rest:
        thread.start()
    _wait_for(lambda: len(log._pending) == 9)
    other.execute("rollback")
    other.close()
    for thread in [first, *rest]:
        thread.join()

    assert log.groups_written == 2  # the first row alone, then the nine that queued
    assert ids[0] == 1 and sorted(ids.values()) == list(range(1, 11))
    by_id = {row["id"]: row for row in log.recent(10)}
    assert all(by_id[i]["details"] == {"n": n} for n, i in ids.items())
    assert log.verify_chain()


def test_a_failed_group_fails_each_of_its_callers_and_the_next_write_goes_on(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path)
    log.record(audit.SIGN_IN, "board")
    with closing(sqlite3.connect(log.path)) as con:  # the table gone: every append fails
        con.execute("alter table audit_events rename to moved_away")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            log.record(audit.PAGE_VIEW, f"user{n}", {"n": n})
        except sqlite3.OperationalError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert len(errors) == 8  # none of them is told its row was written

    with closing(sqlite3.connect(log.path)) as con:
        con.execute("alter table moved_away rename to audit_events")
    assert log.record(audit.PAGE_VIEW, "board", {"after": True}) == 2
    assert log.verify_chain()


def _all_bytes(db: Path) -> bytes:
    """The database and its WAL and shared-memory files: where any value could be."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))
