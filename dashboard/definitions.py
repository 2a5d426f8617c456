"""The definitions shown one click away from every chart and table.

Metric definitions are the metric catalogue's (``smhp.reporting.catalogue``, from
``seeds/metric_catalogue.csv``: the same rows dbt publishes as ``marts.dim_metrics`` and
``docs/metrics.md`` shows), so that the page, the documentation and the SQL's tests can
never disagree: there is no second copy to forget. The few figures the pages derive from
the fact tables (funnels, wait bands, equity rates, the worklist) are defined here, in terms
of the same fact-table flags, because they are views of the facts rather than published
metrics.
"""

from __future__ import annotations

from smhp.reporting.catalogue import METRICS, info


def metric_definitions() -> dict[str, str]:
    """Each catalogued metric's definition as one Markdown line, by name."""
    return {name: m.definition_line for name, m in METRICS.items()}


def metric(name: str) -> str:
    """The spec's definition of one metric (a KeyError names an uncatalogued metric)."""
    return info(name).definition_line


COUNT_RULE = (
    "A month with no row for a count had none (0); a percentage or median with no row had "
    "no records to measure (a gap)."
)

SPC = (
    "**Statistical process control** (NHS *Making Data Count*, computed as NHSRplotthedots "
    "does): the centre line is the mean of the months shown; the process limits are the "
    "mean ± 2.66 × the mean moving range (the average month-to-month change, leaving out "
    "changes of at least 3.267 times that average). A point is marked as special cause when "
    "it is outside the limits, part of a run of 7 or more on one side of the mean, part of 7 "
    "or more each rising or each falling, or one of 2 of 3 points beyond two thirds of the "
    "way to a limit on the same side. Limits are recalculated from a declared change (a "
    "marked line: new limits); fewer than 12 months give trial limits. Blue circles mark "
    "improvement, orange diamonds concern, purple squares a change that is neither better "
    "nor worse; grey is common-cause variation. The variation icon describes the latest "
    "month; the assurance icon compares the latest limits with the target."
)

PER_1000 = (
    "**Per 1,000 students**: 1000 × the count of the month / the institution's students "
    "enrolled in the month's academic year (seed `institution_populations`). Referrals "
    "use the published `referrals_per_1000_students`; liaison contacts and U-COPE "
    "referrals the same formula on their published counts."
)

REFERRAL_FUNNEL = (
    "**Referral funnel**: the referrals received in the period (`referred_on` in the "
    "period, `fct_referrals`), how many of them have had a first appointment "
    "(`first_appointment_on` set, by the data's as-of date) and where each one stands now "
    "(`outcome`: seen, did not attend, declined, signposted, withdrawn, waiting)."
)

WAIT_BANDS = (
    "**Waits**: referrals whose first appointment falls in the period (the month-of rule "
    "of `referral_seen_6wk_pct`), by whole weeks waited, rounded up (`wait_days` / 7): "
    "a wait of up to 42 days (6 weeks, the `seen_within_6wk` flag) is within 6 weeks, up "
    "to 126 days within 18 weeks."
)

LIAISON_MIX = (
    "**Liaison outcome mix**: liaison contacts presented in the period "
    "(`presented_on`, `fct_liaison_contacts`) by the setting the student presented in and "
    "what the liaison service did (`outcome`)."
)

UCOPE_PATHWAY = (
    "**U-COPE pathway**: the episodes referred in the period (`referred_on`, "
    "`fct_ucope_episodes`) followed through the pathway to date: assessed (`assessed_on` "
    "set), of those within 14 days (`assessed_within_14d`), discharged (`discharged_on` "
    "set), of those completed (`is_completed`), and of the discharges with both CORE-10 "
    "scores, those with reliable improvement (`reliable_improvement`: a fall of at least 6 "
    "points), and of those starting at or above the clinical cut-off of 11 "
    "(`in_recovery_base`), those with reliable recovery (`reliable_recovery`: ending below "
    "11 after a reliable fall)."
)

WAITING_LIST = (
    "**Still waiting past 6 weeks**: referrals with no first appointment and not closed "
    "(`first_appointment_on` and `closed_on` empty), referred more than 42 days before "
    "the data's as-of date. Days waiting = as-of date − `referred_on`. The student is "
    "shown by the first 8 characters of the pseudonymous `student_key`."
)

EQUITY = (
    "**Students reached per 1,000 enrolled**: 1000 × the students of the band reached by the "
    "service in the period (distinct student and institution in `marts.fct_service_reach`: "
    "liaison contacts by `presented_at`, referrals and U-COPE episodes by `referred_on`; the "
    "band from the student's current profile at that institution, `not_known` without one) / "
    "the students enrolled in the band (`marts.dim_enrolments`, the academic year containing "
    "the period's end, summed over the institutions shown that have a row for that year). "
    "The 95% interval is the Wilson score interval (Wilson 1927; Newcombe 1998) of reached / "
    "enrolled. Enrolled figures are estimates from HESA-shaped shares until HESA's own are "
    "loaded (the table says which)."
)

EQUITY_RATIO = (
    "**Representation ratio**: the band's share of the students reached with a known band / "
    "its share of the students enrolled with a known band. 1 = reached in proportion to "
    "enrolment; below 1 = under-reached. Its 95% interval is the Wilson interval of the "
    "band's share of the students reached, divided by its enrolled share (a headcount, taken "
    "as fixed). A band is **reached clearly less than its share** when the whole interval is "
    "below 1."
)

IMPACT = (
    "**Impact totals** (`smhp impact`): the events whose event date falls in the period, "
    "inclusive at both ends, with each monthly metric's definition applied to the whole "
    "period: students are distinct over the period (never a sum of months), the median "
    "wait is over every first appointment in the period. Reach: the institutions with "
    "any liaison, U-COPE, referral or case-discussion event in the period, and their "
    "students enrolled in the academic year containing the period's end."
)

FRESHNESS = (
    "**Freshness**: the latest extract date loaded for each source and the days since "
    "(from the run history's `ops.freshness` when present, otherwise from the load log, "
    "`marts.fct_extract_files`)."
)

QUARANTINE = (
    "**Quarantined rows**: rows that broke a contract rule, one line per broken rule "
    "(`marts.fct_rule_breaks`), by source, column, rule and the class of the value (never "
    "the value itself)."
)

REJECTED = (
    "**Rejected files**: files that broke the contract as a whole (the load log, "
    "`marts.fct_extract_files`, status `rejected`), with the reason; the other files of "
    "the night still loaded."
)

RUNS = (
    "**Nightly runs** (`ops.runs`, `ops.run_stages`): when each run started, how it ended "
    "(published, published with warnings, blocked by a quality gate, failed) and the "
    "seconds spent in each stage. A run that found nothing new keeps the published "
    "marts and the checks of the run that built them (`ops.runs.built_by_run_id`): its "
    "dbt build and quality stages take no time."
)

CHECKS = (
    "**Checks of the last run** (`ops.run_checks`): dbt data tests and "
    "data expectations, with their severity, status and, for a failure, what was "
    "observed and why it matters (after a run with nothing new, those of the run that "
    "built the data it kept)."
)

ADMIN_USERS = (
    "**Local users** are the accounts of the users file (`SMHP_USERS_FILE`), managed with "
    "`smhp users`; the file holds argon2id hashes, never passwords, and none is shown "
    "here. *Failed sign-ins since the last success* and *Locked until* come from the "
    "audit log, which is where the lock-out state lives. People who sign in with "
    "Microsoft are not listed: their role comes from the single sign-on mapping."
)
ADMIN_AUDIT = (
    "**The audit log** (`SMHP_AUDIT_DB`) records every sign-in and failed sign-in, "
    "sign-out, expired session, refused page, page view (when the page or its filters "
    "change) and download, with who and when; it is append-only and hash-chained. "
    "Passwords and anything like an NHS number are never stored in it."
)
