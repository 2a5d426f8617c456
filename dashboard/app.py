"""The SMHP dashboard: ``smhp dashboard`` (``streamlit run dashboard/app.py``).

The entry point of every rerun: it resolves the published warehouse (``$SMHP_WAREHOUSE``,
default ``var/warehouse.duckdb``) to its current snapshot, works out the viewer's scope
and the data's as-of dates, draws the banner, then runs the page chosen in the
navigation (``dashboard.navigation``). The snapshot path keys the query cache, so a new
nightly run shows up on the next rerun. A missing or unreadable warehouse is a clear
message, never a traceback.
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

from dashboard import banner, cached, context, navigation  # noqa: E402
from dashboard.data import WAREHOUSE_ENV, warehouse_path  # noqa: E402
from smhp.warehouse import WarehouseNotFound, resolve_published  # noqa: E402


def _unreadable(path: Path, exc: Exception) -> None:
    st.error(
        f"The warehouse at `{path}` could not be read: {type(exc).__name__}: {exc}. "
        "It may be from an older or unfinished build; re-run `smhp nightly`."
    )


def _load(path: Path) -> context.PageContext | None:
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
    scope = context.viewer_scope()
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
        as_of, banner.published_at(os.path.getmtime(snapshot)), last_run, banner.now(), stale
    )
    (st.warning if shown.warning else st.info)(shown.text)
    return context.PageContext(str(snapshot), scope, as_of, names)


def main() -> None:
    """Resolve the context, draw the banner, run the chosen page."""
    st.set_page_config(page_title="SMHP dashboard", layout="wide")
    path = warehouse_path()
    ctx = _load(path)
    if ctx is None:
        return
    page = st.navigation(navigation.pages_for(ctx.scope), position="top")
    context.publish(ctx)
    try:
        page.run()
    except duckdb.Error as exc:
        _unreadable(path, exc)


main()
