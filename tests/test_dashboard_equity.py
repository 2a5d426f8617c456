"""The equity-of-access page on the demo warehouse: rates per 1,000 profiled students by
band equal the marts, through disclosure control where the scope says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dashboard_warehouse import figures, force_scope, query, run_page, tables

from smhp.access import Scope
from smhp.reporting.disclosure import suppress_count

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user

START, END = date(2025, 8, 1), date(2026, 7, 31)  # the page's default: the last year


def choose(at, code: str, kind: str):
    """Pick a release period on the page: its type, then the period itself."""
    at.selectbox(key="equity_period_kind").select(kind).run()
    return at.selectbox(key="equity_period").select(code).run()


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
    force_scope(monkeypatch, Scope(("LSTM",), disclosure_control=True))
    at = run_page("equity")
    # one institution under disclosure control: academic years and the funded period only
    assert at.selectbox(key="equity_period_kind").options == ["Academic year", "Funded period"]
    shown = tables(at)["equity_study_level"].set_index("Band")
    exact = expected(demo_warehouse, "study_level", START, END, inst="LSTM")
    labels = {
        "postgraduate_taught": "Postgraduate taught",
        "postgraduate_research": "Postgraduate research",
        "undergraduate": "Undergraduate",
        "foundation": "Foundation",
    }
    assert set(exact.index) <= set(labels)
    for band in exact.index:
        want, row = exact.loc[band], shown.loc[labels[band]]
        profiled, referred = suppress_count(want["profiled"]), suppress_count(want["referred"])
        assert str(row["Profiled students"]).replace(",", "") == str(profiled)
        assert str(row["Students referred"]).replace(",", "") == str(referred)
        if referred == "*":
            assert row["Referred per 1,000"] == "*"  # a rate only where its count may be
        else:  # from the rounded counts, never the exact ones
            assert float(row["Referred per 1,000"]) == round(1000 * referred / profiled, 1)
    assert any("nearest 5" in c.value for c in at.caption)
    assert at.selectbox(key="equity_institution").disabled  # one institution: no choice


def test_a_period_with_no_referrals_shows_zero_rates() -> None:
    at = choose(run_page("equity"), "2019-07", "month")
    shown = tables(at)["equity_study_level"]
    assert shown["Students referred"].sum() == 0
    assert set(shown["Referred per 1,000"]) == {0.0}
