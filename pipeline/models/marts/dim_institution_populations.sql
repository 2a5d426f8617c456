-- Students enrolled per institution per academic year (seed `institution_populations`),
-- with the academic year's first and last day.
with

populations as (

    select * from {{ ref('institution_populations') }}

),

final as (

    select
        institution_code,
        academic_year,
        make_date(cast(left(academic_year, 4) as integer), 8, 1) as academic_year_starts_on,
        make_date(cast(left(academic_year, 4) as integer) + 1, 7, 31) as academic_year_ends_on,
        students,
        source,
        is_estimate
    from populations

)

select * from final
