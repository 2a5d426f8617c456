"""The equity-of-access page on the demo warehouse: rates per 1,000 profiled students by
band equal the marts, through disclosure control where the scope says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dashboard_warehouse import figures, force_scope, query, run_page, tables

from dashboard.data import Scope
from smhp.disclosure import suppress_count

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user

START, END = date(2025, 10, 1), date(2026, 9, 30)

# Written differently from the page's query (exists per profile), to check it.
_EXPECTED = """
select cast(p.{column} as varchar) as band, count(*) as profiled,
       count(*) filter (where exists (
           select 1 from marts.fct_referrals r
           where r.student_key = p.student_key and r.institution_code = p.institution_code
             and r.referred_on between $s and $e)) as referred,
       count(*) filter (where exists (
           select 1 from marts.fct_ucope_episodes u
           where u.student_key = p.student_key and u.institution_code = p.institution_code
             and u.referred_on between $s and $e)) as ucope
from marts.dim_student_profiles p
where $inst is null or p.institution_code = $inst
group by 1
"""


@pytest.fixture(autouse=True)
def serve_demo(demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(demo_warehouse))


def expected(demo: Path, column: str, start: date, end: date, inst: str | None = None):
    return query(
        demo, _EXPECTED.format(column=column), {"s": start, "e": end, "inst": inst}
    ).set_index("band")


@pytest.mark.parametrize(
    ("dimension", "band", "label"),
    [
        ("study_level", "postgraduate_taught", "Postgraduate taught"),
        ("year_of_study", "1", "Year 1"),
        ("domicile", "international", "International"),
    ],
)
def test_rates_per_1000_profiled_students_equal_the_marts(
    demo_warehouse: Path, dimension: str, band: str, label: str
) -> None:
    at = run_page("equity")
    at.radio(key="equity_dimension").set_value(dimension).run()
    shown = tables(at)[f"equity_{dimension}"].set_index("Band")
    exact = expected(demo_warehouse, dimension, START, END)
    assert label in shown.index and band not in shown.index  # bands are labelled
    row, want = shown.loc[label], exact.loc[band]
    assert row["Profiled students"] == want["profiled"]
    assert row["Students referred"] == want["referred"]
    assert row["Referred per 1,000"] == round(1000 * want["referred"] / want["profiled"], 1)
    assert row["U-COPE per 1,000"] == round(1000 * want["ucope"] / want["profiled"], 1)
    assert shown["Profiled students"].sum() == exact["profiled"].sum()
    fig = next(iter(figures(at).values()))
    referred = next(t for t in fig["data"] if t["name"] == "Referred per 1,000")
    assert referred["y"] == [float(v) for v in shown["Referred per 1,000"]]


def test_disclosure_control_where_the_scope_says_so(
    demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = (date(2026, 9, 1), date(2026, 9, 30))
    force_scope(monkeypatch, Scope(("LSTM",), disclosure_control=True))
    at = run_page("equity")
    at.date_input(key="equity_period").set_value(period).run()
    shown = tables(at)["equity_study_level"].set_index("Band")
    exact = expected(demo_warehouse, "study_level", *period, inst="LSTM")
    # LSTM in September 2026: 72 postgraduate taught students profiled, 2 referred
    want = exact.loc["postgraduate_taught"]
    assert (want["profiled"], want["referred"]) == (72, 2)
    row = shown.loc["Postgraduate taught"]
    assert str(row["Profiled students"]) == str(suppress_count(72)) == "70"
    assert row["Students referred"] == "*"
    assert row["Referred per 1,000"] == "*"  # a rate only where its count may be shown
    assert any("nearest 5" in c.value for c in at.caption)
    assert at.selectbox(key="equity_institution").disabled  # one institution: no choice


def test_a_period_with_no_referrals_shows_zero_rates() -> None:
    at = run_page("equity")
    at.date_input(key="equity_period").set_value((date(2019, 1, 1), date(2019, 1, 31))).run()
    shown = tables(at)["equity_study_level"]
    assert shown["Students referred"].sum() == 0
    assert set(shown["Referred per 1,000"]) == {0.0}
