"""The dashboard as a whole (Streamlit AppTest): the board overview on a hand-made
warehouse, the banner, and what happens with a missing, unreadable, stale or empty
warehouse."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest
from dashboard_warehouse import (
    copy_warehouse,
    empty_copy,
    figures,
    force_scope,
    run_page,
    tables,
    tiles,
    tiny_warehouse,
)

from smhp.access import Scope

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user

PAGES = ("board", "service", "funder", "equity", "quality")


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tiny_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))
    return path


def badges(at) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_board_tiles_show_the_latest_complete_month_against_the_month_before(tiny: Path) -> None:
    at = run_page()
    assert at.title[0].value == "Board overview"
    banner = at.info[0].value
    assert "Data as of **5 March 2024** (latest event)" in banner
    assert "last nightly run: no run history yet" in banner
    assert at.subheader[0].value == "February 2024 compared with January 2024"
    assert tiles(at) == {
        "Liaison contacts": ("46", "+6"),
        "Referrals received": ("110", "-10"),
        # 86.96 - 87.5 = -0.54
        "University informed within 72 hours": ("87.0%", "-0.5 pts"),
        "Seen within 6 weeks": ("75.0%", "-5.0 pts"),
        "U-COPE assessed within 14 days": ("60.0%", "-10.0 pts"),
    }
    assert badges(at) == [
        ":orange-badge[Below the 90% standard]",
        ":blue-badge[Meets the 75% standard]",
        ":orange-badge[Below the 90% standard]",
    ]
    assert not at.error


def test_board_spc_chart_plots_the_published_months_up_to_the_complete_month(tiny: Path) -> None:
    at = run_page()
    fig = figures(at)["Seen within 6 weeks: common cause"]
    points = next(t for t in fig["data"] if t["name"] == "Monthly value")
    assert points["x"] == ["2024-01-01", "2024-02-01"]  # March is incomplete
    assert points["y"] == [80.0, 75.0]
    mean = next(t for t in fig["data"] if t["name"] == "Mean")
    assert mean["y"] == [77.5, 77.5]
    upper = next(t for t in fig["data"] if t["name"] == "Upper process limit")
    assert upper["y"][0] == pytest.approx(77.5 + 2.66 * 5)
    assert next(t for t in fig["data"] if t["name"] == "Target")["y"] == [75.0, 75.0]
    assert [i["source"][:26] for i in fig["layout"]["images"]] == ["data:image/svg+xml;base64,"] * 2

    at.selectbox(key="board_spc_metric").select("liaison_contacts").run()
    fig = figures(at)["Liaison contacts: common cause"]
    assert fig["data"][0]["y"] == [40, 46]
    annotations = [a["text"] for a in fig["layout"].get("annotations", [])]
    assert annotations == ["HOPE joined"]  # joining dates annotate, never filter


def test_board_disclosure_control_applies_to_tiles_and_charts(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force_scope(monkeypatch, Scope(None, disclosure_control=True))  # no role has it
    at = run_page()
    assert tiles(at) == {
        "Liaison contacts": ("45", "+5"),  # 46 -> 45 and 40 -> 40: delta of shown values
        "Referrals received": ("110", "-10"),
        # from the rounded counts: Feb 40 of 46 -> 40 / 45 = 88.9 %, Jan 35 of 40 = 87.5 %
        "University informed within 72 hours": ("88.9%", "+1.4 pts"),
        # Feb 72 of 96 -> 70 / 95 = 73.7 %, Jan 80 of 100 = 80.0 %
        "Seen within 6 weeks": ("73.7%", "-6.3 pts"),
        "U-COPE assessed within 14 days": ("*", None),  # base 5 < 8
    }
    assert any("nearest 5" in c.value for c in at.caption)
    at.selectbox(key="board_spc_metric").select("ucope_assessed_14d_pct").run()
    # January: 7 of 10, a numerator of 1-7, so "*" as well (the percentage is calculated
    # from the rounded counts); February's base is under 8: nothing left to chart
    assert not any(t.startswith("U-COPE assessed within 14 days") for t in figures(at))
    assert any(i.value.startswith("No data for this filter") for i in at.info)


def test_board_institution_scope_combines_its_institutions(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force_scope(monkeypatch, Scope(("UOL", "LJMU"), disclosure_control=False))
    at = run_page()
    shown = tiles(at)
    # Feb: 30 + 16 = 46 contacts; Jan: 25 + 15 = 40
    assert shown["Liaison contacts"] == ("46", "+6")
    # Feb: (24 + 16) / 46 = 86.96 %; Jan: (20 + 15) / 40 = 87.5 %
    assert shown["University informed within 72 hours"] == ("87.0%", "-0.5 pts")
    # no referral rows for these institutions: counts are 0, percentages have no records
    assert shown["Referrals received"] == ("0", "+0")
    assert shown["Seen within 6 weeks"] == ("—", None)
    # the median wait cannot be combined over two institutions: not offered
    assert "referral_median_wait_days" not in at.selectbox(key="board_spc_metric").options
    compare = tables(at)["board_compare_referrals"]
    assert set(compare["Institution"]) == {"UOL", "LJMU"}


def test_board_small_multiples_per_1000_students(tiny: Path) -> None:
    at = run_page()
    at.selectbox(key="board_compare").select("liaison").run()
    shown = tables(at)["board_compare_liaison"]
    feb = shown[shown["Month"] == shown["Month"].max()].set_index("Institution")
    col = "Liaison contacts per 1,000 students"
    assert feb.loc["UOL", col] == pytest.approx(round(1000 * 30 / 30000, 1))
    assert feb.loc["LJMU", col] == pytest.approx(round(1000 * 16 / 25000, 1))
    assert feb.loc["HOPE", col] == 0  # no contacts, a headcount: 0 per 1,000
    fig = figures(at)["Liaison contacts per 1,000 students, by institution"]
    assert len(fig["data"]) == 3


def test_missing_warehouse_shows_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(tmp_path / "nowhere.duckdb"))
    at = run_page()
    assert len(at.error) == 1
    assert "No published warehouse" in at.error[0].value
    assert "SMHP_WAREHOUSE" in at.error[0].value
    assert not at.metric and not at.title


def test_unreadable_warehouse_shows_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()  # a database without the marts
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))
    at = run_page()
    assert len(at.error) == 1
    assert "could not be read" in at.error[0].value


def test_a_stale_warehouse_is_a_warning_on_every_page(tiny: Path) -> None:
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(tiny, (week_ago, week_ago))
    for page in ("board", "quality"):
        at = run_page(page)
        assert "nothing has been published for 7 days" in at.warning[0].value


def test_a_new_published_snapshot_is_not_served_from_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tiny_warehouse(tmp_path / "run-1.duckdb")
    second = tiny_warehouse(tmp_path / "run-2.duckdb", referrals_feb=130)
    link = tmp_path / "warehouse.duckdb"
    link.symlink_to(first)
    monkeypatch.setenv("SMHP_WAREHOUSE", str(link))
    assert tiles(run_page())["Referrals received"] == ("110", "-10")

    tmp = tmp_path / "warehouse.duckdb.new"
    tmp.symlink_to(second)
    os.replace(tmp, link)  # what publishing does: swap the link atomically
    assert tiles(run_page())["Referrals received"] == ("130", "+10")


@pytest.fixture(scope="module")
def emptied(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return empty_copy(demo_warehouse, tmp_path_factory.mktemp("empty"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_an_empty_warehouse(
    page: str, emptied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(emptied))
    at = run_page(page)  # no exception
    assert not at.error
    if page != "quality":
        assert any("No data for this filter" in i.value for i in at.info), page


def test_a_warehouse_missing_a_table_is_a_clear_error_on_its_page(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_warehouse(demo_warehouse, tmp_path)
    con = duckdb.connect(str(path))
    con.execute("drop table marts.fct_service_reach")  # an older build, say
    con.close()
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))
    at = run_page("equity")
    assert "could not be read" in at.error[0].value
    assert "fct_service_reach" in at.error[0].value
    assert run_page("board").title[0].value == "Board overview"  # other pages still work


def test_the_server_collects_no_garbage_after_every_run_and_watches_no_files() -> None:
    """A full collection after every script run and the file watcher's walk of every module
    grew with the sessions a process served: over half and a fifth of its Python time at
    50 sessions (docs/deploy.md, "Sizing"). ``smhp dashboard`` turns both off."""
    from smhp.cli import dashboard_server_options
    from smhp.settings import Settings

    options = dashboard_server_options(Settings.from_env())
    assert options["runner.postScriptGC"] == "false"
    assert options["server.fileWatcherType"] == "none"
