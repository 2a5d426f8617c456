"""What every page needs from the entry point: the signed-in viewer's scope and pages, the
snapshot and the data's as-of dates, resolved once per rerun by ``dashboard.app``.

The context is rebuilt on every rerun from the authenticated session (``dashboard.auth``)
and put in the session just before the page runs, so anything left in the session state
by an earlier run, or written there by anyone else, is replaced before a page reads it.
It lives in the session (``st.session_state``), never in a module global: one Streamlit
server serves many viewers at once, each with their own scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import streamlit as st

from dashboard.data import AsOf
from smhp.access import Scope

CONTEXT_KEY = "_page_context"
NOT_FOR_ROLE_TEXT = "This page is not available for your role."


@dataclass(frozen=True)
class PageContext:
    """The viewer (their scope and pages), the page being run, the resolved snapshot file
    and how current the data is (``None`` for the admin page, which reads no warehouse)."""

    snapshot: str
    scope: Scope
    as_of: AsOf
    institutions: dict[str, str]  # the scope's institutions, code to name
    page_id: str = ""
    prefix: str = ""
    pages: tuple[str, ...] = ()
    username: str = ""
    per_run: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    """What a page works out once per rerun and uses many times (e.g. the viewer and
    browser every download button of the page is bound to): the context is new each run."""

    @property
    def as_of_date(self) -> date | None:
        """The data's as-of date: the latest extract, else the latest event."""
        return self.as_of.latest_extract or self.as_of.data_through


def publish(context: PageContext) -> None:
    """Make the context available to the page about to run (called by the entry point)."""
    st.session_state[CONTEXT_KEY] = context


def peek() -> PageContext | None:
    """The context of this rerun if there is one (download callbacks read it)."""
    context = st.session_state.get(CONTEXT_KEY)
    return context if isinstance(context, PageContext) else None


def current(page_id: str) -> PageContext:
    """The context of this rerun for page ``page_id``, set by ``dashboard.app``.

    Every page script calls this first. A page the viewer's role may not open shows
    only the refusal: the app refuses before running the page, and this repeats the
    check so that a page can never run for a viewer outside its role.
    """
    context = peek()
    if context is None:
        st.error("Run the dashboard through dashboard/app.py, not a page on its own.")
        st.stop()
    if page_id not in context.pages or context.page_id != page_id:
        st.error(NOT_FOR_ROLE_TEXT)
        st.stop()
    return context
