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

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
