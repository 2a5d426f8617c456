"""``python -m dashboard.server run dashboard/app.py [options]``: Streamlit, with its media
route guarded and the snapshots it reads held open, as ``smhp dashboard`` starts it.

Streamlit's ``/media/<id>`` route hands a download button's file to anyone with the URL.
Before the server starts, this wraps that route so that a *downloadable* file is served
only to the browser and live session it was built for (``dashboard.downloads.may_fetch``);
images and other media drawn on a page are served as before. Everything else is
Streamlit's own command line (``streamlit.web.cli``).

The patch is of ``create_media_routes`` in Streamlit's Starlette server (the server of
Streamlit 1.67, pinned in pyproject.toml); if a Streamlit upgrade moves it, the dashboard
refuses to start rather than serve files unguarded.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Callable
from typing import Any


def _guarded(endpoint: Callable[..., Any], storage: Any) -> Callable[..., Any]:
    """``endpoint`` (the media route's) refusing downloadable files to anyone but their
    browser and session."""
    from starlette.exceptions import HTTPException
    from streamlit.runtime.media_file_storage import MediaFileKind, MediaFileStorageError

    from dashboard.downloads import BROWSER_COOKIE, may_fetch

    async def guarded(request: Any) -> Any:
        try:
            media_file = storage.get_file(request.path_params["file_id"])
        except MediaFileStorageError:
            media_file = None
        downloadable = media_file is not None and media_file.kind == MediaFileKind.DOWNLOADABLE
        if downloadable and not may_fetch(media_file.content, request.cookies.get(BROWSER_COOKIE)):
            raise HTTPException(status_code=404, detail="File not found")
        return await endpoint(request)

    return guarded


def guard_media_routes() -> None:
    """Replace Streamlit's media routes by guarded ones, before the server is built."""
    from starlette.routing import Route
    from streamlit.web.server.starlette import starlette_app, starlette_routes

    original = starlette_routes.create_media_routes

    def create_media_routes(media_storage: Any, base_url: str | None) -> list[Any]:
        routes = original(media_storage, base_url)
        return [
            Route(r.path, _guarded(r.endpoint, media_storage), methods=list(r.methods or ()))
            if "GET" in (r.methods or ())
            else r
            for r in routes
        ]

    if getattr(starlette_app, "create_media_routes", None) is not original:
        raise RuntimeError("Streamlit's media routes moved: refusing to serve downloads unguarded")
    starlette_app.create_media_routes = create_media_routes
    starlette_routes.create_media_routes = create_media_routes


def freeze_the_startup_heap() -> None:
    """Import what every page run uses, then move everything alive into the collector's
    permanent generation (``gc.freeze``), where its full collections never look again.

    A page run makes many short-lived objects (figures, frames, Streamlit's elements), so
    Python's cyclic collector runs often, and every few page runs a full collection walks
    every object of the process: the modules of Streamlit, plotly, pandas and pyarrow
    included. That added up to 100 ms to one page view in ten or so (measured with the
    collector off: the slow views went away). Frozen, those objects are never walked
    again; they are never freed either, which a server does not do with its modules
    anyway. Nothing else changes: what a page run makes is collected as before. (The
    modules with Streamlit caches, ``dashboard.cached`` and the audit trail, are left to the
    first page run: imported before the server runs, each cache would log that it found
    no runtime.)
    """
    import plotly.graph_objects as go
    import streamlit  # noqa: F401  (imported for the freeze, as are the next)

    import dashboard.charts  # noqa: F401
    import dashboard.data  # noqa: F401
    import dashboard.queries.board  # noqa: F401
    import dashboard.queries.equity  # noqa: F401
    import dashboard.queries.funder  # noqa: F401
    import dashboard.queries.quality  # noqa: F401
    import dashboard.queries.service  # noqa: F401

    go.Figure(go.Scatter(), layout=go.Layout()).add_trace(go.Bar())  # plotly's lazy classes
    freeze_heap()


def freeze_heap() -> None:
    """Move every object alive now into the collector's permanent generation, until exit
    (also the test processes' after collection: ``tests/conftest.py``). Unfrozen at exit
    after all: else duckdb's bindings report the frozen objects as leaked."""
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)


def main(argv: list[str]) -> None:
    """Guard the media route, keep the snapshots it reads open (the server only reads:
    ``smhp.warehouse.hold_published``), freeze the startup heap, then run Streamlit's
    command line with ``argv``."""
    from smhp.warehouse import hold_published

    guard_media_routes()
    hold_published()
    freeze_the_startup_heap()
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
