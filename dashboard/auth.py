"""Sign-in, sessions and the audit trail of the dashboard: who the viewer is, every rerun.

The access rules themselves are in ``smhp.access`` (roles, pages, scopes, single sign-on
mapping), local passwords and lock-out in ``smhp.access.users``, the audit log in
``smhp.access.audit``; this module wires them into Streamlit:

- **Sign-in.** The local users file (``SMHP_USERS_FILE``) through a form, and, when
  ``.streamlit/secrets.toml`` has an ``[auth]`` section, "Sign in with Microsoft"
  (``st.login``) mapped to a role by ``SMHP_ACCESS_CONFIG`` on the token's immutable
  ``tid`` + ``oid`` (never its email). The form always shows a verification-code field
  (checked only for accounts with a second factor). One message for every failed
  sign-in (wrong password or code, unknown user, locked account, a limit reached), so
  the form never tells whether a username exists or has a second factor. Each attempt
  carries the client address (``client_address``: behind a trusted proxy, the address
  it forwards), which the sign-in limits count by and the audit log records.
- **The viewer is derived, never stored.** The session (``smhp.access.Session``) is kept
  in ``st.session_state``, but on every rerun the viewer's access is read again from the
  authoritative source (the users file for a password session, the signed identity
  cookie and the mapping file for single sign-on). A session whose stored access no
  longer matches (a user removed, a role changed, or the session state edited) is ended.
  The data scope is ``scope_for(access)`` of that fresh access, built here and passed to
  every query; nothing a viewer can set (a widget, a query parameter, a session-state
  key) goes into it. The stored session is sealed (an HMAC with a key held by this
  server process only): a session edited in the session state is refused and ended.
- **Sessions expire** (``SMHP_SESSION_IDLE_MINUTES``, ``SMHP_SESSION_MAX_HOURS``): every
  rerun touches the session at ``now()``; an expired one is recorded and signed out.
- **Audit.** Sign-ins and failures are recorded by ``smhp.access.users.authenticate`` itself;
  this module records single sign-on sign-ins, sign-outs, expiries, refusals, page views
  (when the page or its filters change) and downloads, in ``SMHP_AUDIT_DB``. If the
  audit log cannot be written, nobody signs in and a signed-in viewer is signed out:
  health data is not shown unrecorded.

``now`` is the one clock of sign-in and sessions: tests replace it to age a session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.context import NOT_FOR_ROLE_TEXT
from dashboard.data import Scope
from dashboard.navigation import BY_ID
from smhp.access import (
    Access,
    AccessConfigError,
    LockoutPolicy,
    Session,
    SessionPolicy,
    audit,
    identity_access,
    load_access_config,
    pages_for,
    scope_for,
    throttle,
)
from smhp.access.identity import display_details, sso_username
from smhp.access.users import UserError, authenticate, find_user
from smhp.settings import Settings, SettingsError

SESSION_KEY = "_smhp_session"
"""Where the signed-in session lives in ``st.session_state``."""
SEAL_KEY = "_smhp_session_seal"
"""The session's seal: an HMAC, with a key only this server process holds, of who it is
for and since when. A session edited in the session state no longer matches its seal."""
NOTICE_KEY = "_smhp_notice"
"""A message for the sign-in page after a sign-out or an expiry (shown once)."""
LAST_VIEW_KEY = "_smhp_last_view"
"""The page and filters of the last recorded page view (to record changes only)."""
OUTCOME_KEY = "_smhp_sign_in_outcome"
"""What became of the last sign-in attempt (for the message under the form)."""
DENIED_KEY = "_smhp_sso_denied"
"""Single sign-on identity already recorded as denied in this session."""

SIGN_IN_FAILED_TEXT = (
    "Sign-in failed: the username, password and verification code (if your account uses "
    "one) do not match an account that may sign in now. After {failures} failed attempts "
    "in a row an account is locked for {minutes} minutes, and too many attempts from one "
    "place are refused for a while: if that may have happened, try again later."
)
NO_ACCESS_TEXT = (
    "You are signed in with Microsoft, but this account has no access to the SMHP "
    "dashboard. Ask the partnership's administrator for access, then sign in again."
)
AUDIT_DOWN_TEXT = (
    "The audit log cannot be written, so the dashboard cannot show data now: every view "
    "of health data must be recorded. Ask the administrator to check the audit store."
)
ROLE_LABELS = {
    "board": "Board",
    "service_manager": "Service manager",
    "funder": "Funder",
    "admin": "Administrator",
}


def now() -> datetime:
    """The time of sign-in and session checks (UTC). Tests replace it to age sessions."""
    return datetime.now(UTC)


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
        return ROLE_LABELS.get(self.access.role, self.access.role)


def viewer_scope(access: Access) -> Scope:
    """The dashboard's ``Scope`` of ``access``: ``scope_for`` and nothing else."""
    spec = scope_for(access)
    return Scope(spec.institutions, spec.disclosure_control, spec.record_level)


# --- settings, the audit log ------------------------------------------------------------


def settings() -> Settings:
    """The settings of this rerun (the environment ``smhp dashboard`` passes)."""
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _audit_log(path: str) -> audit.AuditLog:
    return audit.AuditLog(Path(path))


def audit_log() -> audit.AuditLog:
    """The audit log of ``SMHP_AUDIT_DB`` (one object per file, shared by sessions)."""
    return _audit_log(str(settings().audit_db))


def record(event: str, username: str | None, details: dict[str, Any] | None = None) -> None:
    """Append one event to the audit log at ``now()``; raises if it cannot be written."""
    audit_log().record(event, username, details, at=now())


# --- single sign-on ----------------------------------------------------------------------


def sso_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (``st.login``)."""
    try:
        return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))
    except Exception:  # an unreadable secrets file: no single sign-on, never a crash
        return False


def _sso_claims() -> dict[str, Any] | None:
    """The identity token's claims when signed in with single sign-on, else ``None``."""
    if not sso_configured() or not st.user.get("is_logged_in", False):
        return None
    return dict(st.user.to_dict())


def _sso_access(claims: Mapping[str, Any]) -> Access | None:
    return identity_access(claims, load_access_config(settings().access_config))


# --- the session, every rerun ------------------------------------------------------------


def _fresh_access(session: Session) -> tuple[Access | None, str]:
    """The session's access as its source says now, and the viewer's display name."""
    if session.method == "sso":
        claims = _sso_claims()
        if claims is None:
            return None, ""
        access = _sso_access(claims)
        shown = display_details(claims)
        name = shown.get("name") or shown.get("email")
        return access, name or (access.username if access else "")
    try:
        user = find_user(settings().users_file, session.access.username)
    except UserError:  # the users file cannot be read: nobody is known, fail closed
        return None, ""
    if user is None:
        return None, ""
    return user.access, user.display_name or user.username


_SEAL_SECRET = secrets.token_bytes(32)  # per server process: a restart ends every session

_LIVE_SESSIONS: set[str] = set()
"""Ids of the sessions signed in on this server process and not ended since. Work that runs
outside a rerun (a deferred download) checks it, so that sign-out or expiry revokes what
the session had on screen."""


def session_is_live(session: Session) -> bool:
    """Whether ``session`` is still signed in now: not ended and not expired."""
    return session.session_id in _LIVE_SESSIONS and not session.is_expired(now())


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
    return hmac.new(_SEAL_SECRET, content.encode("utf-8"), hashlib.sha256).hexdigest()


def _end(session: Session, event: str, reason: str, notice: str | None) -> None:
    """End ``session``: record why, forget it, and leave a notice for the sign-in page."""
    _LIVE_SESSIONS.discard(session.session_id)
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SEAL_KEY, None)
    st.session_state.pop(LAST_VIEW_KEY, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice
    try:
        record(
            event,
            session.access.username,
            {"session": session.session_id, "method": session.method, "reason": reason},
        )
    except Exception as exc:  # the session ends all the same; the operator sees why
        print(f"smhp dashboard: audit log not written: {type(exc).__name__}", file=sys.stderr)
    if session.method == "sso":
        st.logout()  # the identity cookie lasts 30 days: end it too


def current_viewer() -> Viewer | None:
    """The signed-in viewer of this rerun, or ``None`` (nothing drawn).

    Touches the session; ends it (recorded) if it has expired or if its access no longer
    matches what its source says.
    """
    session = st.session_state.get(SESSION_KEY)
    if session is None:
        return None
    seal = st.session_state.get(SEAL_KEY)
    if not isinstance(session, Session) or not isinstance(seal, str):
        st.session_state.pop(SESSION_KEY, None)
        st.session_state.pop(SEAL_KEY, None)
        return None
    if not hmac.compare_digest(seal, _seal(session)):
        _end(
            session,
            audit.ACCESS_DENIED,
            "session state altered",
            "Your session was changed and has been ended. Please sign in again.",
        )
        return None
    if not session.touch(now()):
        minutes = int(session.policy.idle_timeout.total_seconds() // 60)
        _end(
            session,
            audit.SESSION_EXPIRED,
            "idle or maximum time reached",
            f"Your session has ended (after {minutes} minutes without activity, or at the "
            "end of its maximum length). Please sign in again.",
        )
        return None
    access, name = _fresh_access(session)
    if access is None or access != session.access:
        _end(
            session,
            audit.SESSION_EXPIRED,
            "account removed or its access changed",
            "Your access has changed since you signed in. Please sign in again.",
        )
        return None
    return Viewer(access, session, viewer_scope(access), pages_for(access.role), name)


def _start(access: Access, method: str) -> None:
    policy = SessionPolicy.from_settings(settings())
    session = Session.start(access, now(), policy, method=method)
    st.session_state[SESSION_KEY] = session
    st.session_state[SEAL_KEY] = _seal(session)
    _LIVE_SESSIONS.add(session.session_id)
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state.pop(LAST_VIEW_KEY, None)


def sign_out() -> None:
    """The sign-out button's callback: record, forget the session, end SSO's cookie."""
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, Session):
        _end(session, audit.SIGN_OUT, "signed out", "You have signed out.")


# --- the sign-in page --------------------------------------------------------------------


def _submitted() -> None:
    """The sign-in form's ``on_click``: check the password before the rerun draws
    anything, and wipe what was typed from the session at once (a widget's value would
    otherwise stay in the server's session state)."""
    username = str(st.session_state.get("signin_username") or "")
    password = str(st.session_state.get("signin_password") or "")
    code = str(st.session_state.get("signin_code") or "")
    st.session_state["signin_username"] = ""
    st.session_state["signin_password"] = ""
    st.session_state["signin_code"] = ""
    st.session_state[OUTCOME_KEY] = _check_password(username, password, code)


def _check_password(username: str, password: str, code: str = "") -> str:
    """``signed_in``, or why not: ``empty``, ``failed`` (wrong, unknown, locked or
    refused by a limit: one outcome on purpose), ``no_users`` or ``no_audit``."""
    if not username.strip() or not password:
        return "empty"
    config = settings()
    try:
        result = authenticate(
            username,
            password,
            now(),
            users_file=config.users_file,
            log=audit_log(),
            policy=LockoutPolicy.from_settings(config),
            address=client_address(),
            code=code,
            totp_required=config.totp_required_roles,
        )
    except UserError:
        return "no_users"
    except Exception as exc:  # the audit log cannot be written: nobody signs in
        print(f"smhp dashboard: sign-in refused, audit log: {type(exc).__name__}", file=sys.stderr)
        return "no_audit"
    if not result.ok or result.user is None:
        return "failed"
    _start(result.user.access, "password")
    return "signed_in"


def _password_sign_in(config: Settings) -> None:
    """The local sign-in form, and what became of the last attempt."""
    outcome = st.session_state.pop(OUTCOME_KEY, None)
    with st.form("sign_in", clear_on_submit=True, enter_to_submit=True):
        st.text_input("Username", key="signin_username", autocomplete="username")
        st.text_input(
            "Password", type="password", key="signin_password", autocomplete="current-password"
        )
        st.text_input(  # always shown: the form must not tell who has a second factor
            "Verification code (only if your account uses one)",
            key="signin_code",
            autocomplete="one-time-code",
            max_chars=12,
        )
        st.form_submit_button("Sign in", type="primary", on_click=_submitted)
    if outcome == "empty":
        st.warning("Enter your username and password.")
    elif outcome == "failed":
        st.error(
            SIGN_IN_FAILED_TEXT.format(
                failures=config.lockout_failures, minutes=config.lockout_minutes
            )
        )
    elif outcome == "no_users":
        st.error("Sign-in is unavailable: the users file cannot be read. Tell the administrator.")
    elif outcome == "no_audit":
        st.error(AUDIT_DOWN_TEXT)


def _sso_sign_in(claims: Mapping[str, Any]) -> bool:
    """Map a signed-in identity to access; ``False`` (after saying so) for no access."""
    try:
        access = _sso_access(claims)
    except AccessConfigError as exc:
        st.error(f"Single sign-on is not set up correctly: {exc}")
        return False
    if access is None:
        who = sso_username(claims)
        if st.session_state.get(DENIED_KEY) != who:
            details = {"method": "sso", "reason": "no mapping", **display_details(claims)}
            _record_quietly(audit.ACCESS_DENIED, who, {**details, "client": client_address()})
            st.session_state[DENIED_KEY] = who
        st.error(NO_ACCESS_TEXT)
        if st.button("Sign out", key="sso_denied_sign_out"):
            st.logout()
            st.rerun()
        return False
    try:
        details = {"method": "sso", "role": access.role, **display_details(claims)}
        record(audit.SIGN_IN, access.username, {**details, "client": client_address()})
    except Exception as exc:  # an unrecorded sign-in to health data is not acceptable
        print(f"smhp dashboard: sign-in refused, audit log: {type(exc).__name__}", file=sys.stderr)
        st.error(AUDIT_DOWN_TEXT)
        return False
    _start(access, "sso")
    return True


def sign_in_page() -> Viewer | None:
    """Draw the sign-in page; the viewer once signed in (then the app carries on)."""
    config = settings()
    sso = sso_configured()
    claims = _sso_claims()
    if claims is not None:
        if _sso_sign_in(claims):
            return current_viewer()
        return None
    st.title("SMHP dashboard")
    st.markdown(
        "Student mental health partnership: figures on special-category health data. "
        "Sign in to continue; every sign-in, page view and download is recorded."
    )
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    left, _ = st.columns([2, 3])
    with left:
        if sso and st.button("Sign in with Microsoft", type="primary", key="sso"):
            st.login()  # to Microsoft and back; the next run finds st.user signed in
        if not sso or config.users_file.exists():
            if sso:
                st.caption("Or with a local account:")
            _password_sign_in(config)
    statement = BY_ID["accessibility"].url_path  # readable before sign-in: no data on it
    st.html(f'<p><a href="./{statement}">Accessibility statement</a></p>')
    return None


# --- page views, refusals and downloads --------------------------------------------------


def _plain(value: object) -> object:
    """A filter value as the audit log stores it (dates as ISO text, tuples as lists)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def page_filters(prefix: str) -> dict[str, object]:
    """The page's own widget values (keys ``<prefix>_...``), downloads left out."""
    return {
        key: _plain(st.session_state[key])
        for key in sorted(str(k) for k in st.session_state)
        if key.startswith(f"{prefix}_") and not key.endswith(("_csv", "_chart"))
    }


def _record_when_changed(
    state_key: str, event: str, username: str | None, details: dict[str, Any]
) -> None:
    """Record ``event`` unless this session recorded the same details last time (under
    ``state_key``): a rerun that shows the same thing again is not a new event."""
    marker = repr(sorted(details.items()))
    if st.session_state.get(state_key) == marker:
        return
    record(event, username, details)
    st.session_state[state_key] = marker


def record_page_view(viewer: Viewer, page_id: str, prefix: str) -> None:
    """Record a page view when the page or its filters changed since the last one."""
    _record_when_changed(
        LAST_VIEW_KEY,
        audit.PAGE_VIEW,
        viewer.username,
        {
            "page": page_id,
            "filters": page_filters(prefix),
            "session": viewer.session.session_id,
            "client": client_address(),
        },
    )


def refuse(viewer: Viewer, page_id: str) -> None:
    """The whole answer to a page the viewer's role may not open: recorded, then stop."""
    st.session_state.pop(LAST_VIEW_KEY, None)
    _record_quietly(
        audit.ACCESS_DENIED,
        viewer.username,
        {"page": page_id, "role": viewer.access.role, "session": viewer.session.session_id},
    )
    st.error(NOT_FOR_ROLE_TEXT)
    st.stop()


def no_pages(viewer: Viewer) -> None:
    """A signed-in account whose role opens no page (an unknown role): recorded."""
    if st.session_state.get(LAST_VIEW_KEY) != "no pages":
        _record_quietly(
            audit.ACCESS_DENIED,
            viewer.username,
            {"role": viewer.access.role, "reason": "no pages for this role"},
        )
        st.session_state[LAST_VIEW_KEY] = "no pages"
    st.error(
        "Your account has no access to any page of the dashboard. "
        "Ask the partnership's administrator."
    )


def _record_quietly(event: str, username: str | None, details: dict[str, Any]) -> None:
    """Record a refusal; a refusal is shown even if the audit log cannot be written."""
    try:
        record(event, username, details)
    except Exception as exc:
        print(f"smhp dashboard: audit log not written: {type(exc).__name__}", file=sys.stderr)


@dataclass(frozen=True)
class DownloadIdentity:
    """Who is asking for a download, captured on the rerun that draws the button."""

    username: str
    session: Session
    client: str | None


def _sealed_session() -> Session | None:
    """This rerun's session if its seal holds (the app ends a tampered one on this rerun)."""
    session = st.session_state.get(SESSION_KEY)
    seal = st.session_state.get(SEAL_KEY)
    if not isinstance(session, Session) or not isinstance(seal, str):
        return None
    return session if hmac.compare_digest(seal, _seal(session)) else None


def download_identity() -> DownloadIdentity | None:
    """The signed-in viewer a download button is drawn for, or ``None`` (no download)."""
    session = _sealed_session()
    if session is None:
        return None
    return DownloadIdentity(session.access.username, session, client_address())


def client_address() -> str | None:
    """The viewer's network address, or ``None`` where there is none (tests without a
    browser): the peer of this session's connection (``st.context.ip_address``, ``None``
    for loopback), or, when that peer is a trusted proxy (``SMHP_TRUSTED_PROXIES``), the
    address the proxy wrote in ``X-Forwarded-For`` (``throttle.client_address``)."""
    try:
        peer, headers = st.context.ip_address, st.context.headers
        if not isinstance(peer, str | None) or (peer is None and not headers):
            return None  # no network connection behind this run (a test runtime)
        forwarded = [v for v in headers.get_all("X-Forwarded-For") if isinstance(v, str)]
    except Exception:  # no request context: nothing to record
        return None
    return throttle.client_address(peer, forwarded, settings().trusted_proxies)


RECORDS_SHOWN_KEY = "_smhp_records_shown"
"""The record-level table, filters and row count last recorded as shown (changes only)."""


def record_records_shown(page_id: str, prefix: str, table: str, rows: int) -> None:
    """Record that a record-level table (pseudonymous rows) is about to be shown.

    Called before the table is drawn; recorded again whenever the table, its filters or
    its number of rows change, so the audit log says which records each viewer saw."""
    session = _sealed_session()
    _record_when_changed(
        RECORDS_SHOWN_KEY,
        audit.RECORDS_VIEWED,
        session.access.username if session else None,
        {
            "page": page_id,
            "table": table,
            "rows": int(rows),
            "filters": page_filters(prefix),
            "session": session.session_id if session else None,
            "client": client_address(),
        },
    )


def guarded(action: Callable[[], None]) -> bool:
    """Run an audit ``action``; if the log cannot be written, sign out and say so."""
    try:
        action()
    except Exception as exc:
        print(f"smhp dashboard: audit log not written: {type(exc).__name__}", file=sys.stderr)
        st.session_state.pop(SESSION_KEY, None)
        st.error(AUDIT_DOWN_TEXT)
        return False
    return True


def settings_error(exc: SettingsError) -> None:
    """A broken setting: the message names the variable, never a value typed by a viewer."""
    st.error(f"The dashboard is not configured correctly: {exc}")
