-- One row per delivered (valid) version of a student profile: rename and cast only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ forget_replaced_files() }}"
) }}

with

source as (

    select * from {{ source('student_records', 'student_profiles') }}
    {{ only_new_deliveries() }}

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

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
