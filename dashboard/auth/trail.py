"""The dashboard's audit trail: what each viewer saw and asked for, in ``SMHP_AUDIT_DB``.

Sign-ins are recorded where they happen (``smhp.access.users.authenticate``,
``dashboard.auth.sign_in``); this module holds the log itself and what the pages record:
page views and record-level tables (each only when it changed since the last time it was
recorded in this session), and who asks for a download (``dashboard.downloads`` records
the download itself, on the click).

Health data is not shown unrecorded: ``guarded`` signs the viewer out when a record that
must precede a view cannot be written. A refusal, by contrast, is shown even then
(``record_quietly``). The operator learns of a failure on the server's stderr, by the
exception's type only (its message could hold what a viewer typed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard.auth import request, seal
from smhp.access import Session, audit

if TYPE_CHECKING:
    from dashboard.auth.session import Viewer

AUDIT_DOWN_TEXT = (
    "The audit log cannot be written, so the dashboard cannot show data now: every view "
    "of health data must be recorded. Ask the administrator to check the audit store."
)
LAST_VIEW_KEY = "_smhp_last_view"
"""The page and filters of the last recorded page view (to record changes only)."""
RECORDS_SHOWN_KEY = "_smhp_records_shown"
"""The record-level table, filters and row count last recorded as shown (changes only)."""


@st.cache_resource(show_spinner=False)
def _audit_log(path: str) -> audit.AuditLog:
    return audit.AuditLog(Path(path))


def audit_log() -> audit.AuditLog:
    """The audit log of ``SMHP_AUDIT_DB`` (one object per file, shared by sessions)."""
    return _audit_log(str(request.settings().audit_db))


def record(event: str, username: str | None, details: dict[str, Any] | None = None) -> None:
    """Append one event to the audit log at ``now()``; raises if it cannot be written."""
    audit_log().record(event, username, details, at=request.now())


def tell_operator(exc: Exception, what: str = "audit log not written") -> None:
    """Say on the server's stderr that the audit log failed: the exception's type only."""
    print(f"smhp dashboard: {what}: {type(exc).__name__}", file=sys.stderr)


def record_quietly(event: str, username: str | None, details: dict[str, Any]) -> None:
    """Record an event that happens whatever the log says (a refusal, a session ended):
    if the audit log cannot be written, the operator is told and the viewer is not."""
    try:
        record(event, username, details)
    except Exception as exc:
        tell_operator(exc)


def guarded(action: Callable[[], None]) -> bool:
    """Run an audit ``action``; if the log cannot be written, sign out and say so.

    Signing out here is complete (``seal.forget``): the session stops counting as signed
    in, so a file it was granted a moment before is no longer served either
    (``dashboard.downloads``)."""
    try:
        action()
    except Exception as exc:
        tell_operator(exc)
        stored = st.session_state.get(seal.SESSION_KEY)
        if isinstance(stored, Session):
            seal.forget(stored)
        else:
            seal.drop()
        st.error(AUDIT_DOWN_TEXT)
        return False
    return True


def _plain(value: object) -> object:
    """A filter value as the audit log stores it (dates as ISO text, tuples as lists)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def page_filters(prefix: str) -> dict[str, object]:
    """The page's own widget values (keys ``<prefix>_...``): the filters. Downloads,
    charts and whether the section under a chart or table is open (``dashboard.ui``) are
    left out: they change what is drawn, not what is shown."""
    return {
        key: _plain(st.session_state[key])
        for key in sorted(str(k) for k in st.session_state)
        if key.startswith(f"{prefix}_") and not key.endswith(("_csv", "_chart", "_details"))
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
            "client": request.client_address(),
        },
    )


def record_records_shown(page_id: str, prefix: str, table: str, rows: int) -> None:
    """Record that a record-level table (pseudonymous rows) is about to be shown.

    Called before the table is drawn; recorded again whenever the table, its filters or
    its number of rows change, so the audit log says which records each viewer saw."""
    session = seal.sealed_session()
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
            "client": request.client_address(),
        },
    )


@dataclass(frozen=True)
class DownloadIdentity:
    """Who is asking for a download, captured on the rerun that draws the button."""

    username: str
    session: Session
    client: str | None


def download_identity() -> DownloadIdentity | None:
    """The signed-in viewer a download button is drawn for, or ``None`` (no download)."""
    session = seal.sealed_session()
    if session is None:
        return None
    return DownloadIdentity(session.access.username, session, request.client_address())
