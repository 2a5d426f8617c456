"""Administration: "Who can sign in, and who did what?"

The local users (role, institutions, lock state; never a password hash), how single
sign-on is set up, the audit log (the latest events and whether its hash chain is
intact) and the alerts (the outbox's newest messages, the latest sends and failures).
Only the admin role opens this page (``smhp.access.pages_for``); it reads the users file,
the audit store and the alerts' outbox, never the warehouse, and shows no health data (an
alert names metrics and institutions, never a student).
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import definitions, ui
from dashboard.auth import request, sso, trail
from dashboard.context import PageContext, current
from smhp.access import LockoutPolicy, audit, role_label
from smhp.access.audit_seal import chain_start
from smhp.access.users import UserError, list_users, lock_state
from smhp.alerts.delivery import outbox_messages

EVENTS = (
    audit.SIGN_IN,
    audit.SIGN_IN_FAILED,
    audit.SIGN_IN_LOCKED,
    audit.SIGN_OUT,
    audit.SESSION_EXPIRED,
    audit.ACCESS_DENIED,
    audit.PAGE_VIEW,
    audit.DOWNLOAD,
    audit.RECORDS_VIEWED,
    audit.SIGN_IN_ATTEMPT,
    audit.SIGN_IN_THROTTLED,
    audit.TOTP_ENABLED,
    audit.TOTP_DISABLED,
    audit.AUDIT_PRUNED,
    audit.USER_ADDED,
    audit.USER_REMOVED,
    audit.PASSWORD_SET,
    audit.USER_UNLOCKED,
    audit.ALERT_SENT,
    audit.ALERT_FAILED,
)
ALL_EVENTS = "__all__"
LIMITS = (100, 200, 500, 1000)
# How many of the newest alert messages, and of the latest sends and failures, are shown
# (a comment: a bare string in a page script is drawn by Streamlit's magic).
ALERTS_SHOWN = 20
ALERTS_DEFINITION = (
    "**Alerts** (docs/operations.md) are evaluated after every nightly run from "
    "`SMHP_ALERTS_CONFIG`: a special-cause concern on a key metric, a standard missed in the "
    "latest complete month, a stale source, a run blocked or failed. Each signal is sent once "
    "to each of its recipients, by role and institution; `smhp alerts --dry-run` shows what "
    "would be sent now. Messages name metrics, institutions, months and values, never a "
    "student."
)


def _institutions(role: str, codes: tuple[str, ...] | None) -> str:
    if codes:
        return ", ".join(codes)
    return "all" if role in ("board", "funder") else "—"


def _users(log: audit.AuditLog) -> None:
    settings = request.settings()
    try:
        users = list_users(settings.users_file)
    except UserError as exc:
        st.error(f"The users file cannot be read: {exc}")
        return
    if not users:
        st.info(
            f"No local users in `{settings.users_file}`. Add them with `smhp users add` "
            "(docs/access.md)."
        )
        return
    policy = LockoutPolicy.from_settings(settings)
    now = request.now()
    rows = []
    for user in users:
        until = lock_state(user.username, now, log, policy)
        rows.append(
            {
                "Username": user.username,
                "Name": user.display_name or "",
                "Role": role_label(user.role),
                "Institutions": _institutions(user.role, user.institutions),
                "Email": user.email or "",
                "Failed sign-ins since the last success": len(log.failure_times(user.username)),
                "Locked until (UTC)": until.strftime("%Y-%m-%d %H:%M") if until else "not locked",
            }
        )
    ui.table(
        pd.DataFrame(rows),
        key="admin_users",
        title="Local users",
        definitions=[definitions.ADMIN_USERS],
        notes=[
            f"An account is locked for {settings.lockout_minutes} minutes after "
            f"{settings.lockout_failures} failed sign-ins in a row; `smhp users unlock "
            "USER` ends a lock now. Users are managed with `smhp users` only."
        ],
    )


def _single_sign_on() -> None:
    settings = request.settings()
    if sso.configured():
        st.markdown(
            "**Single sign-on is on** (Microsoft Entra ID, `.streamlit/secrets.toml`). "
            f"Who gets which role: `{settings.access_config}`."
        )
    else:
        st.markdown(
            "**Single sign-on is off**: `.streamlit/secrets.toml` has no `[auth]` section, "
            "so only the local users above can sign in (docs/access.md)."
        )


def _chain(log: audit.AuditLog) -> None:
    broken = log.find_break(chain_start(log))  # from the first row kept by retention
    rows, last = log.head()
    if broken is None:
        st.success(
            f"The audit log's hash chain is intact: {rows:,} events, the last with hash "
            f"`{last[:16]}…`. This page cannot check the keyed seals and their anchors "
            "outside the database: `smhp audit verify` does (docs/audit.md)."
        )
    else:
        st.error(
            f"The audit log's hash chain is broken at event {broken}: a row was changed or "
            "removed there. Keep the file as it is and tell the data protection officer."
        )


def _events(log: audit.AuditLog) -> None:
    cols = st.columns([2, 1, 3])
    with cols[0]:
        event = st.selectbox(
            "Event",
            [ALL_EVENTS, *EVENTS],
            format_func=lambda e: "All events" if e == ALL_EVENTS else e,
            key="admin_event",
        )
    with cols[1]:
        limit = st.selectbox("Latest", LIMITS, index=1, key="admin_limit")
    events = log.recent(limit, event=None if event == ALL_EVENTS else event)
    if not events:
        ui.no_data("no such events in the audit log yet.")
        return
    shown = pd.DataFrame(
        [
            {
                "Event id": e["id"],
                "At (UTC)": e["at"].strftime("%Y-%m-%d %H:%M:%S"),
                "Event": e["event"],
                "User": e["username"] or "",
                "Details": json.dumps(e["details"], sort_keys=True, ensure_ascii=False),
            }
            for e in events
        ]
    )
    ui.table(
        shown,
        key="admin_audit",
        title="Audit log: the latest events",
        definitions=[definitions.ADMIN_AUDIT],
    )


def _alerts(log: audit.AuditLog) -> None:
    """The alert messages of the outbox (newest first) and the latest sends and failures."""
    settings = request.settings()
    if settings.alerts_delivery == "outbox":
        _outbox(settings.alerts_outbox)
    else:
        st.markdown(
            f"Alerts are sent through the mail server `{settings.smtp_host}:"
            f"{settings.smtp_port}`; the audit log below lists each send and failure."
        )
    events = log.recent(ALERTS_SHOWN, event=audit.ALERT_SENT)
    events += log.recent(ALERTS_SHOWN, event=audit.ALERT_FAILED)
    events = sorted(events, key=lambda e: e["id"], reverse=True)[:ALERTS_SHOWN]
    if not events:
        ui.no_data("no alert has been sent or has failed yet.")
        return
    shown = pd.DataFrame(
        [
            {
                "At (UTC)": e["at"].strftime("%Y-%m-%d %H:%M:%S"),
                "Outcome": "sent" if e["event"] == audit.ALERT_SENT else "FAILED",
                "Recipient": e["details"].get("recipient", ""),
                "Signal": e["details"].get("signal", ""),
                "Delivery": e["details"].get("delivery", ""),
                "Error": e["details"].get("error", ""),
            }
            for e in events
        ]
    )
    ui.table(
        shown,
        key="admin_alert_sends",
        title="Alerts: the latest sends and failures",
        definitions=[ALERTS_DEFINITION],
        notes=["A failed message is tried again after the next nightly run."],
    )


def _outbox(folder: Path) -> None:
    messages = outbox_messages(folder, ALERTS_SHOWN)
    if not messages:
        ui.no_data(f"no alert message in the outbox `{folder}` yet.")
        return
    shown = pd.DataFrame(
        [
            {
                "Date (UTC)": m.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if m.date else "",
                "To": m.to,
                "Subject": m.subject,
            }
            for m in messages
        ]
    )
    ui.table(
        shown,
        key="admin_alert_outbox",
        title=f"Alerts: the newest messages in the outbox `{folder}`",
        definitions=[ALERTS_DEFINITION],
    )
    for m in messages:
        with st.expander(f"{m.subject} (to {m.to})"):
            st.text(m.body)


def render(ctx: PageContext) -> None:
    """Draw the administration page."""
    del ctx  # nothing from the warehouse: the users file and the audit store
    ui.header("Administration", "Who can sign in, and who did what?")
    log = trail.audit_log()
    st.header("Users")
    _users(log)
    _single_sign_on()
    st.header("Audit log")
    _chain(log)
    _events(log)
    st.header("Alerts")
    _alerts(log)


render(current("admin"))
