-- One row per delivered (valid) version of a U-COPE episode: rename and cast only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ forget_replaced_files() }}"
) }}

with

source as (

    select * from {{ source('ucope', 'ucope_episodes') }}
    {{ only_new_deliveries() }}

),

renamed as (

    select
        -- ids
        episode_id,
        student_key,
        institution_code,

        -- what happened
        referral_source,
        cast(referred_on as date) as referred_on,
        cast(assessed_on as date) as assessed_on,
        cast(discharged_on as date) as discharged_on,
        discharge_reason,
        cast(sessions_attended as integer) as sessions_attended,
        cast(core10_start as integer) as core10_start,
        cast(core10_end as integer) as core10_end,

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
