-- One row per delivered (valid) version of a case discussion: rename and cast only.
with

source as (

    select * from {{ source('liaison', 'case_discussions') }}

),

renamed as (

    select
        -- ids
        discussion_id,
        student_key,
        institution_code,
        contact_id,

        -- what happened
        cast(discussed_on as date) as discussed_on,
        agreed_pathway,
        cast(pathway_started_on as date) as pathway_started_on,

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
