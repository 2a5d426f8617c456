"""The equity-of-access page: students reached per 1,000 enrolled and the representation
ratio, band by band, with Wilson intervals (metric spec, "Equity of access").

The query on a small hand-made warehouse (every figure known by hand): rates, intervals,
ratios, ``not_known`` shown, the service and the scope, the enrolment year and the
institutions without a row, and the funder's disclosure control (counts 0, ``*`` or
multiples of 5; every statistic from the shown counts). Then the page on the demo
warehouse: the table is the query's, the charts are the table's, the sentence names the
demo's under-reached band."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from dashboard_warehouse import figures, force_scope, run_page, tables

from dashboard.queries import equity
from smhp.access import Scope
from smhp.reporting.disclosure import suppress_count
from smhp.reporting.equity import rate_interval, ratio_interval, representation_ratio
from smhp.reporting.release_periods import parse

BOARD = Scope(None, False)
FUNDER = Scope(None, True)
YEAR = parse("2023/24")

# (institution, domicile, students reached by liaison, by U-COPE too): band None = no profile
_REACHED = [
    ("UOL", "home", 40, 5),
    ("UOL", "international", 3, 0),
    ("UOL", None, 2, 0),
    ("LJMU", "home", 12, 0),
    ("LJMU", "international", 9, 9),
    ("HOPE", "home", 6, 0),  # HOPE has no enrolment row for the year: left out
]
_ENROLLED = [
    ("UOL", "domicile", "home", 800),
    ("UOL", "domicile", "international", 200),
    ("LJMU", "domicile", "home", 900),
    ("LJMU", "domicile", "international", 100),
    ("UOL", "sex", "female", 600),
    ("UOL", "sex", "male", 380),
    ("UOL", "sex", "other", 3),
    ("UOL", "sex", "not_known", 17),
    ("LJMU", "sex", "female", 500),
    ("LJMU", "sex", "male", 500),
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """marts.fct_service_reach and marts.dim_enrolments, by hand (2023/24 only)."""
    path = tmp_path_factory.mktemp("equity") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """
        create schema marts;
        create table marts.dim_enrolments (institution_code varchar, academic_year varchar,
            dimension varchar, band varchar, students integer, source varchar,
            is_estimate boolean);
        create table marts.fct_service_reach (service varchar, institution_code varchar,
            student_key varchar, reached_on date, month date, has_profile boolean,
            study_level varchar, year_of_study varchar, domicile varchar, sex varchar,
            age_band varchar, ethnic_group varchar);
        """
    )
    con.executemany(
        "insert into marts.dim_enrolments values (?, '2023/24', ?, ?, ?, 'estimate', true)",
        _ENROLLED,
    )
    rows = []
    for inst, band, liaison, ucope in _REACHED:
        for i in range(liaison):
            key = f"{inst}-{band}-{i}"
            dom, sex = (band, "female" if i % 2 else "male") if band else ("not_known",) * 2
            when = [date(2024, 2, 5), date(2024, 2, 20)]  # two contacts: one student
            rows += [("liaison", inst, key, d, dom, sex) for d in when]
            if i < ucope:  # also referred to U-COPE: once under "any"
                rows.append(("ucope", inst, key, date(2024, 3, 1), dom, sex))
    rows.append(("liaison", "UOL", "UOL-home-0", date(2024, 8, 1), "home", "male"))  # 2024/25
    rows.append(("liaison", "LJMU", "UOL-home-0", date(2024, 2, 1), "home", "male"))  # 2nd inst.
    con.executemany(
        """insert into marts.fct_service_reach values (?, ?, ?, ?, date_trunc('month', ?::date),
           true, 'undergraduate', '1', ?, ?, 'under_21', 'white')""",
        [(s, i, k, d, d, dom, sex) for s, i, k, d, dom, sex in rows],
    )
    con.close()
    return path


def _rows(frame) -> dict:
    return {r["band"]: r for _, r in frame.iterrows()}


def test_rates_intervals_and_ratios_by_hand(small: Path) -> None:
    got = _rows(equity.rates(small, BOARD, YEAR, "domicile"))
    assert list(got) == ["home", "international", "not_known"]  # contract order, then not known
    # home: UOL 40 + LJMU 12 + the UOL student also seen at LJMU (another institution) = 53
    assert (got["home"]["reached"], got["home"]["enrolled"]) == (53, 1700)
    assert (got["international"]["reached"], got["international"]["enrolled"]) == (12, 300)
    assert got["not_known"]["reached"] == 2 and got["not_known"]["enrolled"] is None
    assert got["home"]["rate"] == pytest.approx(1000 * 53 / 1700)
    assert (got["home"]["rate_low"], got["home"]["rate_high"]) == rate_interval(53, 1700)
    assert got["international"]["ratio"] == pytest.approx((12 / 65) / (300 / 2000))
    assert got["home"]["ratio"] == pytest.approx(representation_ratio(53, 65, 1700, 2000))
    low, high = ratio_interval(12, 65, 300, 2000)
    assert (got["international"]["ratio_low"], got["international"]["ratio_high"]) == (low, high)
    for column in ("rate", "rate_low", "ratio", "ratio_high"):  # not known: a count, no rate
        assert got["not_known"][column] is None
    assert bool(got["home"]["estimate"])


def test_a_dimension_with_its_own_not_known_and_an_empty_period(small: Path) -> None:
    got = _rows(equity.rates(small, BOARD, YEAR, "sex"))
    assert list(got) == ["female", "male", "other", "not_known"]
    assert got["not_known"]["reached"] == 2 and got["not_known"]["enrolled"] == 17
    assert got["not_known"]["rate"] is None
    assert got["other"]["reached"] == 0 and got["other"]["rate"] == 0.0
    assert got["other"]["rate_low"] == 0.0 and got["other"]["ratio"] == 0.0
    empty = _rows(equity.rates(small, BOARD, parse("2023-09"), "domicile"))
    assert {b: r["reached"] for b, r in empty.items()} == {
        "home": 0,
        "international": 0,
        "not_known": 0,
    }
    assert empty["home"]["rate"] == 0.0 and empty["home"]["ratio"] is None  # no one reached


def test_the_service_the_month_and_the_enrolment_year(small: Path) -> None:
    ucope = _rows(equity.rates(small, BOARD, YEAR, "domicile", "ucope"))
    assert (ucope["home"]["reached"], ucope["international"]["reached"]) == (5, 9)
    liaison = _rows(equity.rates(small, BOARD, YEAR, "domicile", "liaison"))
    assert liaison["home"]["reached"] == 53  # the U-COPE students are liaison students too
    march = _rows(equity.rates(small, BOARD, parse("2024-03"), "domicile"))
    assert march["international"]["reached"] == 9 and march["international"]["enrolled"] == 300
    later = equity.rates(small, BOARD, parse("2024/25"), "domicile")  # no enrolment row
    assert list(later["enrolled"]) == [None, None, None] and list(later["reached"]) == [0, 0, 0]
    with pytest.raises(ValueError, match="Unknown service"):
        equity.rates(small, BOARD, YEAR, "domicile", "gp")
    with pytest.raises(ValueError, match="Unknown dimension"):
        equity.rates(small, BOARD, YEAR, "postcode")


def test_the_scope_restricts_reached_and_enrolled(small: Path) -> None:
    got = _rows(equity.rates(small, Scope(("LJMU",), False), YEAR, "domicile"))
    assert (got["home"]["reached"], got["home"]["enrolled"]) == (13, 900)
    assert (got["international"]["reached"], got["international"]["enrolled"]) == (9, 100)
    assert got["not_known"]["reached"] == 0
    assert got["international"]["ratio"] == pytest.approx((9 / 22) / (100 / 1000))
    hope = equity.rates(small, Scope(("HOPE",), False), YEAR, "domicile")
    assert list(hope["reached"]) == [0, 0, 0]  # reached, but no enrolment row that year


def _shown_numbers(frame) -> list:
    return [v for c in ("reached", "enrolled") for v in frame[c] if v is not None]


def test_funder_disclosure_rounds_counts_and_recomputes_from_them(small: Path) -> None:
    for dimension in ("domicile", "sex"):
        exact = _rows(equity.rates(small, BOARD, YEAR, dimension))
        shown = equity.rates(small, FUNDER, YEAR, dimension)
        for value in _shown_numbers(shown):
            assert value == "*" or (isinstance(value, int) and value % 5 == 0), value
        for band, row in _rows(shown).items():
            assert row["reached"] == suppress_count(exact[band]["reached"])
    got = _rows(equity.rates(small, FUNDER, YEAR, "domicile"))
    assert (got["home"]["reached"], got["international"]["reached"]) == (55, 10)
    assert got["not_known"]["reached"] == "*"  # 2
    assert got["home"]["rate"] == pytest.approx(1000 * 55 / 1700)  # from the rounded 55
    assert (got["home"]["rate_low"], got["home"]["rate_high"]) == rate_interval(55, 1700)
    # the ratio from the rounded counts and the rounded total of known bands (65 -> 65)
    assert got["international"]["ratio"] == pytest.approx((10 / 65) / (300 / 2000))
    assert got["international"]["ratio_high"] == ratio_interval(10, 65, 300, 2000)[1]
    sex = _rows(equity.rates(small, FUNDER, YEAR, "sex"))
    assert sex["other"]["enrolled"] == "*"  # 3 enrolled
    assert {sex["other"][c] for c in ("rate", "rate_high", "ratio", "ratio_low")} == {"*"}
    ljmu = _rows(equity.rates(small, Scope(("LJMU",), True), YEAR, "domicile"))
    assert ljmu["international"]["reached"] == 10  # 9
    with pytest.raises(ValueError, match="not released for one institution"):
        equity.rates(small, Scope(("LJMU",), True), parse("2024-02"), "domicile")


# --- the page, on the demo warehouse ----------------------------------------------------


@pytest.fixture
def demo(demo_warehouse: Path, dashboard_access: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(demo_warehouse))
    return demo_warehouse


def test_the_page_shows_the_query_and_names_the_under_reached_band(demo: Path) -> None:
    at = run_page("equity")
    at.radio(key="equity_dimension").set_value("domicile").run()
    shown = tables(at)["equity_domicile"].set_index("Band")
    period = parse(at.selectbox(key="equity_period").value)
    want = _rows(equity.rates(demo, BOARD, period, "domicile"))
    assert list(shown.index) == ["Home", "International", "Not known"]
    row, exact = shown.loc["International"], want["international"]
    assert row["Students reached"] == exact["reached"]
    assert row["Students enrolled"] == f"{exact['enrolled']:,}"  # beside the dash of not known
    assert row["Reached per 1,000 enrolled"] == round(exact["rate"], 1)
    assert row["Ratio, upper 95% limit"] == round(exact["ratio_high"], 2) < 1
    assert row["Enrolled figure"] == "estimate"
    rate_chart, ratio_chart = figures(at).values()  # in page order
    rates = rate_chart["data"][0]
    assert rates["x"] == ["Home", "International"]  # not known: no rate, not drawn
    assert rates["y"] == [float(v) for v in shown["Reached per 1,000 enrolled"][:2]]
    assert rates["error_y"]["array"][1] == pytest.approx(
        row["Rate, upper 95% limit"] - row["Reached per 1,000 enrolled"]
    )
    assert ratio_chart["layout"]["shapes"][0]["y0"] == 1.0  # the line at 1
    sentences = " ".join(m.value for m in at.markdown)
    assert "Reached clearly less than its share**: International (ratio" in sentences
    captions = " ".join(c.value for c in at.caption)
    assert "Dot chart of share reached / share enrolled by domicile" in captions
    assert "line at 1" in captions


def test_no_band_under_reached_is_said_and_every_dimension_draws(demo: Path) -> None:
    at = run_page("equity")
    at.radio(key="equity_service").set_value("ucope").run()
    for dimension in equity.DIMENSIONS:
        at.radio(key="equity_dimension").set_value(dimension).run()
        assert not at.exception
        shown = tables(at)[f"equity_{dimension}"]
        assert shown["Band"].iloc[-1] == "Not known"
    at.radio(key="equity_dimension").set_value("study_level").run()
    sentences = " ".join(m.value for m in at.markdown)
    assert "clearly less than" in sentences  # one sentence or the other, always


def test_the_funder_sees_it_disclosed(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    force_scope(monkeypatch, Scope(("LSTM",), disclosure_control=True))
    at = run_page("equity")
    assert at.selectbox(key="equity_period_kind").options == ["Academic year", "Funded period"]
    at.radio(key="equity_dimension").set_value("year_of_study").run()
    shown = tables(at)["equity_year_of_study"]
    period = parse(at.selectbox(key="equity_period").value)
    want = equity.rates(demo, Scope(("LSTM",), True), period, "year_of_study")
    for column, heading in (("reached", "Students reached"), ("enrolled", "Students enrolled")):
        on_page = [str(v).replace(",", "") for v in shown[heading]]
        assert on_page == ["—" if v is None else str(v) for v in want[column]]  # the query's
        for value in on_page:
            assert value in ("*", "—") or int(value) % 5 == 0, value
    assert "*" in set(shown["Students reached"].astype(str))
    assert any("nearest 5" in c.value for c in at.caption)
    assert at.selectbox(key="equity_institution").disabled  # one institution: no choice
