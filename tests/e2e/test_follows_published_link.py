"""A dashboard started once follows the published link across nightly runs.

`smhp dashboard` runs as a service for months while the nightly run publishes a new
snapshot every night and deletes all but the last ``SMHP_KEEP_SNAPSHOTS``. A dashboard
that pinned the snapshot it found at start would show stale data, and once that snapshot
was deleted (the fourth publish with keep=3), "No published warehouse".

Here the real server is started once on a published link; ten publishes follow, each with
the real ``WarehouseLayout.publish`` (keep=3) of a copy of the demo warehouse in which one
thing the banner shows has changed: the latest run's reason in ``ops.runs``. After every
publish a signed-in board page in chromium shows that publish's reason, never an older one
and never "No published warehouse".
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from browser_kit import skip_without_browser

skip_without_browser()

from browser_kit import CHROMIUM, FLAGS, Watched, dashboard_server, go, sign_in  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from smhp.pipeline.nightly import new_run_id  # noqa: E402
from smhp.pipeline.publish import WarehouseLayout  # noqa: E402

PUBLISHES = 10
KEEP = 3
ALERT = '[data-testid="stAlert"]'
PAGES = [("Data quality", "Data quality"), ("Board overview", "Board overview")]


def marker(night: int) -> str:
    """The reason of night ``night``'s run: unique, and no marker contains another."""
    return f"follow-the-link night {night:02d}"


def publish_night(layout: WarehouseLayout, night: int) -> Path:
    """Publish a snapshot whose latest run (what the banner shows) is night ``night``'s."""
    candidate = layout.start_candidate()  # a copy of the published snapshot
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=night)
    run_id = new_run_id(now)
    con = duckdb.connect(str(candidate))
    try:
        con.execute(
            "insert into ops.runs (run_id, started_at, ended_at, outcome, reason)"
            " values (?, ?, ?, 'published', ?)",
            [run_id, now, now, marker(night)],
        )
        con.execute("checkpoint")
    finally:
        con.close()
    return layout.publish(run_id, KEEP)


@pytest.fixture(scope="module")
def link(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> WarehouseLayout:
    """A published link of its own, its first snapshot a copy of the demo warehouse."""
    layout = WarehouseLayout(tmp_path_factory.mktemp("follow") / "var" / "warehouse.duckdb")
    layout.work_dir.mkdir(parents=True)
    shutil.copyfile(os.path.realpath(demo_warehouse), layout.candidate)
    layout.publish(new_run_id(datetime.now(UTC).replace(tzinfo=None)), KEEP)
    return layout


@pytest.fixture(scope="module")
def page(link: WarehouseLayout, demo_users: Path, tmp_path_factory) -> Iterator[Watched]:
    """The dashboard, started once on the link, and a browser page signed in as board."""
    with (
        dashboard_server(link.published, demo_users, tmp_path_factory.mktemp("server")) as served,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        watched = Watched(context.new_page(), served.url)
        sign_in(watched.page, served.url, "board")
        watched.page.get_by_role("heading", name="Board overview").wait_for(timeout=30_000)
        yield watched
        browser.close()


def banner(page: Page) -> str:
    return page.locator(ALERT).first.inner_text()


def test_the_dashboard_shows_each_new_publish_and_survives_retention(
    link: WarehouseLayout, page: Watched
) -> None:
    first_snapshot = link.current_snapshot()
    assert first_snapshot is not None and "No published" not in banner(page.page)
    for night in range(1, PUBLISHES + 1):
        snapshot = publish_night(link, night)
        menu_title, heading = PAGES[night % 2]  # a new page view: a rerun of the app
        go(page.page, menu_title, heading, chart=False)
        with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what was shown
            page.page.locator(ALERT, has_text=marker(night)).wait_for(timeout=30_000)
        shown = banner(page.page)
        assert marker(night) in shown, f"after publish {night} the banner shows: {shown}"
        assert all(marker(earlier) not in shown for earlier in range(1, night))
        assert page.page.locator(ALERT, has_text="No published warehouse").count() == 0
        assert page.page.locator('[data-testid="stException"]').count() == 0
        assert len(list(link.snapshots_dir.glob("*.duckdb"))) == min(night + 1, KEEP)
        assert link.current_snapshot() == snapshot
        if night >= KEEP:  # the snapshot the dashboard started on is gone
            assert not first_snapshot.exists()
    assert page.errors == [] and page.outside == []
