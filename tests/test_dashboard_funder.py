"""The funder impact summary on the demo warehouse: the published figures of the funded
project (429 and 299), release periods only (no free date range), and disclosure control
on everything that is not a partnership-wide total over exactly the whole funded period."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dashboard_warehouse import query, run_page, tables, tiles

from smhp.reporting.disclosure import FOOTNOTE, apply_to_impact
from smhp.reporting.impact import impact_totals
from smhp.warehouse import open_published

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user

FUNDED = (date(2019, 6, 1), date(2022, 7, 31))


def choose(at, code: str, kind: str):
    """Pick a release period on the page: its type, then the period itself."""
    at.selectbox(key="funder_period_kind").select(kind).run()
    return at.selectbox(key="funder_period").select(code).run()


@pytest.fixture(autouse=True)
def serve_demo(demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(demo_warehouse))


def impact(demo: Path, start: date, end: date, institution: str | None = None):
    con = open_published(demo)
    try:
        return impact_totals(con, start, end, institution)
    finally:
        con.close()


def text(cell: object) -> str:
    """A table cell as text: a column with a ``*`` in it is shown as text (``1,234``)."""
    return str(cell).replace(",", "")


def test_the_funded_period_gives_the_published_figures_exactly(demo_warehouse: Path) -> None:
    at = run_page("funder")
    assert at.selectbox(key="funder_period_kind").value == "funded"
    assert at.selectbox(key="funder_period").value == "funded"
    assert not at.date_input  # no free date range on a page that leaves the board
    shown = tiles(at)
    assert shown["Students supported by the liaison service"][0] == "429"
    assert shown["Students supported by U-COPE"][0] == "299"
    exact = impact(demo_warehouse, *FUNDED)
    assert shown["Referrals received"][0] == f"{exact.referrals_received:,}"
    assert shown["Institutions reached"][0] == str(exact.institutions)
    assert shown["Students enrolled at those institutions"][0] == f"{exact.students_enrolled:,}"
    assert any("Exact partnership-wide totals" in c.value for c in at.caption)
    assert any(c.value == FOOTNOTE for c in at.caption)
    totals = tables(at)["funder_totals"].set_index("Measure")["Value"]
    assert totals["Students supported by U-COPE"] == 299


def test_a_shorter_period_is_rounded_like_any_part_of_the_whole(demo_warehouse: Path) -> None:
    at = choose(run_page("funder"), "2020/21", "academic_year")
    period = (date(2020, 8, 1), date(2021, 7, 31))
    expected = apply_to_impact(impact(demo_warehouse, *period))
    shown = tiles(at)
    assert shown["Students supported by the liaison service"][0] == (
        f"{expected['liaison_students']:,}"
    )
    assert shown["Students supported by U-COPE"][0] == f"{expected['ucope_students']:,}"
    assert expected["ucope_students"] % 5 == 0
    assert not any("Exact partnership-wide" in c.value for c in at.caption)


def test_an_institution_is_always_disclosed(demo_warehouse: Path) -> None:
    at = run_page("funder")
    at.selectbox(key="funder_institution").select("UOL").run()
    expected = apply_to_impact(impact(demo_warehouse, *FUNDED, "UOL"))
    shown = tiles(at)
    assert shown["Students supported by U-COPE"][0] == f"{expected['ucope_students']:,}"
    assert shown["Median wait for a first appointment"][0] == (
        f"{expected['referral_median_wait_days']:.1f} days"
    )


def test_trend_and_institutions_go_through_disclosure_control(demo_warehouse: Path) -> None:
    at = run_page("funder")
    trend = tables(at)["funder_trend"].set_index("Academic year")
    year = apply_to_impact(impact(demo_warehouse, date(2020, 8, 1), date(2021, 7, 31)))
    assert trend.loc["2020/21", "Students supported by U-COPE"] == year["ucope_students"]
    assert list(trend.index)[:2] == ["2018/19", "2019/20"]  # whole years only
    assert list(trend.index)[-1] == "2025/26"  # the last year ended by the data's date
    by_institution = tables(at)["funder_institutions"].set_index("Institution")
    uol = apply_to_impact(impact(demo_warehouse, *FUNDED, "UOL"))
    assert text(by_institution.loc["UOL", "Students supported by the liaison service"]) == (
        text(uol["liaison_students"])
    )
    assert text(by_institution.loc["LSTM", "Referrals received"]) == "0"  # not yet a partner


def test_standards_over_the_period_equal_the_fact_flags(demo_warehouse: Path) -> None:
    at = run_page("funder")
    standards = tables(at)["funder_standards"].set_index("Standard")
    exact = query(
        demo_warehouse,
        """select count(*) as n, count(*) filter (where assessed_within_14d) as met
           from marts.fct_ucope_episodes where assessed_on between $s and $e""",
        {"s": FUNDED[0], "e": FUNDED[1]},
    ).iloc[0]
    row = standards.loc["U-COPE assessed within 14 days"]
    assert float(row["Percent"]) == round(100 * exact["met"] / exact["n"], 1)
    assert float(row["Target (%)"]) == 90.0


def test_a_period_without_activity_explains_itself() -> None:
    at = choose(run_page("funder"), "2019-07", "month")
    shown = tiles(at)
    assert shown["Students supported by the liaison service"][0] == "0"
    assert shown["Median wait for a first appointment"][0] == "—"
    assert any(i.value.startswith("No data for this filter") for i in at.info)


def test_only_release_periods_that_have_ended_are_offered() -> None:
    at = run_page("funder")
    kinds = at.selectbox(key="funder_period_kind").options
    assert kinds == ["Month", "Quarter", "Academic year", "Funded period"]
    at = at.selectbox(key="funder_period_kind").select("month").run()
    months = at.selectbox(key="funder_period").options
    assert months[0] == "September 2026" and months[-1] == "June 2019"  # data to 30 Oct 2026
    at = at.selectbox(key="funder_period_kind").select("quarter").run()
    quarters = at.selectbox(key="funder_period").options
    assert quarters[0] == "Jul to Sep 2026"  # Oct to Dec 2026 has not ended
    at = choose(at, "2026-Q3", "quarter")
    assert any(m.value.startswith("**Jul to Sep 2026**") for m in at.markdown)


def test_a_period_typed_into_the_session_is_never_a_free_range() -> None:
    at = run_page("funder", state={"funder_period": "2019-06-01/2019-06-02"})  # not offered
    assert not at.exception
    shown = [m.value for m in at.markdown if m.value.startswith("**")]
    assert shown[0].startswith("**Funded project period")  # the default, not the typed range
