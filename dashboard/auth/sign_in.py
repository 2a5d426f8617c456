"""The sign-in page: "Sign in with Microsoft" (when single sign-on is on), the local form
(username, password, verification code), and what became of the last attempt.

One message for every failed sign-in (wrong password or code, unknown user, locked
account, a limit reached), so the form never tells whether a username exists or has a
second factor; the code field is always shown for the same reason. What was typed is
read in the form's callback and wiped from the session state there. A password sign-in
is recorded by ``smhp.access.users.authenticate`` (with the client address); a single
sign-on one here. If the audit log cannot be written, nobody signs in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard.auth import refusals, request, session, sso, trail
from dashboard.navigation import BY_ID
from smhp.access import AccessConfigError, LockoutPolicy, audit
from smhp.access.identity import display_details, sso_username
from smhp.access.users import UserError, authenticate
from smhp.settings import Settings

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


# --- the local form ---------------------------------------------------------------------


def _submitted() -> None:
    """The sign-in form's ``on_click``: check the password before the rerun draws
    anything, and wipe what was typed from the session state (where the value would
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
    config = request.settings()
    try:
        result = authenticate(
            username,
            password,
            request.now(),
            users_file=config.users_file,
            log=trail.audit_log(),
            policy=LockoutPolicy.from_settings(config),
            address=request.client_address(),
            code=code,
            totp_required=config.totp_required_roles,
        )
    except UserError:
        return "no_users"
    except Exception as exc:  # the audit log cannot be written: nobody signs in
        trail.tell_operator(exc, "sign-in refused, audit log")
        return "no_audit"
    if not result.ok or result.user is None:
        return "failed"
    session.start(result.user.access, "password")
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
        st.error(trail.AUDIT_DOWN_TEXT)


# --- single sign-on ---------------------------------------------------------------------


def _sso_sign_in(claims: Mapping[str, Any]) -> bool:
    """Map a signed-in identity to access; ``False`` (after saying so) for no access."""
    try:
        access = sso.access(claims)
    except AccessConfigError as exc:
        refusals.sso_error(exc)
        return False
    if access is None:
        who = sso_username(claims)
        if st.session_state.get(DENIED_KEY) != who:
            details = {"method": "sso", "reason": "no mapping", **display_details(claims)}
            trail.record_quietly(
                audit.ACCESS_DENIED, who, {**details, "client": request.client_address()}
            )
            st.session_state[DENIED_KEY] = who
        st.error(NO_ACCESS_TEXT)
        if st.button("Sign out", key="sso_denied_sign_out"):
            st.logout()
            st.rerun()
        return False
    try:
        details = {"method": "sso", "role": access.role, **display_details(claims)}
        trail.record(
            audit.SIGN_IN, access.username, {**details, "client": request.client_address()}
        )
    except Exception as exc:  # an unrecorded sign-in to health data is not acceptable
        trail.tell_operator(exc, "sign-in refused, audit log")
        st.error(trail.AUDIT_DOWN_TEXT)
        return False
    session.start(access, "sso")
    return True


# --- the page ---------------------------------------------------------------------------


def sign_in_page() -> session.Viewer | None:
    """Draw the sign-in page; the viewer once signed in (then the app carries on)."""
    config = request.settings()
    sso_on = sso.configured()
    claims = sso.claims()
    if claims is not None:
        if _sso_sign_in(claims):
            return session.current_viewer()
        return None
    st.title("SMHP dashboard")
    st.markdown(
        "Student mental health partnership: figures on special-category health data. "
        "Sign in to continue; every sign-in, page view and download is recorded."
    )
    notice = st.session_state.pop(session.NOTICE_KEY, None)
    if notice:
        st.info(notice)
    left, _ = st.columns([2, 3])
    with left:
        if sso_on and st.button("Sign in with Microsoft", type="primary", key="sso"):
            st.login()  # to Microsoft and back; the next run finds st.user signed in
        if not sso_on or config.users_file.exists():
            if sso_on:
                st.caption("Or with a local account:")
            _password_sign_in(config)
    statement = BY_ID["accessibility"].url_path  # readable before sign-in: no data on it
    st.html(f'<p><a href="./{statement}">Accessibility statement</a></p>')
    return None
