-- One row per delivered (valid) version of a referral: rename and cast only.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ forget_replaced_files() }}"
) }}

with

source as (

    select * from {{ source('referrals', 'referrals') }}
    {{ only_new_deliveries() }}

),

renamed as (

    select
        -- ids
        referral_id,
        student_key,
        institution_code,

        -- what happened
        source,
        service_code,
        cast(referred_on as date) as referred_on,
        cast(first_appointment_on as date) as first_appointment_on,
        outcome,
        cast(closed_on as date) as closed_on,

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
