"""The audit log against someone who can write its file but does not hold the audit key.

The attacker here is the dashboard's account (it must be able to append rows): it drops
the triggers, deletes or edits rows and recomputes the unkeyed hash chain, so that
``AuditLog.verify_chain`` passes again. ``smhp audit verify`` (the real command, in a
subprocess, on real SQLite files) must still name the first break: a seal, a row or an
anchor line. The rehashing below is written from the documented row format, not with the
code under test, as an attacker would write it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from extracts import NIGHTLY_ENV, SMHP, liaison, write_extract

from smhp.access import audit
from smhp.access.audit import AuditLog
from smhp.access.audit_seal import chain_start, create_key_file, seal, verify
from smhp.pipeline.keys import fingerprint

GENESIS = "0" * 64


class Files:
    """One deployment's audit files: the log, the key and the anchor file."""

    def __init__(self, base: Path) -> None:
        self.db = base / "var" / "audit.sqlite3"
        self.key = base / "secrets" / "audit.key"
        self.anchors = base / "anchors" / "audit-anchors.log"

    def env(self, with_key: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMHP_AUDIT_")}
        env.update(SMHP_AUDIT_DB=str(self.db), SMHP_AUDIT_ANCHOR_FILE=str(self.anchors))
        if with_key:
            env["SMHP_AUDIT_KEY_FILE"] = str(self.key)
        return env

    def smhp(self, *args: str, with_key: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [SMHP, "audit", *args],
            capture_output=True,
            text=True,
            env=self.env(with_key),
            timeout=60,
        )


@pytest.fixture
def files(tmp_path: Path) -> Files:
    f = Files(tmp_path)
    create_key_file(f.key)
    return f


def dashboard_writes(db: Path, n: int, start: int = 0, at: datetime | None = None) -> None:
    """What the dashboard does all day: append rows (no key)."""
    log = AuditLog(db)
    for i in range(start, start + n):
        log.record(audit.PAGE_VIEW, f"user{i % 3}", {"page": "overview", "i": i}, at=at)


def last_line(done: subprocess.CompletedProcess) -> str:
    return done.stdout.strip().splitlines()[-1]


def rechain(db: Path, keep: Callable[[int], bool] = lambda row_id: True) -> None:
    """The attack: drop the triggers, keep only the rows ``keep`` says, renumber them and
    recompute the whole unkeyed chain, so nothing in the rows betrays the change."""
    con = sqlite3.connect(db)
    con.execute("drop trigger if exists audit_events_no_update")
    con.execute("drop trigger if exists audit_events_no_delete")
    rows = con.execute(
        "select id, at, event, username, details from audit_events order by id"
    ).fetchall()
    con.execute("delete from audit_events")
    prev = GENESIS
    for new_id, (_, at, event, user, details) in enumerate([r for r in rows if keep(r[0])], 1):
        content = json.dumps(
            [new_id, at, event, user, details], sort_keys=True, separators=(",", ":")
        )
        digest = hashlib.sha256((prev + content).encode("utf-8")).hexdigest()
        con.execute(
            "insert into audit_events values (?, ?, ?, ?, ?, ?, ?)",
            (new_id, at, event, user, details, prev, digest),
        )
        prev = digest
    con.commit()
    con.close()
    assert AuditLog(db).verify_chain()  # the unkeyed chain alone is fooled


def sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()


# --- the key ----------------------------------------------------------------------------


def test_keygen_writes_a_private_key_once(tmp_path: Path) -> None:
    f = Files(tmp_path)
    out = tmp_path / "audit.key"
    done = f.smhp("keygen", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert len(text.strip()) == 64 and bytes.fromhex(text.strip())
    assert text.strip() not in done.stdout + done.stderr  # the fingerprint, never the key
    again = f.smhp("keygen", "--out", str(out))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    assert out.read_text() == text


def test_seal_and_prune_need_the_key_and_verify_says_what_it_could_not_check(
    files: Files,
) -> None:
    dashboard_writes(files.db, 3)
    assert files.smhp("seal").returncode == 0
    for command in ("seal", "prune"):
        done = files.smhp(command, with_key=False)
        assert done.returncode == 2 and "SMHP_AUDIT_KEY_FILE" in done.stderr
    done = files.smhp("verify", with_key=False)
    assert done.returncode == 2
    assert last_line(done).startswith("NOT VERIFIED:") and "MACs were not checked" in done.stdout

    files.key.chmod(0o644)  # a key others can read is no key
    done = files.smhp("seal")
    assert done.returncode == 2 and "chmod 600" in done.stderr
    assert files.smhp("verify").returncode == 2


# --- (e) intact ----------------------------------------------------------------------------


def test_intact_log_with_rows_after_the_last_seal_passes(files: Files) -> None:
    dashboard_writes(files.db, 10)
    sealed = files.smhp("seal")
    assert sealed.returncode == 0, sealed.stderr
    assert "seal 1 covers rows 1–10" in sealed.stdout
    dashboard_writes(files.db, 3, start=10)
    done = files.smhp("verify")
    assert done.returncode == 0, done.stdout
    assert "3 row(s) not yet sealed" in done.stdout
    assert last_line(done) == "INTACT"
    assert f"audit key fingerprint: {fingerprint(_key(files))}" in done.stdout
    anchors = files.anchors.read_text().splitlines()
    assert len(anchors) == 1
    anchor = json.loads(anchors[0])
    assert anchor["upto_id"] == 10 and anchor["head_hash"] == sqlite_hash(files.db, 10)
    assert stat.S_IMODE(files.anchors.stat().st_mode) & 0o027 == 0


def sqlite_hash(db: Path, row_id: int) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("select hash from audit_events where id = ?", (row_id,)).fetchone()[0]
    finally:
        con.close()


# --- (a) a middle row deleted, the chain recomputed ------------------------------------------


def test_deleting_a_middle_row_and_rechaining_is_caught_by_the_seal(files: Files) -> None:
    dashboard_writes(files.db, 10)
    assert files.smhp("seal").returncode == 0
    dashboard_writes(files.db, 2, start=10)
    rechain(files.db, keep=lambda row_id: row_id != 5)
    done = files.smhp("verify")
    assert done.returncode == 1
    assert last_line(done).startswith("BROKEN: seal 1: row 10 no longer has the hash")


# --- (b) the tail cut off ---------------------------------------------------------------------


def test_truncating_the_tail_is_caught_by_the_newest_seal(files: Files) -> None:
    dashboard_writes(files.db, 10)
    assert files.smhp("seal").returncode == 0
    sql(files.db, "drop trigger audit_events_no_delete", "delete from audit_events where id > 7")
    assert AuditLog(files.db).verify_chain()  # a shorter chain is still a chain
    done = files.smhp("verify")
    assert done.returncode == 1
    assert last_line(done).startswith(
        "BROKEN: seal 1: covers rows up to 10 but the log ends at row 7"
    )


# --- (c) the seals deleted or rewritten too ---------------------------------------------------


def test_dropping_the_seals_table_is_caught_by_the_anchor_file(files: Files) -> None:
    dashboard_writes(files.db, 10)
    assert files.smhp("seal").returncode == 0
    rechain(files.db, keep=lambda row_id: row_id != 5)
    sql(files.db, "drop table audit_seals")
    done = files.smhp("verify")
    assert done.returncode == 1
    assert "BROKEN: anchor line 1" in last_line(done) and "not in the database" in done.stdout


def test_deleting_the_newest_seal_with_the_tail_is_caught_by_the_anchor_file(
    files: Files,
) -> None:
    dashboard_writes(files.db, 5)
    assert files.smhp("seal").returncode == 0
    dashboard_writes(files.db, 5, start=5)
    assert files.smhp("seal").returncode == 0
    # Rows 6-10 and the seal over them go: what is left is a consistent, sealed log ...
    sql(
        files.db,
        "drop trigger audit_events_no_delete",
        "delete from audit_events where id > 5",
        "drop trigger audit_seals_no_delete",
        "delete from audit_seals where id = 2",
    )
    # ... to anyone without the anchor file.
    done = files.smhp("verify")
    assert done.returncode == 1
    assert last_line(done).startswith("BROKEN: anchor line 2")
    assert "seal 2 is not in the database" in done.stdout


def test_rewriting_the_seals_to_match_a_forged_chain_fails_with_or_without_the_key(
    files: Files,
) -> None:
    dashboard_writes(files.db, 8)
    assert files.smhp("seal").returncode == 0
    rechain(files.db, keep=lambda row_id: row_id != 3)
    new_head = sqlite_hash(files.db, 7)
    sql(
        files.db,
        "drop trigger audit_seals_no_update",
        f"update audit_seals set upto_id = 7, head_hash = '{new_head}'",
    )
    keyed = files.smhp("verify")
    assert keyed.returncode == 1
    assert last_line(keyed).startswith("BROKEN: seal 1: its MAC does not match")
    unkeyed = files.smhp("verify", with_key=False)
    assert unkeyed.returncode == 1
    assert last_line(unkeyed).startswith("BROKEN: anchor line 1") and "differs" in unkeyed.stdout


# --- (d) a row edited in place ----------------------------------------------------------------


def test_editing_a_row_is_caught(files: Files) -> None:
    dashboard_writes(files.db, 6)
    assert files.smhp("seal").returncode == 0
    sql(
        files.db,
        "drop trigger audit_events_no_update",
        """update audit_events set details = '{"i":2,"page":"somewhere else"}' where id = 3""",
    )
    done = files.smhp("verify")
    assert done.returncode == 1
    assert last_line(done).startswith("BROKEN: row 3: the hash chain breaks here")
    # Re-chaining after the edit moves the break to the seal instead.
    rechain(files.db)
    assert last_line(files.smhp("verify")).startswith("BROKEN: seal 1: row 6")


# --- retention --------------------------------------------------------------------------------


def _old_and_new_rows(files: Files) -> datetime:
    """Rows 1-4 written seven years ago (sealed), rows 5-7 last week (sealed), 8-9 today."""
    now = datetime.now(UTC)
    log = AuditLog(files.db)
    for i in range(4):
        log.record(
            audit.DOWNLOAD,
            "funder",
            {"file": f"old-row-marker-{i}.csv"},
            at=now - timedelta(days=7 * 365 + i),
        )
    assert seal(files.db, _key(files), files.anchors, now=now - timedelta(days=7 * 365)).id == 1
    dashboard_writes(files.db, 3, at=now - timedelta(days=7))
    assert seal(files.db, _key(files), files.anchors).id == 2
    dashboard_writes(files.db, 2, start=3)
    return now


def _key(files: Files) -> bytes:
    return bytes.fromhex(files.key.read_text().strip())


def test_prune_removes_old_sealed_rows_and_the_log_still_verifies(files: Files) -> None:
    _old_and_new_rows(files)
    dry = files.smhp("prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 4 row(s), ids 1–4" in dry.stdout
    assert AuditLog(files.db).recent(1, event=None)[0]["id"] == 9

    done = files.smhp("prune")
    assert done.returncode == 0, done.stderr
    assert "removed 4 row(s), ids 1–4" in done.stdout and "sealed by seal 3" in done.stdout
    rows = AuditLog(files.db).recent(100)
    assert [r["id"] for r in rows][-1] == 5  # rows 1-4 gone
    pruned = rows[0]
    assert pruned["event"] == "audit_pruned" and pruned["id"] == 10
    details = dict(pruned["details"])
    assert details.pop("upto_at") < (datetime.now(UTC) - timedelta(days=2190)).isoformat()
    assert details == {"rows": 4, "from_id": 1, "upto_id": 4, "seal": 1, "retention_days": 2190}
    assert pruned["username"] == getpass.getuser()  # who ran it
    verified = files.smhp("verify")
    assert verified.returncode == 0, verified.stdout
    assert "rows 5–10" in verified.stdout and last_line(verified) == "INTACT"
    # The first kept row follows the last pruned row as seal 1 vouches for it.
    con = sqlite3.connect(files.db)
    (prev,) = con.execute("select prev_hash from audit_events where id = 5").fetchone()
    (head,) = con.execute("select head_hash from audit_seals where id = 1").fetchone()
    con.close()
    assert prev == head
    # Pages without the key (the admin page) start the chain where the seal says.
    log = AuditLog(files.db)
    assert log.find_break() == 5 and log.find_break(chain_start(log)) is None
    # The delete trigger is back.
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sql(files.db, "delete from audit_events where id = 5")
    # Deleted means gone from the file, not left in free pages or the write-ahead log.
    raw = b"".join(p.read_bytes() for p in files.db.parent.glob(files.db.name + "*"))
    assert b"old-row-marker" not in raw
    # Nothing left to prune: a second run removes nothing.
    again = files.smhp("prune")
    assert again.returncode == 0 and "nothing to prune" in again.stdout


def test_prune_never_goes_past_a_seal_and_refuses_a_broken_log(files: Files) -> None:
    now = datetime.now(UTC)
    dashboard_writes(files.db, 4, at=now - timedelta(days=3000))
    assert files.smhp("prune").stdout.startswith("nothing to prune")  # nothing sealed yet
    assert files.smhp("seal").returncode == 0
    sql(
        files.db,
        "drop trigger audit_events_no_update",
        "update audit_events set event = 'x' where id = 2",
    )
    done = files.smhp("prune")
    assert done.returncode == 1 and "does not verify" in done.stderr
    assert AuditLog(files.db).recent(100)[-1]["id"] == 1  # nothing removed


def test_deleting_old_rows_as_if_pruned_is_caught(files: Files) -> None:
    _old_and_new_rows(files)
    # Rows 1-4 end exactly where seal 1 ends: only the newest seal knows they were kept.
    sql(files.db, "drop trigger audit_events_no_delete", "delete from audit_events where id <= 4")
    done = files.smhp("verify")
    assert done.returncode == 1
    assert last_line(done).startswith("BROKEN: seal 2: the log should start at row 1")


# --- sealing while the dashboard writes -------------------------------------------------------


def test_seals_taken_while_the_dashboard_writes_all_verify(files: Files) -> None:
    dashboard_writes(files.db, 1)
    key = _key(files)

    def writer(n: int) -> None:
        dashboard_writes(files.db, 40, start=100 * n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(8):
        seal(files.db, key, files.anchors)
        assert verify(files.db, key, files.anchors).intact
    for thread in threads:
        thread.join()
    seal(files.db, key, files.anchors)
    result = verify(files.db, key, files.anchors)
    assert result.intact, result.problems
    assert result.unsealed == 0
    assert len(files.anchors.read_text().splitlines()) == 9


# --- the nightly run's daily seal -------------------------------------------------------------


@pytest.mark.slow  # two real `smhp nightly` runs (dbt build)
def test_the_nightly_seal_never_changes_the_runs_outcome(tmp_path: Path) -> None:
    f = Files(tmp_path)
    create_key_file(f.key)
    dashboard_writes(f.db, 3)
    landing, warehouse = tmp_path / "landing", tmp_path / "var" / "warehouse.duckdb"
    write_extract(landing, "liaison_contacts", "2024-03-01", [liaison("C1", 1)])
    env = NIGHTLY_ENV | f.env()

    def nightly() -> subprocess.CompletedProcess:
        return subprocess.run(
            [SMHP, "nightly", "--landing", str(landing), "--warehouse", str(warehouse)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    f.anchors.mkdir(parents=True)  # the anchor "file" is a folder: the seal must fail
    failed_seal = nightly()
    f.anchors.rmdir()
    sealed = nightly()
    assert failed_seal.returncode == sealed.returncode == 3, sealed.stderr  # stale 2024 data
    assert "audit log NOT sealed: IsADirectoryError" in failed_seal.stderr
    assert "audit log sealed: seal 1 covers rows 1-3" in sealed.stderr
    for done in (failed_seal, sealed):  # the run's summary stays its last line
        assert done.stderr.strip().splitlines()[-1].startswith("PUBLISHED WITH WARNINGS")
    assert verify(f.db, _key(f), f.anchors).intact
