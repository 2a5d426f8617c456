-- Who each service reached, with the student's equity bands: one row per (service,
-- institution, student, event date) of int_service_reach__events, with the six bands of
-- the student's current profile at that institution (dim_student_profiles: winning
-- version, active). A student with no profile there, or with an empty field, is in band
-- `not_known` of that dimension: shown, never dropped (metric spec, "Equity of access").
{%- set dimensions = [
    'study_level', 'year_of_study', 'domicile', 'sex', 'age_band', 'ethnic_group'
] %}
with

reached as (

    select * from {{ ref('int_service_reach__events') }}

),

profiles as (

    select * from {{ ref('dim_student_profiles') }}

),

final as (

    select
        r.service,
        r.institution_code,
        r.student_key,
        r.reached_on,
        {{ month_of('r.reached_on') }} as month,
        p.student_key is not null as has_profile,
        {%- for dimension in dimensions %}
        coalesce(nullif(cast(p.{{ dimension }} as varchar), ''), 'not_known') as {{ dimension }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from reached r
    left join profiles p
        on p.student_key = r.student_key and p.institution_code = r.institution_code

)

select * from final
