"""The dashboard's pages, from one list.

Each page is a script under ``dashboard/views/`` registered as an ``st.Page`` in
``st.navigation``. Roles (a later issue) will choose which pages a viewer gets by
filtering this list in ``pages_for``; nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.data import Scope

VIEWS = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class PageSpec:
    """One page: its script under ``views/``, navigation title and URL path."""

    script: str
    title: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("board.py", "Board overview", "board"),
    PageSpec("service.py", "Service manager", "service"),
    PageSpec("funder.py", "Funder impact", "funder"),
    PageSpec("equity.py", "Equity of access", "equity"),
    PageSpec("quality.py", "Data quality", "quality"),
)


def specs_for(scope: Scope) -> list[PageSpec]:
    """The pages a viewer with ``scope`` may open: every page until roles exist."""
    del scope  # roles will decide here
    return list(PAGES)


def pages_for(scope: Scope) -> list[st.Page]:
    """The ``st.Page`` objects of ``specs_for(scope)``; the first is the default page."""
    return [
        st.Page(str(VIEWS / spec.script), title=spec.title, url_path=spec.url_path, default=i == 0)
        for i, spec in enumerate(specs_for(scope))
    ]
