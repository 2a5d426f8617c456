"""Add-ons for ``tests/test_addons.py``: one that works and one that fails, as real
``module:function`` targets the nightly run imports by name (``smhp.pipeline.addons``)."""

from __future__ import annotations

from smhp.pipeline.addons import FinishedRun

SEEN: list[FinishedRun] = []


def works(run: FinishedRun) -> str:
    SEEN.append(run)
    return f"looked at run {run.run_id} ({run.outcome})"


def fails(run: FinishedRun) -> str:
    raise ConnectionRefusedError("the mail server is down")
