"""Accessibility statement: "How accessible is this dashboard, and whom do I tell?"

The statement (the GOV.UK model of the Public Sector Bodies Accessibility Regulations
2018) is ``docs/accessibility.md``: one text for the repository and this page, which
renders it with ``{contact}`` replaced by ``SMHP_ACCESSIBILITY_CONTACT`` (an email
address becomes a ``mailto:`` link). It holds no data and reads no warehouse, so anyone
can read it: every role has it in the menu, and before sign-in the URL ``/accessibility``
shows it instead of the form (``dashboard.app``; the sign-in page links to it).

Run as a page (``st.navigation`` executes this file as ``__main__``), it checks the page
is the viewer's like every page; imported (``dashboard.app``), it only defines ``show``.
"""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from dashboard.navigation import BY_ID
from smhp.settings import REPO_ROOT, Settings

PAGE_ID = "accessibility"
STATEMENT = REPO_ROOT / "docs" / "accessibility.md"
CONTACT = "{contact}"


def contact_markdown(contact: str) -> str:
    """How the statement names the contact: a link for an email or web address."""
    if contact.startswith(("https://", "http://")):
        return f"[{contact}]({contact})"
    if "@" in contact and " " not in contact:
        return f"[{contact}](mailto:{contact})"
    return contact


def statement(contact: str) -> tuple[str, str]:
    """The statement's title and its body (Markdown), the contact put in."""
    text = STATEMENT.read_text(encoding="utf-8").replace(CONTACT, contact_markdown(contact))
    first, _, body = text.partition("\n")
    return first.removeprefix("# ").strip(), body.strip()


def asked_before_sign_in(url: str | None) -> bool:
    """Whether the browser's address (``st.context.url``) is the statement's page."""
    return urlparse(url or "").path.rstrip("/").endswith(f"/{BY_ID[PAGE_ID].url_path}")


def show(*, before_sign_in: bool = False) -> None:
    """Draw the statement; before sign-in, with a link back to the sign-in page."""
    title, body = statement(Settings.from_env().accessibility_contact)
    st.title(title)
    st.markdown(body)
    if before_sign_in:
        st.html('<p><a href="./">Back to the sign-in page</a></p>')


if __name__ == "__main__":
    from dashboard.context import current

    current(PAGE_ID)  # the refusal alone for a viewer without the page
    show()
