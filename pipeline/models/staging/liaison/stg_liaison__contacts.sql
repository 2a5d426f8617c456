-- One row per delivered (valid) version of a liaison contact: rename and cast only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ forget_replaced_files() }}"
) }}

with

source as (

    select * from {{ source('liaison', 'liaison_contacts') }}
    {{ only_new_deliveries() }}

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

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
