-- One row per delivered (valid) version of a student profile: rename and cast only.
with

source as (

    select * from {{ source('student_records', 'student_profiles') }}

),

renamed as (

    select
        -- ids (the record id is student_key + institution_code)
        student_key,
        institution_code,

        -- coarse profile bands
        age_band,
        sex,
        ethnic_group,
        study_level,
        cast(year_of_study as integer) as year_of_study,
        domicile,

        -- versioning
        cast(updated_at as timestamp) as updated_at,
        record_status,

        -- delivery
        _file_id as file_id,
        _extract_date as extract_date,
        _row_number as source_row_number,
        _loaded_at as loaded_at

    from source

)

select * from renamed
