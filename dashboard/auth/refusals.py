"""What a viewer is shown instead of a page: a page outside the role, a role with no
pages, a setting or the single sign-on mapping set up wrong.

A refusal is recorded (``access_denied``) and shown even if the audit log cannot be
written: it shows no data. Its message never repeats a value a viewer typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.auth import trail
from dashboard.context import NOT_FOR_ROLE_TEXT
from smhp.access import AccessConfigError, audit
from smhp.settings import SettingsError

if TYPE_CHECKING:
    from dashboard.auth.session import Viewer

NO_PAGES_MARKER = "no pages"
"""Stored under ``trail.LAST_VIEW_KEY`` once a viewer's "no pages" has been recorded."""


def refuse(viewer: Viewer, page_id: str) -> None:
    """The whole answer to a page the viewer's role may not open: recorded, then stop."""
    st.session_state.pop(trail.LAST_VIEW_KEY, None)
    trail.record_quietly(
        audit.ACCESS_DENIED,
        viewer.username,
        {"page": page_id, "role": viewer.access.role, "session": viewer.session.session_id},
    )
    st.error(NOT_FOR_ROLE_TEXT)
    st.stop()


def no_pages(viewer: Viewer) -> None:
    """A signed-in account whose role opens no page (an unknown role): recorded once."""
    if st.session_state.get(trail.LAST_VIEW_KEY) != NO_PAGES_MARKER:
        trail.record_quietly(
            audit.ACCESS_DENIED,
            viewer.username,
            {"role": viewer.access.role, "reason": "no pages for this role"},
        )
        st.session_state[trail.LAST_VIEW_KEY] = NO_PAGES_MARKER
    st.error(
        "Your account has no access to any page of the dashboard. "
        "Ask the partnership's administrator."
    )


def settings_error(exc: SettingsError) -> None:
    """A broken setting: the message names the variable, never a value typed by a viewer."""
    st.error(f"The dashboard is not configured correctly: {exc}")


def sso_error(exc: AccessConfigError) -> None:
    """The single sign-on mapping file (``SMHP_ACCESS_CONFIG``) is missing or wrong."""
    st.error(f"Single sign-on is not set up correctly: {exc}")
