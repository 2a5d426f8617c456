"""The dashboard's pages, from one list, and the menu of the pages a role may open.

Each page is a script under ``dashboard/views/`` registered as an ``st.Page``. Which
pages a viewer may open is ``smhp.access.pages_for(role)`` (page ids, landing page
first), never a decision made here.

Every page is registered with ``st.navigation``, but only the viewer's pages are
visible in its menu (the others are ``visibility="hidden"``). So a page outside the role
is in no menu, and a URL typed by hand (``/funder`` by a service manager) still reaches
the app, which answers with the refusal alone: ``dashboard.app`` checks the page id
before anything else is drawn, and each page script checks it again. Had only the role's
pages been registered, Streamlit would answer an unknown URL with the landing page and a
"page not found" box instead of a clear refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the page list is read without Streamlit too (alert links: smhp.alerts)
    import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class PageSpec:
    """One page: its id (``smhp.access.PAGES``), script under ``views/``, menu title, URL
    path; ``prefix`` starts the keys of its widgets (its filters, for the audit log)."""

    page_id: str
    script: str
    title: str
    url_path: str
    reads_warehouse: bool = True  # False: no banner, no snapshot (admin, accessibility)

    @property
    def prefix(self) -> str:
        return self.url_path


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "board.py", "Board overview", "board"),
    PageSpec("service", "service.py", "Service manager", "service"),
    PageSpec("funder", "funder.py", "Funder impact", "funder"),
    PageSpec("equity", "equity.py", "Equity of access", "equity"),
    PageSpec("quality", "quality.py", "Data quality", "quality"),
    PageSpec("packs", "packs.py", "PDF packs", "packs"),
    PageSpec("admin", "admin.py", "Administration", "admin", reads_warehouse=False),
    PageSpec(
        "accessibility", "accessibility.py", "Accessibility", "accessibility", reads_warehouse=False
    ),
)
BY_ID = {spec.page_id: spec for spec in PAGES}


def specs_for(page_ids: tuple[str, ...]) -> list[PageSpec]:
    """The pages of ``page_ids`` (``pages_for(role)``), in that order; unknown ids dropped."""
    return [BY_ID[p] for p in page_ids if p in BY_ID]


def register(page_ids: tuple[str, ...]) -> list[st.Page]:
    """Every page as an ``st.Page``: the viewer's pages (``page_ids``) visible in the
    menu, in that order, the landing page (the first) as the default; all others hidden.

    A viewer without pages has none visible; the app refuses every page for them.
    """
    import streamlit as st

    visible = specs_for(page_ids)
    landing = visible[0].page_id if visible else PAGES[0].page_id
    ordered = visible + [spec for spec in PAGES if spec not in visible]
    return [
        st.Page(
            str(VIEWS / spec.script),
            title=spec.title,
            url_path=spec.url_path,
            default=spec.page_id == landing,
            visibility="visible" if spec in visible else "hidden",
        )
        for spec in ordered
    ]


def spec_of(page: st.Page) -> PageSpec:
    """The spec of the page ``st.navigation`` chose to run (titles are unique)."""
    for spec in PAGES:
        if spec.title == page.title:
            return spec
    raise LookupError(f"no such page: {page.title}")
