"""Queries of the service manager page: what happened to referrals, waits, liaison and
U-COPE at the viewer's institutions, and who is still waiting.

Filters: the scope (already narrowed to the chosen institution), a period ``[start,
end]`` inclusive, and ``services`` (referral destinations, ``None`` for all; it applies
to referrals only — liaison contacts and U-COPE episodes are not referrals to a service).
Thresholds come from the fact tables' flags (``seen_within_6wk``,
``assessed_within_14d``, ``reliable_improvement``) so that each is defined once, in dbt;
the 18-week mark has no flag and is the catalogue's ``WAIT_18WK_DAYS``.

Every function returns the figures as the scope may see them: under its disclosure
control, counts are controlled and statistics hidden on small bases here, on the exact
values, before they reach the page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from dashboard.data import IN_SCOPE, in_scope, read_frame
from dashboard.disclose import Count, Median, Percentage, disclose
from smhp.access import Scope
from smhp.reporting.catalogue import WAIT_18WK_DAYS as WEEKS_18_DAYS

LONGEST_WEEK_SHOWN = 26
"""Waits longer than this many weeks share one bar."""
WAITING_PAST_DAYS = 42
"""The worklist: still waiting more than 6 weeks."""

IN_SERVICES = "($services is null or list_contains($services, service_code))"

OUTCOMES = ("seen", "did_not_attend", "declined", "signposted", "withdrawn", "waiting")
"""The referral outcomes of the contract, in the order a funnel reads them."""


def _params(scope: Scope, services: tuple[str, ...] | None, **more: object) -> dict[str, object]:
    return {**scope.params(), "services": None if services is None else list(services), **more}


def referral_funnel(
    snapshot: Path | str,
    scope: Scope,
    start: date,
    end: date,
    services: tuple[str, ...] | None,
) -> pd.DataFrame:
    """Referrals received in the period, those with a first appointment, and each
    outcome: columns ``stage``, ``category``, ``referrals`` (every outcome listed, 0 if
    none)."""
    row = read_frame(
        snapshot,
        f"""
        select
            count(*) as received,
            count(first_appointment_on) as first_appointment,
            {", ".join(f"count(*) filter (where outcome = '{o}') as {o}" for o in OUTCOMES)}
        from marts.fct_referrals
        where {IN_SCOPE} and {IN_SERVICES} and referred_on between $start and $end
        """,
        _params(scope, services, start=start, end=end),
    ).iloc[0]
    rows = [
        ("Received", "Received", int(row["received"])),
        ("First appointment", "First appointment", int(row["first_appointment"])),
    ]
    rows += [("Outcome", outcome, int(row[outcome])) for outcome in OUTCOMES]
    exact = pd.DataFrame(rows, columns=["stage", "category", "referrals"])
    return disclose(exact, [Count("referrals")], scope.disclosure_control)


_FIRST_APPOINTMENTS = f"""
    from marts.fct_referrals
    where {IN_SCOPE} and {IN_SERVICES} and first_appointment_on between $start and $end
"""
"""The referrals whose first appointment fell in the period: what the waits describe."""


def wait_weeks(
    snapshot: Path | str,
    scope: Scope,
    start: date,
    end: date,
    services: tuple[str, ...] | None,
) -> pd.DataFrame:
    """Referrals with a first appointment in the period by whole weeks waited, rounded
    up (0 = seen the same day; ``LONGEST_WEEK_SHOWN + 1`` = longer), every week listed:
    ``weeks``, ``referrals`` and whether the week is within 6 / 18 weeks (rounding up
    makes week 6 end at exactly 42 days, the ``seen_within_6wk`` mark)."""
    exact = read_frame(
        snapshot,
        f"""
        with waits as (
            select least(ceil(wait_days / 7), $cap + 1)::integer as weeks, count(*) as referrals
            {_FIRST_APPOINTMENTS}
            group by 1
        )
        select w.weeks, coalesce(referrals, 0) as referrals,
               w.weeks * 7 <= 42 as within_6wk, w.weeks * 7 <= $w18 as within_18wk
        from (select unnest(range(0, $cap + 2))::integer as weeks) w
        left join waits using (weeks)
        order by w.weeks
        """,
        _params(scope, services, start=start, end=end, cap=LONGEST_WEEK_SHOWN, w18=WEEKS_18_DAYS),
    )
    return disclose(exact, [Count("referrals")], scope.disclosure_control)


def wait_summary(
    snapshot: Path | str,
    scope: Scope,
    start: date,
    end: date,
    services: tuple[str, ...] | None,
) -> dict[str, float | str | None]:
    """First appointments in the period, their median wait and the shares within 6 and
    18 weeks (percent; ``None`` without first appointments)."""
    row = read_frame(
        snapshot,
        f"""
        select
            count(*) as first_appointments,
            quantile_cont(wait_days, 0.5) as median_wait_days,
            count(*) filter (where seen_within_6wk) as within_6wk,
            count(*) filter (where wait_days <= $w18) as within_18wk,
            100.0 * count(*) filter (where seen_within_6wk) / nullif(count(*), 0)
                as within_6wk_pct,
            100.0 * count(*) filter (where wait_days <= $w18) / nullif(count(*), 0)
                as within_18wk_pct
        {_FIRST_APPOINTMENTS}
        """,
        _params(scope, services, start=start, end=end, w18=WEEKS_18_DAYS),
    ).iloc[0]
    exact = pd.DataFrame([{k: None if pd.isna(v) else float(v) for k, v in row.items()}])
    shown = disclose(
        exact,
        [
            Count("first_appointments"),
            Median("median_wait_days", "first_appointments"),
            Percentage("within_6wk_pct", "within_6wk", "first_appointments"),
            Percentage("within_18wk_pct", "within_18wk", "first_appointments"),
        ],
        scope.disclosure_control,
    ).drop(columns=["within_6wk", "within_18wk"])
    return {
        k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
        for k, v in shown.iloc[0].items()
    }


def liaison_mix(snapshot: Path | str, scope: Scope, start: date, end: date) -> pd.DataFrame:
    """Liaison contacts presented in the period by ``setting`` and ``outcome``."""
    exact = read_frame(
        snapshot,
        f"""
        select setting, outcome, count(*) as contacts
        from marts.fct_liaison_contacts
        where {IN_SCOPE} and presented_on between $start and $end
        group by all order by setting, outcome
        """,
        {**scope.params(), "start": start, "end": end},
    )
    return disclose(exact, [Count("contacts")], scope.disclosure_control)


UCOPE_COUNTS = (
    "referred",
    "assessed",
    "assessed_14d",
    "discharged",
    "completed",
    "with_both_scores",
    "reliable_improvement",
    "in_recovery_base",
    "reliable_recovery",
)


_UCOPE_SHARES = (
    ("completion_pct", "completed", "discharged"),
    ("improvement_pct", "reliable_improvement", "with_both_scores"),
    ("recovery_pct", "reliable_recovery", "in_recovery_base"),
)
"""The pathway's percentages: (name, the count met, the count it is over)."""


def ucope_pathway(
    snapshot: Path | str, scope: Scope, start: date, end: date
) -> dict[str, int | float | str | None]:
    """The U-COPE episodes referred in the period, followed through the pathway to date:
    the counts of ``UCOPE_COUNTS``, completion among discharges (``completion_pct``),
    reliable improvement among discharges with both scores (``improvement_pct``) and
    reliable recovery among those starting in the clinical range (``recovery_pct``)."""
    row = read_frame(
        snapshot,
        f"""
        select
            count(*) as referred,
            count(assessed_on) as assessed,
            count(*) filter (where assessed_within_14d) as assessed_14d,
            count(discharged_on) as discharged,
            count(*) filter (where is_completed) as completed,
            count(*) filter (where discharged_on is not null and has_both_scores)
                as with_both_scores,
            count(*) filter (where discharged_on is not null and reliable_improvement)
                as reliable_improvement,
            count(*) filter (where discharged_on is not null and in_recovery_base)
                as in_recovery_base,
            count(*) filter (where discharged_on is not null and reliable_recovery)
                as reliable_recovery
        from marts.fct_ucope_episodes
        where {IN_SCOPE} and referred_on between $start and $end
        """,
        {**scope.params(), "start": start, "end": end},
    ).iloc[0]
    counts = {k: int(v) for k, v in row.items()}
    exact = pd.DataFrame([counts])
    for pct, met, base in _UCOPE_SHARES:
        exact[pct] = 100.0 * counts[met] / counts[base] if counts[base] else None
    shown = disclose(
        exact,
        [
            *(Count(c) for c in UCOPE_COUNTS),
            *(Percentage(pct, met, base) for pct, met, base in _UCOPE_SHARES),
        ],
        scope.disclosure_control,
    ).iloc[0]
    return {
        k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
        for k, v in shown.items()
    }


_WAITING = f"""
    from marts.fct_referrals
    where {IN_SCOPE} and {IN_SERVICES}
      and first_appointment_on is null and closed_on is null
      and $as_of - referred_on > $past
"""


def waiting_by_institution(
    snapshot: Path | str, scope: Scope, as_of: date, services: tuple[str, ...] | None
) -> pd.DataFrame:
    """Referrals still waiting past 6 weeks on ``as_of``, per institution of the scope
    (0 where none)."""
    exact = read_frame(
        snapshot,
        f"""
        with waiting as (select institution_code, count(*) as referrals {_WAITING} group by 1)
        select i.institution_code, i.institution_name, coalesce(w.referrals, 0) as referrals
        from marts.dim_institutions i left join waiting w using (institution_code)
        where {in_scope("i.institution_code")}
        order by i.institution_code
        """,
        _params(scope, services, as_of=as_of, past=WAITING_PAST_DAYS),
    )
    return disclose(exact, [Count("referrals")], scope.disclosure_control)


def waiting_by_month(
    snapshot: Path | str, scope: Scope, as_of: date, services: tuple[str, ...] | None
) -> pd.DataFrame:
    """Referrals still waiting past 6 weeks on ``as_of``, by month referred."""
    exact = read_frame(
        snapshot,
        f"select referral_month as month, count(*) as referrals {_WAITING} group by 1 order by 1",
        _params(scope, services, as_of=as_of, past=WAITING_PAST_DAYS),
    )
    return disclose(exact, [Count("referrals")], scope.disclosure_control)


def waiting_worklist(
    snapshot: Path | str,
    scope: Scope,
    as_of: date,
    services: tuple[str, ...] | None,
    month: date | None,
) -> pd.DataFrame:
    """The pseudonymous worklist: each referral still waiting past 6 weeks on ``as_of``
    (referred in ``month``, or any month), longest wait first.

    Record-level: the page shows it only where ``Scope.record_level`` allows. The student
    appears as the first 8 characters of the pseudonymous key, enough to tell a team's
    cases apart and no more.
    """
    if not scope.record_level:
        raise PermissionError("This viewer's scope does not allow record-level data.")
    return read_frame(
        snapshot,
        f"""
        select
            referral_id,
            left(student_key, 8) as student,
            institution_code as institution,
            service_code as service,
            referred_on,
            ($as_of - referred_on)::integer as days_waiting
        {_WAITING}
          and ($month is null or referral_month = $month)
        order by days_waiting desc, referral_id
        """,
        _params(scope, services, as_of=as_of, past=WAITING_PAST_DAYS, month=month),
    )


def services(snapshot: Path | str) -> dict[str, str]:
    """The referral services (code to name), for the filter."""
    frame = read_frame(
        snapshot, "select service_code, service_name from marts.dim_services order by 2"
    )
    return dict(zip(frame["service_code"], frame["service_name"], strict=True))
