-- The enrolment seed's bands of one (institution, academic year, dimension) sum exactly to
-- that institution's headcount in `institution_populations`, and every institution and
-- year of that seed has all six equity dimensions (and no other rows): the equity rates'
-- denominators describe the same students as referrals_per_1000_students'. Returns the
-- (institution, year, dimension) cells that break it.
with

populations as (

    select institution_code, academic_year, students
    from {{ ref('institution_populations') }}

),

dimensions as (

    select unnest([
        'study_level', 'year_of_study', 'domicile', 'sex', 'age_band', 'ethnic_group'
    ]) as dimension

),

expected as (

    select p.institution_code, p.academic_year, d.dimension, p.students
    from populations p cross join dimensions d

),

banded as (

    select institution_code, academic_year, dimension, sum(students) as students
    from {{ ref('enrolments') }}
    group by all

)

select
    coalesce(e.institution_code, b.institution_code) as institution_code,
    coalesce(e.academic_year, b.academic_year) as academic_year,
    coalesce(e.dimension, b.dimension) as dimension,
    e.students as headcount,
    b.students as sum_of_bands
from expected e
full join banded b using (institution_code, academic_year, dimension)
where e.students is distinct from b.students
