-- Students enrolled per institution, academic year, equity dimension and band (seed
-- `enrolments`): the denominators of the equity-of-access rates.
with

enrolments as (

    select * from {{ ref('enrolments') }}

),

final as (

    select
        institution_code,
        academic_year,
        dimension,
        band,
        students,
        source,
        is_estimate
    from enrolments

)

select * from final
