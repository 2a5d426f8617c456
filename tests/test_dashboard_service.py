"""The service manager page on the demo warehouse: every figure equals the marts for the
filters chosen; the drill-down ends in the pseudonymous worklist only where the scope
allows record-level data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dashboard_warehouse import figures, force_scope, query, run_page, tables, tiles

from smhp.access import FUNDER_SCOPE
from smhp.reporting.disclosure import round_to_5

pytestmark = pytest.mark.usefixtures("dashboard_access")  # signed in as a demo user

START, END = date(2025, 10, 1), date(2026, 9, 30)  # the default: 12 months to September 2026
AS_OF = date(2026, 10, 30)  # the demo's latest extract


@pytest.fixture(autouse=True)
def serve_demo(demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMHP_WAREHOUSE", str(demo_warehouse))


def one(demo: Path, sql: str, **params: object) -> dict:
    return query(demo, sql, params).iloc[0].to_dict()


def test_referral_funnel_equals_the_referrals_of_the_period(demo_warehouse: Path) -> None:
    at = run_page("service")
    assert at.date_input(key="service_period").value == (START, END)
    funnel = tables(at)["service_funnel"].set_index("Category")["Referrals"]
    exact = one(
        demo_warehouse,
        """select count(*) as received, count(first_appointment_on) as first,
                  count(*) filter (where outcome = 'seen') as seen,
                  count(*) filter (where outcome = 'waiting') as waiting
           from marts.fct_referrals where referred_on between $s and $e""",
        s=START,
        e=END,
    )
    assert funnel["Received"] == exact["received"]
    assert funnel["First appointment"] == exact["first"]
    assert funnel["Seen"] == exact["seen"]
    assert funnel["Still waiting"] == exact["waiting"]
    outcomes = ["Seen", "Did not attend", "Declined", "Signposted", "Withdrawn", "Still waiting"]
    assert sum(funnel[o] for o in outcomes) == exact["received"]


def test_waits_equal_the_first_appointments_of_the_period(demo_warehouse: Path) -> None:
    at = run_page("service")
    exact = one(
        demo_warehouse,
        """select count(*) as n, quantile_cont(wait_days, 0.5) as median,
                  100.0 * count(*) filter (where seen_within_6wk) / count(*) as pct6,
                  100.0 * count(*) filter (where wait_days <= 126) / count(*) as pct18
           from marts.fct_referrals where first_appointment_on between $s and $e""",
        s=START,
        e=END,
    )
    shown = tiles(at)
    assert shown["First appointments"][0] == f"{int(exact['n']):,}"
    assert shown["Median wait"][0] == f"{exact['median']:.1f} days"
    assert shown["Seen within 6 weeks"][0] == f"{exact['pct6']:.1f}%"
    assert shown["Seen within 18 weeks"][0] == f"{exact['pct18']:.1f}%"
    weeks = tables(at)["service_waits"]
    assert weeks["Referrals"].sum() == exact["n"]
    within6 = weeks[weeks["Band"] == "Within 6 weeks"]["Referrals"].sum()
    assert within6 == round(exact["n"] * exact["pct6"] / 100)
    fig = figures(at)["Weeks waited for a first appointment"]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["6 weeks", "18 weeks"]


def test_liaison_mix_and_ucope_pathway_equal_the_marts(demo_warehouse: Path) -> None:
    at = run_page("service")
    mix = tables(at)["service_liaison"]
    exact = query(
        demo_warehouse,
        "select count(*) as n from marts.fct_liaison_contacts where presented_on between $s and $e",
        {"s": START, "e": END},
    )
    assert mix["Contacts"].sum() == exact["n"].iloc[0]
    ed = mix[(mix["Setting"] == "Emergency department") & (mix["Outcome"] == "Referral")]
    assert (
        ed["Contacts"].iloc[0]
        == one(
            demo_warehouse,
            """select count(*) as n from marts.fct_liaison_contacts
           where presented_on between $s and $e
             and setting = 'emergency_department' and outcome = 'referral'""",
            s=START,
            e=END,
        )["n"]
    )
    u = one(
        demo_warehouse,
        """select count(*) as referred, count(assessed_on) as assessed,
                  count(discharged_on) as discharged,
                  count(*) filter (where is_completed) as completed,
                  count(*) filter (where discharged_on is not null and has_both_scores) as both,
                  count(*) filter (where discharged_on is not null and reliable_improvement) as ri,
                  count(*) filter (where discharged_on is not null
                                     and has_both_scores and core10_start >= 11) as base,
                  count(*) filter (where discharged_on is not null and has_both_scores
                                     and core10_start >= 11 and core10_end < 11
                                     and core10_start - core10_end >= 6) as rr
           from marts.fct_ucope_episodes where referred_on between $s and $e""",
        s=START,
        e=END,
    )
    pathway = tables(at)["service_ucope"].set_index("Stage")["Episodes"]
    assert (pathway["Referred"], pathway["Assessed"], pathway["Discharged"]) == (
        u["referred"],
        u["assessed"],
        u["discharged"],
    )
    shown = tiles(at)
    assert shown["Completed, of those discharged"][0] == (
        f"{100 * u['completed'] / u['discharged']:.1f}%"
    )
    assert shown["Reliable improvement, of those with both scores"][0] == (
        f"{100 * u['ri'] / u['both']:.1f}%"
    )
    assert 0 < u["rr"] < u["base"]  # the demo has recoveries, and episodes that do not recover
    assert shown["Reliable recovery, of those starting in the clinical range"][0] == (
        f"{100 * u['rr'] / u['base']:.1f}%"
    )
    assert pathway["Reliable recovery"] == u["rr"]


def test_filters_narrow_every_figure(demo_warehouse: Path) -> None:
    at = run_page("service")
    at.selectbox(key="service_institution").select("UOL").run()
    at.multiselect(key="service_services").select("talking_therapies").run()
    received = tables(at)["service_funnel"].set_index("Category")["Referrals"]["Received"]
    assert (
        received
        == one(
            demo_warehouse,
            """select count(*) as n from marts.fct_referrals where referred_on between $s and $e
           and institution_code = 'UOL' and service_code = 'talking_therapies'""",
            s=START,
            e=END,
        )["n"]
    )
    contacts = tables(at)["service_liaison"]["Contacts"].sum()
    assert (
        contacts
        == one(
            demo_warehouse,
            """select count(*) as n from marts.fct_liaison_contacts
           where presented_on between $s and $e and institution_code = 'UOL'""",
            s=START,
            e=END,
        )["n"]
    )


def test_drill_down_from_partnership_to_institution_to_month_to_worklist(
    demo_warehouse: Path,
) -> None:
    waiting = """from marts.fct_referrals where first_appointment_on is null
                 and closed_on is null and $a - referred_on > 42"""
    at = run_page("service")
    by_institution = tables(at)["service_waiting_institutions"]
    expected = query(
        demo_warehouse,
        f"select institution_code, count(*) as n {waiting} group by 1",
        {"a": AS_OF},
    ).set_index("institution_code")["n"]
    shown = by_institution.set_index("Institution")["Referrals waiting past 6 weeks"]
    assert shown[shown > 0].to_dict() == expected.to_dict()

    at.selectbox(key="service_institution").select("UOL").run()
    by_month = tables(at)["service_waiting_months"]
    assert by_month["Referrals waiting past 6 weeks"].sum() == expected["UOL"]
    worklist = tables(at)["service_worklist"]
    rows = query(
        demo_warehouse,
        f"select referral_id, left(student_key, 8) as student, ($a - referred_on) as days "
        f"{waiting} and institution_code = 'UOL' order by days desc, referral_id",
        {"a": AS_OF},
    )
    assert list(worklist["Referral"]) == list(rows["referral_id"])
    assert list(worklist["Student (pseudonym)"]) == list(rows["student"])
    assert list(worklist["Days waiting"]) == list(rows["days"])
    assert all(len(s) == 8 for s in worklist["Student (pseudonym)"])
    assert set(worklist.columns) == {
        "Referral",
        "Student (pseudonym)",
        "Institution",
        "Service",
        "Referred on",
        "Days waiting",
    }

    months = at.selectbox(key="service_worklist_month")
    latest = months.options[-1]  # labels: "All months", then "April 2025", ...
    months.select_index(len(months.options) - 1).run()
    month = tables(at)["service_worklist"]
    assert 0 < len(month) < len(worklist)
    assert all(f"{d:%B %Y}" == latest for d in month["Referred on"])


def test_a_scope_without_record_level_data_gets_no_worklist(
    demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force_scope(monkeypatch, FUNDER_SCOPE)  # the board's pages, the funder's scope
    at = run_page("service")
    at.selectbox(key="service_institution").select("UOL").run()
    assert "service_worklist" not in tables(at)
    assert any("Record-level data is not part of your view" in i.value for i in at.info)
    # the funder scope is disclosed: counts to the nearest 5, with the footnote
    received = tables(at)["service_funnel"].set_index("Category")["Referrals"]["Received"]
    exact = one(
        demo_warehouse,
        """select count(*) as n from marts.fct_referrals
           where referred_on between $s and $e and institution_code = 'UOL'""",
        s=START,
        e=END,
    )["n"]
    assert received == round_to_5(exact)
    assert any("nearest 5" in c.value for c in at.caption)


def test_a_period_without_data_explains_itself() -> None:
    at = run_page("service")
    at.date_input(key="service_period").set_value((date(2019, 1, 1), date(2019, 1, 31))).run()
    assert not at.exception
    empty = [i.value for i in at.info if i.value.startswith("No data for this filter")]
    assert len(empty) == 4  # referrals, waits, liaison, U-COPE
    assert "service_funnel" not in tables(at)
