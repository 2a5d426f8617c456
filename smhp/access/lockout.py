"""Lock-out after repeated failed sign-ins, as a pure rule over the failure times.

The failures themselves are read from the audit log (``smhp.audit``), which is on disk
and append-only: the lock-out survives a restart of the app, and no one can clear it by
editing a state file. The only ways out are time, a successful sign-in after the lock
has passed, or ``smhp users unlock`` (recorded in the audit log too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from smhp.settings import Settings


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` consecutive failed sign-ins lock the account for ``duration``."""

    max_failures: int = 5
    duration: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        """The policy of ``SMHP_LOCKOUT_FAILURES`` / ``SMHP_LOCKOUT_MINUTES``."""
        return cls(settings.lockout_failures, timedelta(minutes=settings.lockout_minutes))


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
