"""The packs' charts: the dashboard's plotly figures as SVG, each with its text alternative.

Every figure is exported by kaleido through ONE headless browser for the whole run
(``Kaleido`` as an async context, its tabs shared by all figures): starting Debian's
chromium costs seconds, a figure a fraction of one. kaleido finds ``/usr/bin/chromium`` by
itself; the ``BROWSER_PATH`` environment variable (choreographer's) points it elsewhere.
MathJax is off: nothing is fetched from outside.

The SVG carries the chart's text alternative inside it (``<title>`` and ``<desc>``), from
``dashboard.charts.alt_text`` and ``describe``, the same words the dashboard gives the chart;
the page embeds it as an image whose ``alt`` is that text (``html.chart_html``), which
WeasyPrint makes the tagged PDF figure's ``/Alt``.
"""

from __future__ import annotations

import asyncio
import queue
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from html import escape

import plotly.graph_objects as go

from dashboard.charts import alt_text, describe

WIDTH = 1000
"""Pixels: the width of landscape A4 between the margins at 96 px to the inch."""
HEIGHT = 460
TABS = 2
"""Browser tabs rendering at once (the machine has 2 cores)."""
TIMEOUT_SECONDS = 60


class ChartExportError(RuntimeError):
    """The charts could not be exported (no browser, a browser that died, a timeout)."""


def text_alternative(fig: go.Figure) -> tuple[str, str]:
    """The chart's short accessible name and its full description."""
    return alt_text(fig), describe(fig)


def _with_alternative(svg: str, fig: go.Figure) -> str:
    """The SVG with ``role="img"``, ``<title>`` (the full text alternative: the PDF's
    ``/Alt``) and ``<desc>`` as its first children."""
    name, description = text_alternative(fig)
    head = f"<title>{escape(name)}. {escape(description)}</title><desc>{escape(description)}</desc>"
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    match = re.search(r"<svg\b[^>]*>", svg)
    if match is None:
        raise ChartExportError("the exported chart is not an SVG")
    opening = match.group(0)
    tagged = opening[:-1] + f' role="img" aria-label="{escape(name, quote=True)}">'
    return svg[: match.start()] + tagged + head + svg[match.end() :]


def _options(fig: go.Figure) -> dict[str, object]:
    return {"format": "svg", "width": WIDTH, "height": int(fig.layout.height or HEIGHT)}


class Exporter:
    """One headless browser for a whole run, started on entry in a thread of its own so that
    it starts while the packs' content is built; ``submit`` hands it figures and returns at
    once, so that the next pack's content is built (and earlier packs' PDFs are written)
    while the browser draws: chromium works on one core while Python works on the other.

    ``with Exporter() as export: wait = export.submit(figures); ... svgs = wait()``. A
    browser that cannot start (none installed, ``BROWSER_PATH`` pointing at nothing) makes
    the wait raise ``ChartExportError`` with the cause; leaving the block always closes the
    browser.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[list[go.Figure], Future[list[bytes]]] | None] = queue.Queue()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="packs-kaleido", daemon=True)

    def __enter__(self) -> Exporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=TIMEOUT_SECONDS)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # every waiting job gets it (ChartExportError)
            self._failed = exc
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    return
                if job is not None:
                    job[1].set_exception(exc)

    async def _serve(self) -> None:
        import kaleido  # imported here: a dashboard page never needs it

        loop = asyncio.get_running_loop()
        async with kaleido.Kaleido(n=TABS, timeout=TIMEOUT_SECONDS, mathjax=False) as browser:
            while (job := await loop.run_in_executor(None, self._jobs.get)) is not None:
                figures, future = job
                try:
                    images = await asyncio.gather(
                        *(browser.calc_fig(fig, opts=_options(fig)) for fig in figures)
                    )
                    future.set_result(list(images))
                except Exception as exc:
                    future.set_exception(exc)

    def submit(self, figures: Sequence[go.Figure]) -> Callable[[], list[str]]:
        """Hand ``figures`` to the browser; the returned call waits for them and gives every
        figure as an SVG string with its text alternative, in order."""
        figures = list(figures)
        future: Future[list[bytes]] = Future()
        if not figures:
            future.set_result([])
        elif self._failed is not None or not self._thread.is_alive():
            future.set_exception(self._failed or RuntimeError("the browser is not running"))
        else:
            self._jobs.put((figures, future))

        def wait() -> list[str]:
            try:
                images = future.result(timeout=TIMEOUT_SECONDS * max(1, len(figures)))
            except BaseException as exc:
                raise ChartExportError(f"chart export failed: {type(exc).__name__}: {exc}") from exc
            return [
                _with_alternative(svg.decode("utf-8"), fig)
                for svg, fig in zip(images, figures, strict=True)
            ]

        return wait

    def to_svg(self, figures: Sequence[go.Figure]) -> list[str]:
        """Every figure as an SVG string with its text alternative, in order (waits)."""
        return self.submit(figures)()
