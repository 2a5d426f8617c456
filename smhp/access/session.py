"""A signed-in viewer's session: who, since when, and when it stops being valid.

Pure (no Streamlit): the app keeps one ``Session`` in ``st.session_state`` and calls
``touch(now)`` on every rerun. Both limits matter for shared NHS and university
machines: the idle timeout ends a session left open on a desk, the absolute timeout
makes even an active session re-prove who it is once a working day. They apply to
single sign-on too, because the identity cookie ``st.login`` sets lasts 30 days and
Streamlit does not check the identity token's expiry itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from smhp.access.roles import Access
from smhp.settings import Settings


@dataclass(frozen=True)
class SessionPolicy:
    """Idle and absolute session lifetimes."""

    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=8)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        """The policy of ``SMHP_SESSION_IDLE_MINUTES`` / ``SMHP_SESSION_MAX_HOURS``."""
        return cls(
            idle_timeout=timedelta(minutes=settings.session_idle_minutes),
            absolute_timeout=timedelta(hours=settings.session_max_hours),
        )


def _aware(now: datetime) -> datetime:
    # A naive datetime compared with an aware one raises at the worst moment (a page
    # load); refusing it here makes the mistake show in the first test instead.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime, e.g. datetime.now(UTC)")
    return now


@dataclass
class Session:
    """One viewer's session. Mutable on purpose: ``touch`` moves ``last_seen``.

    ``method`` is ``"password"`` or ``"sso"``; ``session_id`` is a random id to put in
    audit records so one sitting's page views can be told apart from another's.
    """

    access: Access
    started_at: datetime
    last_seen: datetime
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    method: str = "password"
    session_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @classmethod
    def start(
        cls,
        access: Access,
        now: datetime,
        policy: SessionPolicy | None = None,
        method: str = "password",
    ) -> Session:
        """A new session for ``access`` that begins at ``now``."""
        _aware(now)
        return cls(access, now, now, policy or SessionPolicy(), method)

    def expires_at(self) -> datetime:
        """When the session ends if the viewer does nothing more."""
        return min(
            self.last_seen + self.policy.idle_timeout,
            self.started_at + self.policy.absolute_timeout,
        )

    def is_expired(self, now: datetime) -> bool:
        """Whether the session has ended by ``now`` (idle or absolute limit reached)."""
        return _aware(now) >= self.expires_at()

    def touch(self, now: datetime) -> bool:
        """Record activity at ``now``; ``False`` (and no change) if already expired.

        An expired session is never revived: the caller must sign the viewer out and
        start a new session after a new sign-in.
        """
        if self.is_expired(now):
            return False
        self.last_seen = max(self.last_seen, now)
        return True
