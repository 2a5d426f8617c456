"""The dashboard's pure parts: scope, disclosure of tables, definitions, banner, series."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from dashboard import banner, definitions, navigation
from dashboard.data import AsOf, _disclosed_monthly
from dashboard.disclose import Count, Median, Percentage, Rate, disclose, numbers, round_shown
from dashboard.queries.funder import with_scope_of
from dashboard.queries.quality import LastRun
from dashboard.series import month_end, months_between, shown_series, window_start
from smhp.access import BOARD_SCOPE, FUNDER_SCOPE, PAGES, Scope, pages_for
from smhp.reporting.catalogue import METRICS, info


def test_scope_narrows_but_never_widens() -> None:
    uol = Scope(("UOL", "LJMU"), disclosure_control=False, record_level=True)
    assert uol.narrowed_to("UOL").institutions == ("UOL",)
    assert uol.narrowed_to(None) is uol
    # a filter naming an institution outside the scope (a tampered widget) gets nothing
    assert uol.narrowed_to("HOPE").institutions == ()
    assert uol.narrowed_to("HOPE").is_empty and not uol.is_empty
    assert BOARD_SCOPE.narrowed_to("HOPE").params() == {"institutions": ["HOPE"]}
    assert BOARD_SCOPE.params() == {"institutions": None}
    assert BOARD_SCOPE.record_level and not FUNDER_SCOPE.record_level
    assert FUNDER_SCOPE.disclosure_control and not BOARD_SCOPE.disclosure_control


def test_the_funder_view_is_always_disclosed_and_never_record_level() -> None:
    scope = with_scope_of(BOARD_SCOPE, "UOL")
    assert scope == Scope(("UOL",), disclosure_control=True, record_level=False)


def test_disclose_judges_bases_before_rounding_and_recalculates_from_rounded_counts() -> None:
    exact = pd.DataFrame(
        {
            "n": [0, 3, 8, 12, 13],
            "base": [0, 7, 8, 12, 37],
            "pct": [None, 42.9, 100.0, 100.0, 35.1],
            "median": [None, 4.0, 5.5, 6.0, 7.0],
            "students": [1000, 2000, 2600, 3000, 3003],
            "rate": [0.0, 1.5, 3.08, 4.0, 4.33],
        }
    )
    rules = [
        Count("n"),
        Percentage("pct", "n", "base"),
        Median("median", "base"),
        Rate("rate", "n", "students"),
    ]
    shown = disclose(exact, rules, apply=True)
    assert list(shown["n"]) == [0, "*", 10, 10, 15]
    # 13 of 37 is 35.1 %, but shown as 15 / 35: 42.9 (the exact counts cannot come back)
    assert list(shown["pct"]) == [None, "*", 100.0, 100.0, 100.0 * 15 / 35]
    assert list(shown["median"]) == [None, "*", 5.5, 6.0, 7.0]
    assert list(shown["rate"]) == [0.0, "*", 1000 * 10 / 2600, 1000 * 10 / 3000, 1000 * 15 / 3005]
    assert disclose(exact, [Count("n")], apply=False).equals(exact)
    assert numbers(shown["n"]) == [0.0, None, 10.0, 10.0, 15.0]
    kept = disclose(exact, rules, apply=True, exact=True)  # the one allowed cell
    assert list(kept["n"]) == [0, 3, 8, 12, 13] and kept["pct"][4] == 100.0 * 13 / 37


def test_a_median_without_a_published_base_is_hidden() -> None:
    shown = disclose(pd.DataFrame({"m": [50.0]}), [Median("m", None)], apply=True)
    assert list(shown["m"]) == ["*"]


def test_round_shown_leaves_suppressed_values_alone() -> None:
    out = round_shown(pd.DataFrame({"v": [1.26, "*", None]}), {"v": 1})
    assert list(out["v"]) == [1.3, "*", None]


def test_every_catalogued_metric_has_the_specs_definition() -> None:
    defs = definitions.metric_definitions()
    assert set(METRICS) <= set(defs)
    assert defs["liaison_contacts"].startswith("**`liaison_contacts`** (month of `presented_at`)")
    assert "(month of `first_appointment_on`)" in defs["referral_seen_6wk_pct"]
    assert "at most 42 days" in defs["referral_seen_6wk_pct"]


def test_every_base_is_a_count() -> None:
    for metric in METRICS.values():
        if metric.base:
            assert info(metric.base).kind == "count", metric.metric


def test_shown_series_treats_missing_counts_as_zero_and_missing_rates_as_gaps() -> None:
    values = pd.DataFrame(
        {
            "month": [date(2024, 1, 1), date(2024, 1, 1), date(2024, 2, 1), date(2024, 2, 1)],
            "metric": ["referral_seen_6wk_pct", "referral_completed_waits"] * 2,
            "value": [80.04, 100, 60.0, 5],
        }
    )
    months = months_between(date(2024, 1, 15), date(2024, 3, 31))
    assert months == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    pct = info("referral_seen_6wk_pct")
    assert list(shown_series(values, pct, months)["value"]) == [80.0, 60.0, None]
    count = info("referral_completed_waits")
    assert list(shown_series(values, count, months)["value"]) == [100, 5, 0]
    # what monthly_metrics returns under disclosure control: judged on the exact base
    disclosed = _disclosed_monthly(values, ("referral_seen_6wk_pct", "referral_completed_waits"))
    assert list(shown_series(disclosed, pct, months)["value"]) == [80.0, "*", None]
    assert list(shown_series(disclosed, count, months)["value"]) == [100, "*", 0]


def test_month_helpers() -> None:
    assert window_start(date(2026, 9, 1), 24) == date(2024, 10, 1)
    assert window_start(date(2026, 1, 1), 1) == date(2026, 1, 1)
    assert window_start(date(2026, 1, 1), 2) == date(2025, 12, 1)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)


def test_every_page_of_the_access_rules_has_one_script() -> None:
    assert [s.page_id for s in navigation.PAGES] == list(PAGES)  # smhp.access.PAGES
    assert len({s.url_path for s in navigation.PAGES}) == len(navigation.PAGES)
    assert len({s.title for s in navigation.PAGES}) == len(navigation.PAGES)
    for spec in navigation.PAGES:
        assert (navigation.VIEWS / spec.script).is_file()
    specs = navigation.specs_for(pages_for("board"))
    assert [s.url_path for s in specs] == [
        "board",
        "service",
        "funder",
        "equity",
        "quality",
        "packs",
        "accessibility",
    ]
    assert navigation.specs_for(pages_for("someone")) == []


_AS_OF = AsOf(date(2026, 10, 30), date(2026, 10, 30), date(2026, 10, 1), date(2026, 9, 1))
_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_banner_shows_the_as_of_date_and_the_last_run() -> None:
    run = LastRun(
        "r1", datetime(2026, 11, 24, 1, 0), datetime(2026, 11, 24, 1, 5), "published", None
    )
    shown = banner.build(_AS_OF, _NOW - timedelta(hours=8), run, _NOW)
    assert not shown.warning
    assert "Data as of **30 October 2026**" in shown.text
    assert "last nightly run 24 November 2026 01:05: **published**" in shown.text
    shown = banner.build(_AS_OF, _NOW - timedelta(hours=8), None, _NOW)
    assert "no run history yet" in shown.text and not shown.warning


def test_banner_warns_when_stale_or_when_the_last_run_did_not_publish() -> None:
    old = banner.build(_AS_OF, _NOW - timedelta(days=5), None, _NOW)
    assert old.warning and "nothing has been published for 5 days" in old.text
    blocked = LastRun("r2", _NOW.replace(tzinfo=None), None, "blocked", "3 expectations failed")
    shown = banner.build(_AS_OF, _NOW - timedelta(hours=1), blocked, _NOW)
    assert (
        shown.warning and "did not publish" in shown.text and "3 expectations failed" in shown.text
    )
    stale = banner.build(_AS_OF, _NOW, None, _NOW, [("referrals", 25)])
    assert stale.warning and "referrals (25 days)" in stale.text


def test_a_page_script_draws_no_stray_string() -> None:
    """Streamlit's "magic" draws a bare string statement of a page script on the page: past
    the module docstring, a page script holds comments instead."""
    import ast
    from pathlib import Path

    for script in sorted((Path(__file__).parents[1] / "dashboard" / "views").glob("*.py")):
        body = ast.parse(script.read_text(encoding="utf-8")).body
        stray = [
            node.lineno
            for node in body[1:]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ]
        assert not stray, f"{script.name}: a bare value on line(s) {stray} would be drawn"


FREEZE = """
import gc, sys
from dashboard.server import freeze_the_startup_heap
freeze_the_startup_heap()
print(gc.get_freeze_count(), "plotly.graph_objs._bar" in sys.modules, "pandas" in sys.modules)
"""


def test_the_server_freezes_what_every_page_run_uses_before_it_serves() -> None:
    """``dashboard.server.freeze_the_startup_heap`` (in a process of its own: it freezes
    the process): the modules every page run uses, plotly's lazily loaded classes too,
    end up in the collector's permanent generation, out of every later collection."""
    done = subprocess.run(
        [sys.executable, "-c", FREEZE], capture_output=True, text=True, timeout=120, check=True
    )
    frozen, bar_loaded, pandas_loaded = done.stdout.split()
    assert int(frozen) > 100_000 and bar_loaded == "True" and pandas_loaded == "True"
