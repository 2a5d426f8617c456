"""Queries of the equity-of-access page: referral and U-COPE rates per 1,000 profiled
students, by a band of ``dim_student_profiles``.

Denominator: the profiled students of the band (one row of ``dim_student_profiles`` per
student and institution, in their current band) at the scope's institutions. The seeds
hold headcounts per institution only, not per band, so a population rate per band cannot
be computed; the profiles are the best denominator the warehouse has, and the page says
that its rates compare bands among the students known to the services.

Numerator: distinct (student, institution) pairs with a referral (or a U-COPE episode)
referred in the period, in the band of the student's profile at that institution. A
referral whose student has no profile there is counted in the band "No profile", which
has no rate (no denominator).

Under the scope's disclosure control the counts are controlled and each rate is
recalculated from the rounded counts (``*`` where its count is), here, before the page
gets them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dashboard.data import IN_SCOPE, read_frame
from dashboard.disclose import Count, Rate, disclose
from smhp.access import Scope
from smhp.reporting.release_periods import ReleasePeriod, check_release

DIMENSIONS: dict[str, str] = {
    "study_level": "Level of study",
    "year_of_study": "Year of study",
    "domicile": "Domicile",
}
"""The bands compared (a column of dim_student_profiles, and its label)."""

NO_PROFILE = "No profile"

BAND_LABELS: dict[str, str] = {
    "undergraduate": "Undergraduate",
    "postgraduate_taught": "Postgraduate taught",
    "postgraduate_research": "Postgraduate research",
    "foundation": "Foundation",
    "home": "Home",
    "international": "International",
}


def _sql(column: str) -> str:
    # `column` is a key of DIMENSIONS (checked by the caller), never input: an identifier
    # cannot be a bound parameter.
    return f"""
with
profiles as (
    select student_key, institution_code, cast({column} as varchar) as band
    from marts.dim_student_profiles where {IN_SCOPE}
),
referred as (
    select distinct student_key, institution_code from marts.fct_referrals
    where {IN_SCOPE} and referred_on between $start and $end
),
ucope as (
    select distinct student_key, institution_code from marts.fct_ucope_episodes
    where {IN_SCOPE} and referred_on between $start and $end
),
bands as (
    select band, count(*) as profiled_students from profiles group by band
),
people as (
    select coalesce(p.band, $no_profile) as band,
           count(*) filter (where r.student_key is not null) as referred_students,
           count(*) filter (where u.student_key is not null) as ucope_students
    from (select * from referred union select * from ucope) s
    left join profiles p using (student_key, institution_code)
    left join referred r using (student_key, institution_code)
    left join ucope u using (student_key, institution_code)
    group by all
)
select * from (
    select coalesce(b.band, pe.band) as band,
           coalesce(b.profiled_students, 0) as profiled_students,
           coalesce(pe.referred_students, 0) as referred_students,
           coalesce(pe.ucope_students, 0) as ucope_students
    from bands b full join people pe on pe.band = b.band
)
order by band = $no_profile, try_cast(band as integer), band
"""


def rates(
    snapshot: Path | str, scope: Scope, period: ReleasePeriod, dimension: str
) -> pd.DataFrame:
    """Per band of ``dimension``: profiled students, students referred and students
    referred to U-COPE in the release period, and the two rates per 1,000 profiled
    students (``None`` for "No profile"). Under disclosure control the counts are rounded
    and the rates recalculated from the rounded counts; a band breakdown is never exact."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {dimension!r}; one of {sorted(DIMENSIONS)}.")
    if scope.disclosure_control and scope.institutions is not None:
        for code in scope.institutions:  # one institution: academic years and funded only
            check_release(period, code)
    params = {"start": period.start, "end": period.end, "no_profile": NO_PROFILE}
    frame = read_frame(snapshot, _sql(dimension), {**scope.params(), **params})
    for count, rate in (("referred_students", "referral_rate"), ("ucope_students", "ucope_rate")):
        frame[rate] = [
            None if d == 0 else 1000.0 * n / d
            for n, d in zip(frame[count], frame["profiled_students"], strict=True)
        ]
    return disclose(
        frame,
        [
            Rate("referral_rate", "referred_students", "profiled_students"),
            Rate("ucope_rate", "ucope_students", "profiled_students"),
            Count("profiled_students"),
            Count("referred_students"),
            Count("ucope_students"),
        ],
        scope.disclosure_control,
    )
