-- One row per academic year (1 August to 31 July) that has a headcount, with the
-- partnership's reach that year: institutions with a headcount and students enrolled.
-- The `students` total is the denominator of the ALL rows of referrals_per_1000_students.
select
    academic_year,
    min(academic_year_starts_on) as starts_on,
    min(academic_year_ends_on) as ends_on,
    cast(count(*) as integer) as institutions_with_headcount,
    cast(sum(students) as bigint) as students,
    bool_or(is_estimate) as includes_estimates
from {{ ref('dim_institution_populations') }}
group by academic_year
