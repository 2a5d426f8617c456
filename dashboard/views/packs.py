"""PDF packs: "What can I take to the meeting?"

The packs the nightly run rendered beside the newest retained snapshot that has any
(``smhp.packs.store.newest_packs``): which run made them and when, or why they failed. Each
viewer is offered only the packs within their scope (``smhp.packs.store.may_read``: the
board every pack, a service manager their institutions' packs, a funder the funder pack).
A download is built only on the click, after the audit log has recorded it, and granted to
this browser alone (``dashboard.downloads.deferred``): no PDF is read for a pack outside
the viewer's scope, nor before a click.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import downloads, ui
from dashboard.context import PageContext, current
from smhp.packs.store import FAILED, may_read, newest_packs, pack_path


def render(ctx: PageContext) -> None:
    """List the viewer's packs of the newest rendered snapshot, each with its download."""
    ui.header("PDF packs", "What can I take to the meeting?")
    found = newest_packs(Path(ctx.snapshot))
    if found is None:
        st.info("No packs yet: they are made after the next nightly run that publishes.")
        return
    snapshot, manifest = found
    made = manifest.made_at.replace("T", " ").replace("+00:00", " UTC")
    st.markdown(f"Made by run **{manifest.run_id}** on {made}; data as of {manifest.as_of or '—'}.")
    if manifest.status == FAILED:
        st.error(f"The packs of this run could not be made: {manifest.reason}")
        return
    mine = [pack for pack in manifest.packs if may_read(pack, ctx.scope)]
    if not mine:
        st.info("No pack is made for your role.")
        return
    st.caption(
        "Tagged PDF (PDF/UA), landscape A4, readable printed in greyscale; every chart has "
        "a text description. Downloads are recorded in the audit log."
    )
    for pack in mine:
        path = pack_path(snapshot, pack)
        st.download_button(
            f"Download {pack.title} (PDF)",
            downloads.deferred(pack.file, path.read_bytes, pack=pack.kind, run=manifest.run_id),
            file_name=pack.file,
            mime="application/pdf",
            key=f"packs_{pack.file}",
            on_click="ignore",  # the audit is in the callable, which runs only on a click
        )


render(current("packs"))
