"""The audit log: who signed in, looked at what, downloaded what, and when.

It is a SQLite file of its own (``SMHP_AUDIT_DB``, default ``var/audit.sqlite3``), kept
apart from the published warehouse: the warehouse is replaced every night and read by
everyone, the audit log must outlive it and is read by admins only. It is append-only
twice over: triggers abort any UPDATE or DELETE, and each row carries
``sha256(previous row's hash + this row's content)``, so a row changed or removed by
someone who drops the triggers breaks the chain (``verify_chain``). That chain is
unkeyed: cutting the end, or recomputing it after an edit, leaves a valid chain. The
keyed seals of ``smhp.access.audit_seal`` (made where the audit key is, never here), anchored
outside the database, detect both (docs/audit.md).

It must never become a copy of what it protects: ``record`` drops any detail whose key
is named like a password, secret or token, and replaces anything that looks like an
NHS number (ten digits, spaces allowed) before it is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Event names used by smhp; ``record`` accepts any lower_snake_case name.
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_LOCKED = "sign_in_locked"
SIGN_OUT = "sign_out"
SESSION_EXPIRED = "session_expired"
ACCESS_DENIED = "access_denied"
PAGE_VIEW = "page_view"
DOWNLOAD = "download"
RECORDS_VIEWED = "records_viewed"
USER_ADDED = "user_added"
USER_REMOVED = "user_removed"
PASSWORD_SET = "password_set"
USER_UNLOCKED = "user_unlocked"
AUDIT_PRUNED = "audit_pruned"  # retention: smhp audit prune (smhp.access.audit_seal)
SIGN_IN_ATTEMPT = "sign_in_attempt"  # admitted to the password check (smhp.access.throttle)
SIGN_IN_THROTTLED = "sign_in_throttled"  # refused by a limit, or no password check free
TOTP_ENABLED = "totp_enabled"  # smhp users totp-enable
TOTP_DISABLED = "totp_disabled"  # smhp users totp-disable
ALERT_SENT = "alert_sent"  # an alert message delivered (smhp.alerts.delivery)
ALERT_FAILED = "alert_failed"  # an alert message that could not be delivered

GENESIS = "0" * 64
REDACTED = "[redacted]"

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|token|credential|api[_-]?key|cookie|nhs|student_ref",
    re.IGNORECASE,
)
# Ten digits, spaces allowed between them, not part of a longer run of digits.
_NHS_LIKE = re.compile(r"(?<!\d)(?:\d *){9}\d(?!\d)")
_MAX_TEXT, _MAX_ITEMS, _MAX_DEPTH = 500, 100, 4

_SCHEMA = """
create table if not exists audit_events (
    id        integer primary key,
    at        text not null,
    event     text not null,
    username  text,
    details   text not null,
    prev_hash text not null,
    hash      text not null
);
create index if not exists audit_events_by_user on audit_events (username, event, id);
create trigger if not exists audit_events_no_update before update on audit_events
begin select raise(abort, 'the audit log is append-only: UPDATE refused'); end;
create trigger if not exists audit_events_no_delete before delete on audit_events
begin select raise(abort, 'the audit log is append-only: DELETE refused'); end;
"""


def looks_like_nhs_number(text: str) -> bool:
    """Whether ``text`` holds ten digits in a row (spaces allowed): never stored here."""
    return _NHS_LIKE.search(text) is not None


def _clean_text(text: str, path: str, redacted: list[str]) -> str:
    cleaned, hits = _NHS_LIKE.subn(REDACTED, text[:_MAX_TEXT])
    if hits:
        redacted.append(path or "(value)")
    return cleaned


def _clean(value: Any, path: str, redacted: list[str], depth: int = 0) -> Any:
    """``value`` made safe to store; the paths of what was removed go to ``redacted``."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return REDACTED if _clean_text(str(value), path, redacted) != str(value) else value
    if isinstance(value, str):
        return _clean_text(value, path, redacted)
    if depth >= _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[:_MAX_ITEMS]:
            name = _clean_text(str(key), path, redacted)
            child = f"{path}.{name}" if path else name
            if _SENSITIVE_KEY.search(name):
                redacted.append(child)
                continue
            out[name] = _clean(item, child, redacted, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_clean(v, f"{path}[{i}]", redacted, depth + 1) for i, v in enumerate(items)]
    return _clean_text(str(value), path, redacted)  # dates, paths, enums: as text


def scrub(details: dict[str, Any] | None) -> dict[str, Any]:
    """What ``record`` stores of ``details``: sensitive keys dropped, NHS-like values
    replaced, long text cut; ``_redacted`` lists the paths removed (never the values)."""
    redacted: list[str] = []
    cleaned = _clean(dict(details or {}), "", redacted)
    if redacted:
        cleaned["_redacted"] = redacted
    return cleaned


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _row_hash(
    prev_hash: str, row_id: int, at: str, event: str, user: str | None, details: str
) -> str:
    content = _canonical([row_id, at, event, user, details])
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _timestamp(at: datetime | None) -> str:
    at = at or datetime.now(UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime, e.g. datetime.now(UTC)")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _prepare(
    event: str, username: str | None, details: dict[str, Any] | None
) -> tuple[str, str | None, str]:
    """``(event, username, details)`` as a row stores them: the name checked, the
    username and details scrubbed (a password or an NHS number is never written)."""
    if not _EVENT_NAME.fullmatch(event):
        raise ValueError(f"event names are lower_snake_case, not {event!r}")
    user = None if username is None else _clean_text(str(username), "username", [])
    return event, user, _canonical(scrub(details))


def _append(con: sqlite3.Connection, stamp: str, event: str, user: str | None, body: str) -> int:
    """Append one prepared row within ``con``'s open write transaction; its row id."""
    last = con.execute("select id, hash from audit_events order by id desc limit 1").fetchone()
    row_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    digest = _row_hash(prev, row_id, stamp, event, user, body)
    con.execute(
        "insert into audit_events values (?, ?, ?, ?, ?, ?, ?)",
        (row_id, stamp, event, user, body, prev, digest),
    )
    return row_id


_CLOCK_SLACK = timedelta(minutes=5)
"""How far out of time order rows may be appended: a writer stamps its row, then waits
for the write lock (at most the 10 s busy timeout), and a sign-in's outcome carries the
time its attempt started. A backward scan for recent rows goes this much further back."""


def _event_rows(
    con: sqlite3.Connection,
    events: Collection[str],
    username: str | None,
    since: datetime | None,
) -> list[dict[str, Any]]:
    """Rows of ``events`` naming ``username`` (by the index) or at or after ``since`` (a
    scan from the newest row back, ending at the first row older than ``since`` minus
    ``_CLOCK_SLACK``: rows are appended in time order), each once, oldest first."""
    names = sorted(set(events))
    found: dict[int, tuple[Any, ...]] = {}
    if username is not None and names:
        marks = ", ".join("?" * len(names))
        for row in con.execute(
            "select id, at, event, username, details from audit_events "
            f"where username = ? and event in ({marks})",
            (username, *names),
        ):
            found[row[0]] = row
    if since is not None:
        start, floor = _timestamp(since), _timestamp(since - _CLOCK_SLACK)
        for row in con.execute(
            "select id, at, event, username, details from audit_events order by id desc"
        ):
            if row[1] < floor:  # ISO text of one format: compared as text
                break
            if row[1] >= start and row[2] in names:
                found[row[0]] = row
    return [_row_dict(found[i]) for i in sorted(found)]


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row ``(id, at, event, username, details)`` as readers get it."""
    row_id, at, name, user, details = row
    return {
        "id": row_id,
        "at": datetime.fromisoformat(at),
        "event": name,
        "username": user,
        "details": json.loads(details),
    }


@dataclass(eq=False)
class _Pending:
    """One ``record`` call's row, waiting for the group commit that writes it."""

    stamp: str
    event: str
    user: str | None
    body: str
    row_id: int | None = None
    error: BaseException | None = None
    written: bool = False


class AuditLog:
    """The append-only audit store at ``path`` (created with mode 0600 if missing).

    One short connection per write, so the object can be shared by every Streamlit
    session (threads) and used by the CLI at the same time; ``BEGIN IMMEDIATE`` makes
    reading the last hash and appending the next row one step.

    ``record`` commits in groups: the rows that threads of this process ask for while a
    write is under way are appended together by the next one, in one transaction, and
    each call returns once its own row is committed (durable: ``synchronous = full``).
    Under many sessions this is what keeps a page view's wait short: a writer holds
    SQLite's write lock across several calls, each of which gives up Python's lock and
    must win it back from the sessions' script runs, so one transaction a row kept the
    others sleeping in SQLite's busy retries (page views of 50 sessions waited for the
    audit log longer than for everything else).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._pending: list[_Pending] = []
        self._writing = False  # a thread of this process is writing a group
        self._turn = threading.Condition()
        self.groups_written = 0
        """Transactions ``record`` committed through this object (each one or more rows)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # Create it private before SQLite does; its -wal/-shm files copy the mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._connect() as con:
            con.execute("pragma journal_mode = wal")
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute("pragma busy_timeout = 10000")
            con.execute("pragma synchronous = full")  # an audit row, once written, stays
            yield con
        finally:
            con.close()

    def record(
        self,
        event: str,
        username: str | None,
        details: dict[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> int:
        """Append one event (``at`` defaults to now) and return its row id.

        ``details`` is scrubbed first (see ``scrub``): a password or an NHS number can
        never be written, whatever a caller passes.
        """
        row = _Pending(_timestamp(at), *_prepare(event, username, details))
        with self._turn:
            self._pending.append(row)
            while self._writing and not row.written:
                self._turn.wait()
            leads = not row.written  # nobody is writing: this thread writes all that waits
            if leads:
                self._writing = True
                group, self._pending = self._pending, []
        if leads:
            try:
                self._write_group(group)
            finally:
                with self._turn:
                    self._writing = False
                    self._turn.notify_all()
        if row.error is not None:
            raise row.error
        assert row.row_id is not None
        return row.row_id

    def _write_group(self, group: list[_Pending]) -> None:
        """Append ``group``'s rows in order in one transaction; each row gets its id, or
        the error that stopped the transaction (then none of them is written)."""
        try:
            with self._connect() as con:
                con.execute("begin immediate")
                try:
                    ids = [_append(con, r.stamp, r.event, r.user, r.body) for r in group]
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
        except BaseException as exc:
            for row in group:
                row.error, row.written = exc, True
            return
        self.groups_written += 1
        for row, row_id in zip(group, ids, strict=True):
            row.row_id, row.written = row_id, True

    def recent(
        self, limit: int = 100, event: str | None = None, username: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest events, newest first: ``id``, ``at`` (aware UTC), ``event``,
        ``username``, ``details`` (a dict)."""
        sql = "select id, at, event, username, details from audit_events"
        where, params = [], []
        if event is not None:
            where.append("event = ?")
            params.append(event)
        if username is not None:
            where.append("username = ?")
            params.append(username)
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by id desc limit ?"
        with self._connect() as con:
            rows = con.execute(sql, (*params, int(limit))).fetchall()
        return [_row_dict(row) for row in rows]

    def failure_times(self, username: str) -> list[datetime]:
        """Times of ``username``'s failed sign-ins since their last sign-in or unlock
        (or since the user was added: a re-used username starts clean).

        The input of the lock-out rule (``smhp.access.lockout.locked_until``).
        """
        with self._connect() as con:
            rows = con.execute(
                """
                select at from audit_events
                where username = ? and event = ? and id > coalesce(
                    (select max(id) from audit_events
                     where username = ? and event in (?, ?, ?)), 0)
                order by id
                """,
                (username, SIGN_IN_FAILED, username, SIGN_IN, USER_UNLOCKED, USER_ADDED),
            ).fetchall()
        return [datetime.fromisoformat(at) for (at,) in rows]

    def failures_since(self, username: str, since: datetime) -> int:
        """How many failed sign-ins ``username`` had at or after ``since`` (and since
        their last sign-in or unlock)."""
        return sum(1 for at in self.failure_times(username) if at >= since)

    def head(self) -> tuple[int, str]:
        """(number of rows, hash of the last row): an anchor to keep elsewhere."""
        with self._connect() as con:
            last = con.execute("select id, hash from audit_events order by id desc limit 1")
            row = last.fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def find_break(self, after: tuple[int, str] = (0, GENESIS)) -> int | None:
        """The id of the first row whose chain does not hold, or ``None`` if intact.

        ``after`` is the (id, hash) the chain starts from: the genesis, or for a log whose
        oldest rows were pruned, the last pruned row as a keyed seal vouches for it
        (``smhp.access.audit_seal``); the first row must then be the next id.
        """
        prev, expected_id = after[1], after[0] + 1
        with self._connect() as con:
            rows = con.execute(
                "select id, at, event, username, details, prev_hash, hash "
                "from audit_events order by id"
            )
            for row_id, at, event, user, details, prev_hash, digest in rows:
                if row_id != expected_id or prev_hash != prev:
                    return row_id
                if _row_hash(prev, row_id, at, event, user, details) != digest:
                    return row_id
                prev, expected_id = digest, row_id + 1
        return None

    def verify_chain(self) -> bool:
        """Whether every row is unchanged and none is missing before the last one."""
        return self.find_break() is None

    def events_of(
        self,
        events: Collection[str],
        *,
        username: str | None = None,
        since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Every row of ``events`` that names ``username``, and every one at or after
        ``since``, oldest first, as ``recent`` gives them (the input of sign-in limits)."""
        with self._connect() as con:
            return _event_rows(con, events, username, since)

    def record_if(
        self,
        decide: Callable[[list[dict[str, Any]]], tuple[str, str | None, dict[str, Any]]],
        events: Collection[str],
        *,
        username: str | None = None,
        since: datetime | None = None,
        at: datetime | None = None,
    ) -> int:
        """Read, decide and append as one step; the id of the row appended.

        In one ``BEGIN IMMEDIATE`` transaction (no other writer can come in between):
        ``events_of(events, username=…, since=…)`` is read, ``decide(rows)`` returns the
        ``(event, username, details)`` to append (an attempt, or a refusal), and it is
        appended like ``record`` appends. Check-then-act in one step is what makes a
        limit hold when ten sign-ins arrive at once: each sees the ones before it.
        """
        stamp = _timestamp(at)
        with self._connect() as con:
            con.execute("begin immediate")
            try:
                rows = _event_rows(con, events, username, since)
                row_id = _append(con, stamp, *_prepare(*decide(rows)))
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return row_id
