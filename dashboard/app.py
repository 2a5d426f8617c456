"""The SMHP dashboard: ``streamlit run dashboard/app.py``.

For now one page, the partnership overview (``dashboard.overview``). The warehouse is the
published DuckDB file named by ``$SMHP_WAREHOUSE`` (default ``var/warehouse.duckdb`` in the
repo); it is resolved to its current snapshot on every rerun, and that snapshot path keys
the query cache, so a new nightly run shows up on the next rerun.

The viewer's scope comes from ``viewer_scope()``: the board's view until sign-in and roles
exist, which will set ``st.session_state["viewer_scope"]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root; without
# an installed package, make `import dashboard...` work all the same.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import duckdb  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard import overview  # noqa: E402
from dashboard.data import BOARD_SCOPE, WAREHOUSE_ENV, Scope, warehouse_path  # noqa: E402
from smhp.warehouse import WarehouseNotFound, resolve_published  # noqa: E402

SCOPE_KEY = "viewer_scope"


def viewer_scope() -> Scope:
    """The signed-in viewer's scope; the board's (all institutions, exact) until roles exist."""
    scope = st.session_state.get(SCOPE_KEY, BOARD_SCOPE)
    if not isinstance(scope, Scope):
        raise TypeError(f"st.session_state[{SCOPE_KEY!r}] must be a Scope, not {scope!r}.")
    return scope


def show_page() -> None:
    """Draw the page, or a clear error when there is no readable warehouse."""
    path = warehouse_path()
    try:
        snapshot = resolve_published(path)
    except WarehouseNotFound:
        st.error(
            f"No published warehouse at `{path}`. Run `smhp nightly` to build and publish "
            f"one, or point the `{WAREHOUSE_ENV}` environment variable at a published "
            "warehouse."
        )
        return
    try:
        overview.render(str(snapshot), viewer_scope())
    except duckdb.Error as exc:
        st.error(
            f"The warehouse at `{path}` could not be read: {type(exc).__name__}: {exc}. "
            "It may be from an older or unfinished build; re-run `smhp nightly`."
        )


st.set_page_config(page_title="Partnership overview · SMHP", layout="wide")
show_page()
