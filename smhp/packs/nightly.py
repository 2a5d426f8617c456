"""The packs' nightly add-on (``smhp.pipeline.addons``): after a run that published new data,
render that snapshot's packs beside it.

A run that published nothing new (blocked, failed, or nothing new to build) leaves the last
packs where they are: they still describe the published data. A failure to render is
recorded in the packs folder's manifest (the dashboard shows it) and raised, so the nightly
run records it too; it never changes the run's outcome or the published data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .render import render_packs

if TYPE_CHECKING:
    from smhp.pipeline.addons import FinishedRun

UNCHANGED = "no new data: packs unchanged"


def after_run(run: FinishedRun) -> str:
    """Render the packs of the snapshot ``run`` published; one line for the run log."""
    if not run.published or run.snapshot is None:
        return UNCHANGED
    manifest = render_packs(run.snapshot, run_id=run.run_id)
    return f"{len(manifest.packs)} packs rendered in {manifest.seconds:.1f} s"
