"""Lock-out and the other sign-in limits, as pure rules over the attempts already made.

The attempts are read from the audit log (``smhp.access.throttle`` reads them inside the
transaction that records the next one), which is on disk and append-only: the limits
survive a restart of the app, and no one can clear them by editing a state file. The
rules here only look at what they are given, so each is tested without a database.

Three limits, checked before a password is verified:

- **Account lock-out, per client address.** ``max_failures`` failures of one account
  from one client address lock that account *for that address* for ``duration``. An
  attacker elsewhere can therefore not lock ``board`` or ``admin`` out of their own
  desks; the price is that a guesser using many addresses gets ``max_failures`` guesses
  per account per address, which is what the two limits below bound.
- **Per client address**, across every username (unknown ones included):
  ``address_failures`` failures in the last ``duration``.
- **Overall**: ``global_per_minute`` attempts admitted in the last minute.

An attempt that has not got its outcome yet counts as a failure (pessimistic): ten
guesses arriving at once are admitted one by one, each seeing the ones before it, so at
most ``max_failures`` of them ever reach the password check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from smhp.settings import Settings

Outcome = Literal["pending", "failed", "succeeded", "throttled"]
Reason = Literal["locked", "address", "global"]
UNKNOWN_ADDRESS = "unknown"
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class LockoutPolicy:
    """The sign-in limits (``SMHP_LOCKOUT_*``, ``SMHP_SIGNIN_*``).

    ``max_failures`` consecutive failures of an account from one address lock it there for
    ``duration``; ``address_failures`` failures from one address in ``duration`` refuse
    that address; ``global_per_minute`` attempts a minute in all; at most ``concurrency``
    password checks (argon2) at once in the process.
    """

    max_failures: int = 5
    duration: timedelta = timedelta(minutes=15)
    address_failures: int = 20
    global_per_minute: int = 60
    concurrency: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        """The policy of the settings."""
        return cls(
            settings.lockout_failures,
            timedelta(minutes=settings.lockout_minutes),
            settings.signin_address_failures,
            settings.signin_global_per_minute,
            settings.signin_concurrency,
        )

    @property
    def window(self) -> timedelta:
        """How far back the address and overall limits look."""
        return max(self.duration, MINUTE)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt as the limits see it.

    ``id`` orders attempts (the audit row id); ``account`` is ``None`` for a username that
    is not an account (the typed name is never stored); ``address`` the client address.
    """

    id: int
    at: datetime
    account: str | None
    address: str | None
    outcome: Outcome = "pending"

    @property
    def counts_as_failure(self) -> bool:
        """Failed, or still being checked (pessimistic). A throttled attempt was never
        checked, so it is no guess; a success is none either."""
        return self.outcome in ("pending", "failed")


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before its password is checked, and until when."""

    reason: Reason
    until: datetime


def address_key(address: str | None) -> str:
    """What the limits count an address as: an IPv6 address by its /64 (one customer's
    network: an attacker holding one has 2^64 addresses), anything else as it is."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def locked_until(
    failures: Iterable[datetime], now: datetime, policy: LockoutPolicy
) -> datetime | None:
    """When the lock ends, or ``None`` if the account is not locked at ``now``.

    ``failures`` are the times of the failed sign-ins since the last successful one or
    the last unlock, oldest first. The ``max_failures``-th failure starts a lock of
    ``duration``; once it has passed the count starts again from zero, so a patient
    attacker gets ``max_failures`` guesses per lock period, never more. Refused attempts
    during a lock are not failures (the audit log records them as ``sign_in_locked``), so
    they neither extend the lock nor count towards the next one.
    """
    count = 0
    until: datetime | None = None
    for at in failures:
        if until is not None:
            if at < until:
                continue
            count, until = 0, None
        count += 1
        if count >= policy.max_failures:
            until = at + policy.duration
    if until is not None and now < until:
        return until
    return None


def account_failures(
    attempts: Sequence[Attempt], account: str, address: str | None, reset_after: int = 0
) -> list[datetime]:
    """Times of ``account``'s failures from ``address`` (by ``address_key``) since its
    last success from there and since row ``reset_after`` (an unlock, or the account's
    creation), oldest first: the input of ``locked_until``."""
    key = address_key(address)
    own = [a for a in attempts if a.account == account and address_key(a.address) == key]
    start = max([reset_after, *(a.id for a in own if a.outcome == "succeeded")])
    return [a.at for a in sorted(own, key=lambda a: a.id) if a.id > start and a.counts_as_failure]


def account_locked_until(
    attempts: Sequence[Attempt],
    account: str,
    now: datetime,
    policy: LockoutPolicy,
    reset_after: int = 0,
) -> datetime | None:
    """The latest end of ``account``'s lock-outs at ``now`` over every address (for the
    admin page and ``smhp users list``), or ``None`` if no address is locked out."""
    ends = [
        locked_until(account_failures(attempts, account, address, reset_after), now, policy)
        for address in {a.address for a in attempts if a.account == account}
    ]
    return max((end for end in ends if end is not None), default=None)


def _over(times: list[datetime], limit: int, span: timedelta) -> datetime | None:
    """When the count of ``times`` falls below ``limit`` again, if it is at it now."""
    if len(times) < limit:
        return None
    return sorted(times)[-limit] + span


def refusal(
    attempts: Sequence[Attempt],
    account: str | None,
    address: str | None,
    now: datetime,
    policy: LockoutPolicy,
    reset_after: int = 0,
) -> Refusal | None:
    """Whether a new attempt for ``account`` (``None``: not an account) from ``address``
    at ``now`` is refused before its password is checked, and why.

    ``attempts`` are the attempts of ``account`` (since ``reset_after``) and every attempt
    in the last ``policy.window``, with their outcomes so far.
    """
    if account is not None:
        failures = account_failures(attempts, account, address, reset_after)
        until = locked_until(failures, now, policy)
        if until is not None:
            return Refusal("locked", until)
    key = address_key(address)
    recent = [a for a in attempts if a.at > now - policy.duration]
    from_address = [a.at for a in recent if a.counts_as_failure and address_key(a.address) == key]
    until = _over(from_address, policy.address_failures, policy.duration)
    if until is not None:
        return Refusal("address", until)
    last_minute = [a.at for a in attempts if a.at > now - MINUTE]
    until = _over(last_minute, policy.global_per_minute, MINUTE)
    if until is not None:
        return Refusal("global", until)
    return None
