"""The signed-in session as ``st.session_state`` keeps it: stored with a seal, and the
sessions of this server process that are still signed in.

The seal is an HMAC, with a key only this server process holds, of who the session is for
and since when. A session edited in the session state (another role, other institutions)
no longer matches its seal; ``dashboard.auth.session`` ends it. A restart of the server
draws a new key, which ends every session.

The live sessions are for work that runs outside a rerun (a deferred download,
``dashboard.downloads``): sign-out or expiry revokes what the session had on screen.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import streamlit as st

from dashboard.auth import request
from smhp.access import Session

SESSION_KEY = "_smhp_session"
"""Where the signed-in session lives in ``st.session_state``."""
SEAL_KEY = "_smhp_session_seal"
"""Where the session's seal lives in ``st.session_state``."""

_SECRET = secrets.token_bytes(32)  # per server process: a restart ends every session

_LIVE_SESSIONS: set[str] = set()
"""Ids of the sessions signed in on this server process and not ended since."""


def _seal(session: Session) -> str:
    access = session.access
    content = "\x1f".join(
        [
            session.session_id,
            session.method,
            session.started_at.isoformat(),
            access.username,
            access.role,
            ",".join(access.institutions or ()) if access.institutions is not None else "*",
        ]
    )
    return hmac.new(_SECRET, content.encode("utf-8"), hashlib.sha256).hexdigest()


def keep(session: Session) -> None:
    """Store ``session`` with its seal, and count it as signed in."""
    st.session_state[SESSION_KEY] = session
    st.session_state[SEAL_KEY] = _seal(session)
    _LIVE_SESSIONS.add(session.session_id)


def forget(session: Session) -> None:
    """Drop ``session`` and its seal, and stop counting it as signed in."""
    _LIVE_SESSIONS.discard(session.session_id)
    drop()


def drop() -> None:
    """Drop whatever is stored under the session's keys (not a session, or no seal)."""
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SEAL_KEY, None)


def kept() -> tuple[Session, bool] | None:
    """The stored session and whether its seal holds; ``None`` if no well-formed session
    (a ``Session`` with a seal) is stored."""
    session = st.session_state.get(SESSION_KEY)
    seal = st.session_state.get(SEAL_KEY)
    if not isinstance(session, Session) or not isinstance(seal, str):
        return None
    return session, hmac.compare_digest(seal, _seal(session))


def sealed_session() -> Session | None:
    """This rerun's session if its seal holds (the app ends a tampered one on this rerun)."""
    stored = kept()
    return stored[0] if stored is not None and stored[1] else None


def session_is_live(session: Session) -> bool:
    """Whether ``session`` is still signed in now: not ended and not expired."""
    return session.session_id in _LIVE_SESSIONS and not session.is_expired(request.now())
