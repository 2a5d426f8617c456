-- One row per delivered (valid) version of a case discussion: rename and cast only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ forget_replaced_files() }}"
) }}

with

source as (

    select * from {{ source('liaison', 'case_discussions') }}
    {{ only_new_deliveries() }}

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
