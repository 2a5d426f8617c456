"""The SMHP dashboard: ``smhp dashboard`` (``streamlit run dashboard/app.py``).

The entry point of every rerun, in this order:

1. **Who is this?** ``dashboard.auth.session``: the signed-in session, touched and checked
   (expired, or its access changed: signed out), or the sign-in page and nothing else
   (but the accessibility statement, which holds no data, at its URL ``/accessibility``).
2. **Which page?** Every page is registered, only the viewer's (``pages_for(role)``)
   visible in the menu; a page outside the role (a URL typed by hand) gets the refusal
   alone, recorded in the audit log, before anything else is drawn.
3. **The data.** The published warehouse (``$SMHP_WAREHOUSE``, default
   ``var/warehouse.duckdb``) resolved to its current snapshot, the data's as-of dates for
   the viewer's scope, the banner; then the page runs with a ``PageContext`` holding the
   scope derived from the session on this rerun. The snapshot path and the scope key the
   query cache, so a new nightly run shows up on the next rerun and viewers with
   different scopes never share a result.
4. **The audit log.** A page view is recorded when the page or its filters change.

A missing or unreadable warehouse is a clear message, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root; without
# an installed package, make `import dashboard...` work all the same.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import duckdb  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import banner, cached, context, navigation, profiling, theme  # noqa: E402
from dashboard.auth import refusals, request, session, sign_in, trail  # noqa: E402
from dashboard.data import WAREHOUSE_ENV, AsOf, warehouse_path  # noqa: E402
from dashboard.views import accessibility  # noqa: E402
from smhp.access import AccessConfigError, grant_text  # noqa: E402
from smhp.settings import SettingsError  # noqa: E402
from smhp.warehouse import WarehouseNotFound, resolve_published  # noqa: E402


def _unreadable(path: Path, exc: Exception) -> None:
    st.error(
        f"The warehouse at `{path}` could not be read: {type(exc).__name__}: {exc}. "
        "It may be from an older or unfinished build; re-run `smhp nightly`."
    )


def _load(
    path: Path, viewer: session.Viewer, spec: navigation.PageSpec
) -> context.PageContext | None:
    """The page context, or ``None`` after showing why there is none."""
    try:
        snapshot = resolve_published(path)
    except WarehouseNotFound:
        st.error(
            f"No published warehouse at `{path}`. Run `smhp nightly` to build and publish "
            f"one, or point the `{WAREHOUSE_ENV}` environment variable at a published "
            "warehouse."
        )
        return None
    scope = viewer.scope
    try:
        as_of = cached.as_of(str(snapshot), scope)
        joins = cached.institution_joins(str(snapshot), scope)
        last_run = cached.last_run(str(snapshot))
        stale = cached.stale_sources(str(snapshot))
    except duckdb.Error as exc:
        _unreadable(path, exc)
        return None
    names = dict(zip(joins["institution_code"], joins["institution_name"], strict=True))
    shown = banner.build(
        as_of, banner.published_at(os.path.getmtime(snapshot)), last_run, request.now(), stale
    )
    (st.warning if shown.warning else st.info)(shown.text)
    return _context(viewer, spec, str(snapshot), as_of, names)


def _account(viewer: session.Viewer) -> None:
    """Who is signed in, with which role and institutions, and the sign-out button."""
    grant = grant_text(viewer.role_label, viewer.access.institutions)
    with st.container(horizontal=True, horizontal_alignment="right", key="account"):
        st.caption(f"Signed in as **{viewer.display_name}** ({grant})")
        st.button("Sign out", key="sign_out", on_click=session.sign_out, type="tertiary")


def _context(
    viewer: session.Viewer,
    spec: navigation.PageSpec,
    snapshot: str = "",
    as_of: AsOf | None = None,
    institutions: dict[str, str] | None = None,
) -> context.PageContext:
    """The context ``spec``'s page runs with for ``viewer``. The admin page reads the audit
    log and the users file, the accessibility statement a text file: no snapshot, no as-of
    dates, no institutions (and no banner)."""
    return context.PageContext(
        snapshot,
        viewer.scope,
        as_of or AsOf(None, None, None, None),
        institutions or {},
        spec.page_id,
        spec.prefix,
        viewer.pages,
        viewer.username,
    )


def main() -> None:
    """Sign in, choose the page, check it is the viewer's, draw the banner, run it."""
    st.set_page_config(page_title="SMHP dashboard", layout="wide")
    theme.apply_page_style()  # WCAG 2.2 AA fixes of Streamlit's widgets, every page
    try:
        request.settings()
    except SettingsError as exc:
        refusals.settings_error(exc)
        return
    try:
        viewer = session.current_viewer()
        if viewer is None and accessibility.asked_before_sign_in(st.context.url):
            accessibility.show(before_sign_in=True)  # readable by anyone: no data on it
            return
        viewer = viewer or sign_in.sign_in_page()
    except AccessConfigError as exc:
        refusals.sso_error(exc)
        return
    if viewer is None:
        return
    page = st.navigation(navigation.register(viewer.pages), position="top")
    spec = navigation.spec_of(page)
    profiling.note(spec.page_id, viewer.access.role)
    _account(viewer)
    if not viewer.pages:
        refusals.no_pages(viewer)
        return
    if spec.page_id not in viewer.pages:
        refusals.refuse(viewer, spec.page_id)  # the refusal alone, recorded; stops here
    if not spec.reads_warehouse:
        ctx = _context(viewer, spec)
    else:
        path = warehouse_path()
        ctx = _load(path, viewer, spec)
        if ctx is None:
            return
    context.publish(ctx)
    try:
        page.run()
    except duckdb.Error as exc:
        _unreadable(warehouse_path(), exc)
    trail.guarded(lambda: trail.record_page_view(viewer, spec.page_id, spec.prefix))


with profiling.timed():  # off unless SMHP_PROFILE_LOG is set (bench/serving.py)
    main()
