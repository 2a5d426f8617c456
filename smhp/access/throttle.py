"""Sign-in attempts against the audit log: admitted or refused before any password check.

``smhp.access.users.authenticate`` calls ``admit`` first. In one write transaction of the audit
log (``AuditLog.record_if``) it reads the recent attempts, applies the limits of
``smhp.access.lockout`` to them, and appends either the attempt (``sign_in_attempt``:
the account or none, the client address) or the refusal (``sign_in_locked``,
``sign_in_throttled``). Only an admitted attempt goes on to argon2, through
``verification_slot``: at most ``SMHP_SIGNIN_CONCURRENCY`` checks at once in the process,
and an attempt that finds none free is refused at once, never queued. ``finish`` then
records the outcome (``sign_in``, ``sign_in_failed``, ``sign_in_throttled``) naming the
attempt's row id.

``client_address`` decides which address an attempt comes from: the direct peer, or,
when the peer is a trusted reverse proxy (``SMHP_TRUSTED_PROXIES``), the address it
put in ``X-Forwarded-For``.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from smhp.access import audit
from smhp.access.lockout import (
    Attempt,
    LockoutPolicy,
    Outcome,
    Refusal,
    account_failures,
    account_locked_until,
    locked_until,
    refusal,
)

SIGN_IN_ATTEMPT = audit.SIGN_IN_ATTEMPT
"""An attempt admitted to the password check (its outcome follows, naming it)."""
SIGN_IN_THROTTLED = audit.SIGN_IN_THROTTLED
"""Refused by the per-address or overall limit, or no password check free."""
EVENTS = (
    SIGN_IN_ATTEMPT,
    audit.SIGN_IN,
    audit.SIGN_IN_FAILED,
    SIGN_IN_THROTTLED,
    audit.USER_ADDED,
    audit.USER_UNLOCKED,
)
"""The audit events the limits read."""
_OUTCOMES: dict[str, Outcome] = {
    audit.SIGN_IN: "succeeded",
    audit.SIGN_IN_FAILED: "failed",
    SIGN_IN_THROTTLED: "throttled",
}
REASONS = {
    "address": "too many failed sign-ins from this client address",
    "global": "too many sign-in attempts overall",
    "busy": "too many passwords being checked at once",
}
"""What a ``sign_in_throttled`` row says (for the admin reading the audit log)."""


@dataclass(frozen=True)
class Admission:
    """The answer of ``admit``: the attempt's audit row id, or why it was refused."""

    attempt: int | None
    refused: Refusal | None
    account: str | None
    address: str | None


# --- reading the audit log ---------------------------------------------------------------


def attempts_from(rows: Iterable[dict[str, Any]]) -> tuple[list[Attempt], dict[str, int]]:
    """The attempts in audit ``rows`` (oldest first) with their outcomes so far, and per
    account the id of its latest ``user_added`` / ``user_unlocked`` row.

    A ``sign_in`` or ``sign_in_failed`` row without an attempt id (written before attempts
    were recorded) is an attempt of its own; a single sign-on ``sign_in`` is none.
    """
    attempts: dict[int, Attempt] = {}
    resets: dict[str, int] = {}
    for row in rows:
        event, details, user = row["event"], row["details"], row["username"]
        if event == SIGN_IN_ATTEMPT:
            attempts[row["id"]] = Attempt(row["id"], row["at"], user, details.get("client"))
        elif event in (audit.USER_ADDED, audit.USER_UNLOCKED) and user is not None:
            resets[user] = max(resets.get(user, 0), row["id"])
        elif event in _OUTCOMES:
            ref = details.get("attempt")
            if isinstance(ref, int):
                if ref in attempts:
                    attempts[ref] = replace(attempts[ref], outcome=_OUTCOMES[event])
            elif event != SIGN_IN_THROTTLED and details.get("method") != "sso":
                attempts[row["id"]] = Attempt(
                    row["id"], row["at"], user, details.get("client"), _OUTCOMES[event]
                )
    return [attempts[i] for i in sorted(attempts)], resets


ANY_ADDRESS = "*"
"""``lock_state``'s address for "from any address" (the admin's view of an account)."""


def lock_state(
    log: audit.AuditLog,
    account: str,
    now: datetime,
    policy: LockoutPolicy,
    address: str | None = ANY_ADDRESS,
) -> datetime | None:
    """When ``account``'s lock-out from ``address`` (``None``: an unknown address) ends,
    or for ``ANY_ADDRESS`` the latest end over every address it is locked out from;
    ``None`` if not locked out."""
    attempts, resets = attempts_from(log.events_of(EVENTS, username=account))
    reset_after = resets.get(account, 0)
    if address == ANY_ADDRESS:
        return account_locked_until(attempts, account, now, policy, reset_after)
    return locked_until(account_failures(attempts, account, address, reset_after), now, policy)


# --- one attempt ---------------------------------------------------------------------------


def admit(
    log: audit.AuditLog,
    account: str | None,
    address: str | None,
    now: datetime,
    policy: LockoutPolicy,
) -> Admission:
    """Admit or refuse an attempt at ``now`` and record which, in one transaction.

    ``account`` is the account the username names (``None`` if it names none: the typed
    name is never recorded). Raises if the audit log cannot be written.
    """
    decided: list[Refusal | None] = []

    def decide(rows: list[dict[str, Any]]) -> tuple[str, str | None, dict[str, Any]]:
        attempts, resets = attempts_from(rows)
        refused = refusal(attempts, account, address, now, policy, resets.get(account or "", 0))
        decided.append(refused)
        if refused is None:
            return SIGN_IN_ATTEMPT, account, {"method": "password", "client": address}
        if refused.reason == "locked":
            details = {"locked_until": refused.until.isoformat(), "client": address}
            return audit.SIGN_IN_LOCKED, account, details
        details = {"reason": REASONS[refused.reason], "until": refused.until.isoformat()}
        return SIGN_IN_THROTTLED, account, {**details, "client": address}

    row_id = log.record_if(decide, EVENTS, username=account, since=now - policy.window, at=now)
    refused = decided[-1]
    return Admission(None if refused else row_id, refused, account, address)


def finish(
    log: audit.AuditLog,
    admission: Admission,
    event: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """Record the outcome of an admitted attempt, naming it (``attempt``: its row id)."""
    base = {"attempt": admission.attempt, "client": admission.address}
    log.record(event, admission.account, {**details, **base}, at=now)


@cache
def _slots(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


_timing = {"last": 0.0}  # seconds the last password check took (see pause_like_a_check)


@contextmanager
def verification_slot(size: int) -> Iterator[bool]:
    """One of ``size`` password checks allowed at once in this process: ``True`` inside
    if it was free (and held until the block ends), ``False`` at once if none was."""
    slots = _slots(size)
    got = slots.acquire(blocking=False)
    started = time.monotonic()
    try:
        yield got
    finally:
        if got:
            _timing["last"] = time.monotonic() - started
            slots.release()


def pause_like_a_check() -> None:
    """Wait (without using the CPU) about as long as a password check takes: a refused
    locked-out account then answers in the time a wrong password does, so the time taken
    does not tell which usernames are accounts."""
    time.sleep(min(_timing["last"], 2.0))


# --- which address --------------------------------------------------------------------------


def _trusted(peer: str | None, trusted: Sequence[str]) -> bool:
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted]
    if peer is None:  # loopback: Streamlit does not say which of 127.0.0.1 and ::1
        return any(network.is_loopback for network in networks)
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[str]) -> str:
    """The client's address: ``peer`` (``None`` for a loopback peer), or when the peer is
    a trusted proxy, the last entry of its ``X-Forwarded-For`` headers. The proxy of
    ``deploy/`` overwrites the header with the address it sees, so the last entry is the
    one a trusted proxy wrote; a value that is not an IP address is not believed."""
    direct = peer or "loopback"
    if not _trusted(peer, trusted):
        return direct
    entries = [e.strip() for value in forwarded_for for e in value.split(",") if e.strip()]
    if not entries:
        return direct
    try:
        return str(ipaddress.ip_address(entries[-1]))
    except ValueError:
        return direct


def run_check(check: Callable[[], bool], policy: LockoutPolicy) -> bool | None:
    """``check()`` (a password check) in a free verification slot, or ``None`` at once
    when every slot is taken."""
    with verification_slot(policy.concurrency) as free:
        return check() if free else None
