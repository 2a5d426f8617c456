-- One row per delivered (valid) version of a liaison contact: rename and cast only.
with

source as (

    select * from {{ source('liaison', 'liaison_contacts') }}

),

renamed as (

    select
        -- ids
        contact_id,
        student_key,
        institution_code,

        -- what happened
        cast(presented_at as timestamp) as presented_at,
        setting,
        outcome,
        referred_to,
        cast(university_informed_at as timestamp) as university_informed_at,

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
