"""Rendering a snapshot's packs to tagged PDF, and their manifest.

``render_packs`` builds every pack's content (``content``), exports all their charts through
one browser (``charts.Exporter``, drawing while the next pack is built), writes each pack as
PDF/UA-1 with WeasyPrint (tagged, ``/Lang`` en-GB, the title in the metadata, landscape A4)
and records the result in
``manifest.json`` (``store``). A failure of any step is recorded in the manifest (status
``failed`` and the reason) and raised: the caller (the nightly add-on, ``smhp pack``) decides
what it means; the published data is never touched. Each PDF is written beside its final
name and renamed into place, so a reader never gets half a file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import charts, content, html
from .store import FAILED, KINDS, RENDERED, Manifest, PackFile, packs_dir, write_manifest

PDF_VARIANT = "pdf/ua-1"
"""PDF/UA-1: a tagged PDF (structure tree, language, title shown in the viewer)."""


class PackRenderError(RuntimeError):
    """The packs could not be rendered; the manifest says why."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_pdf(document: str, target: Path) -> None:
    """Write an HTML document as PDF/UA-1 to ``target`` (atomically)."""
    import weasyprint  # imported here: only the renderer needs it

    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)  # not a warning per SVG style plotly writes that it ignores
    try:
        weasyprint.HTML(string=document).write_pdf(tmp, pdf_variant=PDF_VARIANT)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        log.setLevel(level)


def render_packs(
    snapshot: Path,
    run_id: str | None = None,
    out: Path | None = None,
    kinds: Sequence[str] = KINDS,
) -> Manifest:
    """Render the packs of ``kinds`` from ``snapshot`` into ``out`` (default: the snapshot's
    packs folder) and write the manifest; raise ``PackRenderError`` (after recording the
    failure in the manifest) if any step fails."""
    folder = out or packs_dir(snapshot)
    run = run_id or snapshot.stem
    started = time.perf_counter()
    as_of: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The browser starts while the first pack's content is built and draws each pack's
        # charts while the next one is built (chromium on one core, this process on the
        # other); WeasyPrint loads its fonts while the last charts are drawn.
        built: list[tuple[content.Pack, float, Callable[[], list[str]]]] = []
        files = []
        with charts.Exporter() as exporter:
            for build in _builders(snapshot, kinds):
                t = time.perf_counter()
                pack = build()
                svgs_of = exporter.submit([c.figure for c in pack.charts])
                built.append((pack, time.perf_counter() - t, svgs_of))
            as_of = _as_of(snapshot)
            _warm_up()
            for pack, seconds, svgs_of in built:
                svgs = dict(zip((id(c) for c in pack.charts), svgs_of(), strict=True))
                t = time.perf_counter()
                write_pdf(html.pack_html(pack, svgs), folder / pack.file_name)
                files.append(
                    PackFile(
                        pack.file_name,
                        pack.kind,
                        pack.title,
                        pack.institution,
                        round(seconds + time.perf_counter() - t, 2),
                    )
                )
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        failed = Manifest(
            FAILED,
            run,
            as_of,
            _now(),
            reason=reason,
            seconds=round(time.perf_counter() - started, 2),
        )
        with contextlib.suppress(OSError):  # an unwritable folder: the error says why
            write_manifest(folder, failed)
        raise PackRenderError(reason) from exc
    manifest = Manifest(
        RENDERED,
        run,
        as_of,
        _now(),
        tuple(files),
        seconds=round(time.perf_counter() - started, 2),
    )
    write_manifest(folder, manifest)
    return manifest


def _warm_up() -> None:
    """Load WeasyPrint and its fonts (a second or more, once per process) by writing a
    one-line PDF: done while the browser is still drawing, which leaves this process idle."""
    import weasyprint

    document = '<html lang="en-GB"><head><title>warm-up</title></head><body>.</body></html>'
    weasyprint.HTML(string=document).write_pdf(pdf_variant=PDF_VARIANT)


def _builders(snapshot: Path, kinds: Sequence[str]) -> list:
    """One callable per pack to build, in order (board, each institution's, funder)."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown pack kind(s) {unknown}: use {', '.join(KINDS)}")
    builders = []
    if content.BOARD in kinds:
        builders.append(lambda: content.board_pack(snapshot))
    if content.MANAGER in kinds:
        for code, name in content.institutions(snapshot):
            builders.append(lambda c=code, n=name: content.manager_pack(snapshot, c, n))
    if content.FUNDER in kinds:
        builders.append(lambda: content.funder_pack(snapshot))
    return builders


def _as_of(snapshot: Path) -> str | None:
    from dashboard.data import as_of
    from smhp.access import BOARD_SCOPE

    dates = as_of(snapshot, BOARD_SCOPE)
    day = dates.latest_extract or dates.data_through
    return None if day is None else day.isoformat()
