"""What runs after a nightly run (``smhp.pipeline.addons``): a failing add-on is recorded and
never changes the run's outcome or the published data; the next snapshot shows it."""

from __future__ import annotations

from datetime import date

import addon_examples
import pytest
from extracts import TEST_KEY_HEX
from faults_kit import latest_run, referrals_count

from smhp.pipeline.addons import ADD_ONS, FAILED, OK, FinishedRun, run_addons, selected
from smhp.pipeline.nightly import run_nightly
from smhp.pipeline.reporter import Reporter
from smhp.settings import Settings, SettingsError
from smhp.warehouse import open_published

WORKS = ("works", "addon_examples:works")
FAILS = ("fails", "addon_examples:fails")
DOWN = "ConnectionRefusedError: the mail server is down"


def test_add_ons_are_chosen_by_name_and_a_typo_is_an_error(monkeypatch):
    monkeypatch.delenv("SMHP_ADDONS", raising=False)
    assert Settings.from_env().addons == ("packs", "alerts")  # by default, both
    assert selected(("alerts", "packs")) == ADD_ONS  # always in their running order
    assert selected(()) == ()
    with pytest.raises(SettingsError, match="SMHP_ADDONS: unknown add-on pack "):
        selected(("pack",))


def test_a_missing_add_on_is_skipped_and_a_failing_one_recorded():
    run = FinishedRun("r1", "blocked", "blocked: x", False, None, Settings.from_env(), date.today())
    said: list[str] = []
    outcomes = run_addons(
        run, (("absent", "smhp.no_such_addon:after_run"), FAILS, WORKS), said.append
    )
    assert [(o.addon, o.status) for o in outcomes] == [("fails", FAILED), ("works", OK)]
    assert [o.detail for o in outcomes] == [DOWN, "looked at run r1 (blocked)"]
    assert said[0].startswith(f"  fails: FAILED (the published data is unaffected): {DOWN} (")


@pytest.mark.slow
def test_a_failing_add_on_leaves_the_run_published_and_recorded(faults_copy):
    landing, warehouse = faults_copy
    settings = Settings.from_env(landing=landing, warehouse=warehouse)
    key = bytes.fromhex(TEST_KEY_HEX)

    result = run_nightly(settings, key, Reporter(), addons=(FAILS, WORKS))
    assert result.published and latest_run(warehouse)[-1][0] == "published_with_warnings"
    assert referrals_count(warehouse) == 2  # the data is there, whatever the add-ons did
    assert [(o.addon, o.status) for o in result.addons] == [("fails", FAILED), ("works", OK)]
    seen = addon_examples.SEEN[-1]  # what an add-on is told: this run and its snapshot
    assert (seen.run_id, seen.published, seen.snapshot) == (result.run_id, True, result.snapshot)

    run_nightly(settings, key, Reporter(), addons=())  # the next publish shows them
    con = open_published(warehouse)
    try:
        rows = con.execute(
            "select run_id, addon, status, detail from ops.run_addons order by seconds desc"
        ).fetchall()
    finally:
        con.close()
    assert sorted(rows) == [
        (result.run_id, "fails", "failed", DOWN),
        (result.run_id, "works", "ok", f"looked at run {result.run_id} (published_with_warnings)"),
    ]
