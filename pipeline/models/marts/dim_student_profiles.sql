-- The current profile of each student at each institution: winning version, active only.
with

profiles as (

    select * from {{ ref('int_student_profiles__current') }}
    where record_status = 'active'

),

final as (

    select
        student_key,
        institution_code,
        age_band,
        sex,
        ethnic_group,
        study_level,
        year_of_study,
        domicile,
        updated_at,
        file_id
    from profiles

)

select * from final
