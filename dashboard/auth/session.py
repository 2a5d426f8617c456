"""The viewer of every rerun: a session started at sign-in, checked on every rerun, and
ended (recorded) by sign-out, expiry, a change of access or tampering.

The viewer is derived, never stored: the session in ``st.session_state``
(``dashboard.auth.seal``) says only who signed in and how; its access is read again on
every rerun from its source (the users file, or the identity token and the mapping file)
and the session ends if the two differ. The data scope is built from that fresh access.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.auth import request, seal, sso, trail
from smhp.access import (
    Access,
    Scope,
    Session,
    SessionPolicy,
    audit,
    pages_for,
    role_label,
    scope_for,
)
from smhp.access.users import UserError, find_user

NOTICE_KEY = "_smhp_notice"
"""A message for the sign-in page after a sign-out or an expiry (shown once)."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in viewer of this rerun, derived afresh from the session's source.

    ``scope`` is the one argument that decides what every query returns; ``pages`` the
    page ids the viewer may open, landing page first.
    """

    access: Access
    session: Session
    scope: Scope
    pages: tuple[str, ...]
    display_name: str

    @property
    def username(self) -> str:
        return self.access.username

    @property
    def role_label(self) -> str:
        return role_label(self.access.role)


def start(access: Access, method: str) -> None:
    """Sign ``access`` in (``method``: ``password`` or ``sso``): a new sealed session."""
    policy = SessionPolicy.from_settings(request.settings())
    seal.keep(Session.start(access, request.now(), policy, method=method))
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state.pop(trail.LAST_VIEW_KEY, None)


def end(session: Session, event: str, reason: str, notice: str | None) -> None:
    """End ``session``: record why, forget it, and leave a notice for the sign-in page."""
    seal.forget(session)
    st.session_state.pop(trail.LAST_VIEW_KEY, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice
    trail.record_quietly(  # the session ends all the same; the operator sees why
        event,
        session.access.username,
        {"session": session.session_id, "method": session.method, "reason": reason},
    )
    if session.method == "sso":
        st.logout()  # the identity cookie lasts 30 days: end it too


def sign_out() -> None:
    """The sign-out button's callback: record, forget the session, end SSO's cookie."""
    session = st.session_state.get(seal.SESSION_KEY)
    if isinstance(session, Session):
        end(session, audit.SIGN_OUT, "signed out", "You have signed out.")


def _fresh_access(session: Session) -> tuple[Access | None, str]:
    """The session's access as its source says now, and the viewer's display name."""
    if session.method == "sso":
        token = sso.claims()
        if token is None:
            return None, ""
        access = sso.access(token)
        return access, sso.display_name(token) or (access.username if access else "")
    try:
        user = find_user(request.settings().users_file, session.access.username)
    except UserError:  # the users file cannot be read: nobody is known, fail closed
        return None, ""
    if user is None:
        return None, ""
    return user.access, user.display_name or user.username


def current_viewer() -> Viewer | None:
    """The signed-in viewer of this rerun, or ``None`` (nothing drawn).

    Touches the session; ends it (recorded) if it has been tampered with, if it has
    expired, or if its access no longer matches what its source says.
    """
    if st.session_state.get(seal.SESSION_KEY) is None:
        return None
    stored = seal.kept()
    if stored is None:  # not a session, or no seal: nobody signed in
        seal.drop()
        return None
    session, sealed = stored
    if not sealed:
        end(
            session,
            audit.ACCESS_DENIED,
            "session state altered",
            "Your session was changed and has been ended. Please sign in again.",
        )
        return None
    if not session.touch(request.now()):
        minutes = int(session.policy.idle_timeout.total_seconds() // 60)
        end(
            session,
            audit.SESSION_EXPIRED,
            "idle or maximum time reached",
            f"Your session has ended (after {minutes} minutes without activity, or at the "
            "end of its maximum length). Please sign in again.",
        )
        return None
    access, name = _fresh_access(session)
    if access is None or access != session.access:
        end(
            session,
            audit.SESSION_EXPIRED,
            "account removed or its access changed",
            "Your access has changed since you signed in. Please sign in again.",
        )
        return None
    return Viewer(access, session, scope_for(access), pages_for(access.role), name)
