"""The partnership overview page, run headless with Streamlit's AppTest on a tiny warehouse."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.data import Scope

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

_SCHEMA = """
create schema marts;
create table marts.metrics_monthly (
    month date, institution_code varchar, metric varchar, value double);
create table marts.fct_liaison_contacts (presented_on date);
create table marts.fct_case_discussions (discussed_on date);
create table marts.fct_referrals (referred_on date, first_appointment_on date);
create table marts.fct_ucope_episodes (referred_on date, assessed_on date, discharged_on date);
create table marts.dim_institutions (
    institution_code varchar, institution_name varchar, joined_on date);
insert into marts.dim_institutions values
    ('UOL',  'University of Liverpool',          '2019-06-01'),
    ('LJMU', 'Liverpool John Moores University', '2019-06-01'),
    ('HOPE', 'Liverpool Hope University',        '2024-02-01');  -- joins inside the chart
-- The latest event is on 5 March 2024: March is incomplete, February is the headline month.
insert into marts.fct_liaison_contacts values ('2024-03-05');
insert into marts.fct_referrals values ('2024-02-28', '2024-03-01');
"""

# (month, institution, metric, value). ALL is its own computation, not a sum; it is kept
# consistent with the institution rows here so the scoped test can be checked by hand.
_ALL = [
    ("2024-01-01", "liaison_contacts", 40),
    ("2024-01-01", "liaison_informed_72h_pct", 87.5),  # 35 of 40
    ("2024-01-01", "referrals_received", 120),
    ("2024-01-01", "referral_completed_waits", 100),
    ("2024-01-01", "referral_seen_6wk_pct", 80.0),
    ("2024-01-01", "ucope_assessed", 10),
    ("2024-01-01", "ucope_assessed_14d_pct", 70.0),
    ("2024-02-01", "liaison_contacts", 46),
    ("2024-02-01", "liaison_informed_72h_pct", 100 * 40 / 46),  # 86.96
    ("2024-02-01", "referrals_received", 110),
    ("2024-02-01", "referral_completed_waits", 96),
    ("2024-02-01", "referral_seen_6wk_pct", 75.0),
    ("2024-02-01", "ucope_assessed", 5),  # base under 8
    ("2024-02-01", "ucope_assessed_14d_pct", 60.0),  # 3 of 5
    ("2024-03-01", "liaison_contacts", 3),  # the incomplete month
    ("2024-03-01", "liaison_informed_72h_pct", 100.0),
]
_INSTITUTIONS = [
    ("2024-01-01", "UOL", "liaison_contacts", 25),
    ("2024-01-01", "UOL", "liaison_informed_72h_pct", 80.0),  # 20 of 25
    ("2024-01-01", "LJMU", "liaison_contacts", 15),
    ("2024-01-01", "LJMU", "liaison_informed_72h_pct", 100.0),  # 15 of 15
    ("2024-02-01", "UOL", "liaison_contacts", 30),
    ("2024-02-01", "UOL", "liaison_informed_72h_pct", 80.0),  # 24 of 30
    ("2024-02-01", "LJMU", "liaison_contacts", 16),
    ("2024-02-01", "LJMU", "liaison_informed_72h_pct", 100.0),  # 16 of 16
]


def build_warehouse(path: Path, referrals_feb: float = 110) -> Path:
    con = duckdb.connect(str(path))
    con.execute(_SCHEMA)
    rows = [(m, "ALL", k, v) for m, k, v in _ALL]
    rows = [
        (m, i, k, referrals_feb if (m, i, k) == ("2024-02-01", "ALL", "referrals_received") else v)
        for m, i, k, v in rows
    ]
    con.executemany(
        "insert into marts.metrics_monthly values (?::date, ?, ?, ?)", rows + _INSTITUTIONS
    )
    con.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = build_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))
    return path


def _run(scope: Scope | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if scope is not None:
        at.session_state["viewer_scope"] = scope
    at.run()
    assert not at.exception, at.exception
    return at


def _tiles(at: AppTest) -> dict[str, tuple[str, str | None]]:
    # AppTest reports a metric without a delta as ''.
    return {m.label: (m.value, m.delta or None) for m in at.metric}


def _figure(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_board_overview_shows_the_latest_complete_month(warehouse: Path) -> None:
    at = _run()
    assert at.title[0].value == "Partnership overview"
    banner = at.info[0].value
    assert "5 March 2024" in banner  # latest event date
    assert "latest month with data March 2024" in banner
    assert "**February 2024**" in banner and "January 2024" in banner
    assert _tiles(at) == {
        "Liaison contacts": ("46", "+6"),
        "Referrals received": ("110", "-10"),
        "Seen within 6 weeks": ("75.0%", "-5.0 pts"),
        "U-COPE assessed within 14 days": ("60.0%", "-10.0 pts"),
        # 86.96 - 87.5 = -0.54
        "University informed within 72 hours": ("87.0%", "-0.5 pts"),
    }
    assert not at.error


def test_chart_shows_the_metric_by_month_up_to_the_complete_month(warehouse: Path) -> None:
    at = _run()
    fig = _figure(at)
    assert fig["layout"]["title"]["text"] == "Referrals received by month"
    assert fig["data"][0]["x"] == ["2024-01-01", "2024-02-01"]  # March is incomplete
    assert fig["data"][0]["y"] == [120, 110]
    annotations = [a["text"] for a in fig["layout"].get("annotations", [])]
    assert annotations == ["HOPE joined"]

    at.selectbox(key="overview_chart_metric").select("liaison_contacts").run()
    fig = _figure(at)
    assert fig["layout"]["title"]["text"] == "Liaison contacts by month"
    assert fig["data"][0]["y"] == [40, 46]


def test_disclosure_control_applies_to_tiles_and_chart(warehouse: Path) -> None:
    at = _run(Scope(institutions=None, disclosure_control=True))
    assert _tiles(at) == {
        "Liaison contacts": ("45", "+5"),  # 46 -> 45 and 40 -> 40: delta of shown values
        "Referrals received": ("110", "-10"),
        "Seen within 6 weeks": ("75.0%", "-5.0 pts"),
        "U-COPE assessed within 14 days": ("*", None),  # base 5 < 8
        "University informed within 72 hours": ("87.0%", "-0.5 pts"),
    }
    assert any("nearest 5" in c.value for c in at.caption)
    at.selectbox(key="overview_chart_metric").select("ucope_assessed_14d_pct").run()
    assert _figure(at)["data"][0]["y"] == [70.0, None]  # February's base is under 8: a gap


def test_institution_scope_combines_its_institutions(warehouse: Path) -> None:
    at = _run(Scope(institutions=("UOL", "LJMU"), disclosure_control=False))
    tiles = _tiles(at)
    # Feb: 30 + 16 = 46 contacts; Jan: 25 + 15 = 40
    assert tiles["Liaison contacts"] == ("46", "+6")
    # Feb: (24 + 16) / 46 = 86.96 %; Jan: (20 + 15) / 40 = 87.5 %
    assert tiles["University informed within 72 hours"] == ("87.0%", "-0.5 pts")
    # no referral rows for these institutions: counts are 0, percentages have no records
    assert tiles["Referrals received"] == ("0", "+0")
    assert tiles["Seen within 6 weeks"] == ("—", None)


def test_missing_warehouse_shows_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(tmp_path / "nowhere.duckdb"))
    at = _run()
    assert len(at.error) == 1
    assert "No published warehouse" in at.error[0].value
    assert "SMHP_WAREHOUSE" in at.error[0].value
    assert not at.metric


def test_unreadable_warehouse_shows_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()  # a database without the marts
    monkeypatch.setenv("SMHP_WAREHOUSE", str(path))
    at = _run()
    assert len(at.error) == 1
    assert "could not be read" in at.error[0].value


def test_a_new_published_snapshot_is_not_served_from_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_warehouse(tmp_path / "run-1.duckdb")
    second = build_warehouse(tmp_path / "run-2.duckdb", referrals_feb=130)
    link = tmp_path / "warehouse.duckdb"
    link.symlink_to(first)
    monkeypatch.setenv("SMHP_WAREHOUSE", str(link))
    assert _tiles(_run())["Referrals received"] == ("110", "-10")

    tmp = tmp_path / "warehouse.duckdb.new"
    tmp.symlink_to(second)
    os.replace(tmp, link)  # what publishing does: swap the link atomically
    assert _tiles(_run())["Referrals received"] == ("130", "+10")
