"""Keyed seals over the audit log, anchored outside it: what makes a rewrite evident.

The audit log's own hash chain (``smhp.access.audit``) is unkeyed: whoever can write the SQLite
file can drop its triggers, delete rows and recompute every later hash, and the chain
verifies again. The dashboard must be able to append rows, so its account can do exactly
that. What that account must not hold is the *audit key* (``SMHP_AUDIT_KEY_FILE``: 32
random bytes, readable by the nightly/CLI account only). With it, ``seal`` appends a row
to ``audit_seals``: the first kept row, the last row and its hash, and an HMAC-SHA256
over those, the time and the previous seal's MAC, so seals form a keyed chain of their
own. Each seal also goes, as one JSON line, to an anchor file outside the database
(``SMHP_AUDIT_ANCHOR_FILE``, append-only, owned by the CLI account) and to syslog.

What then fails ``verify``: a row changed, removed or re-chained at or before a seal (the
seal's head no longer matches, and a new seal cannot be made without the key); rows cut
from the end (a seal names a longer log); seals removed or rewritten (the anchor file
names them); old rows deleted as if pruned (the newest seal names the first kept row).
What cannot be caught: rows appended after the newest seal and removed before the next
one, hence an hourly seal (docs/audit.md).

Retention (``prune``) deletes rows older than ``SMHP_AUDIT_RETENTION_DAYS``, never past a
seal, and seals in the same transaction, so the first kept row's ``prev_hash`` is vouched
for by a keyed seal. Seals are never pruned: they are a few hundred bytes each.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import syslog
from dataclasses import asdict, astuple, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smhp.access.audit import (
    AUDIT_PRUNED,
    GENESIS,
    AuditLog,
    _append,
    _canonical,
    _prepare,
    _timestamp,
)
from smhp.pipeline.keys import parse_key, write_key_file
from smhp.settings import SettingsError

KEY_FILE_ENV = "SMHP_AUDIT_KEY_FILE"
SYSLOG_IDENT = "smhp-audit"
_MAC_LABEL = "smhp audit seal v1"

_SEAL_SCHEMA = """
create table if not exists audit_seals (
    id        integer primary key,
    at        text not null,
    from_id   integer not null,
    upto_id   integer not null,
    head_hash text not null,
    prev_mac  text not null,
    mac       text not null
);
create trigger if not exists audit_seals_no_update before update on audit_seals
begin select raise(abort, 'audit seals are append-only: UPDATE refused'); end;
create trigger if not exists audit_seals_no_delete before delete on audit_seals
begin select raise(abort, 'audit seals are append-only: DELETE refused'); end;
"""
_TRIGGERS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_seals_no_update",
    "audit_seals_no_delete",
)


class AuditKeyError(SettingsError):
    """The audit key is not configured or not usable: seals can be neither made nor checked."""


class AuditBroken(RuntimeError):
    """The audit log does not verify: refuse to prune what may be evidence."""


# --- the key ----------------------------------------------------------------------------


def create_key_file(path: Path) -> str:
    """A new audit key at ``path`` (0600, never over an existing file): its fingerprint.

    The same format and rules as the pseudonym key (``smhp.pipeline.keys``): 32 random bytes.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return write_key_file(path)


def load_key(path: Path | None) -> bytes:
    """The audit key from ``path`` (``SMHP_AUDIT_KEY_FILE``); ``AuditKeyError`` if it is
    not set, unreadable, readable by others or not a key made by ``smhp audit keygen``."""
    if path is None:
        raise AuditKeyError(
            f"no audit key: {KEY_FILE_ENV} is not set (the nightly/CLI account's key file, "
            "made by `smhp audit keygen --out FILE`)"
        )
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise AuditKeyError(f"{KEY_FILE_ENV}: {path} cannot be read: {reason}") from None
    if mode & 0o077:
        raise AuditKeyError(
            f"{KEY_FILE_ENV}: {path} can be read by others (mode {mode & 0o777:04o}); "
            f"run `chmod 600 {path}`"
        )
    try:
        return parse_key(text, f"{KEY_FILE_ENV} ({path})")
    except SettingsError:
        raise AuditKeyError(
            f"{KEY_FILE_ENV}: {path} does not hold a key made by `smhp audit keygen` "
            "(64 hex characters, 32 random bytes)"
        ) from None


# --- seals and anchors ------------------------------------------------------------------


@dataclass(frozen=True)
class Seal:
    """One row of ``audit_seals``: rows ``from_id``..``upto_id`` existed, the last with
    hash ``head_hash``, at time ``at``; ``mac`` vouches for it and for every seal before."""

    id: int
    at: str
    from_id: int
    upto_id: int
    head_hash: str
    prev_mac: str
    mac: str

    def anchor(self) -> dict[str, object]:
        """The seal as one anchor line holds it (everything: an anchor *is* a copy)."""
        return asdict(self)


def seal_mac(
    key: bytes, seal_id: int, at: str, from_id: int, upto_id: int, head: str, prev_mac: str
) -> str:
    """HMAC-SHA256 under the audit key over a seal's content and the previous seal's MAC."""
    message = _canonical([_MAC_LABEL, seal_id, at, from_id, upto_id, head, prev_mac])
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _has_seals_table(con: sqlite3.Connection) -> bool:
    found = con.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'audit_seals'"
    ).fetchone()
    return found is not None


def _read_seals(con: sqlite3.Connection) -> list[Seal]:
    if not _has_seals_table(con):
        return []
    rows = con.execute(
        "select id, at, from_id, upto_id, head_hash, prev_mac, mac from audit_seals order by id"
    )
    return [Seal(*row) for row in rows]


def _append_seal(
    con: sqlite3.Connection, key: bytes, anchor_file: Path, now: datetime | None
) -> Seal:
    """Seal the log as it stands, inside the caller's write transaction, and anchor it.

    The anchor line is written before the caller commits: a seal that is in the database
    always has its anchor (a failed write rolls the seal back).
    """
    first, last = con.execute("select min(id), max(id) from audit_events").fetchone()
    head = GENESIS
    if last is not None:
        head = con.execute("select hash from audit_events where id = ?", (last,)).fetchone()[0]
    previous = con.execute("select id, mac from audit_seals order by id desc limit 1").fetchone()
    seal_id, prev_mac = (previous[0] + 1, previous[1]) if previous else (1, GENESIS)
    at = _timestamp(now)
    upto = last or 0
    start = first if first is not None else upto + 1
    mac = seal_mac(key, seal_id, at, start, upto, head, prev_mac)
    seal = Seal(seal_id, at, start, upto, head, prev_mac, mac)
    con.execute("insert into audit_seals values (?, ?, ?, ?, ?, ?, ?)", astuple(seal))
    append_anchor(anchor_file, seal)
    return seal


def append_anchor(anchor_file: Path, seal: Seal) -> None:
    """One JSON line per seal, appended (O_APPEND) and flushed to disk; created 0640."""
    anchor_file.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd = os.open(anchor_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (_canonical(seal.anchor()) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _to_syslog(seal: Seal) -> None:
    """The anchor line to syslog too (AUTHPRIV): a copy on another machine, where the
    system forwards it. Best effort: no syslog is not an error."""
    try:
        syslog.openlog(SYSLOG_IDENT, 0, getattr(syslog, "LOG_AUTHPRIV", syslog.LOG_USER))
        syslog.syslog(syslog.LOG_NOTICE, _canonical(seal.anchor()))
        syslog.closelog()
    except Exception:  # a missing syslog must never stop a seal
        pass


def _open_for_sealing(path: Path) -> AuditLog:
    """The existing log at ``path``, its triggers and the seals' table in place.

    The dashboard's account creates the log; one created here would belong to the wrong
    account, so a missing log is an error."""
    if not path.is_file():
        raise FileNotFoundError(f"no audit log at {path}: nothing to seal")
    log = AuditLog(path)
    with log._connect() as con:
        con.executescript(_SEAL_SCHEMA)
    return log


def seal(path: Path, key: bytes, anchor_file: Path, now: datetime | None = None) -> Seal:
    """Append a seal over the log at ``path`` as it stands, and anchor it."""
    with _open_for_sealing(path)._connect() as con:
        con.execute("begin immediate")  # no row may slip in between head and seal
        try:
            result = _append_seal(con, key, anchor_file, now)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    _to_syslog(result)
    return result


# --- verification -----------------------------------------------------------------------


@dataclass
class Verification:
    """What ``verify`` found: ``problems`` (each names a row, a seal or an anchor line;
    the first is the first break) and ``notes`` (what was checked, what is unsealed)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unsealed: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems


def _missing_triggers(path: Path) -> list[str]:
    con = sqlite3.connect(path, timeout=10)
    try:
        present = {name for (name,) in con.execute("select name from sqlite_master")}
    finally:
        con.close()
    names = _TRIGGERS if "audit_seals" in present else _TRIGGERS[:2]
    return [name for name in names if name not in present]


def _seals_and_anchors(path: Path, anchor_file: Path) -> tuple[list[Seal], list[str] | None]:
    """The seals and the anchor file's lines (``None``: no file), read under the log's
    write lock, so a seal being written (its anchor first) is seen whole or not at all."""
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        con.execute("pragma busy_timeout = 10000")
        try:
            con.execute("begin immediate")
        except sqlite3.OperationalError:  # a read-only account: a plain read snapshot
            con.execute("begin")
        try:
            lines = anchor_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            lines = None
        seals = _read_seals(con)
        con.execute("rollback")
    finally:
        con.close()
    return seals, lines


def _check_anchors(
    seals: list[Seal], lines: list[str] | None, anchor_file: Path, result: Verification
) -> None:
    """Every anchor line is a seal in the database, and the newest seal has a line."""
    if lines is None:
        if seals:
            result.problems.append(
                f"anchor file {anchor_file} is missing: seal {seals[-1].id} has no anchor"
            )
        return
    by_id = {s.id: s.anchor() for s in seals}
    anchored: set[int] = set()
    for number, line in enumerate(lines, 1):
        where = f"anchor line {number} ({anchor_file})"
        try:
            anchor = json.loads(line)
            seal_id = anchor["id"]
            if not isinstance(seal_id, int):
                raise TypeError(seal_id)
        except (ValueError, TypeError, KeyError):
            result.problems.append(f"{where}: not a seal anchor")
            continue
        if seal_id not in by_id:
            result.problems.append(
                f"{where}: seal {seal_id} is not in the database (seals removed)"
            )
        elif anchor != by_id[seal_id]:
            result.problems.append(f"{where}: differs from seal {seal_id} in the database")
        else:
            anchored.add(seal_id)
    if seals and seals[-1].id not in anchored:
        result.problems.append(f"seal {seals[-1].id}: the newest seal has no anchor line")
    result.notes.append(
        f"anchors: {len(lines)} line(s) in {anchor_file}, {len(anchored)} matching a seal"
    )


def _check_seals(
    seals: list[Seal],
    key: bytes | None,
    rows: tuple[int | None, int | None],
    hashes: dict[int, str],
    start: tuple[int, str],
    result: Verification,
) -> None:
    """The seal chain, each MAC (with the key), and each head against the rows."""
    first, last = rows
    prev_mac, prev = GENESIS, None
    for number, s in enumerate(seals, 1):
        name = f"seal {s.id}"
        if s.id != number:
            result.problems.append(f"{name}: seal {number} is missing before it")
        if s.prev_mac != prev_mac:
            result.problems.append(
                f"{name}: does not follow the seal before it (seals removed or rewritten)"
            )
        if key is not None and not hmac.compare_digest(
            s.mac, seal_mac(key, s.id, s.at, s.from_id, s.upto_id, s.head_hash, s.prev_mac)
        ):
            result.problems.append(f"{name}: its MAC does not match (forged, or another key)")
        if prev is not None and (s.upto_id < prev.upto_id or s.from_id < prev.from_id):
            result.problems.append(f"{name}: covers less than seal {prev.id} before it")
        if s.upto_id == 0:
            if s.head_hash != GENESIS:
                result.problems.append(f"{name}: an empty log cannot have a head hash")
        elif last is None or s.upto_id > last:
            result.problems.append(
                f"{name}: covers rows up to {s.upto_id} but the log ends at row {last or 0} "
                "(rows removed from the end)"
            )
        elif s.upto_id == start[0]:
            if s.head_hash != start[1]:
                result.problems.append(
                    f"{name}: row {s.upto_id + 1} does not follow the row this seal vouches for"
                )
        elif s.upto_id > start[0] and hashes.get(s.upto_id) != s.head_hash:
            result.problems.append(
                f"{name}: row {s.upto_id} no longer has the hash this seal vouches for "
                f"(rows up to {s.upto_id} changed, removed or re-chained)"
            )
        prev_mac, prev = s.mac, s
    if seals and first is not None and first != seals[-1].from_id:
        result.problems.append(
            f"seal {seals[-1].id}: the log should start at row {seals[-1].from_id}, "
            f"it starts at row {first} (rows removed, not pruned)"
        )


def chain_start(log: AuditLog) -> tuple[int, str]:
    """The (id, hash) the row chain starts from, for ``log.find_break(chain_start(log))``:
    the genesis, or once old rows were pruned, the last pruned row as the seal ending
    there says (its MAC unchecked: for a page without the key, e.g. the dashboard's admin
    page, where a prune must not look like a break). No such seal: the genesis, so the
    first kept row is the break."""
    with log._connect() as con:
        (first,) = con.execute("select min(id) from audit_events").fetchone()
        if first is None or first == 1 or not _has_seals_table(con):
            return (0, GENESIS)
        found = con.execute(
            "select head_hash from audit_seals where upto_id = ? order by id desc limit 1",
            (first - 1,),
        ).fetchone()
    return (first - 1, found[0]) if found else (0, GENESIS)


def verify(path: Path, key: bytes | None, anchor_file: Path) -> Verification:
    """Check the audit log at ``path``: the row chain from the first kept row, the seals
    (their MACs only with ``key``), each seal's head against the rows, and the anchors.

    Opening the log re-creates the rows' triggers if they were dropped (each missing one is
    a note): verify a copy of the file when investigating (docs/audit.md).
    """
    result = Verification()
    if not path.is_file():
        result.problems.append(f"no audit log at {path}")
        return result
    for name in _missing_triggers(path):
        result.notes.append(
            f"warning: trigger {name} was missing: someone lifted the append-only guard"
        )
    try:
        seals, lines = _seals_and_anchors(path, anchor_file)
    except OSError as exc:  # a missing file is read as no lines; this is e.g. permissions
        result.problems.append(
            f"anchor file {anchor_file} cannot be read ({exc.strerror}): verify as the "
            "account that seals"
        )
        return result
    log = AuditLog(path)
    with log._connect() as con:
        first, last = con.execute("select min(id), max(id) from audit_events").fetchone()
        hashes = dict(
            con.execute(
                "select e.id, e.hash from audit_events e"
                " where e.id in (select upto_id from audit_seals)"
            )
            if _has_seals_table(con)
            else []
        )
    start = chain_start(log)
    if first is not None and start[0] != first - 1:
        result.problems.append(
            f"row {first}: the rows before it are missing and no seal vouches for row "
            f"{first - 1} (a prune always stops at a seal)"
        )
        with log._connect() as con:  # check the rest of the chain from where it starts
            prev = con.execute("select prev_hash from audit_events where id = ?", (first,))
            start = (first - 1, prev.fetchone()[0])
    broken = log.find_break(start)
    if broken is not None:
        result.problems.append(
            f"row {broken}: the hash chain breaks here (this row changed, or one before it "
            "was changed, removed or inserted)"
        )
    _check_seals(seals, key, (first, last), hashes, start, result)
    _check_anchors(seals, lines, anchor_file, result)
    kept = f"rows {first}–{last}" if first is not None else "no rows"
    result.notes.insert(0, f"audit log {path}: {kept}")
    if seals:
        newest = seals[-1]
        result.unsealed = max(0, (last or 0) - newest.upto_id)
        how = "MACs checked with the audit key" if key else "MACs NOT checked: no audit key"
        result.notes.insert(
            1,
            f"seals: {len(seals)} ({how}); the newest, seal {newest.id} at {newest.at}, "
            f"covers rows up to {newest.upto_id}",
        )
    else:
        result.unsealed = (last or 0) - (first or 1) + 1 if last else 0
        result.notes.insert(1, "seals: none yet")
    return result


# --- retention --------------------------------------------------------------------------


@dataclass(frozen=True)
class PrunePlan:
    """Rows ``from_id``..``upto_id`` (``rows`` of them, the newest written at ``upto_at``)
    are older than the retention period and end where seal ``seal_id`` ends."""

    from_id: int
    upto_id: int
    rows: int
    upto_at: str
    seal_id: int
    cutoff: str


def plan_prune(
    con: sqlite3.Connection, seals: list[Seal], retention_days: int, now: datetime | None
) -> PrunePlan | None:
    """What a prune would remove: the rows before the first row written at or after the
    cutoff, but only up to the end of a seal (never past the newest); ``None`` if none."""
    cutoff = _timestamp((now or datetime.now(UTC)) - timedelta(days=retention_days))
    first, last = con.execute("select min(id), max(id) from audit_events").fetchone()
    if first is None:
        return None
    (young,) = con.execute("select min(id) from audit_events where at >= ?", (cutoff,)).fetchone()
    limit = last if young is None else young - 1
    ends = [s for s in seals if first <= s.upto_id <= limit]
    if not ends:
        return None
    end = max(ends, key=lambda s: (s.upto_id, s.id))
    rows, upto_at = con.execute(
        "select count(*), max(at) from audit_events where id <= ?", (end.upto_id,)
    ).fetchone()
    return PrunePlan(first, end.upto_id, rows, upto_at, end.id, cutoff)


def prune(
    path: Path,
    key: bytes,
    anchor_file: Path,
    retention_days: int,
    operator: str,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> tuple[PrunePlan | None, Seal | None]:
    """Remove the rows older than ``retention_days`` (see ``plan_prune``), in one
    transaction: append an ``audit_pruned`` row, lift the delete trigger, delete, restore
    the trigger, seal (so the new first row is vouched for), anchor, commit.

    Refuses (``AuditBroken``) unless the log verifies with the key first: pruning a
    tampered log would destroy the evidence. Deleted rows are overwritten
    (``secure_delete``) and the write-ahead log truncated, so they do not linger in the file.
    """
    check = verify(path, key, anchor_file)
    if not check.intact:
        raise AuditBroken(f"the audit log does not verify ({check.problems[0]}): not pruned")
    with _open_for_sealing(path)._connect() as con:
        con.execute("pragma secure_delete = on")
        con.execute("begin immediate")
        try:
            plan = plan_prune(con, _read_seals(con), retention_days, now)
            if plan is None or dry_run:
                con.execute("rollback")
                return plan, None
            details = {
                "rows": plan.rows,
                "from_id": plan.from_id,
                "upto_id": plan.upto_id,
                "upto_at": plan.upto_at,
                "seal": plan.seal_id,
                "retention_days": retention_days,
            }
            _append(con, _timestamp(now), *_prepare(AUDIT_PRUNED, operator, details))
            (trigger,) = con.execute(
                "select sql from sqlite_master where type = 'trigger'"
                " and name = 'audit_events_no_delete'"
            ).fetchone()
            con.execute("drop trigger audit_events_no_delete")
            con.execute("delete from audit_events where id <= ?", (plan.upto_id,))
            con.execute(trigger)
            result = _append_seal(con, key, anchor_file, now)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("pragma wal_checkpoint(truncate)")  # best effort: readers may hold it
    _to_syslog(result)
    return plan, result
