"""What every page needs from the entry point: the snapshot, the viewer's scope and the
data's as-of dates, resolved once per rerun by ``dashboard.app``.

The context lives in the session (``st.session_state``), never in a module global: one
Streamlit server serves many viewers at once, each with their own scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from dashboard.data import BOARD_SCOPE, AsOf, Scope

SCOPE_KEY = "viewer_scope"
"""Where sign-in will put the viewer's ``Scope`` (the board's until roles exist)."""
CONTEXT_KEY = "_page_context"


@dataclass(frozen=True)
class PageContext:
    """The resolved snapshot file, the viewer's scope and how current the data is."""

    snapshot: str
    scope: Scope
    as_of: AsOf
    institutions: dict[str, str]  # the scope's institutions, code to name

    @property
    def as_of_date(self) -> date | None:
        """The data's as-of date: the latest extract, else the latest event."""
        return self.as_of.latest_extract or self.as_of.data_through


def viewer_scope() -> Scope:
    """The signed-in viewer's scope; the board's (all institutions, exact) until roles exist."""
    scope = st.session_state.get(SCOPE_KEY, BOARD_SCOPE)
    if not isinstance(scope, Scope):
        raise TypeError(f"st.session_state[{SCOPE_KEY!r}] must be a Scope, not {scope!r}.")
    return scope


def publish(context: PageContext) -> None:
    """Make the context available to the page about to run (called by the entry point)."""
    st.session_state[CONTEXT_KEY] = context


def current() -> PageContext:
    """The context of this rerun, set by ``dashboard.app`` before the page runs."""
    context = st.session_state.get(CONTEXT_KEY)
    if not isinstance(context, PageContext):
        raise RuntimeError("Run the dashboard through dashboard/app.py, not a page on its own.")
    return context
