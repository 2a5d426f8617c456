"""CSV downloads that are audited before they exist and served to the session that asked.

Streamlit serves a download button's data from ``/media/<id>`` to anyone who has the URL,
without a session, and keeps it there after sign-out (issue 8). So every download here:

- is **built only on the click**: ``st.download_button`` gets a callable (Streamlit's
  deferred download), not the bytes; nothing is prepared while the page draws;
- is **audited first**: the callable records the download in the audit log (who, page,
  table, rows, filters, client address) and only then builds the CSV. If the audit log
  cannot be written, or the session that drew the button has ended (signed out, expired),
  the callable refuses and no file is made;
- is **granted to one browser and one session**: the callable grants the file to the
  browser that drew the button (its ``_streamlit_xsrf`` cookie, which Streamlit sets per
  browser and the browser sends with every request) for ``GRANT_SECONDS``, and the media
  route (guarded by ``dashboard.server``) serves a downloadable file only to a request
  carrying that browser's cookie while its session is live. Anyone else with the URL —
  another browser, a script without the cookie, the same browser after sign-out — gets 404.

The table toolbar's own CSV export is switched off for the whole server
(``client.disableDataExport``, ``smhp.cli.dashboard_server_options``): this module is the
only way a table leaves the dashboard.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import context
from dashboard.auth import request, seal, trail
from smhp.access import Session, audit

BROWSER_COOKIE = "_streamlit_xsrf"
"""Streamlit's per-browser cookie (XSRF protection, on by default): names the browser."""
GRANT_SECONDS = 60.0
"""How long a built download stays fetchable by the browser that asked for it."""


class DownloadRefused(RuntimeError):
    """The session that drew the button has ended, or its browser is unknown: no file."""


@dataclass(frozen=True)
class _Grant:
    session: Session
    browser: bytes
    until: float


_GRANTS: dict[str, _Grant] = {}  # sha256 of a built file -> who may fetch it
_GRANTS_LOCK = threading.Lock()


def _browser_token(cookie: str | None) -> bytes | None:
    """The token of a browser's ``_streamlit_xsrf`` cookie (the cookie's value is masked
    differently each time it is issued; the token inside is the browser's)."""
    if not cookie:
        return None
    from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string

    token, _ = decode_xsrf_token_string(cookie)
    return token or None


def _grant(content: bytes, session: Session, browser: bytes) -> None:
    now = time.monotonic()
    with _GRANTS_LOCK:
        for digest in [d for d, g in _GRANTS.items() if g.until < now]:
            del _GRANTS[digest]
        _GRANTS[hashlib.sha256(content).hexdigest()] = _Grant(session, browser, now + GRANT_SECONDS)


def may_fetch(content: bytes, cookie: str | None) -> bool:
    """Whether a request carrying ``cookie`` may fetch the downloadable file ``content``:
    granted to that browser, not expired, and its session still signed in."""
    browser = _browser_token(cookie)
    with _GRANTS_LOCK:
        grant = _GRANTS.get(hashlib.sha256(content).hexdigest())
    return (
        grant is not None
        and browser is not None
        and grant.until >= time.monotonic()
        and grant.browser == browser
        and seal.session_is_live(grant.session)
    )


def csv_bytes(shown: pd.DataFrame, not_in_csv: Sequence[str] = ()) -> bytes:
    """The CSV download of a shown table: every row and column as shown (icons aside)."""
    return shown.drop(columns=list(not_in_csv)).to_csv(index=False).encode("utf-8")


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(BROWSER_COOKIE)
    except Exception:  # no request context (AppTest): no browser to grant to
        return None


def _viewer_and_browser(
    ctx: context.PageContext | None,
) -> tuple[trail.DownloadIdentity | None, bytes | None]:
    """Who this rerun's download buttons are for and their browser: the same for every
    button of the run, so worked out once per run (a page draws up to a dozen)."""
    if ctx is not None and "download_viewer" in ctx.per_run:
        return ctx.per_run["download_viewer"]  # type: ignore[return-value]
    found = (trail.download_identity(), _browser_token(_cookie()))
    if ctx is not None:
        ctx.per_run["download_viewer"] = found
    return found


def prepare(shown: pd.DataFrame, table: str, not_in_csv: Sequence[str] = ()) -> Callable[[], bytes]:
    """The deferred data of one CSV download button, bound to this rerun's viewer and page
    (``deferred``), with a copy of the shown table."""
    frame = shown.copy()
    return deferred(f"{table}.csv", lambda: csv_bytes(frame, not_in_csv), rows=len(frame))


def deferred(file_name: str, make: Callable[[], bytes], **details: Any) -> Callable[[], bytes]:
    """The deferred data of one download button (a CSV, a PDF pack): audited, then ``make``
    builds the file, granted to this browser.

    Everything the callable needs is captured now, in the script thread (it later runs on
    a worker thread with no Streamlit context): the session (to check it is still live),
    the browser, the audit log, the page and filters. ``details`` go to the audit record.
    """
    ctx = context.peek()
    viewer, browser = _viewer_and_browser(ctx)
    page_id = ctx.page_id if ctx else ""
    filters = trail.page_filters(ctx.prefix) if ctx else {}
    log = trail.audit_log()

    def build() -> bytes:
        if viewer is None or not seal.session_is_live(viewer.session):
            raise DownloadRefused("the session that asked for this download has ended")
        record: dict[str, Any] = {
            "page": page_id,
            "file": file_name,
            **details,
            "filters": filters,
            "session": viewer.session.session_id,
            "client": viewer.client,
        }
        log.record(audit.DOWNLOAD, viewer.username, record, at=request.now())  # raises: no file
        content = make()
        if browser is not None:
            _grant(content, viewer.session, browser)
        return content

    return build


def button(shown: pd.DataFrame, table: str, not_in_csv: Sequence[str] = ()) -> None:
    """The "Download CSV" button of a shown table (key ``<table>_csv``)."""
    st.download_button(
        "Download CSV",
        prepare(shown, table, not_in_csv),
        file_name=f"{table}.csv",
        mime="text/csv",
        key=f"{table}_csv",
        on_click="ignore",  # the audit is in the callable, which runs only on a click
    )
